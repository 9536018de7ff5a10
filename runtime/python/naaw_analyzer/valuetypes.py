"""Value types of a cell's names, from annotations and literals."""

from __future__ import annotations

import ast

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
        operand = literal_type(node.operand)  # once: `- - - 1` must not cost 2**depth
        return operand if operand in ("int", "float") else "any"
    if isinstance(node, (ast.List, ast.Tuple, ast.ListComp)):
        return "list"
    if isinstance(node, (ast.Dict, ast.DictComp)):
        return "dict"
    if isinstance(node, ast.JoinedStr):
        return "str"
    return "any"
