"""`POST /chain`: the steps of one foreach item (a tile) run one after the other in one request.

`naaw run` sends each tile's notebook steps to one service of all their components, instead of one request to
one service per step. Each step still runs as `POST /run` runs it: its inputs read and checked against their
declared types, its params bound and confined, its cells in a fresh namespace, its outputs encoded and checked.
What changes is how a value gets from a step to a later one of the same request:

- an output the request asks to `write` is written to the step's outputs directory (`naaw run` caches it), and
  the later steps read that file, as they would have read it from the cache;
- any other output is held in memory, and each later step gets what reading its file would have given it,
  without the file system's cost of creating, writing back and deleting a file per value: a large array
  (npy.MMAP_MIN_BYTES and up) in an anonymous file (memfd) in its .npy form, read as a copy-on-write memory
  map; a smaller one as a private copy, in the order and dtype its .npy file would have; JSON as its text,
  parsed for each step;
- an output that is an input file passed on unchanged (a read-only memory map of it) is that file.

The request:

    {"steps": [{"id": "load", "component": "load", "inputs": {}, "params": {"tile": "..."},
                "outputs": "DIR" | null, "write": ["points", ...]},
               {"id": "normalize", "component": "normalize",
                "inputs": {"points": {"step": "load", "output": "points"}}, ...}],
     "reuse_files": true}

An input is a path (as in POST /run) or an earlier step's output. The answer lists each step's written outputs
(path and type, as POST /run answers) and its seconds. A step that fails ends the request: the error answer is
POST /run's, with "step" (the failed step's id) and "done" (the answers of the steps before it) added.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from .errors import ComponentError, InputError, NaawError
from .execute import bind_params, check_input_names, make_outputs_dir
from .npy import MMAP_MIN_BYTES, unchanged_npy_file
from .values import Encoded, checked_value, encode_output, loads_strict, read_value, write_value

if TYPE_CHECKING:
    from .service import RuntimeService

STEP_FIELDS = {"id", "component", "inputs", "params", "outputs", "write"}


class _Held:
    """An output of an earlier step of the request: a file (written, passed on, or anonymous), or in memory."""

    def __init__(self, kind: str, path: Path | None = None, handle: IO[bytes] | None = None, array: np.ndarray | None = None, text: bytes | None = None):
        self.kind = kind
        self.path = path
        self.handle = handle
        self.array = array
        self.text = text

    def read(self, what: str, declared: str, shown: str) -> Any:
        if self.path is not None:
            return read_value(self.path, what, declared, shown, self.kind)
        if self.text is not None:
            text = self.text
            return checked_value("json", lambda: loads_strict(text), what, declared, shown)
        return checked_value("npy", lambda: _copy_as_read(self.array), what, declared, shown)  # type: ignore[arg-type]

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()


def _copy_as_read(array: np.ndarray) -> np.ndarray:
    """A private writable copy, laid out as np.save writes it (Fortran order only for a Fortran-only array)."""
    fortran = array.flags.f_contiguous and not array.flags.c_contiguous
    return np.array(array, order="F" if fortran else "C", copy=True, subok=False)


def _anonymous_file() -> tuple[IO[bytes], Path]:
    """A file that lives in memory only (Linux's memfd), or an unlinked temporary file elsewhere."""
    if hasattr(os, "memfd_create"):
        handle = os.fdopen(os.memfd_create("naaw-value", os.MFD_CLOEXEC), "w+b")
        return handle, Path(f"/proc/self/fd/{handle.fileno()}")
    handle = tempfile.NamedTemporaryFile(prefix="naaw-value-")  # removed when closed
    return handle, Path(handle.name)


def _hold(value: Encoded) -> _Held:
    if value.kind == "json":
        return _Held("json", text=json.dumps(value.data, allow_nan=False).encode("utf-8"))
    if value.data.nbytes < MMAP_MIN_BYTES:
        return _Held("npy", array=_copy_as_read(value.data))
    handle, path = _anonymous_file()
    try:
        np.lib.format.write_array(handle, value.data, allow_pickle=False)
        handle.flush()
    except BaseException:
        handle.close()
        raise
    return _Held("npy", path, handle)


def _check_request(request: Any) -> list[dict[str, Any]]:
    if not isinstance(request, dict) or not isinstance(request.get("steps"), list) or not request["steps"]:
        raise InputError('the request body must be a JSON object like {"steps": [{"id": ..., "component": ..., "inputs": {...}}, ...]}')
    unknown = sorted(set(request) - {"steps", "reuse_files"})
    if unknown:
        raise InputError(f"unknown field '{unknown[0]}' in the request; expected steps and reuse_files")
    if not isinstance(request.get("reuse_files", False), bool):
        raise InputError("'reuse_files' must be true or false")
    seen: set[str] = set()
    outputs_dirs: set[str] = set()
    for index, step in enumerate(request["steps"]):
        where = f"steps[{index}]"
        if not isinstance(step, dict):
            raise InputError(f"{where} must be an object")
        extra = sorted(set(step) - STEP_FIELDS)
        if extra:
            raise InputError(f"unknown field '{extra[0]}' in {where}; expected {', '.join(sorted(STEP_FIELDS))}")
        if not isinstance(step.get("id"), str) or not step["id"] or step["id"] in seen:
            raise InputError(f"{where}: 'id' must be a string naming the step once in the request")
        seen.add(step["id"])
        if not isinstance(step.get("inputs", {}), dict) or not isinstance(step.get("params", {}), dict):
            raise InputError(f"{where}: 'inputs' and 'params' must be objects")
        for name, source in step.get("inputs", {}).items():
            if isinstance(source, dict) and (set(source) != {"step", "output"} or not all(isinstance(v, str) for v in source.values())):
                raise InputError(
                    f"{where}: input '{name}' must be a path or {{\"step\": ID, \"output\": NAME}} naming an earlier step's output, got {json.dumps(source)}"
                )
        if not isinstance(step.get("write", []), list) or not all(isinstance(n, str) for n in step.get("write", [])):
            raise InputError(f"{where}: 'write' must be a list of output names")
        if step.get("write") and not isinstance(step.get("outputs"), str):
            raise InputError(f"{where}: 'outputs' must name the directory the outputs in 'write' go to")
        if step.get("write") and step["outputs"] in outputs_dirs:
            raise InputError(f"{where}: 'outputs' {step['outputs']} is another step's outputs directory; give each step its own")
        if step.get("write"):
            outputs_dirs.add(step["outputs"])
    return request["steps"]


def _check_steps(service: "RuntimeService", steps: list[dict[str, Any]]) -> None:
    """What can be checked before any cell runs: components, input names, references and written outputs."""
    declared: dict[str, set[str]] = {}
    for step in steps:
        component = service.components.get(step.get("component"))  # type: ignore[arg-type]
        if component is None:
            raise _at(step, InputError(f"step '{step['id']}': this service has no component '{step.get('component')}' (it serves {', '.join(service.components)})"))
        spec = component.spec
        try:
            check_input_names(spec, list(step.get("inputs", {})))
        except InputError as exc:
            raise _at(step, exc) from None
        for name, source in step.get("inputs", {}).items():
            if isinstance(source, dict) and source["output"] not in declared.get(source["step"], set()):
                raise _at(step, InputError(f"input '{name}': {json.dumps(source)} is no output of an earlier step of this request"))
        unknown = sorted(set(step.get("write", [])) - {o.name for o in spec.outputs})
        if unknown:
            raise _at(step, InputError(f"step '{step['id']}': '{unknown[0]}' in 'write' is no output of component '{spec.name}'"))
        declared[step["id"]] = {o.name for o in spec.outputs}


def _at(step: dict[str, Any], exc: NaawError) -> NaawError:
    exc.extra = {"step": step["id"], "done": []}
    return exc


def _later_uses(steps: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """Every (step, output) a later step of the request reads."""
    used = set()
    for step in steps:
        for source in step.get("inputs", {}).values():
            if isinstance(source, dict):
                used.add((source.get("step"), source.get("output")))
    return used


def run_fused(service: "RuntimeService", request: Any) -> dict[str, Any]:
    steps = _check_request(request)
    _check_steps(service, steps)
    reuse = bool(request.get("reuse_files"))
    needed = _later_uses(steps)
    held: dict[tuple[str, str], _Held] = {}
    done: list[dict[str, Any]] = []
    try:
        for step in steps:
            try:
                done.append(_run_step(service, step, held, needed, reuse))
            except NaawError as exc:
                exc.extra = {"step": step["id"], "done": done}
                raise
    finally:
        for value in held.values():
            value.close()
    return {"steps": done}


def _run_step(service: "RuntimeService", step: dict[str, Any], held: dict[tuple[str, str], _Held], needed: set[tuple[str, str]], reuse: bool) -> dict[str, Any]:
    started = time.perf_counter()
    component = service.components.get(step.get("component"))  # type: ignore[arg-type]
    if component is None:
        raise InputError(f"step '{step['id']}': this service has no component '{step.get('component')}' (it serves {', '.join(service.components)})")
    spec = component.spec
    sources = step.get("inputs", {})
    given_params = step.get("params", {})
    check_input_names(spec, list(sources))
    values = dict(bind_params(spec, given_params))
    service.confine_params(given_params)
    for variable in spec.inputs:
        what = f"input '{variable.name}'"
        if variable.name not in sources:
            raise InputError(f"missing {what} ({variable.type}): give its path, or an earlier step's output, in \"inputs\"")
        source = sources[variable.name]
        if isinstance(source, dict):
            earlier = held.get((source.get("step"), source.get("output")))  # type: ignore[arg-type]
            if earlier is None:
                raise InputError(f"{what}: {source!r} is no output of an earlier step of this request")
            shown = f"the output '{source['output']}' of step '{source['step']}'"
            values[variable.name] = earlier.read(what, variable.type, shown)
        else:
            path = service.resolve(source, what)
            values[variable.name] = read_value(path, what, variable.type, shown=source)
    write = set(step.get("write", []))
    unknown = sorted(write - {o.name for o in spec.outputs})
    if unknown:
        raise InputError(f"step '{step['id']}': '{unknown[0]}' in 'write' is no output of component '{spec.name}'")
    outputs_dir = make_outputs_dir(service.resolve(step["outputs"], "'outputs'"), shown=step["outputs"]) if write else None

    produced = component.call(values)
    encoded = {o.name: encode_output(spec.name, o.name, o.type, produced[o.name]) for o in spec.outputs}
    answered: dict[str, Any] = {}
    types = {o.name: o.type for o in spec.outputs}
    for name, value in encoded.items():
        key = (step["id"], name)
        if name not in write and key not in needed:
            continue
        passed_on = unchanged_npy_file(value.data) if value.kind == "npy" else None
        if passed_on is not None and not (reuse and service.inside(passed_on)):
            passed_on = None
        if name in write:
            try:
                path = passed_on or write_value(outputs_dir, name, value)  # type: ignore[arg-type]
            except OSError as exc:
                raise ComponentError(f"component '{spec.name}': cannot write output '{name}' to {outputs_dir}: {exc}") from None
            answered[name] = {"path": service.relative(path), "type": types[name]}
            held[key] = _Held(value.kind, path)
        elif passed_on is not None:
            held[key] = _Held(value.kind, passed_on)
        else:
            held[key] = _hold(value)
    return {"id": step["id"], "outputs": answered, "seconds": round(time.perf_counter() - started, 6)}
