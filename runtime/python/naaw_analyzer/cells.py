"""Name-flow analysis of notebook cells with Python's own ast and symtable.

For each cell this produces the module-level events of its code in evaluation order:
reads, writes (definite or maybe), deletes, mutations, and definitions (functions, classes,
imports) with the global names their bodies read (each at the line it is read on) and write when
called. The TypeScript side joins cells into components and resolves names across them; this
module knows nothing of components.

Nested scopes (function and class bodies, lambdas, comprehensions) are resolved by symtable, so
Python's own scoping rules decide which names are global; module-level code is walked in order by
hand because symtable has no notion of order.

Blocks: the body of an `if` branch, a loop, an `except` handler or a `case` is a block, numbered
from 1 within the cell (0 is the cell's top level); `blocks[b - 1]` is the block enclosing block b.
An event inside a block carries `block`. A write carries `block` when it binds the name on every
path through that block from there on, so a later read in the same block (or one nested in it) sees
it for certain, even though after the block the name is only maybe bound.
"""

from __future__ import annotations

import ast
import contextlib
import json
import math
import symtable
import sys
from typing import Iterable, Iterator

ANNOTATION_TYPES = {
    "int": "int",
    "float": "float",
    "str": "str",
    "bool": "bool",
    "list": "list",
    "List": "list",
    "tuple": "list",
    "Tuple": "list",
    "Sequence": "list",
    "dict": "dict",
    "Dict": "dict",
    "Mapping": "dict",
    "ndarray": "ndarray",
    "NDArray": "ndarray",
    "ArrayLike": "ndarray",
}

# Python accepts expressions about 3000 levels deep (its parser's own limit). Our walk recurses once
# per level, so it needs more than the default 1000 frames. Since 3.11 a Python-to-Python call uses
# no C stack, so a higher limit is safe there; on 3.10 the default stays and a deeper cell is
# reported as too deeply nested instead of risking the C stack.
DEFAULT_RECURSION_LIMIT = sys.getrecursionlimit()
WALK_RECURSION_LIMIT = 12_000 if sys.version_info >= (3, 11) else DEFAULT_RECURSION_LIMIT

SCOPE_NODES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
COMPREHENSION_NAMES = {ast.ListComp: "listcomp", ast.SetComp: "setcomp", ast.DictComp: "dictcomp", ast.GeneratorExp: "genexpr"}
# A definition inside these (at any depth, and only these) is copied with its enclosing top-level
# statement: the `ImportError` fallback and the optional feature behave in the copy as in the notebook.
COPYABLE_CONTAINERS = (ast.If, ast.Try) + ((ast.TryStar,) if hasattr(ast, "TryStar") else ())
SHOWN_SOURCE = 60


def annotation_type(node: ast.expr) -> str:
    """Map an annotation to a NaaW type: `np.ndarray`, `list[int]`, `Dict[str, float]`, ..."""
    if isinstance(node, ast.Subscript):
        return annotation_type(node.value)
    if isinstance(node, ast.Attribute):
        return ANNOTATION_TYPES.get(node.attr, "any")
    if isinstance(node, ast.Name):
        return ANNOTATION_TYPES.get(node.id, "any")
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        try:
            return annotation_type(ast.parse(node.value, mode="eval").body)
        except SyntaxError:
            return "any"
    return "any"


def literal_type(node: ast.expr) -> str:
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool):
            return "bool"
        if isinstance(value, int):
            return "int"
        if isinstance(value, float):
            return "float"
        if isinstance(value, str):
            return "str"
        return "any"
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        operand = literal_type(node.operand)  # once: `- - - 1` must not cost 2**depth
        return operand if operand in ("int", "float") else "any"
    if isinstance(node, (ast.List, ast.Tuple, ast.ListComp)):
        return "list"
    if isinstance(node, (ast.Dict, ast.DictComp)):
        return "dict"
    if isinstance(node, ast.JoinedStr):
        return "str"
    return "any"


# -- nested scopes ----------------------------------------------------------------------------------
def scope_name(node: ast.AST) -> str:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return node.name
    if isinstance(node, ast.Lambda):
        return "lambda"
    return COMPREHENSION_NAMES[type(node)]


def outer_parts(node: ast.AST) -> list[ast.AST]:
    """The parts of a scope-opening node that Python evaluates in the enclosing scope."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        arguments = node.args
        parts: list[ast.AST] = list(getattr(node, "decorator_list", []))
        parts += arguments.defaults + [d for d in arguments.kw_defaults if d is not None]
        if not isinstance(node, ast.Lambda):
            every = arguments.posonlyargs + arguments.args + arguments.kwonlyargs + [arguments.vararg, arguments.kwarg]
            parts += [a.annotation for a in every if a is not None and a.annotation is not None]
            parts += [node.returns] if node.returns is not None else []
        return parts
    if isinstance(node, ast.ClassDef):
        return list(node.decorator_list) + list(node.bases) + [k.value for k in node.keywords]
    return [node.generators[0].iter]


def inner_parts(node: ast.AST) -> list[ast.AST]:
    """The parts of a scope-opening node that run in its own scope."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return list(node.body)
    if isinstance(node, ast.Lambda):
        return [node.body]
    parts: list[ast.AST] = [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
    for i, generator in enumerate(node.generators):
        parts += [generator.target, *generator.ifs] + ([generator.iter] if i > 0 else [])
    return parts


class ScopeTables:
    """The child tables of one symbol table, handed out to the AST nodes that open them.

    symtable knows no columns, so a child is found by its name and line; several on one line are
    handed out in the order Python created them, which is the order the walk meets them in.
    """

    def __init__(self, table: symtable.SymbolTable):
        self.queues: dict[tuple[str, int], list[symtable.SymbolTable]] = {}
        for child in table.get_children():
            self.queues.setdefault((child.get_name(), child.get_lineno()), []).append(child)

    def take(self, node: ast.AST) -> symtable.SymbolTable | None:
        queue = self.queues.get((scope_name(node), node.lineno))
        return queue.pop(0) if queue else None


def scope_globals(table: symtable.SymbolTable, augmented: set[str]) -> tuple[set[str], set[str]]:
    """Global names a scope (and every scope nested in it) reads and assigns when it runs.

    symtable records `counter += 1` as an assignment only; `augmented` names the targets of
    augmented assignments, which read the global too.
    """
    reads: set[str] = set()
    writes: set[str] = set()
    for symbol in table.get_symbols():
        if not symbol.is_global():
            continue
        name = symbol.get_name()
        if symbol.is_referenced() or (symbol.is_declared_global() and name in augmented):
            reads.add(name)
        if symbol.is_declared_global() and symbol.is_assigned():
            writes.add(name)
    for child in table.get_children():
        child_reads, child_writes = scope_globals(child, augmented)
        reads |= child_reads
        writes |= child_writes
    return reads, writes


def global_read_lines(table: symtable.SymbolTable, node: ast.AST) -> dict[str, int]:
    """The first line on which the scope of `node` (or a scope nested in it) reads each global."""
    lines: dict[str, int] = {}
    children = ScopeTables(table)

    def note(name: str, line: int) -> None:
        if line < lines.get(name, line + 1):
            lines[name] = line

    def is_global(name: str) -> bool:
        try:
            return table.lookup(name).is_global()
        except KeyError:
            return False

    def visit(n: ast.AST) -> None:
        if isinstance(n, ast.Name):
            if isinstance(n.ctx, ast.Load) and is_global(n.id):
                note(n.id, n.lineno)
            return
        if isinstance(n, ast.AugAssign) and isinstance(n.target, ast.Name) and is_global(n.target.id):
            note(n.target.id, n.lineno)
        if isinstance(n, SCOPE_NODES):
            for part in outer_parts(n):
                visit(part)
            child = children.take(n)
            if child is not None:
                for name, line in global_read_lines(child, n).items():
                    note(name, line)
            elif isinstance(n, COMPREHENSIONS):
                # Inlined (Python 3.12+, PEP 709): its names are in this scope's table.
                for part in inner_parts(n):
                    visit(part)
            return
        for child_node in ast.iter_child_nodes(n):
            visit(child_node)

    for part in inner_parts(node):
        visit(part)
    return lines


def scope_uses(table: symtable.SymbolTable | None, node: ast.AST) -> tuple[dict[str, int], set[str]]:
    """Globals the scope that `node` opens reads (name -> first line read) and assigns when it runs."""
    augmented = {n.target.id for n in ast.walk(node) if isinstance(n, ast.AugAssign) and isinstance(n.target, ast.Name)}
    if table is None:
        # Not matched to the cell's table (a Python whose symtable differs): analyze the node alone,
        # which gives the same names; lines are then the node's own.
        with recursion_limit(DEFAULT_RECURSION_LIMIT):
            alone = symtable.symtable(ast.unparse(node), "<cell>", "exec")
        reads: set[str] = set()
        writes: set[str] = set()
        for child in alone.get_children():
            child_reads, child_writes = scope_globals(child, augmented)
            reads |= child_reads
            writes |= child_writes
        return {name: node.lineno for name in reads}, writes
    reads, writes = scope_globals(table, augmented)
    lines = global_read_lines(table, node)
    return {name: lines.get(name, node.lineno) for name in reads}, writes



@contextlib.contextmanager
def recursion_limit(limit: int) -> Iterator[None]:
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(limit)
    try:
        yield
    finally:
        sys.setrecursionlimit(previous)


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


# -- the parameters cell ----------------------------------------------------------------------------
JSON_VALUES = "numbers, strings, bools, None, and lists and dicts of them with string keys"


def json_problem(value: object) -> str | None:
    """Why a literal cannot travel as JSON (and so cannot be a param's default), with what to do; or None."""
    if value is None or isinstance(value, (bool, str)):
        return None
    if isinstance(value, int):
        try:
            str(value)
        except ValueError:
            return f"has more digits than Python writes as decimal text ({sys.get_int_max_str_digits()}); use a smaller integer"
        return None
    if isinstance(value, float):
        if math.isfinite(value):
            return None
        return "overflows a float (Python reads it as inf), and JSON has no infinity; write a finite number (at most 1.8e308)"
    if isinstance(value, (list, tuple)):
        return next((p for p in map(json_problem, value) if p is not None), None)
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return f"has the dict key {key!r}, but JSON keys are strings; write it as {str(key)!r}"
            problem = json_problem(item)
            if problem is not None:
                return problem
        return None
    return f"holds {value!r}, a {type(value).__name__}, which JSON cannot carry; use {JSON_VALUES}"


def parameters(tree: ast.Module, source: str) -> tuple[list[dict], list[dict]]:
    """The parameters cell: literal top-level assignments (papermill's convention)."""

    def written(node: ast.expr) -> str:
        # As the user wrote it: `1e400`, not unparse's `1e309`.
        text = " ".join((ast.get_source_segment(source, node) or ast.unparse(node)).split())
        return text if len(text) <= SHOWN_SOURCE else text[: SHOWN_SOURCE - 3] + "..."

    found: list[dict] = []
    problems: list[dict] = []
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            name, value, annotation = stmt.targets[0].id, stmt.value, None
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value is not None:
            name, value, annotation = stmt.target.id, stmt.value, stmt.annotation
        elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            continue  # a docstring or a bare comment string
        else:
            problems.append({"line": stmt.lineno, "message": "the parameters cell may only assign literals to names, one per line (papermill's convention)"})
            continue
        try:
            default = ast.literal_eval(value)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            problems.append({"line": stmt.lineno, "message": f"parameter '{name}' must be a literal (number, string, bool or list), not `{written(value)}`"})
            continue
        problem = json_problem(default)
        if problem is not None:
            # A param's default is written to component.json and crosses steps as JSON.
            problems.append({"line": stmt.lineno, "message": f"parameter '{name}' = `{written(value)}` {problem}"})
            continue
        if isinstance(default, tuple):
            default = list(default)
        type_ = annotation_type(annotation) if annotation is not None else literal_type(value)
        if type_ not in ("int", "float", "str", "bool", "list", "dict"):
            if default is None:
                type_ = "any"
            else:
                problems.append({"line": stmt.lineno, "message": f"parameter '{name}' must be an int, float, str, bool or list literal"})
                continue
        # As JSON text: the TypeScript side reads integers beyond 2**53 exactly from it.
        found.append({"name": name, "line": stmt.lineno, "type": type_, "defaultJson": json.dumps(default, allow_nan=False)})
    return found, problems


# -- one cell, a notebook ---------------------------------------------------------------------------
def too_deep(error: BaseException) -> dict:
    reason = str(error) or type(error).__name__
    return {"tooDeep": {"message": f"the code is nested too deeply for Python to compile ({reason}); split the expression into smaller statements"}}


def analyze_cell(source: str, is_parameters: bool) -> dict:
    try:
        # Python's own limits first: what the notebook's kernel could not compile is not analyzed.
        tree = ast.parse(source)
        module = symtable.symtable(source, "<cell>", "exec")
    except SyntaxError as error:
        return {"syntaxError": {"line": error.lineno or 1, "column": error.offset or 1, "message": error.msg}}
    except ValueError as error:  # "source code string cannot contain null bytes" (3.11)
        return {"syntaxError": {"line": 1, "column": 1, "message": str(error)}}
    except (RecursionError, MemoryError) as error:
        return too_deep(error)
    try:
        with recursion_limit(WALK_RECURSION_LIMIT):
            walker = CellWalker(module)
            walker.statements(tree.body)
            result: dict = {"events": walker.events, "blocks": walker.blocks}
            if is_parameters:
                result["parameters"], result["parameterProblems"] = parameters(tree, source)
    except (RecursionError, MemoryError) as error:
        return too_deep(error)
    return result


def analyze(request: dict) -> dict:
    return {
        "stdlib": sorted(sys.stdlib_module_names),
        "builtins": sorted(name for name in dir(__import__("builtins")) if not name.startswith("_")) + ["__name__", "__file__", "__doc__"],
        "cells": [
            {"index": cell["index"], **analyze_cell(cell["source"], bool(cell.get("parameters")))}
            for cell in request["cells"]
        ],
    }
