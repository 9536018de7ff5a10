#!/usr/bin/env python3
"""Deterministic synthetic airborne LiDAR tile: a patch of forest on rolling terrain.

Writes the same tile format the `split` step writes: a structured .npy (x, y, z float64; intensity
uint16; return_number, number_of_returns, classification uint8; gps_time float64) with a JSON sidecar
of the same stem ({"bounds", "point_count", "crs", "source"}).

    python3 scripts/synthetic_forest.py --out notebooks/data/synthetic_tile.npy \
        [--size 100] [--origin 120000 480000] [--seed 42] [--density 20]

What is in it (meant to look like an AHN-style scan of a Dutch forest, not to be one):
- rolling terrain (a few long sine waves plus centimetre noise), ground returns classed 2;
- trees (conifers as cones, broadleaves as ellipsoids) whose crowns give several returns per pulse:
  the first on the crown surface, later ones deeper in the crown, the last one often on the ground;
- patchy low vegetation (one or two returns), vegetation classed 3/4/5 by height above ground
  (< 0.5 m, 0.5-2 m, > 2 m), a few points left unclassified (1), and one flat-roofed building (6).
Coordinates are quantized to 0.01 m (a LAS scale factor) in RD New (EPSG:28992) by default.
The same arguments give byte-identical files: everything is drawn from numpy Generators seeded from
--seed (terrain and forest pattern) and from --seed plus the origin (trees, pulses, returns).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

SCALE = 100  # coordinate ticks per metre (LAS scale factor 0.01)
TILE_DTYPE = np.dtype([
    ("x", "<f8"), ("y", "<f8"), ("z", "<f8"),
    ("intensity", "<u2"),
    ("return_number", "u1"), ("number_of_returns", "u1"),
    ("classification", "u1"),
    ("gps_time", "<f8"),
])
CRS = "EPSG:28992"

# Returns per pulse that hits a crown: P(n = 1, 2, 3, 4).
CANOPY_RETURNS_P = np.array([0.25, 0.35, 0.25, 0.15])


class Landscape:
    """Terrain and forest pattern as smooth functions of absolute coordinates (seed only), so
    neighbouring tiles generated with the same seed join up."""

    def __init__(self, seed: int) -> None:
        rng = np.random.default_rng(np.random.SeedSequence([seed, 0x7E44A1]))
        self.base = 3.0 + rng.uniform(-1.0, 1.0)
        self.terrain = [  # (amplitude m, wavelength x m, wavelength y m, phase)
            (1.6, rng.uniform(60, 90), rng.uniform(50, 80), rng.uniform(0, 2 * np.pi)),
            (0.7, rng.uniform(25, 40), rng.uniform(30, 45), rng.uniform(0, 2 * np.pi)),
            (0.25, rng.uniform(8, 14), rng.uniform(9, 15), rng.uniform(0, 2 * np.pi)),
        ]
        self.forest = [
            (rng.uniform(70, 110), rng.uniform(60, 100), rng.uniform(0, 2 * np.pi), rng.uniform(0, 2 * np.pi)),
            (rng.uniform(30, 45), rng.uniform(35, 50), rng.uniform(0, 2 * np.pi), rng.uniform(0, 2 * np.pi)),
        ]

    def ground(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        z = np.full(np.shape(x), self.base)
        for amp, lx, ly, ph in self.terrain:
            z = z + amp * np.sin(2 * np.pi * x / lx + ph) * np.cos(2 * np.pi * y / ly - 0.5 * ph)
        return z

    def forest_density(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """0 (open field) .. 1 (dense forest)."""
        (lx1, ly1, p1, q1), (lx2, ly2, p2, q2) = self.forest
        f = (0.5 + 0.7 * np.sin(2 * np.pi * x / lx1 + p1) * np.sin(2 * np.pi * y / ly1 + q1)
             + 0.25 * np.sin(2 * np.pi * x / lx2 + p2) * np.cos(2 * np.pi * y / ly2 + q2))
        return np.clip(f, 0.0, 1.0)


def generate(size: float = 100.0, origin: tuple[float, float] = (120000.0, 480000.0),
             seed: int = 42, density: float = 20.0) -> np.ndarray:
    """The points of one size x size tile whose south-west corner is `origin` (half-open extent)."""
    ticks = int(round(size * SCALE))
    if ticks <= 0 or density <= 0:
        raise ValueError("size and density must be positive")
    ox_t, oy_t = int(round(origin[0] * SCALE)), int(round(origin[1] * SCALE))
    land = Landscape(seed)
    rng = np.random.default_rng(np.random.SeedSequence([seed, ox_t % 2**63, oy_t % 2**63]))
    ox, oy = ox_t / SCALE, oy_t / SCALE

    # --- trees (centres also in a margin around the tile, so crowns cross the edges) -------------
    margin = 8.0
    span = size + 2 * margin
    n_candidates = rng.poisson(span * span / 14.0)
    tx = ox - margin + rng.uniform(0, span, n_candidates)
    ty = oy - margin + rng.uniform(0, span, n_candidates)
    fd = land.forest_density(tx, ty)
    keep = rng.uniform(0, 1, n_candidates) < fd ** 2
    tx, ty, fd = tx[keep], ty[keep], fd[keep]
    n_trees = tx.size
    height = np.clip(8.0 + 20.0 * fd + rng.normal(0, 3.0, n_trees), 4.0, 36.0)
    conifer = rng.uniform(0, 1, n_trees) < 0.4
    radius = height * np.where(conifer, rng.uniform(0.12, 0.2, n_trees), rng.uniform(0.18, 0.3, n_trees)) + 0.4
    crown_base = height * rng.uniform(0.35, 0.6, n_trees)  # above ground
    tree_ground = land.ground(tx, ty)

    # --- one flat-roofed building, trees cleared around it --------------------------------------
    bw, bh = 14.0, 9.0
    building = None
    if size >= 40.0:
        bx0 = ox + rng.uniform(0.1, 0.9) * (size - bw)
        by0 = oy + rng.uniform(0.1, 0.9) * (size - bh)
        roof = float(land.ground(np.array(bx0 + bw / 2), np.array(by0 + bh / 2))) + 7.0
        building = (bx0, by0, bx0 + bw, by0 + bh, roof)
        clear = ((tx > bx0 - radius - 1) & (tx < bx0 + bw + radius + 1)
                 & (ty > by0 - radius - 1) & (ty < by0 + bh + radius + 1))
        keep = ~clear
        tx, ty, height, conifer, radius, crown_base, tree_ground = (
            a[keep] for a in (tx, ty, height, conifer, radius, crown_base, tree_ground))
        n_trees = tx.size

    # --- pulses: uniform on the 0.01 m lattice inside the half-open tile ------------------------
    target = int(round(size * size * density))
    n_pulses = int(target / 1.2) + 16  # more than needed; cut at the target point count below
    px_t = rng.integers(0, ticks, n_pulses)
    py_t = rng.integers(0, ticks, n_pulses)
    px = (ox_t + px_t) / SCALE
    py = (oy_t + py_t) / SCALE
    ground = land.ground(px, py)

    # Highest crown surface over each pulse (and whose it is), trees visited via x-sorted pulses.
    order = np.argsort(px, kind="stable")
    sx, sy = px[order], py[order]
    surface = np.full(n_pulses, -np.inf)
    owner = np.full(n_pulses, -1, dtype=np.int64)
    for t in range(n_trees):
        lo, hi = np.searchsorted(sx, [tx[t] - radius[t], tx[t] + radius[t]])
        if lo == hi:
            continue
        d = np.hypot(sx[lo:hi] - tx[t], sy[lo:hi] - ty[t]) / radius[t]
        inside = d < 1.0
        if not inside.any():
            continue
        top = tree_ground[t] + height[t]
        depth = height[t] - crown_base[t]
        if conifer[t]:
            s = top - depth * d
        else:
            s = (top - depth / 2) + (depth / 2) * np.sqrt(np.clip(1.0 - d * d, 0.0, None))
        idx = order[lo:hi][inside]
        s = s[inside]
        better = s > surface[idx]
        surface[idx[better]] = s[better]
        owner[idx[better]] = t

    in_building = np.zeros(n_pulses, dtype=bool)
    if building is not None:
        bx0, by0, bx1, by1, roof = building
        in_building = (px >= bx0) & (px < bx1) & (py >= by0) & (py < by1)
    canopy = (owner >= 0) & ~in_building & (surface > ground + 0.5)
    low_veg = ~canopy & ~in_building & (
        rng.uniform(0, 1, n_pulses) < 0.12 + 0.35 * land.forest_density(px, py))

    # Returns per pulse.
    n_ret = np.ones(n_pulses, dtype=np.int64)
    n_ret[canopy] = rng.choice(4, size=int(canopy.sum()), p=CANOPY_RETURNS_P) + 1
    n_ret[low_veg] = np.where(rng.uniform(0, 1, int(low_veg.sum())) < 0.6, 2, 1)
    # Cut at the target point count (pulses are i.i.d., so a prefix is still uniform).
    n_keep = int(np.searchsorted(np.cumsum(n_ret), target)) + 1
    n_keep = min(n_keep, n_pulses)
    sl = slice(0, n_keep)
    px, py, ground, surface, owner = px[sl], py[sl], ground[sl], surface[sl], owner[sl]
    in_building, canopy, low_veg, n_ret = in_building[sl], canopy[sl], low_veg[sl], n_ret[sl]

    # Acquisition order: flight lines along x, 0.25 m apart, scanned back and forth.
    line = np.floor((py - oy) / 0.25).astype(np.int64)
    along = np.where(line % 2 == 0, px, -px)
    scan_order = np.lexsort((along, line))
    rank = np.empty(n_keep, dtype=np.int64)
    rank[scan_order] = np.arange(n_keep)
    t0 = 2.5e8 + float(rng.uniform(0, 1e5))
    pulse_time = t0 + rank * 1e-5  # 100 kHz

    # --- expand pulses to returns -----------------------------------------------------------------
    pid = np.repeat(np.arange(n_keep), n_ret)
    first_of = np.cumsum(n_ret) - n_ret
    k = np.arange(pid.size) - first_of[pid] + 1  # return number, 1-based
    n = n_ret[pid]
    g = ground[pid]
    m = pid.size
    u = rng.uniform(0, 1, m)
    z = g + rng.normal(0, 0.03, m)  # ground unless something else below says otherwise
    cls = np.full(m, 2, dtype=np.uint8)

    c = canopy[pid]
    last = k == n
    reaches_ground = rng.uniform(0, 1, n_keep) < 0.5
    ground_hit = c & last & (n >= 2) & reaches_ground[pid]
    veg_hit = c & ~ground_hit
    own = owner[pid[veg_hit]]
    surf = surface[pid[veg_hit]]
    lower = g[veg_hit] + 0.3 * crown_base[own]  # understory reaches below the crown base
    kv, nv = k[veg_hit], n[veg_hit]
    depth_frac = np.where(kv == 1, 0.03 * u[veg_hit], ((kv - 1) + 0.9 * u[veg_hit]) / nv)
    z[veg_hit] = surf - depth_frac * (surf - lower) + rng.normal(0, 0.05, int(veg_hit.sum()))

    lv = low_veg[pid] & (k == 1)
    lv_height = rng.uniform(0.15, 1.6, n_keep)
    z[lv] = g[lv] + lv_height[pid[lv]]

    b = in_building[pid]
    if building is not None:
        z[b] = building[4] + rng.normal(0, 0.02, int(b.sum()))
        cls[b] = 6

    veg = veg_hit | lv
    hag = z - g
    cls[veg] = np.where(hag[veg] < 0.5, 3, np.where(hag[veg] < 2.0, 4, 5)).astype(np.uint8)
    unclassified = np.where(veg, u < 0.04, (cls == 2) & (u < 0.01))
    cls[unclassified] = 1

    intensity = np.where(cls == 6, rng.normal(1500, 100, m),
                         np.where(veg, rng.normal(650, 150, m) * 0.75 ** (k - 1),
                                  rng.normal(1200, 150, m) * 0.8 ** (k - 1)))

    out = np.empty(m, dtype=TILE_DTYPE)
    out["x"] = px[pid]
    out["y"] = py[pid]
    out["z"] = np.round(z * SCALE) / SCALE
    out["intensity"] = np.clip(np.round(intensity), 0, 65535).astype(np.uint16)
    out["return_number"] = k.astype(np.uint8)
    out["number_of_returns"] = n.astype(np.uint8)
    out["classification"] = cls
    out["gps_time"] = pulse_time[pid]
    # Points in acquisition order, returns of a pulse together.
    return out[np.lexsort((k, rank[pid]))]


def write_atomic(path: Path, write) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, type=Path, help="output .npy (sidecar: same stem, .json)")
    ap.add_argument("--size", type=float, default=100.0, help="tile edge in metres (default 100)")
    ap.add_argument("--origin", type=float, nargs=2, default=[120000.0, 480000.0], metavar=("X", "Y"),
                    help="south-west corner (default 120000 480000, RD New)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--density", type=float, default=20.0, help="points per m² (default 20)")
    args = ap.parse_args(argv)
    if args.seed < 0:
        ap.error("--seed must be non-negative")
    if args.size <= 0 or args.density <= 0:
        ap.error("--size and --density must be positive")

    points = generate(args.size, (args.origin[0], args.origin[1]), args.seed, args.density)
    ox = round(args.origin[0] * SCALE) / SCALE
    oy = round(args.origin[1] * SCALE) / SCALE
    size = round(args.size * SCALE) / SCALE
    sidecar = {
        "bounds": [ox, oy, ox + size, oy + size],
        "point_count": int(points.size),
        "crs": CRS,
        "source": "synthetic",
    }
    out: Path = args.out
    if out.suffix != ".npy":
        ap.error("--out must end in .npy")
    out.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(out, lambda f: np.save(f, points, allow_pickle=False))
    write_atomic(out.with_suffix(".json"),
                 lambda f: f.write((json.dumps(sidecar, indent=2) + "\n").encode()))
    print(f"{out}: {points.size} points, bounds {sidecar['bounds']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
