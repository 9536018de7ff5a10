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
import symtable
import sys

from .limits import WALK_RECURSION_LIMIT, recursion_limit
from .params import parameters
from .walker import CellWalker


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
