#!/usr/bin/env python3
"""Deterministic synthetic airborne LiDAR tile: a patch of forest on rolling terrain.

Writes the same tile format the `split` step writes: a structured .npy (x, y, z float64; intensity
uint16; return_number, number_of_returns, classification uint8; gps_time float64) with a JSON sidecar
of the same stem ({"bounds", "point_count", "crs", "source"}).

    python3 scripts/synthetic_forest.py --out notebooks/data/synthetic_tile.npy \
        [--size 100] [--origin 120000 480000] [--seed 42] [--density 20]

or a forest of several tiles as LAS files (the input of the `split` step), forest_<i>_<j>.las:

    python3 scripts/synthetic_forest.py --las-dir data/lidar --tiles 3 3 --size 200 \
        [--origin 120000 480000] [--seed 42] [--density 20] [--point-format mixed] [--force]

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


# --- LAS output ----------------------------------------------------------------------------------
# A forest of several tiles as LAS files (what the `split` step reads), one file per tile:
#     python3 scripts/synthetic_forest.py --las-dir data/lidar --tiles 3 3 --size 200 \
#         [--origin 120000 480000] [--seed 42] [--density 20] [--point-format mixed] [--jobs N] [--force]
# Tile (i, j) is forest_<i>_<j>.las, i counted east (x) and j north (y) from the south-west tile; its
# south-west corner is origin + (i, j) * size. Each tile is generate()d on its own; the landscape
# (terrain, forest pattern) is a function of absolute coordinates, so neighbouring tiles join up.
# Files are LAS 1.2 point format 3, or LAS 1.4 point format 6 for the tiles with i + j odd when
# --point-format is `mixed` (the default); scale 0.01, offset = the tile's south-west corner (z: 0).
# The CRS is EPSG:28992 (RD New) as a GeoKeyDirectoryTag VLR (LASF_Projection/34735,
# ProjectedCSTypeGeoKey 3072 = 28992); LAS 1.4 files also carry it as an OGC WKT VLR
# (LASF_Projection/2112) with the WKT bit of the global encoding set, as the LAS 1.4 spec requires for
# point formats 6-10. A `NaaW`/1 VLR records the generation parameters: an existing file whose size
# matches its header and whose parameters match is left alone (unless --force), so reruns are cheap.

LAS_SCALE = 1.0 / SCALE
EPSG = 28992
# Point records. Format 3 (34 bytes): return byte = return number (bits 0-2) | number of returns
# (bits 3-5) | scan direction (bit 6) | edge of flight line (bit 7); classification in the low 5 bits.
LAS_PF3 = np.dtype([
    ("X", "<i4"), ("Y", "<i4"), ("Z", "<i4"), ("intensity", "<u2"), ("returns", "u1"),
    ("classification", "u1"), ("scan_angle_rank", "i1"), ("user_data", "u1"),
    ("point_source_id", "<u2"), ("gps_time", "<f8"), ("red", "<u2"), ("green", "<u2"), ("blue", "<u2"),
])
# Format 6 (30 bytes): return number (bits 0-3) | number of returns (bits 4-7); then classification
# flags (0-3), scanner channel (4-5), scan direction (6), edge (7); the class is the whole next byte.
LAS_PF6 = np.dtype([
    ("X", "<i4"), ("Y", "<i4"), ("Z", "<i4"), ("intensity", "<u2"), ("returns", "u1"),
    ("flags", "u1"), ("classification", "u1"), ("user_data", "u1"), ("scan_angle", "<i2"),
    ("point_source_id", "<u2"), ("gps_time", "<f8"),
])
assert LAS_PF3.itemsize == 34 and LAS_PF6.itemsize == 30
# GeoKeyDirectoryTag: version 1.1.0, then (key, location 0 = value inline, count 1, value), by key.
GEOKEYS = [
    (1024, 1),      # GTModelTypeGeoKey: projected
    (1025, 1),      # GTRasterTypeGeoKey: pixel is area
    (3072, EPSG),   # ProjectedCSTypeGeoKey: Amersfoort / RD New
    (3076, 9001),   # ProjLinearUnitsGeoKey: metre
    (4096, 5709),   # VerticalCSTypeGeoKey: NAP height
    (4099, 9001),   # VerticalUnitsGeoKey: metre
]
RD_NEW_WKT = (
    'PROJCS["Amersfoort / RD New",GEOGCS["Amersfoort",DATUM["Amersfoort",'
    'SPHEROID["Bessel 1841",6377397.155,299.1528128,AUTHORITY["EPSG","7004"]],'
    'AUTHORITY["EPSG","6289"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],'
    'UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AUTHORITY["EPSG","4289"]],'
    'PROJECTION["Oblique_Stereographic"],PARAMETER["latitude_of_origin",52.1561605555556],'
    'PARAMETER["central_meridian",5.38763888888889],PARAMETER["scale_factor",0.9999079],'
    'PARAMETER["false_easting",155000],PARAMETER["false_northing",463000],'
    'UNIT["metre",1,AUTHORITY["EPSG","9001"]],AXIS["Easting",EAST],AXIS["Northing",NORTH],'
    'AUTHORITY["EPSG","28992"]]'
)
# Colours (16-bit RGB) of the format-3 points, by class.
CLASS_RGB = np.zeros((256, 3), dtype=np.uint16)
CLASS_RGB[1] = (40000, 40000, 40000)
CLASS_RGB[2] = (36000, 28000, 18000)
CLASS_RGB[3] = (30000, 52000, 20000)
CLASS_RGB[4] = (18000, 44000, 14000)
CLASS_RGB[5] = (8000, 34000, 10000)
CLASS_RGB[6] = (50000, 14000, 12000)


def _fixed(text: str, n: int) -> bytes:
    raw = text.encode("ascii")[:n]
    return raw + b"\0" * (n - len(raw))


def _vlr(user_id: str, record_id: int, description: str, payload: bytes) -> bytes:
    import struct
    return (struct.pack("<H16sHH32s", 0, _fixed(user_id, 16), record_id, len(payload),
                        _fixed(description, 32)) + payload)


def las_params(args, i: int, j: int, fmt: int) -> bytes:
    """The generation parameters of one file, as stored in its NaaW VLR (compact, key-sorted JSON)."""
    ox_t, oy_t, ticks = _tile_ticks(args, i, j)
    return json.dumps({
        "generator": "synthetic_forest", "version": 1, "seed": int(args.seed),
        "density": float(args.density), "size": ticks / SCALE, "tile": [i, j],
        "origin": [ox_t / SCALE, oy_t / SCALE], "point_format": fmt,
    }, sort_keys=True, separators=(",", ":")).encode()


def _tile_ticks(args, i: int, j: int) -> tuple[int, int, int]:
    ticks = int(round(args.size * SCALE))
    return (int(round(args.origin[0] * SCALE)) + i * ticks,
            int(round(args.origin[1] * SCALE)) + j * ticks, ticks)


def las_bytes_parts(points: np.ndarray, fmt: int, origin_t: tuple[int, int], params: bytes) -> tuple[bytes, bytes]:
    """(header + VLRs, point records) of one LAS file holding `points` (TILE_DTYPE)."""
    import struct
    ox, oy = origin_t[0] / SCALE, origin_t[1] / SCALE
    n = int(points.size)
    rec = np.zeros(n, dtype=LAS_PF3 if fmt == 3 else LAS_PF6)
    # Integer coordinates on the 0.01 m lattice, relative to the offset (the generator's coordinates
    # are lattice values already, so the rounding only removes the float noise of the subtraction).
    rec["X"] = np.round((points["x"] - ox) * SCALE).astype(np.int32)
    rec["Y"] = np.round((points["y"] - oy) * SCALE).astype(np.int32)
    rec["Z"] = np.round(points["z"] * SCALE).astype(np.int32)
    rec["intensity"] = points["intensity"]
    rn = points["return_number"].astype(np.uint8)
    nr = points["number_of_returns"].astype(np.uint8)
    # Scan direction: flight lines along x, 0.25 m apart, alternately east- and westward.
    direction = ((rec["Y"] // 25) % 2 == 0).astype(np.uint8)
    rec["classification"] = points["classification"]
    rec["gps_time"] = points["gps_time"]
    rec["point_source_id"] = 1
    if fmt == 3:
        rec["returns"] = (rn & 7) | ((nr & 7) << 3) | (direction << 6)
        rgb = CLASS_RGB[points["classification"]]
        rec["red"], rec["green"], rec["blue"] = rgb[:, 0], rgb[:, 1], rgb[:, 2]
    else:
        rec["returns"] = (rn & 15) | ((nr & 15) << 4)
        rec["flags"] = direction << 6

    X, Y, Z = rec["X"], rec["Y"], rec["Z"]
    if n:
        # The bounding box exactly as a reader computes coordinates: integer * scale + offset.
        bbox = (float(X.max()) * LAS_SCALE + ox, float(X.min()) * LAS_SCALE + ox,
                float(Y.max()) * LAS_SCALE + oy, float(Y.min()) * LAS_SCALE + oy,
                float(Z.max()) * LAS_SCALE, float(Z.min()) * LAS_SCALE)
    else:
        bbox = (0.0,) * 6
    by_return = np.bincount(rn, minlength=16)[1:16].astype(np.uint64)

    geokeys = [1, 1, 0, len(GEOKEYS)]
    for key, value in GEOKEYS:
        geokeys += [key, 0, 1, value]
    vlrs = [_vlr("LASF_Projection", 34735, "GeoTIFF GeoKeyDirectoryTag",
                 struct.pack(f"<{len(geokeys)}H", *geokeys))]
    if fmt >= 6:
        vlrs.append(_vlr("LASF_Projection", 2112, "OGC coordinate system WKT",
                         RD_NEW_WKT.encode("ascii") + b"\0"))
    vlrs.append(_vlr("NaaW", 1, "synthetic_forest parameters", params))
    vlr_bytes = b"".join(vlrs)

    header_size = 227 if fmt == 3 else 375
    # Global encoding: bit 0 adjusted standard GPS time; bit 4 CRS as WKT (LAS 1.4, formats 6-10).
    global_encoding = 1 | (16 if fmt >= 6 else 0)
    legacy_count = n if fmt < 6 else 0
    legacy_by_return = [int(c) for c in by_return[:5]] if fmt < 6 else [0] * 5
    header = struct.pack(
        "<4sHHIHH8sBB32s32sHHHIIBHI5I3d3d6d",
        b"LASF", 0, global_encoding, 0, 0, 0, b"\0" * 8,
        1, 2 if fmt < 6 else 4,
        _fixed("NaaW synthetic forest", 32), _fixed("synthetic_forest.py", 32),
        1, 2025,  # creation day of year, year: fixed, so the same arguments give the same bytes
        header_size, header_size + len(vlr_bytes), len(vlrs), fmt, rec.dtype.itemsize,
        legacy_count, *legacy_by_return,
        LAS_SCALE, LAS_SCALE, LAS_SCALE, ox, oy, 0.0, *bbox,
    )
    assert len(header) == 227
    if fmt >= 6:
        # Start of waveform data, start of the first EVLR, EVLR count, 64-bit point count and counts
        # by return (15).
        header += struct.pack("<QQIQ15Q", 0, 0, 0, n, *[int(c) for c in by_return])
        assert len(header) == 375
    return header + vlr_bytes, rec.tobytes()


def read_las_header(path: Path) -> dict | None:
    """The few header facts the skip check needs, or None if the file is not a LAS file we wrote."""
    import struct
    try:
        with open(path, "rb") as f:
            head = f.read(375)
            if len(head) < 227 or head[:4] != b"LASF":
                return None
            minor = head[25]
            header_size, offset, n_vlrs = struct.unpack_from("<HII", head, 94)
            fmt, reclen, legacy = struct.unpack_from("<BHI", head, 104)
            count = legacy
            if minor >= 4 and len(head) >= 255:
                count = struct.unpack_from("<Q", head, 247)[0] or legacy
            f.seek(header_size)
            params = None
            for _ in range(n_vlrs):
                vh = f.read(54)
                if len(vh) < 54:
                    return None
                user = vh[2:18].rstrip(b"\0")
                rid, length = struct.unpack_from("<HH", vh, 18)
                payload = f.read(length)
                if user == b"NaaW" and rid == 1:
                    params = payload
        return {"offset": offset, "count": count, "record_length": reclen, "format": fmt,
                "params": params}
    except OSError:
        return None


def _las_tile_job(job: tuple) -> tuple[str, int, bool]:
    """Generate and write one tile (runs in a worker process). Returns (path, points, written)."""
    args, i, j, fmt, force = job
    path = Path(args.las_dir) / f"forest_{i}_{j}.las"
    params = las_params(args, i, j, fmt)
    if not force and path.exists():
        head = read_las_header(path)
        if (head is not None and head["params"] == params and head["format"] == fmt
                and path.stat().st_size == head["offset"] + head["count"] * head["record_length"]):
            return str(path), int(head["count"]), False
    ox_t, oy_t, ticks = _tile_ticks(args, i, j)
    points = generate(ticks / SCALE, (ox_t / SCALE, oy_t / SCALE), args.seed, args.density)
    head, body = las_bytes_parts(points, fmt, (ox_t, oy_t), params)

    def write(f) -> None:
        f.write(head)
        f.write(body)

    write_atomic(path, write)
    return str(path), int(points.size), True


def write_las_forest(args) -> int:
    import time
    from concurrent.futures import ProcessPoolExecutor
    nx, ny = args.tiles
    las_dir = Path(args.las_dir)
    las_dir.mkdir(parents=True, exist_ok=True)
    jobs = []
    for j in range(ny):
        for i in range(nx):
            if args.point_format == "mixed":
                fmt = 6 if (i + j) % 2 == 1 else 3
            else:
                fmt = int(args.point_format)
            jobs.append((args, i, j, fmt, args.force))
    started = time.perf_counter()
    workers = max(1, min(args.jobs or (os.cpu_count() or 1), len(jobs)))
    if workers == 1:
        results = [_las_tile_job(job) for job in jobs]
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(_las_tile_job, jobs))
    # Tiles of an earlier, larger grid in the same directory would join this dataset: remove them
    # (only files this generator wrote, recognized by their NaaW VLR).
    wanted = {Path(r[0]).name for r in results}
    removed = 0
    for stale in sorted(las_dir.glob("forest_*_*.las")):
        if stale.name in wanted:
            continue
        head = read_las_header(stale)
        try:
            ours = head is not None and head["params"] is not None and \
                json.loads(head["params"]).get("generator") == "synthetic_forest"
        except ValueError:
            ours = False
        if ours:
            stale.unlink()
            removed += 1
    seconds = time.perf_counter() - started
    total = sum(r[1] for r in results)
    written = sum(1 for r in results if r[2])
    size = round(args.size * SCALE) / SCALE
    print(f"{las_dir}: {len(results)} LAS files ({written} written, {len(results) - written} up to date), "
          f"{total} points, {nx * size:g} m x {ny * size:g} m, {seconds:.1f} s"
          + (f"; removed {removed} tiles outside the grid" if removed else ""), file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--out", type=Path, help="output .npy (sidecar: same stem, .json)")
    mode.add_argument("--las-dir", type=Path,
                      help="write a forest of --tiles LAS files forest_<i>_<j>.las into this directory")
    ap.add_argument("--size", type=float, default=100.0, help="tile edge in metres (default 100)")
    ap.add_argument("--origin", type=float, nargs=2, default=[120000.0, 480000.0], metavar=("X", "Y"),
                    help="south-west corner (default 120000 480000, RD New)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--density", type=float, default=20.0, help="points per m² (default 20)")
    ap.add_argument("--tiles", type=int, nargs=2, default=[1, 1], metavar=("NX", "NY"),
                    help="--las-dir: tiles east and north (default 1 1)")
    ap.add_argument("--point-format", choices=["3", "6", "mixed"], default="mixed",
                    help="--las-dir: LAS 1.2 format 3, LAS 1.4 format 6, or mixed (format 6 where i + j "
                         "is odd; default)")
    ap.add_argument("--jobs", type=int, default=0,
                    help="--las-dir: worker processes (default: one per CPU)")
    ap.add_argument("--force", action="store_true",
                    help="--las-dir: rewrite files that are already there")
    args = ap.parse_args(argv)
    if args.seed < 0:
        ap.error("--seed must be non-negative")
    if args.size <= 0 or args.density <= 0:
        ap.error("--size and --density must be positive")
    if args.las_dir is not None:
        if args.tiles[0] <= 0 or args.tiles[1] <= 0:
            ap.error("--tiles must be positive")
        if args.jobs < 0:
            ap.error("--jobs must be non-negative")
        return write_las_forest(args)

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
