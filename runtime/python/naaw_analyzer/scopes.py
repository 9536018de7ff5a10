"""Nested scopes (functions, classes, lambdas, comprehensions): which names they read and write, by symtable."""

from __future__ import annotations

import ast
import symtable

from .limits import DEFAULT_RECURSION_LIMIT, recursion_limit

SCOPE_NODES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
COMPREHENSION_NAMES = {ast.ListComp: "listcomp", ast.SetComp: "setcomp", ast.DictComp: "dictcomp", ast.GeneratorExp: "genexpr"}


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
