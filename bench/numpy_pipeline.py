#!/usr/bin/env python3
"""The LiDAR features as one plain numpy program: the baseline of the benchmark.

    python3 bench/numpy_pipeline.py --out DIR [--cell-size 10] [--norm-cell-size 1] \
        [--height-classes 1,3,4,5] [--fast] INPUT [INPUT ...]

INPUT is a LAS file (1.2-1.4, point formats 0-10, uncompressed) or a directory of them. One process,
no tiles, no intermediate files: every file is read (np.memmap with a structured dtype built from
its header; x = X * scale + offset), then the five features of the notebook are computed for the
whole grid at once with the notebook's own sort-based maths, and DIR/<feature>.npy (float32,
row 0 = north, NaN where a cell has no value) plus DIR/grid.json are written. The grid is the
bounding box of the cells that hold at least one point, as in the GeoTIFFs of `naaw run`.

Prints one JSON line: {"points", "seconds", "points_per_second", ...}, timed from the start of
reading to the end of writing.

--fast swaps the two lexsorts for cheaper exact equivalents (the 1 m minimum by np.minimum.at on a
dense cell index; the (cell, height) order by an argsort of the heights followed by stable radix
passes over the cell index). The results are the same bit for bit; it shows what the sorting costs.
"""
from __future__ import annotations

import argparse
import json
import struct
import sys
import time
from pathlib import Path

import numpy as np

FEATURE_NAMES = [
    "perc_95_normalized_height",
    "max_normalized_height",
    "mean_normalized_height",
    "pulse_penetration_ratio",
    "point_density",
]


def list_inputs(inputs: list[str]) -> list[Path]:
    paths: list[Path] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            paths += sorted(q for q in p.iterdir() if q.is_file() and q.suffix.lower() == ".las")
        elif p.is_file():
            paths.append(p)
        else:
            raise SystemExit(f"numpy_pipeline: {item}: no such file or directory")
    if not paths:
        raise SystemExit("numpy_pipeline: no LAS files in the input")
    return paths


def read_header(path: Path) -> dict:
    with open(path, "rb") as f:
        head = f.read(375)
    if len(head) < 227 or head[:4] != b"LASF":
        raise SystemExit(f"numpy_pipeline: {path}: not a LAS file")
    minor = head[25]
    fmt_byte = head[104]
    if fmt_byte & 0xC0:
        raise SystemExit(f"numpy_pipeline: {path}: LAZ is not supported (decompress it first)")
    fmt = fmt_byte & 0x3F
    if fmt > 10:
        raise SystemExit(f"numpy_pipeline: {path}: unsupported point format {fmt}")
    count = struct.unpack_from("<I", head, 107)[0]
    if minor >= 4:
        count_64 = struct.unpack_from("<Q", head, 247)[0]
        if count == 0 or count_64 != 0:
            count = count_64
    return {
        "offset": struct.unpack_from("<I", head, 96)[0],
        "format": fmt,
        "record_length": struct.unpack_from("<H", head, 105)[0],
        "count": int(count),
        "scale": struct.unpack_from("<3d", head, 131),
        "origin": struct.unpack_from("<3d", head, 155),
    }


def read_points(paths: list[Path]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    headers = [read_header(p) for p in paths]
    total = sum(h["count"] for h in headers)
    x = np.empty(total)
    y = np.empty(total)
    z = np.empty(total)
    cls = np.empty(total, dtype=np.uint8)
    at = 0
    for path, h in zip(paths, headers):
        n = h["count"]
        if n == 0:
            continue
        record = np.dtype({
            "names": ["X", "Y", "Z", "c"],
            "formats": ["<i4", "<i4", "<i4", "u1"],
            "offsets": [0, 4, 8, 15 if h["format"] <= 5 else 16],
            "itemsize": h["record_length"],
        })
        raw = np.memmap(path, dtype=record, mode="r", offset=h["offset"], shape=(n,))
        sl = slice(at, at + n)
        for out, field, axis in ((x, "X", 0), (y, "Y", 1), (z, "Z", 2)):
            np.multiply(raw[field], h["scale"][axis], out=out[sl])  # X * scale + offset
            out[sl] += h["origin"][axis]
        if h["format"] <= 5:
            np.bitwise_and(raw["c"], 0x1F, out=cls[sl])
        else:
            cls[sl] = raw["c"]
        del raw
        at += n
    return x, y, z, cls


def normalize_sorted(x: np.ndarray, y: np.ndarray, z: np.ndarray, size: float) -> np.ndarray:
    """The notebook's normalization: sort by (1 m cell, z); the first of each run is the minimum."""
    ix = np.floor(x / size).astype(np.int64)
    iy = np.floor(y / size).astype(np.int64)
    order = np.lexsort((z, iy, ix))
    kx, ky = ix[order], iy[order]
    del ix, iy
    new = np.ones(z.size, dtype=bool)
    new[1:] = (kx[1:] != kx[:-1]) | (ky[1:] != ky[:-1])
    del kx, ky
    run = np.cumsum(new) - 1
    zs = z[order]
    h = np.empty(z.size)
    h[order] = zs - zs[new][run]
    return h


def normalize_fast(x: np.ndarray, y: np.ndarray, z: np.ndarray, size: float) -> np.ndarray:
    """The same values: the minimum of each 1 m cell by np.minimum.at over a dense cell index."""
    ix = np.floor(x / size).astype(np.int64)
    iy = np.floor(y / size).astype(np.int64)
    ix -= ix.min()
    iy -= iy.min()
    ny = int(iy.max()) + 1
    key = ix * ny + iy
    n_keys = int(key.max()) + 1
    if n_keys > max(8 * z.size, 1 << 24):  # sparse data: compact the index first
        _, key = np.unique(key, return_inverse=True)
        n_keys = int(key.max()) + 1
    lowest = np.full(n_keys, np.inf)
    np.minimum.at(lowest, key, z)
    return z - lowest[key]


def order_by_cell_then_height(cell: np.ndarray, height: np.ndarray, n_cells: int, fast: bool) -> np.ndarray:
    if not fast:
        return np.lexsort((height, cell))
    # Heights first (ties are equal values, so any order of them will do), then stable LSD radix
    # passes over the cell index, 16 bits at a time (numpy's stable sort of uint16 is a radix sort).
    order = np.argsort(height)
    shift = 0
    while True:
        digit = ((cell[order] >> shift) & 0xFFFF).astype(np.uint16)
        order = order[np.argsort(digit, kind="stable")]
        shift += 16
        if (n_cells - 1) >> shift == 0:
            return order


def features(x: np.ndarray, y: np.ndarray, z: np.ndarray, cls: np.ndarray, cell_size: float,
             norm_cell_size: float, height_classes: list[int], fast: bool) -> tuple[dict, np.ndarray]:
    normalized_height = (normalize_fast if fast else normalize_sorted)(x, y, z, norm_cell_size)

    cx = np.floor(x / cell_size).astype(np.int64)
    cy = np.floor(y / cell_size).astype(np.int64)
    west, east = int(cx.min()), int(cx.max()) + 1
    south, north = int(cy.min()), int(cy.max()) + 1
    rows, cols = north - south, east - west
    grid = {"origin_x": float(west * cell_size), "origin_y": float(north * cell_size),
            "cell_size": float(cell_size), "rows": rows, "cols": cols,
            "feature_names": list(FEATURE_NAMES), "point_count": int(x.size)}
    cell = ((north - 1) - cy) * cols + (cx - west)  # row 0 = north
    del cx, cy
    n_cells = rows * cols

    all_count = np.bincount(cell, minlength=n_cells)
    ground_count = np.bincount(cell[cls == 2], minlength=n_cells)
    selected = np.isin(cls, np.asarray(height_classes, dtype=np.int64))
    sel_height = normalized_height[selected]
    sel_cell = cell[selected]
    del normalized_height, cell, selected
    order = order_by_cell_then_height(sel_cell, sel_height, n_cells, fast)
    sorted_height = sel_height[order]
    del order, sel_height
    sel_count = np.bincount(sel_cell, minlength=n_cells)
    del sel_cell
    sel_start = np.cumsum(sel_count) - sel_count
    occupied = sel_count > 0
    occ_n = sel_count[occupied]
    occ_start = sel_start[occupied]

    # np.percentile(values, 95) (method "linear"), for every cell at once: numpy's virtual index,
    # neighbours and lerp, as in the notebook.
    virtual_index = (occ_n - 1) * 0.95
    previous_index = np.floor(virtual_index)
    at_top = virtual_index >= occ_n - 1
    previous_index[at_top] = -1
    gamma = virtual_index - previous_index
    lower_pos = np.where(at_top, occ_n - 1, previous_index.astype(np.int64))
    upper_pos = np.where(at_top, occ_n - 1, (previous_index + 1).astype(np.int64))
    lower_value = sorted_height[occ_start + lower_pos]
    upper_value = sorted_height[occ_start + upper_pos]
    diff = upper_value - lower_value
    p95 = np.where(gamma >= 0.5, upper_value - diff * (1 - gamma), lower_value + diff * gamma)

    stack = np.full((len(FEATURE_NAMES), n_cells), np.nan, dtype=np.float32)
    stack[0, occupied] = p95
    stack[1, occupied] = sorted_height[occ_start + occ_n - 1]
    if occ_n.size:
        stack[2, occupied] = np.add.reduceat(sorted_height, occ_start) / occ_n  # sums in sorted order
    has_points = all_count > 0
    stack[3, has_points] = ground_count[has_points] / all_count[has_points]
    stack[4, has_points] = all_count[has_points] / (cell_size * cell_size)
    return grid, stack.reshape(len(FEATURE_NAMES), rows, cols)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, type=Path, help="output directory")
    ap.add_argument("--cell-size", type=float, default=10.0)
    ap.add_argument("--norm-cell-size", type=float, default=1.0)
    ap.add_argument("--height-classes", default="1,3,4,5")
    ap.add_argument("--fast", action="store_true", help="cheaper exact sorts (same results)")
    ap.add_argument("inputs", nargs="+", help="LAS files or directories of them")
    args = ap.parse_args(argv)
    height_classes = [int(c) for c in args.height_classes.split(",") if c.strip()]
    paths = list_inputs(args.inputs)

    started = time.perf_counter()
    x, y, z, cls = read_points(paths)
    if x.size == 0:
        raise SystemExit("numpy_pipeline: no points")
    read_done = time.perf_counter()
    grid, stack = features(x, y, z, cls, args.cell_size, args.norm_cell_size, height_classes, args.fast)
    del x, y, z, cls
    computed = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=True)
    for name, raster in zip(FEATURE_NAMES, stack):
        np.save(args.out / f"{name}.npy", np.ascontiguousarray(raster), allow_pickle=False)
    (args.out / "grid.json").write_text(json.dumps(grid, indent=2) + "\n")
    seconds = time.perf_counter() - started
    points = grid["point_count"]
    print(json.dumps({
        "points": points, "seconds": round(seconds, 3),
        "points_per_second": round(points / seconds, 1),
        "read_seconds": round(read_done - started, 3),
        "compute_seconds": round(computed - read_done, 3),
        "files": len(paths), "fast": bool(args.fast),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
