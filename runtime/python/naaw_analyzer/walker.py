"""The walk of one cell's module-level code in evaluation order: the events cells.py returns."""

from __future__ import annotations

import ast
import contextlib
import symtable
from typing import Iterable, Iterator

from .scopes import COMPREHENSIONS, SCOPE_NODES, ScopeTables, inner_parts, outer_parts, scope_uses
from .valuetypes import annotation_type, literal_type

# A definition inside these (at any depth, and only these) is copied with its enclosing top-level
# statement: the `ImportError` fallback and the optional feature behave in the copy as in the notebook.
COPYABLE_CONTAINERS = (ast.If, ast.Try) + ((ast.TryStar,) if hasattr(ast, "TryStar") else ())


# -- the walk of module-level code ------------------------------------------------------------------
class CellWalker:
    """Walks one cell's module-level code in evaluation order and records events."""

    def __init__(self, module: symtable.SymbolTable) -> None:
        self.events: list[dict] = []
        self.tables = ScopeTables(module)
        self.conditional = 0
        self.block = 0
        self.blocks: list[int] = []
        # Compound statements around the statement being walked, outermost first.
        self.containers: list[ast.stmt] = []
        self.lambda_uses: dict[int, tuple[dict[str, int], set[str]]] = {}

    # -- events -----------------------------------------------------------------------------
    def emit(self, event: dict, definite_in_block: bool = True) -> None:
        if self.block and definite_in_block:
            event["block"] = self.block
        self.events.append(event)

    def read(self, name: str, line: int) -> None:
        self.emit({"kind": "read", "name": name, "line": line})

    def write(self, name: str, line: int, type_: str = "any", maybe: bool = False) -> None:
        # `maybe` here: not bound on every path through the current block either (a comprehension's walrus).
        self.emit({"kind": "write", "name": name, "line": line, "type": type_, "maybe": maybe or self.conditional > 0}, not maybe)

    def delete(self, name: str, line: int) -> None:
        self.emit({"kind": "delete", "name": name, "line": line})

    def mutate(self, name: str, line: int) -> None:
        self.emit({"kind": "mutate", "name": name, "line": line})

    def reads_of(self, uses: dict[str, int]) -> None:
        for name, line in sorted(uses.items(), key=lambda item: (item[1], item[0])):
            self.read(name, line)

    def define(self, name: str, stmt: ast.stmt, reads: dict[str, int], writes: Iterable[str], modules: Iterable[str] = ()) -> None:
        first = min([stmt.lineno] + [d.lineno for d in getattr(stmt, "decorator_list", [])])
        event = {
            "kind": "define",
            "name": name,
            "line": first,
            "endLine": stmt.end_lineno or stmt.lineno,
            "reads": [{"name": n, "line": reads[n]} for n in sorted(reads)],
            "writes": sorted(set(writes)),
            "modules": sorted(set(modules)),
            "maybe": self.conditional > 0,
        }
        copy = self.copy_range(first, stmt)
        if copy is not None:
            event["copy"] = {"line": copy[0], "endLine": copy[1]}
        self.emit(event)

    def copy_range(self, first: int, stmt: ast.stmt) -> tuple[int, int] | None:
        """The lines a later component copies to get this definition, or None when it cannot."""
        if not self.containers:
            return first, stmt.end_lineno or stmt.lineno
        if all(isinstance(c, COPYABLE_CONTAINERS) for c in self.containers):
            outer = self.containers[0]
            return outer.lineno, outer.end_lineno or outer.lineno
        return None

    # -- blocks -----------------------------------------------------------------------------
    @contextlib.contextmanager
    def new_block(self) -> Iterator[int]:
        """A body that may not run: its bindings are certain inside it, maybe after it."""
        self.blocks.append(self.block)
        outer, self.block = self.block, len(self.blocks)
        self.conditional += 1
        try:
            yield self.block
        finally:
            self.conditional -= 1
            self.block = outer

    def statements(self, statements: list[ast.stmt]) -> None:
        for stmt in statements:
            self.stmt(stmt)

    def conditional_body(self, statements: list[ast.stmt]) -> None:
        with self.new_block():
            self.statements(statements)

    def both_branches(self, branches: list[list[ast.stmt]]) -> None:
        """Walk alternative branches; names every branch binds for certain are bound after them."""
        bound_sets = []
        last_write: dict[str, dict] = {}
        for branch in branches:
            start = len(self.events)
            with self.new_block() as block:
                self.statements(branch)
            bound: set[str] = set()
            for e in self.events[start:]:
                if e["kind"] in ("write", "define") and e.get("block") == block:
                    bound.add(e["name"])
                elif e["kind"] == "delete":
                    bound.discard(e["name"])
                if e["kind"] == "write":
                    last_write[e["name"]] = e
            bound_sets.append(bound)
        definite = set.intersection(*bound_sets) if bound_sets else set()
        for name in sorted(definite):
            typed = last_write.get(name)
            self.write(name, typed["line"] if typed else 0, typed["type"] if typed else "any")
            # Not a new value: what the branches bound (a function defined in both stays a function).
            self.events[-1]["merged"] = True

    # -- expressions ------------------------------------------------------------------------
    def expr(self, node: ast.AST | None) -> None:
        """Reads of an expression evaluated now, in order; nested scopes via symtable."""
        if node is None:
            return
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Load):
                self.read(node.id, node.lineno)
            return
        if isinstance(node, ast.NamedExpr):
            self.expr(node.value)
            self.write(node.target.id, node.lineno, literal_type(node.value))
            return
        if isinstance(node, ast.Lambda):
            # A lambda not bound to a name may run at once (sorted(key=...)): count its globals now.
            for part in outer_parts(node):
                self.expr(part)
            uses = scope_uses(self.tables.take(node), node)
            self.lambda_uses[id(node)] = uses
            self.reads_of(uses[0])
            return
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            # The first iterable runs in the enclosing scope; the rest in the comprehension's own.
            self.expr(node.generators[0].iter)
            table = self.tables.take(node)
            if table is not None:
                self.reads_of(scope_uses(table, node)[0])
            else:
                self.inlined_comprehension(node, set())
            for walrus in (n for n in ast.walk(node) if isinstance(n, ast.NamedExpr)):
                # PEP 572: a walrus inside a comprehension binds in the enclosing scope, if it runs at all.
                self.write(walrus.target.id, walrus.lineno, "any", maybe=True)
            return
        for child in ast.iter_child_nodes(node):
            self.expr(child)

    def inlined_comprehension(self, node: ast.AST, bound: set[str]) -> None:
        """Reads of a comprehension that has no symbol table of its own (Python 3.12+ inlines them,
        PEP 709): every name it reads but does not bind as a loop target is read here."""
        bound = bound | {n.id for g in node.generators for n in ast.walk(g.target) if isinstance(n, ast.Name)}

        def visit(n: ast.AST) -> None:
            if isinstance(n, ast.Name):
                if isinstance(n.ctx, ast.Load) and n.id not in bound:
                    self.read(n.id, n.lineno)
            elif isinstance(n, COMPREHENSIONS):
                visit(n.generators[0].iter)
                self.inlined_comprehension(n, bound)
            elif isinstance(n, SCOPE_NODES):
                self.expr(n)  # a lambda: symtable resolves its names, free ones included
            elif isinstance(n, ast.NamedExpr):
                visit(n.value)  # the target binds in the enclosing scope (see expr)
            else:
                for child in ast.iter_child_nodes(n):
                    visit(child)

        for part in inner_parts(node):
            visit(part)

    # -- assignment targets ---------------------------------------------------------------
    def target(self, node: ast.expr, type_: str = "any") -> None:
        if isinstance(node, ast.Name):
            self.write(node.id, node.lineno, type_)
        elif isinstance(node, (ast.Tuple, ast.List)):
            for element in node.elts:
                self.target(element)
        elif isinstance(node, ast.Starred):
            self.target(node.value, "list")
        elif isinstance(node, (ast.Attribute, ast.Subscript)):
            # `a.b = v` / `a[i] = v` read `a` and modify it in place.
            if isinstance(node, ast.Subscript):
                self.expr(node.slice)
            base = node.value
            while isinstance(base, (ast.Attribute, ast.Subscript)):
                if isinstance(base, ast.Subscript):
                    self.expr(base.slice)
                base = base.value
            if isinstance(base, ast.Name):
                self.read(base.id, base.lineno)
                self.mutate(base.id, base.lineno)
            else:
                self.expr(base)

    def delete_target(self, node: ast.expr) -> None:
        if isinstance(node, ast.Name):
            self.delete(node.id, node.lineno)
        elif isinstance(node, (ast.Tuple, ast.List)):
            for element in node.elts:
                self.delete_target(element)
        else:
            self.target(node)

    # -- statements -------------------------------------------------------------------------
    def stmt(self, node: ast.stmt) -> None:
        compound = isinstance(node, (ast.If, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith, ast.Try, ast.Match) + COPYABLE_CONTAINERS)
        if compound:
            self.containers.append(node)
        try:
            self.simple_or_compound(node)
        finally:
            if compound:
                self.containers.pop()

    def simple_or_compound(self, node: ast.stmt) -> None:
        if isinstance(node, ast.Expr):
            self.expr(node.value)
        elif isinstance(node, ast.Assign):
            self.expr(node.value)
            value_type = literal_type(node.value)
            for target in node.targets:
                self.target(target, value_type)
            if (
                len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
                and isinstance(node.value, ast.Lambda)
            ):
                reads, writes = self.lambda_uses[id(node.value)]
                self.define(node.targets[0].id, node, reads, writes)
        elif isinstance(node, ast.AnnAssign):
            self.expr(node.annotation)
            if node.value is not None:
                self.expr(node.value)
                self.target(node.target, annotation_type(node.annotation))
        elif isinstance(node, ast.AugAssign):
            if isinstance(node.target, ast.Name):
                self.read(node.target.id, node.lineno)
                self.expr(node.value)
                self.write(node.target.id, node.lineno)
            else:
                self.expr(node.value)
                self.target(node.target)
        elif isinstance(node, ast.Delete):
            for target in node.targets:
                self.delete_target(target)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for part in outer_parts(node):
                self.expr(part)
            reads, writes = scope_uses(self.tables.take(node), node)
            self.write(node.name, node.lineno)
            self.define(node.name, node, reads, writes)
        elif isinstance(node, ast.ClassDef):
            for part in outer_parts(node):
                self.expr(part)
            # The class body runs now; its methods run when called. symtable gives both as the
            # class scope's globals, which is the conservative reading.
            reads, writes = scope_uses(self.tables.take(node), node)
            self.reads_of(reads)
            self.write(node.name, node.lineno)
            self.define(node.name, node, reads, writes)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                bound = alias.asname or alias.name.split(".")[0]
                self.write(bound, node.lineno, "module")
                self.define(bound, node, {}, (), [alias.name.split(".")[0]])
        elif isinstance(node, ast.ImportFrom):
            module = [node.module.split(".")[0]] if node.module and node.level == 0 else []
            for alias in node.names:
                if alias.name == "*":
                    self.emit({"kind": "starImport", "line": node.lineno, "module": node.module or ""})
                    continue
                bound = alias.asname or alias.name
                self.write(bound, node.lineno, "module")
                self.define(bound, node, {}, (), module)
        elif isinstance(node, ast.If):
            self.expr(node.test)
            self.both_branches([node.body, node.orelse])
        elif isinstance(node, (ast.For, ast.AsyncFor)):
            self.expr(node.iter)
            with self.new_block():
                # The target is bound for certain inside the body, which runs only after it is.
                self.target(node.target)
                self.statements(node.body)
            self.conditional_body(node.orelse)
        elif isinstance(node, ast.While):
            self.expr(node.test)
            self.conditional_body(node.body)
            self.conditional_body(node.orelse)
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                self.expr(item.context_expr)
                if item.optional_vars is not None:
                    self.target(item.optional_vars)
            self.statements(node.body)
        elif isinstance(node, COPYABLE_CONTAINERS):  # try (and try/except*)
            self.statements(node.body)
            for handler in node.handlers:
                self.expr(handler.type)
                with self.new_block():
                    if handler.name:
                        self.write(handler.name, handler.lineno)
                    self.statements(handler.body)
                    if handler.name:
                        # Python unbinds the exception name when the handler ends.
                        self.delete(handler.name, handler.lineno)
            self.conditional_body(node.orelse)
            self.statements(node.finalbody)
        elif isinstance(node, ast.Match):
            self.expr(node.subject)
            for case in node.cases:
                with self.new_block():
                    for sub in ast.walk(case.pattern):
                        if isinstance(sub, ast.MatchValue):
                            self.expr(sub.value)
                        elif isinstance(sub, ast.MatchClass):
                            self.expr(sub.cls)
                        name = getattr(sub, "name", None) or getattr(sub, "rest", None)
                        if isinstance(name, str):
                            self.write(name, sub.lineno)
                    self.expr(case.guard)
                    self.statements(case.body)
        elif isinstance(node, (ast.Return, ast.Raise, ast.Assert)):
            for child in ast.iter_child_nodes(node):
                self.expr(child)
        elif isinstance(node, (ast.Global, ast.Nonlocal, ast.Pass, ast.Break, ast.Continue)):
            pass
        else:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.expr):
                    self.expr(child)
