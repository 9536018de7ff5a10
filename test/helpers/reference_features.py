#!/usr/bin/env python3
"""Reference rasters of the LiDAR features, computed independently of the notebook, for the tests.

    python3 test/helpers/reference_features.py --out DIR [--cell-size 10] [--norm-cell-size 1] \
        [--height-classes 1,3,4,5] FILE.las [FILE.las ...]

Reads the LAS files itself (LAS 1.2-1.4, point formats 0-10, uncompressed only) and computes, over all
their points together, the features the notebook computes per tile:

- normalized_height = z - min z over the points of the same `norm_cell_size` square cell
  (ix = floor(x / size), iy = floor(y / size));
- per `cell_size` cell (cx = floor(x / size), cy = floor(y / size); cells are half-open):
  perc_95_normalized_height (np.percentile(h, 95) of the normalized heights of the points whose class
  is in height_classes), max_normalized_height and mean_normalized_height (of the same points),
  pulse_penetration_ratio (class-2 points / all points), point_density (all points / cell area).

Writes DIR/<feature>.npy (float32, rows x cols, row 0 = north, NaN where a cell has no value) and
DIR/grid.json {origin_x (west edge), origin_y (north edge), cell_size, rows, cols, feature_names,
point_count}. The grid is the bounding box of the cells that hold at least one point.

This is deliberately written differently from the notebook (np.unique + np.minimum.at for the
normalization, an explicit loop over cells with np.percentile for the features), so that agreeing
with it means something. Python 3 standard library and numpy only.
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


def read_las(path: Path) -> dict:
    """x, y, z (float64) and the ASPRS class (uint8) of every point of an uncompressed LAS file."""
    with open(path, "rb") as f:
        head = f.read(375)
    if len(head) < 227 or head[:4] != b"LASF":
        raise ValueError(f"{path}: not a LAS file")
    major, minor = head[24], head[25]
    if major != 1 or not 0 <= minor <= 4:
        raise ValueError(f"{path}: unsupported LAS version {major}.{minor}")
    offset_to_points = struct.unpack_from("<I", head, 96)[0]
    point_format_byte = head[104]
    if point_format_byte & 0xC0:
        raise ValueError(f"{path}: compressed (LAZ) point data is not supported here")
    point_format = point_format_byte & 0x3F
    if point_format > 10:
        raise ValueError(f"{path}: unsupported point format {point_format}")
    record_length = struct.unpack_from("<H", head, 105)[0]
    count = struct.unpack_from("<I", head, 107)[0]
    scale = struct.unpack_from("<3d", head, 131)
    offset = struct.unpack_from("<3d", head, 155)
    if minor >= 4:
        count_64 = struct.unpack_from("<Q", head, 247)[0]
        if count == 0 or count_64 != 0:
            # LAS 1.4: the legacy count is 0 for point formats 6-10 (and past 2^32 points).
            count = count_64
    # X, Y, Z are the first three int32 of every format; the class byte is at 15 (formats 0-5: the
    # low 5 bits, the high 3 being flags) or 16 (formats 6-10: the whole byte).
    class_offset = 15 if point_format <= 5 else 16
    record = np.dtype({
        "names": ["X", "Y", "Z", "classification"],
        "formats": ["<i4", "<i4", "<i4", "u1"],
        "offsets": [0, 4, 8, class_offset],
        "itemsize": record_length,
    })
    raw = np.fromfile(path, dtype=record, count=count, offset=offset_to_points)
    if raw.size != count:
        raise ValueError(f"{path}: header says {count} points, file holds {raw.size}")
    cls = raw["classification"]
    if point_format <= 5:
        cls = cls & 0x1F
    return {
        "x": raw["X"] * scale[0] + offset[0],
        "y": raw["Y"] * scale[1] + offset[1],
        "z": raw["Z"] * scale[2] + offset[2],
        "classification": cls.astype(np.uint8),
    }


def reference_features(x: np.ndarray, y: np.ndarray, z: np.ndarray, cls: np.ndarray,
                       cell_size: float, norm_cell_size: float,
                       height_classes: list[int]) -> tuple[dict, dict]:
    """(grid, {feature name: float32 raster}) for the given points."""
    n = x.size
    if n == 0:
        raise ValueError("no points")

    # Normalized height: z minus the lowest z of the 1 m cell.
    norm_cells = np.stack([np.floor(x / norm_cell_size).astype(np.int64),
                           np.floor(y / norm_cell_size).astype(np.int64)], axis=1)
    _, norm_id = np.unique(norm_cells, axis=0, return_inverse=True)
    norm_id = norm_id.reshape(-1)
    lowest = np.full(int(norm_id.max()) + 1, np.inf)
    np.minimum.at(lowest, norm_id, z)
    normalized_height = z - lowest[norm_id]

    in_height_classes = np.zeros(n, dtype=bool)
    for c in height_classes:
        in_height_classes |= cls == c

    # Feature cells.
    cx = np.floor(x / cell_size).astype(np.int64)
    cy = np.floor(y / cell_size).astype(np.int64)
    west, east = int(cx.min()), int(cx.max()) + 1
    south, north = int(cy.min()), int(cy.max()) + 1
    rows, cols = north - south, east - west
    cells, cell_id = np.unique(np.stack([cx, cy], axis=1), axis=0, return_inverse=True)
    cell_id = cell_id.reshape(-1)
    # The points of each cell, as index runs (a stable sort keeps the order irrelevant anyway).
    by_cell = np.argsort(cell_id, kind="stable")
    run_end = np.cumsum(np.bincount(cell_id, minlength=len(cells)))

    out = {name: np.full((rows, cols), np.nan, dtype=np.float64) for name in FEATURE_NAMES}
    area = cell_size * cell_size
    start = 0
    for k in range(len(cells)):
        members = by_cell[start:run_end[k]]
        start = run_end[k]
        row = (north - 1) - int(cells[k, 1])
        col = int(cells[k, 0]) - west
        total = members.size
        ground = int(np.count_nonzero(cls[members] == 2))
        out["pulse_penetration_ratio"][row, col] = ground / total
        out["point_density"][row, col] = total / area
        h = normalized_height[members][in_height_classes[members]]
        if h.size == 0:
            continue
        out["perc_95_normalized_height"][row, col] = np.percentile(h, 95)
        out["max_normalized_height"][row, col] = np.max(h)
        # Not np.mean(h): floating-point addition is not associative, so a sum depends on the order
        # of its terms. The notebook sums each cell's heights in ascending order (np.add.reduceat over
        # the heights sorted by cell then height) and divides by the count; summing the sorted
        # heights the same way makes the mean depend only on the set of points (not on file or tile
        # order) and lets the tests compare bit for bit.
        out["mean_normalized_height"][row, col] = np.add.reduce(np.sort(h)) / h.size

    grid = {
        "origin_x": float(west * cell_size),
        "origin_y": float(north * cell_size),
        "cell_size": float(cell_size),
        "rows": int(rows),
        "cols": int(cols),
        "feature_names": list(FEATURE_NAMES),
        "point_count": int(n),
    }
    return grid, {name: raster.astype(np.float32) for name, raster in out.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, type=Path, help="output directory")
    ap.add_argument("--cell-size", type=float, default=10.0)
    ap.add_argument("--norm-cell-size", type=float, default=1.0)
    ap.add_argument("--height-classes", default="1,3,4,5",
                    help="comma-separated ASPRS classes for the height features (default 1,3,4,5)")
    ap.add_argument("files", nargs="+", type=Path, help="LAS files")
    args = ap.parse_args(argv)
    if args.cell_size <= 0 or args.norm_cell_size <= 0:
        ap.error("cell sizes must be positive")
    height_classes = [int(c) for c in args.height_classes.split(",") if c.strip()]

    started = time.perf_counter()
    try:
        parts = [read_las(path) for path in args.files]
    except (OSError, ValueError) as error:
        print(f"reference_features: {error}", file=sys.stderr)
        return 2
    x, y, z, cls = (np.concatenate([p[k] for p in parts])
                    for k in ("x", "y", "z", "classification"))
    grid, rasters = reference_features(x, y, z, cls, args.cell_size, args.norm_cell_size,
                                       height_classes)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, raster in rasters.items():
        np.save(args.out / f"{name}.npy", raster, allow_pickle=False)
    (args.out / "grid.json").write_text(json.dumps(grid, indent=2) + "\n")
    print(f"{args.out}: {grid['point_count']} points, {grid['rows']} x {grid['cols']} cells, "
          f"{time.perf_counter() - started:.2f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
