"""Values on disk (NAME.npy / NAME.json, never pickles) and the declared types they are checked against."""

from __future__ import annotations

import json
import math
import os
import uuid
from pathlib import Path
from typing import Any, Callable, NamedTuple

import numpy as np

from .errors import ComponentError, InputError
from .npy import read_npy

VALUE_TYPES = ("ndarray", "int", "float", "str", "bool", "list", "dict", "any")
FILE_KINDS = ("npy", "json")


def matches_type(value: Any, declared: str) -> bool:
    """Whether a value read from disk or JSON fits a declared type (float accepts int; bool is not int)."""
    if declared == "any":
        return True
    if declared == "ndarray":
        return isinstance(value, np.ndarray)
    if isinstance(value, bool):
        return declared == "bool"
    if declared == "int":
        return isinstance(value, int)
    if declared == "float":
        # An integer counts as a float only if it converts to one: 10**400 would raise OverflowError.
        return isinstance(value, float) or (isinstance(value, int) and _fits_float(value))
    if declared == "str":
        return isinstance(value, str)
    if declared == "list":
        return isinstance(value, (list, tuple))
    if declared == "dict":
        return isinstance(value, dict)
    return False


def _fits_float(value: int) -> bool:
    try:
        float(value)
    except OverflowError:
        return False
    return True


def conform(value: Any, declared: str) -> Any:
    """A value that matches `declared`, as the cell code should see it: a float param given as 2 arrives as 2.0."""
    if declared == "float" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def describe(value: Any) -> str:
    """A value's type for an error message, with the value itself when it is short."""
    name = type_name(value)
    if isinstance(value, (bool, int, float, str)):
        shown = repr(value)
        return f"{name} {shown if len(shown) <= 40 else shown[:37] + '...'}"
    return name


def type_name(value: Any) -> str:
    return "None" if value is None else type(value).__name__


def expected_kind(declared: str) -> str | None:
    """The file kind a declared type must arrive as, or None when either will do."""
    if declared == "any":
        return None
    return "npy" if declared == "ndarray" else "json"


def file_kind(path: str | Path) -> str | None:
    suffix = Path(path).suffix.lower().lstrip(".")
    return suffix if suffix in FILE_KINDS else None


def loads_strict(text: str | bytes) -> Any:
    """json.loads that refuses NaN and Infinity, which Python's json would otherwise accept."""
    return json.loads(text, parse_constant=_refuse_constant)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON (JSON has no NaN or infinities)")


def read_value(path: Path, what: str, declared: str, shown: str | None = None, kind: str | None = None) -> Any:
    """Read an input from `path` and check it against its declared type; `shown` is the path as the user wrote it.

    `kind` ("npy" or "json") is the file's kind when its name does not say (an anonymous file of `POST /chain`).
    """
    shown = shown or str(path)
    kind = kind or file_kind(path)
    if kind is None:
        raise InputError(f"{what}: {shown} must be a .npy or a .json file")
    return checked_value(kind, lambda: read_npy(path) if kind == "npy" else loads_strict(path.read_bytes()), what, declared, shown)


def checked_value(kind: str, read: Callable[[], Any], what: str, declared: str, shown: str) -> Any:
    """An input of `kind` ("npy" or "json") read by `read`, checked against its declared type as read_value checks it."""
    wanted = expected_kind(declared)
    if wanted is not None and kind != wanted:
        raise InputError(f"{what} is declared {declared}, so it must be a .{wanted} file, not {shown}")
    try:
        value = read()
    except FileNotFoundError:
        raise InputError(f"{what}: {shown} does not exist") from None
    except Exception as exc:  # the file's content is untrusted: any failure to parse it is the caller's to fix
        raise InputError(f"{what}: cannot read {shown}: {type(exc).__name__}: {exc}") from None
    if not matches_type(value, declared):
        raise InputError(f"{what} is declared {declared}, but {shown} holds {describe(value)}")
    return conform(value, declared)


class Encoded(NamedTuple):
    """An output ready to be written: kind is "npy" (data is an ndarray) or "json" (data is plain JSON)."""

    kind: str
    data: Any


def encode_output(component: str, name: str, declared: str, value: Any) -> Encoded:
    """Turn a cell's output into something .npy or .json can hold, or fail naming the component, variable and type."""
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            raise ComponentError(
                f"component '{component}': output '{name}' is an ndarray of dtype object, "
                "which cannot be written as .npy or .json (it would need a pickle)"
            )
        encoded = Encoded("npy", value)
    else:
        try:
            encoded = Encoded("json", _to_json(value, name))
        except _Unwritable as problem:
            raise ComponentError(problem.message(component, name)) from None
        except RecursionError:
            raise ComponentError(
                f"component '{component}': output '{name}' is nested too deeply (or contains itself) to be written as .json"
            ) from None
    if not matches_type(encoded.data, declared):
        raise ComponentError(
            f"component '{component}': output '{name}' is declared {declared}, "
            f"but the cell code produced {describe(encoded.data)}"
        )
    return Encoded(encoded.kind, conform(encoded.data, declared))


class _Unwritable(Exception):
    def __init__(self, where: str, what: str, reason: str = "which cannot be written as .npy or .json"):
        super().__init__(where)
        self.where, self.what, self.reason = where, what, reason

    def message(self, component: str, name: str) -> str:
        place = f"is {self.what}" if self.where == name else f"contains {self.what} at {self.where}"
        return f"component '{component}': output '{name}' {place}, {self.reason}"


def _article(noun: str) -> str:
    return f"an {noun}" if noun[:1].lower() in "aeiou" else f"a {noun}"


def _to_json(value: Any, where: str) -> Any:
    """Plain JSON data for a value, converting numpy scalars (and nested arrays) to Python values."""
    if isinstance(value, np.generic):
        return _to_json(value.item(), where)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _Unwritable(where, repr(value), "which JSON cannot represent (return a numpy array to keep it)")
        return float(value)
    if isinstance(value, (list, tuple)):
        return [_to_json(item, f"{where}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, dict):
        result = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise _Unwritable(f"{where}[{key!r}]", f"a key of type {type_name(key)}", "but JSON keys must be strings")
            result[str(key)] = _to_json(item, f"{where}[{key!r}]")
        return result
    if isinstance(value, np.ndarray) and not value.dtype.hasobject:
        return _to_json(value.tolist(), where)
    raise _Unwritable(where, _article(type_name(value)))


_OTHER_KIND = {"npy": "json", "json": "npy"}


def write_value(directory: Path, name: str, encoded: Encoded) -> Path:
    """Write NAME.npy or NAME.json atomically: a temporary file in the same directory, then os.replace.

    Not fsync'ed: the rename alone means no reader ever sees a partial file, even if this process dies while
    writing, which is all `naaw run`'s cache promises (an entry is whole or absent after a killed run; it
    checks each entry's file sizes and identities before using it, and never fsync'ed its manifests either);
    an Argo step's outputs are uploaded after the container exits. An fsync per file cost more than the cells
    of a small tile: several ms of waiting on the disk's journal.
    """
    target = directory / f"{name}.{encoded.kind}"
    temporary = directory / f".{name}.{uuid.uuid4().hex}.tmp"
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(descriptor, "wb") as stream:
            if encoded.kind == "npy":
                np.lib.format.write_array(stream, encoded.data, allow_pickle=False)
            else:
                stream.write(json.dumps(encoded.data, allow_nan=False).encode("utf-8"))
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    # A stale NAME.json next to a new NAME.npy (or the reverse) would make the value ambiguous to the next step.
    (directory / f"{name}.{_OTHER_KIND[encoded.kind]}").unlink(missing_ok=True)
    return target
