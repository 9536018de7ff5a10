"""Run a component: import its component.py, call run(**values), map failures to notebook cells, write outputs."""

from __future__ import annotations

import importlib.util
import os
import re
import runpy
import traceback
from pathlib import Path
from typing import Any, Callable

from .errors import CellError, ComponentError, InputError, SpecError
from .npy import unchanged_npy_file
from .spec import ComponentSpec, load_spec
from .values import conform, describe, encode_output, matches_type, write_value

_RUNTIME_DIR = os.path.dirname(os.path.realpath(__file__))
_RUNPY_FILE = os.path.realpath(runpy.__file__)


class Component:
    """A loaded component directory: its spec and the `run` function of its component.py."""

    def __init__(self, spec: ComponentSpec, run: Callable[..., Any]):
        self.spec = spec
        self._run = run
        self._cells_file = os.path.realpath(spec.cells_path)
        self._component_file = os.path.realpath(spec.component_path)

    @classmethod
    def load(cls, directory: str | Path) -> "Component":
        spec = load_spec(directory)
        if not spec.cells_path.is_file():
            raise SpecError(f"{spec.cells_path} not found: a component directory needs its cells.py")
        return cls(spec, _import_run(spec))

    @property
    def name(self) -> str:
        return self.spec.name

    def call(self, values: dict[str, Any]) -> dict[str, Any]:
        """The outputs of one run, every declared output present; cell exceptions become CellError."""
        try:
            produced = self._run(**values)
        except (Exception, SystemExit) as exc:  # SystemExit: a cell calling exit() must not stop the runtime
            raise self._cell_error(exc) from exc
        if not isinstance(produced, dict):
            raise ComponentError(
                f"component '{self.name}': {self.spec.component_path} run() returned {describe(produced)}, not a dict"
            )
        for output in self.spec.outputs:
            if output.name not in produced:
                raise ComponentError(f"component '{self.name}' did not define output '{output.name}'")
        return produced

    def _cell_error(self, exc: BaseException) -> CellError:
        summary = " ".join(f"{type(exc).__name__}: {exc}".split()) if str(exc) else type(exc).__name__
        cells_line = None
        for frame in traceback.extract_tb(exc.__traceback__):
            if self._is_cells_file(frame.filename):
                cells_line = frame.lineno
        if cells_line is None and isinstance(exc, SyntaxError) and exc.filename and self._is_cells_file(exc.filename):
            cells_line = exc.lineno
        place = self.spec.locate(cells_line) if cells_line is not None else None
        if place is not None:
            cell, line = place
            message = f"component '{self.name}' failed at {self.spec.notebook} cell {cell}, line {line}: {summary}"
        elif cells_line is not None:
            cell = line = None
            message = f"component '{self.name}' failed at {self.spec.cells_path} line {cells_line}: {summary}"
        else:
            cell = line = None
            message = f"component '{self.name}' failed: {summary}"
        return CellError(message, cell, line, self._mapped_traceback(exc))

    def _is_cells_file(self, filename: str) -> bool:
        return filename == self._cells_file or os.path.realpath(filename) == self._cells_file

    def _mapped_traceback(self, exc: BaseException) -> str:
        """The traceback with cells.py frames shown as notebook cells and the runtime's own frames left out."""
        lines = ["Traceback (most recent call last):"]
        for frame in traceback.extract_tb(exc.__traceback__):
            if frame.filename.startswith("<frozen "):  # runpy and importlib as Python 3.11+ ships them
                continue
            filename = os.path.realpath(frame.filename)
            if filename in (self._component_file, _RUNPY_FILE) or filename.startswith(_RUNTIME_DIR + os.sep):
                continue
            place = self.spec.locate(frame.lineno or 0) if filename == self._cells_file else None
            if place is not None:
                lines.append(f"  {self.spec.notebook} cell {place[0]}, line {place[1]}, in {frame.name}")
            else:
                lines.append(f'  File "{frame.filename}", line {frame.lineno}, in {frame.name}')
            if frame.line:
                lines.append(f"    {frame.line}")
        lines.extend(line.rstrip("\n") for line in traceback.format_exception_only(type(exc), exc))
        return "\n".join(lines)


def _import_run(spec: ComponentSpec) -> Callable[..., Any]:
    path = spec.component_path
    if not path.is_file():
        raise SpecError(f"{path} not found: a component directory needs its component.py")
    module_name = "naaw_component_" + re.sub(r"\W", "_", spec.name)
    module_spec = importlib.util.spec_from_file_location(module_name, path)
    if module_spec is None or module_spec.loader is None:
        raise SpecError(f"cannot import {path}")
    module = importlib.util.module_from_spec(module_spec)
    try:
        module_spec.loader.exec_module(module)
    except Exception as exc:
        raise SpecError(f"cannot import {path}: {type(exc).__name__}: {exc}") from None
    run = getattr(module, "run", None)
    if not callable(run):
        raise SpecError(f"{path} does not define a function run(**values)")
    return run


def bind_params(spec: ComponentSpec, given: dict[str, Any], how_to_give: str = "") -> dict[str, Any]:
    """Every param's value: the given ones checked against their types, the rest from their defaults."""
    known = ", ".join(p.name for p in spec.params) or "none"
    for name in given:
        if spec.param(name) is None:
            raise InputError(f"unknown param '{name}'; component '{spec.name}' takes params: {known}")
    bound = {}
    for param in spec.params:
        if param.name in given:
            value = given[param.name]
            if not matches_type(value, param.type):
                raise InputError(f"param '{param.name}' must be {param.type}, got {describe(value)}")
            bound[param.name] = conform(value, param.type)
        elif param.has_default:
            bound[param.name] = param.default
        else:
            raise InputError(f"param '{param.name}' ({param.type}) has no default, so it needs a value{how_to_give}")
    return bound


def check_input_names(spec: ComponentSpec, names: list[str]) -> None:
    known = ", ".join(v.name for v in spec.inputs) or "none"
    for name in names:
        if spec.input(name) is None:
            raise InputError(f"unknown input '{name}'; component '{spec.name}' takes inputs: {known}")


def execute(component: Component, values: dict[str, Any], outputs_dir: Path, may_reuse: Callable[[Path], bool] | None = None) -> dict[str, Path]:
    """Run once and write every output into outputs_dir; nothing is written unless every output can be.

    With `may_reuse`, an output that is a whole .npy file unchanged (a read-only memory map of it) is answered
    with that file's path, if may_reuse allows the path, instead of a copy.
    """
    produced = component.call(values)
    spec = component.spec
    encoded = {o.name: encode_output(spec.name, o.name, o.type, produced[o.name]) for o in spec.outputs}
    written = {}
    for name, value in encoded.items():
        reused = unchanged_npy_file(value.data) if may_reuse is not None and value.kind == "npy" else None
        if reused is not None and may_reuse(reused):
            written[name] = reused
            continue
        try:
            written[name] = write_value(outputs_dir, name, value)
        except OSError as exc:
            raise ComponentError(f"component '{spec.name}': cannot write output '{name}' to {outputs_dir}: {exc}") from None
    return written


def make_outputs_dir(path: Path, shown: str | None = None) -> Path:
    """Create the outputs directory (and its parents) up front, so a bad location fails before the cells run."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the outputs directory {shown or path}: {exc.strerror or exc}") from None
    if not os.access(path, os.W_OK):
        raise InputError(f"the outputs directory {shown or path} is not writable")
    return path
