"""component.json: load it, validate it, and answer questions about it."""

from __future__ import annotations

import json
import keyword
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import SpecError
from .values import VALUE_TYPES, conform, matches_type

SPEC_FILE = "component.json"
CELLS_FILE = "cells.py"
COMPONENT_FILE = "component.py"


@dataclass(frozen=True)
class Variable:
    name: str
    type: str


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    has_default: bool
    default: Any = None


@dataclass(frozen=True)
class SourceMapEntry:
    """cells.py lines `line … line+lines-1` are lines `cell_line … cell_line+lines-1` of notebook cell `cell`."""

    line: int
    lines: int
    cell: int
    cell_line: int = 1


@dataclass(frozen=True)
class ComponentSpec:
    directory: Path
    name: str
    notebook: str
    cells: tuple[int, ...]
    inputs: tuple[Variable, ...]
    outputs: tuple[Variable, ...]
    params: tuple[Param, ...]
    requirements: tuple[str, ...]
    source_map: tuple[SourceMapEntry, ...]
    document: dict[str, Any]  # component.json as written, for GET /spec

    @property
    def cells_path(self) -> Path:
        return self.directory / CELLS_FILE

    @property
    def component_path(self) -> Path:
        return self.directory / COMPONENT_FILE

    def locate(self, cells_line: int) -> tuple[int, int] | None:
        """(notebook cell, line within that cell) of a cells.py line, or None when the map does not cover it."""
        for entry in self.source_map:
            if entry.line <= cells_line < entry.line + entry.lines:
                return entry.cell, cells_line - entry.line + entry.cell_line
        return None

    def input(self, name: str) -> Variable | None:
        return next((v for v in self.inputs if v.name == name), None)

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)


def load_spec(directory: str | Path) -> ComponentSpec:
    """Read DIR/component.json; any deviation from the contract is a SpecError naming the file and the field."""
    directory = Path(directory)
    path = directory / SPEC_FILE
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SpecError(f"{path} not found: --component must be a component directory") from None
    except (OSError, ValueError) as exc:
        raise SpecError(f"cannot read {path}: {exc}") from None
    return _SpecReader(path).read(directory, document)


class _SpecReader:
    def __init__(self, path: Path):
        self.path = path

    def fail(self, where: str, problem: str) -> SpecError:
        return SpecError(f"invalid component spec {self.path}: {where}: {problem}")

    def read(self, directory: Path, document: Any) -> ComponentSpec:
        if not isinstance(document, dict):
            raise self.fail("top level", "must be a JSON object")
        name = self.text(document, "name")
        if "/" in name or any(ch.isspace() for ch in name):
            raise self.fail("name", f"{name!r} must not contain '/' or whitespace")
        inputs = self.variables(document, "inputs")
        outputs = self.variables(document, "outputs")
        params = self.params(document)
        clashes = {v.name for v in inputs} & {p.name for p in params}
        if clashes:
            raise self.fail("params", f"{sorted(clashes)[0]!r} is both an input and a param")
        return ComponentSpec(
            directory=directory,
            name=name,
            notebook=self.text(document, "notebook"),
            cells=tuple(self.int_list(document, "cells")),
            inputs=inputs,
            outputs=outputs,
            params=params,
            requirements=tuple(self.text_list(document, "requirements")),
            source_map=self.source_map(document),
            document=document,
        )

    def text(self, document: dict, key: str) -> str:
        value = document.get(key)
        if not isinstance(value, str) or not value:
            raise self.fail(key, "must be a non-empty string")
        return value

    def text_list(self, document: dict, key: str) -> list[str]:
        value = document.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(key, "must be a list of strings")
        return value

    def int_list(self, document: dict, key: str) -> list[int]:
        value = document.get(key, [])
        if not isinstance(value, list) or not all(_is_int(v) and v >= 0 for v in value):
            raise self.fail(key, "must be a list of cell indices (integers >= 0)")
        return value

    def entries(self, document: dict, key: str) -> list[dict]:
        value = document.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.fail(key, "must be a list of objects")
        return value

    def variable(self, entry: dict, where: str) -> tuple[str, str]:
        name = entry.get("name")
        if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
            raise self.fail(f"{where}.name", f"{name!r} is not a Python variable name")
        kind = entry.get("type")
        if kind not in VALUE_TYPES:
            raise self.fail(f"{where}.type", f"{kind!r} is not one of {', '.join(VALUE_TYPES)}")
        return name, kind

    def unique(self, names: list[str], key: str) -> None:
        seen: set[str] = set()
        for name in names:
            if name in seen:
                raise self.fail(key, f"{name!r} is listed twice")
            seen.add(name)

    def variables(self, document: dict, key: str) -> tuple[Variable, ...]:
        entries = self.entries(document, key)
        result = [Variable(*self.variable(e, f"{key}[{i}]")) for i, e in enumerate(entries)]
        self.unique([v.name for v in result], key)
        return tuple(result)

    def params(self, document: dict) -> tuple[Param, ...]:
        result = []
        for i, entry in enumerate(self.entries(document, "params")):
            where = f"params[{i}]"
            name, kind = self.variable(entry, where)
            if kind == "ndarray":
                raise self.fail(f"{where}.type", "a param is a JSON value, so it cannot be an ndarray")
            has_default = "default" in entry
            default = entry.get("default")
            if has_default and not matches_type(default, kind):
                raise self.fail(f"{where}.default", f"{default!r} is not a {kind}")
            result.append(Param(name, kind, has_default, conform(default, kind) if has_default else None))
        self.unique([p.name for p in result], "params")
        return tuple(result)

    def source_map(self, document: dict) -> tuple[SourceMapEntry, ...]:
        result = []
        for i, entry in enumerate(self.entries(document, "sourceMap")):
            line, lines, cell = entry.get("line"), entry.get("lines"), entry.get("cell")
            cell_line = entry.get("cellLine", 1)
            if not all(_is_int(v) and v >= 1 for v in (line, lines, cell_line)) or not (_is_int(cell) and cell >= 0):
                raise self.fail(f"sourceMap[{i}]", "needs integers line >= 1, lines >= 1, cellLine >= 1 and cell >= 0")
            result.append(SourceMapEntry(line, lines, cell, cell_line))
        ordered = sorted(result, key=lambda e: e.line)
        for before, after in zip(ordered, ordered[1:]):
            if after.line < before.line + before.lines:
                raise self.fail("sourceMap", f"the entries for cells {before.cell} and {after.cell} overlap")
        return tuple(result)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
