#!/usr/bin/env python3
"""The LiDAR features as one plain numpy program: the baseline of the benchmark.

    python3 bench/numpy_pipeline.py --out DIR [--cell-size 10] [--norm-cell-size 1] \
        [--height-classes 1,3,4,5] [--notebook notebooks/lidar.ipynb] [--fast] INPUT [INPUT ...]

INPUT is a LAS file (1.2-1.4, point formats 0-10, uncompressed) or a directory of them. One process,
no tiles, no intermediate files: every file is read (np.memmap with a structured dtype built from
its header; x = X * scale + offset), then the five features are computed for the whole grid at once,
and DIR/<feature>.npy (float32, row 0 = north, NaN where a cell has no value) plus DIR/grid.json are
written. The grid is the bounding box of the cells that hold at least one point, as in the GeoTIFFs
of `naaw run`.

By default the features are computed by the notebook's own code: the cells tagged
component:normalize, filter, neighbors and features of notebooks/lidar.ipynb (--notebook) are run, in
that order, on all the points at once, as the records a tile holds (the split's packed 37-byte
dtype), with the grid's bounds as the tile's bounds. So this measures the notebook's maths without
NaaW, and stays the same code as the notebook.

--fast computes them as plain numpy on separate columns instead, by this file's own functions
(the 1 m minimum by np.minimum.at on a dense cell index; the (cell, height) order by an argsort of
the heights followed by stable radix passes over the cell index): the benchmark's reference for what
good plain numpy costs. Both give the same rasters bit for bit.

Prints one JSON line: {"points", "seconds", "points_per_second", ...}, timed from the start of
reading to the end of writing.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import struct
import sys
import time
from pathlib import Path

import numpy as np

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "lidar.ipynb"
NOTEBOOK_STEPS = ["normalize", "filter", "neighbors", "features"]
# The record of a tile .npy as the split writes it (src/lidar/pointRecords.ts), packed.
TILE_DTYPE = np.dtype([("x", "<f8"), ("y", "<f8"), ("z", "<f8"), ("intensity", "<u2"),
                       ("return_number", "u1"), ("number_of_returns", "u1"), ("classification", "u1"),
                       ("gps_time", "<f8")])

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


def count_points(paths: list[Path]) -> int:
    return sum(read_header(p)["count"] for p in paths)


def read_points(paths: list[Path], x: np.ndarray, y: np.ndarray, z: np.ndarray, cls: np.ndarray) -> None:
    """Fills x, y, z (float64) and cls (the ASPRS class, uint8), one element a point of all the files
    in turn: separate arrays or the fields of one record array alike."""
    at = 0
    for path in paths:
        h = read_header(path)
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


def occupied_grid(x: np.ndarray, y: np.ndarray, cell_size: float) -> dict:
    """The bounding box of the cells that hold a point: west, south, east, north in cells."""
    return {
        "west": int(np.floor(x.min() / cell_size)), "east": int(np.floor(x.max() / cell_size)) + 1,
        "south": int(np.floor(y.min() / cell_size)), "north": int(np.floor(y.max() / cell_size)) + 1,
    }


def notebook_cells(notebook: Path) -> dict[str, str]:
    """The source of every cell of the notebook by tag (the imports cell and the components')."""
    cells: dict[str, str] = {}
    for cell in json.loads(notebook.read_text())["cells"]:
        if cell.get("cell_type") != "code":
            continue
        for tag in cell.get("metadata", {}).get("tags", []):
            source = cell["source"]
            cells[tag] = source if isinstance(source, str) else "".join(source)
    missing = [f"component:{s}" for s in NOTEBOOK_STEPS if f"component:{s}" not in cells]
    if "imports" not in cells:
        missing.insert(0, "imports")
    if missing:
        raise SystemExit(f"numpy_pipeline: {notebook}: no cell tagged {', '.join(missing)}")
    return cells


def notebook_features(paths: list[Path], notebook: Path, cell_size: float, norm_cell_size: float,
                      height_classes: list[int]) -> tuple[dict, np.ndarray]:
    """The features by the notebook's own cells, run on all the points as one tile."""
    cells = notebook_cells(notebook)
    points = np.zeros(count_points(paths), dtype=TILE_DTYPE)
    read_points(paths, points["x"], points["y"], points["z"], points["classification"])
    if points.size == 0:
        raise SystemExit("numpy_pipeline: no points")
    box = occupied_grid(points["x"], points["y"], cell_size)
    scope: dict = {
        "points": points, "cell_size": cell_size, "norm_cell_size": norm_cell_size,
        "height_classes": height_classes,
        "bounds": [box["west"] * cell_size, box["south"] * cell_size, box["east"] * cell_size, box["north"] * cell_size],
    }
    with contextlib.redirect_stdout(sys.stderr):  # the cells' prints; stdout is this program's JSON line
        for tag in ["imports"] + [f"component:{s}" for s in NOTEBOOK_STEPS]:
            exec(compile(cells[tag], f"{notebook}[{tag}]", "exec"), scope)
    grid = scope["grid"]
    if scope["feature_names"] != FEATURE_NAMES:
        raise SystemExit(f"numpy_pipeline: the notebook computes {scope['feature_names']}, expected {FEATURE_NAMES}")
    info = {"origin_x": grid["origin_x"], "origin_y": grid["origin_y"], "cell_size": grid["cell_size"],
            "rows": grid["rows"], "cols": grid["cols"], "feature_names": list(FEATURE_NAMES),
            "point_count": int(points.size)}
    return info, scope["feature_stack"]


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


def order_by_cell_then_height(cell: np.ndarray, height: np.ndarray, n_cells: int) -> np.ndarray:
    # Stable LSD radix passes, 16 bits at a time (numpy's stable sort of uint16 is a radix sort): the
    # four digits of the heights' bits, lowest first, then the cell index's. The heights are >= 0 (z
    # minus its cell's lowest), and the bits of non-negative doubles order as the values do. A
    # comparison sort of the heights is data-dependent: numpy's default argsort (introsort) slows
    # down on many equal values, and normalized heights are mostly exactly 0 where points are sparse.
    bits = height.view(np.uint64)
    order = np.argsort((bits & 0xFFFF).astype(np.uint16), kind="stable")
    for shift in (16, 32, 48):
        order = order[np.argsort(((bits[order] >> shift) & 0xFFFF).astype(np.uint16), kind="stable")]
    shift = 0
    while True:
        digit = ((cell[order] >> shift) & 0xFFFF).astype(np.uint16)
        order = order[np.argsort(digit, kind="stable")]
        shift += 16
        if (n_cells - 1) >> shift <= 0:
            return order


def plain_features(x: np.ndarray, y: np.ndarray, z: np.ndarray, cls: np.ndarray, cell_size: float,
                   norm_cell_size: float, height_classes: list[int]) -> tuple[dict, np.ndarray]:
    normalized_height = normalize_fast(x, y, z, norm_cell_size)

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
    order = order_by_cell_then_height(sel_cell, sel_height, n_cells)
    sorted_height = sel_height[order]
    del order, sel_height
    sel_count = np.bincount(sel_cell, minlength=n_cells)
    del sel_cell
    sel_start = np.cumsum(sel_count) - sel_count
    occupied = sel_count > 0
    occ_n = sel_count[occupied]
    occ_start = sel_start[occupied]

    # np.percentile(values, 95) (method "linear"), for every cell at once: numpy's virtual index,
    # neighbours and lerp.
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
    ap.add_argument("--notebook", type=Path, default=NOTEBOOK, help="the notebook whose cells compute the features")
    ap.add_argument("--fast", action="store_true", help="plain numpy instead of the notebook's cells (same results)")
    ap.add_argument("inputs", nargs="+", help="LAS files or directories of them")
    args = ap.parse_args(argv)
    height_classes = [int(c) for c in args.height_classes.split(",") if c.strip()]
    paths = list_inputs(args.inputs)

    started = time.perf_counter()
    if args.fast:
        n = count_points(paths)
        if n == 0:
            raise SystemExit("numpy_pipeline: no points")
        x, y, z, cls = np.empty(n), np.empty(n), np.empty(n), np.empty(n, dtype=np.uint8)
        read_points(paths, x, y, z, cls)
        grid, stack = plain_features(x, y, z, cls, args.cell_size, args.norm_cell_size, height_classes)
        del x, y, z, cls
    else:
        grid, stack = notebook_features(paths, args.notebook, args.cell_size, args.norm_cell_size, height_classes)
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
        "compute_seconds": round(computed - started, 3),
        "files": len(paths), "fast": bool(args.fast),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
