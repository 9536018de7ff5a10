"""The parameters cell: its top-level literal assignments, as JSON-safe defaults."""

from __future__ import annotations

import ast
import json
import math
import sys

from .valuetypes import annotation_type, literal_type

# How much of a literal an error message shows.
SHOWN_SOURCE = 60

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
