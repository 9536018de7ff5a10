"""Name-flow analysis of notebook cells with Python's own ast and symtable.

For each cell this produces the module-level events of its code in evaluation order:
reads, writes (definite or maybe), deletes, mutations, and definitions (functions, classes,
imports) with the global names their bodies read and write when called. The TypeScript side joins
cells into components and resolves names across them; this module knows nothing of components.

Nested scopes (function and class bodies, lambdas, comprehensions) are resolved by symtable, so
Python's own scoping rules decide which names are global; module-level code is walked in order by
hand because symtable has no notion of order.
"""

import ast
import symtable
import sys
from typing import Iterable

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
        return literal_type(node.operand) if literal_type(node.operand) in ("int", "float") else "any"
    if isinstance(node, (ast.List, ast.Tuple, ast.ListComp)):
        return "list"
    if isinstance(node, (ast.Dict, ast.DictComp)):
        return "dict"
    if isinstance(node, ast.JoinedStr):
        return "str"
    return "any"


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


def nested_scope_globals(node: ast.AST) -> tuple[set[str], set[str]]:
    """Globals read/written by the bodies of the nested scopes directly inside `node`."""
    module_table = symtable.symtable(ast.unparse(node), "<cell>", "exec")
    augmented = {
        n.target.id for n in ast.walk(node) if isinstance(n, ast.AugAssign) and isinstance(n.target, ast.Name)
    }
    reads: set[str] = set()
    writes: set[str] = set()
    for child in module_table.get_children():
        child_reads, child_writes = scope_globals(child, augmented)
        reads |= child_reads
        writes |= child_writes
    return reads, writes


class CellWalker:
    """Walks one cell's module-level code in evaluation order and records events."""

    def __init__(self) -> None:
        self.events: list[dict] = []
        self.conditional = 0

    # -- events -----------------------------------------------------------------------------
    def read(self, name: str, line: int) -> None:
        self.events.append({"kind": "read", "name": name, "line": line})

    def write(self, name: str, line: int, type_: str = "any", maybe: bool = False) -> None:
        self.events.append(
            {"kind": "write", "name": name, "line": line, "type": type_, "maybe": maybe or self.conditional > 0}
        )

    def delete(self, name: str, line: int) -> None:
        self.events.append({"kind": "delete", "name": name, "line": line})

    def mutate(self, name: str, line: int) -> None:
        self.events.append({"kind": "mutate", "name": name, "line": line})

    def define(self, name: str, stmt: ast.stmt, reads: Iterable[str], writes: Iterable[str], modules: Iterable[str] = ()) -> None:
        first = min([stmt.lineno] + [d.lineno for d in getattr(stmt, "decorator_list", [])])
        self.events.append(
            {
                "kind": "define",
                "name": name,
                "line": first,
                "endLine": stmt.end_lineno or stmt.lineno,
                "reads": sorted(set(reads)),
                "writes": sorted(set(writes)),
                "modules": sorted(set(modules)),
                "topLevel": self.depth == 0,
                "maybe": self.conditional > 0,
            }
        )

    depth = 0

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
            for default in node.args.defaults + [d for d in node.args.kw_defaults if d is not None]:
                self.expr(default)
            reads, _ = nested_scope_globals(node)
            for name in sorted(reads):
                self.read(name, node.lineno)
            return
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            # The first iterable runs in the enclosing scope; the rest in the comprehension's own.
            self.expr(node.generators[0].iter)
            reads, _ = nested_scope_globals(node)
            for name in sorted(reads):
                self.read(name, node.lineno)
            for walrus in (n for n in ast.walk(node) if isinstance(n, ast.NamedExpr)):
                # PEP 572: a walrus inside a comprehension binds in the enclosing scope.
                self.write(walrus.target.id, walrus.lineno, "any", maybe=True)
            return
        for child in ast.iter_child_nodes(node):
            self.expr(child)

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
    def body(self, statements: list[ast.stmt], conditional: bool = False) -> None:
        self.conditional += conditional
        self.depth += 1
        for stmt in statements:
            self.stmt(stmt)
        self.depth -= 1
        self.conditional -= conditional

    def both_branches(self, branches: list[list[ast.stmt]]) -> None:
        """Walk alternative branches; names every branch binds are definitely bound after."""
        bound_sets = []
        for branch in branches:
            start = len(self.events)
            self.body(branch, conditional=True)
            bound_sets.append({e["name"] for e in self.events[start:] if e["kind"] in ("write", "define")})
        definite = set.intersection(*bound_sets) if bound_sets else set()
        if self.conditional == 0:
            for name in sorted(definite):
                typed = [e for e in self.events if e["kind"] == "write" and e["name"] == name]
                line = typed[-1]["line"] if typed else 0
                self.events.append({"kind": "write", "name": name, "line": line, "type": typed[-1]["type"] if typed else "any", "maybe": False})

    def stmt(self, node: ast.stmt) -> None:
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
                reads, writes = nested_scope_globals(node.value)
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
            for decorator in node.decorator_list:
                self.expr(decorator)
            arguments = node.args
            for default in arguments.defaults + [d for d in arguments.kw_defaults if d is not None]:
                self.expr(default)
            for arg in arguments.posonlyargs + arguments.args + arguments.kwonlyargs + [arguments.vararg, arguments.kwarg]:
                if arg is not None and arg.annotation is not None:
                    self.expr(arg.annotation)
            self.expr(node.returns)
            reads, writes = nested_scope_globals(node)
            self.write(node.name, node.lineno)
            self.define(node.name, node, reads, writes)
        elif isinstance(node, ast.ClassDef):
            for decorator in node.decorator_list:
                self.expr(decorator)
            for base in node.bases:
                self.expr(base)
            for keyword in node.keywords:
                self.expr(keyword.value)
            # The class body runs now; its methods run when called. symtable gives both as the
            # class scope's globals, which is the conservative reading.
            reads, writes = nested_scope_globals(node)
            for name in sorted(reads):
                self.read(name, node.lineno)
            self.write(node.name, node.lineno)
            self.define(node.name, node, reads, writes)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                bound = alias.asname or alias.name.split(".")[0]
                self.write(bound, node.lineno, "module")
                self.define(bound, node, (), (), [alias.name.split(".")[0]])
        elif isinstance(node, ast.ImportFrom):
            module = [node.module.split(".")[0]] if node.module and node.level == 0 else []
            for alias in node.names:
                if alias.name == "*":
                    self.events.append({"kind": "starImport", "line": node.lineno, "module": node.module or ""})
                    continue
                bound = alias.asname or alias.name
                self.write(bound, node.lineno, "module")
                self.define(bound, node, (), (), module)
        elif isinstance(node, ast.If):
            self.expr(node.test)
            self.both_branches([node.body, node.orelse])
        elif isinstance(node, (ast.For, ast.AsyncFor)):
            self.expr(node.iter)
            self.conditional += 1
            self.target(node.target)
            self.conditional -= 1
            self.body(node.body, conditional=True)
            self.body(node.orelse, conditional=True)
        elif isinstance(node, ast.While):
            self.expr(node.test)
            self.body(node.body, conditional=True)
            self.body(node.orelse, conditional=True)
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                self.expr(item.context_expr)
                if item.optional_vars is not None:
                    self.target(item.optional_vars)
            self.body(node.body)
        elif isinstance(node, (ast.Try, getattr(ast, "TryStar", ast.Try))):
            self.body(node.body)
            for handler in node.handlers:
                self.expr(handler.type)
                self.conditional += 1
                if handler.name:
                    self.write(handler.name, handler.lineno)
                self.conditional -= 1
                self.body(handler.body, conditional=True)
                if handler.name:
                    # Python unbinds the exception name when the handler ends.
                    self.delete(handler.name, handler.lineno)
            self.body(node.orelse, conditional=True)
            self.body(node.finalbody)
        elif isinstance(node, ast.Match):
            self.expr(node.subject)
            for case in node.cases:
                self.conditional += 1
                for sub in ast.walk(case.pattern):
                    if isinstance(sub, ast.MatchValue):
                        self.expr(sub.value)
                    elif isinstance(sub, ast.MatchClass):
                        self.expr(sub.cls)
                    name = getattr(sub, "name", None) or getattr(sub, "rest", None)
                    if isinstance(name, str):
                        self.write(name, sub.lineno)
                self.expr(case.guard)
                self.conditional -= 1
                self.body(case.body, conditional=True)
        elif isinstance(node, (ast.Return, ast.Raise, ast.Assert)):
            for child in ast.iter_child_nodes(node):
                self.expr(child)
        elif isinstance(node, (ast.Global, ast.Nonlocal, ast.Pass, ast.Break, ast.Continue)):
            pass
        else:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.expr):
                    self.expr(child)


def parameters(tree: ast.Module) -> tuple[list[dict], list[dict]]:
    """The parameters cell: literal top-level assignments (papermill's convention)."""
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
            problems.append({"line": stmt.lineno, "message": f"parameter '{name}' must be a literal (number, string, bool or list), not `{ast.unparse(value)}`"})
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
        found.append({"name": name, "line": stmt.lineno, "type": type_, "default": default})
    return found, problems


def analyze_cell(source: str, is_parameters: bool) -> dict:
    try:
        tree = ast.parse(source)
    except SyntaxError as error:
        return {"syntaxError": {"line": error.lineno or 1, "column": error.offset or 1, "message": error.msg}}
    walker = CellWalker()
    for stmt in tree.body:
        walker.stmt(stmt)
    result: dict = {"events": walker.events}
    if is_parameters:
        result["parameters"], result["parameterProblems"] = parameters(tree)
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
