"""Reading a step's .npy input: the .npy format only (never .npz, never pickles), cheaply for the small files
of small tiles and without a private copy for large ones."""

from __future__ import annotations

import ast
import functools
import math
import os
import re
import struct
from pathlib import Path

import numpy as np

# Inputs this large are memory-mapped instead of read: the cells then work on the page cache's copy of the file
# (shared by every step that reads it) instead of a private one. Below it, read() is cheaper than mapping.
MMAP_MIN_BYTES = 4 << 20

_MAGIC = b"\x93NUMPY"
_LENGTH_FORMAT = {1: "<H", 2: "<I", 3: "<I"}
_SHAPE = re.compile(rb"'shape': \(([0-9, ]*)\)")


def read_npy(path: Path) -> np.ndarray:
    """The array in a .npy file; raises ValueError (or OSError) for anything that is not a plain .npy array."""
    with open(path, "rb") as stream:
        parsed = _parse_header(stream)
        if parsed is None:  # a header numpy itself did not write: numpy's own reader judges it
            stream.seek(0)
            return _read_with_numpy(stream, path)
        dtype, fortran, shape, offset = parsed
        size = os.fstat(stream.fileno()).st_size
        if size >= MMAP_MIN_BYTES:
            # Copy-on-write ("c"): the cells may write into the array as into one they read (some do, in
            # place), but their writes stay in this process's pages and never reach the file, which belongs
            # to the cache. np.memmap refuses a file shorter than the array.
            return np.memmap(path, dtype=dtype, mode="c", shape=shape, order="F" if fortran else "C", offset=offset)
        count = math.prod(shape)
        if count * dtype.itemsize > size - offset:  # checked before allocating: the header is untrusted
            raise ValueError(f"the file holds {size - offset} bytes of data, not the {count * dtype.itemsize} its header announces")
        buffer = bytearray(count * dtype.itemsize)  # writable, as numpy's reader returns it
        got = stream.readinto(buffer)
        if got != len(buffer):
            raise ValueError(f"the file holds {got} of the {len(buffer)} bytes of data its header announces")
        return np.frombuffer(buffer, dtype=dtype, count=count).reshape(shape, order="F" if fortran else "C")


def _read_with_numpy(stream, path: Path) -> np.ndarray:
    if os.fstat(stream.fileno()).st_size >= MMAP_MIN_BYTES:
        return np.lib.format.open_memmap(path, mode="c")  # refuses object dtypes, as read_array does
    return np.lib.format.read_array(stream, allow_pickle=False)


def _parse_header(stream) -> tuple[np.dtype, bool, tuple[int, ...], int] | None:
    """dtype, Fortran order, shape and data offset of a header as numpy writes it, or None for any other.

    numpy parses the header dict with ast.literal_eval each time (0.1 to 0.25 ms, more than the cells of a
    small tile take); the tiles of a run differ in their shapes only, so the rest is parsed once per text.
    """
    prefix = stream.read(8)
    if len(prefix) < 8 or prefix[:6] != _MAGIC or prefix[6] not in _LENGTH_FORMAT or prefix[7] != 0:
        return None
    length_format = _LENGTH_FORMAT[prefix[6]]
    length_bytes = stream.read(struct.calcsize(length_format))
    if len(length_bytes) != struct.calcsize(length_format):
        return None
    (length,) = struct.unpack(length_format, length_bytes)
    header = stream.read(length)
    shapes = list(_SHAPE.finditer(header))
    if len(header) != length or len(shapes) != 1:
        return None
    match = shapes[0]
    described = _described(header[: match.start()] + b"'shape': ()" + header[match.end() :], prefix[6])
    if described is None:
        return None
    dimensions = [part.strip() for part in match.group(1).split(b",")]
    if dimensions and dimensions[-1] == b"":
        dimensions.pop()  # "(400,)"
    if any(not part for part in dimensions) or (len(dimensions) == 1 and not match.group(1).rstrip().endswith(b",")):
        return None  # "(,)" or "(400)": not a tuple numpy would write
    dtype, fortran = described
    return dtype, fortran, tuple(int(part) for part in dimensions), stream.tell()


@functools.lru_cache(maxsize=256)
def _described(header: bytes, version: int) -> tuple[np.dtype, bool] | None:
    try:
        text = header.decode("utf-8" if version == 3 else "latin1")
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, UnicodeDecodeError, MemoryError, RecursionError):
        return None
    if not isinstance(value, dict) or set(value) != {"descr", "fortran_order", "shape"} or not isinstance(value["fortran_order"], bool):
        return None
    try:
        dtype = np.lib.format.descr_to_dtype(value["descr"])
    except Exception:
        return None
    if dtype.hasobject:
        return None  # numpy's reader refuses it (no pickles), with its own message
    return dtype, value["fortran_order"]


def unchanged_npy_file(value: object) -> Path | None:
    """The .npy file a read-only memory map shows whole (np.load(path, mmap_mode="r")), else None.

    Such an array is that file's content, unchanged (a read-only mapping cannot be written, nor made writable),
    so the file itself can be the output instead of a copy. A slice, a reshaped or retyped view, or a map of
    part of a file is not the file.
    """
    if not isinstance(value, np.memmap) or value.mode != "r" or not isinstance(value.filename, str):
        return None
    try:
        with open(value.filename, "rb") as stream:
            parsed = _parse_header(stream)
            size = os.fstat(stream.fileno()).st_size
    except OSError:
        return None
    if parsed is None:
        return None
    dtype, fortran, shape, offset = parsed
    contiguous = value.flags.f_contiguous if fortran and value.ndim > 1 else value.flags.c_contiguous
    # With the file's dtype, shape and data offset, and contiguous, a view of the map spans all of it.
    if value.offset != offset or value.dtype != dtype or value.shape != shape or not contiguous or size != offset + value.nbytes:
        return None
    return Path(value.filename)
