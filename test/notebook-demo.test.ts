// The demo notebook (notebooks/lidar.ipynb) and its data generator (scripts/synthetic_forest.py),
// run for real: the notebook's cells are executed by python3 + numpy, and every feature is compared
// with an independent per-cell loop computation.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { pythonExecutable } from "../src/python/interpreter";

const ROOT = path.resolve(__dirname, "..");
const NOTEBOOK = path.join(ROOT, "notebooks", "lidar.ipynb");
const GENERATOR = path.join(ROOT, "scripts", "synthetic_forest.py");

// One python program, several modes; prints one JSON document on stdout (the notebook's own prints
// go to stderr). Kept free of backticks and dollar-braces so it can live in a template literal.
const PY = String.raw`
import ast, builtins, contextlib, io, json, math, sys
from pathlib import Path
import numpy as np

FEATURES = ["perc_95_normalized_height", "max_normalized_height", "mean_normalized_height",
            "pulse_penetration_ratio", "point_density"]


def code_cells(nb_path, include_skip=False):
    nb = json.loads(Path(nb_path).read_text(encoding="utf-8"))
    out = []
    for index, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        tags = cell["metadata"].get("tags", [])
        if "skip" in tags and not include_skip:
            continue
        out.append((index, tags, "".join(cell["source"])))
    return out


def component_of(tags):
    names = [t.split(":", 1)[1] for t in tags if t.startswith("component:")]
    return names[0] if names else None


def run_notebook(nb_path, tile, overrides=None):
    """Every non-skip code cell in order, in one namespace; tile (and any other overrides) injected
    after the parameters cell, as papermill does."""
    ns = {}
    with contextlib.redirect_stdout(sys.stderr):
        for index, tags, src in code_cells(nb_path):
            exec(compile(src, "%s [cell %d]" % (nb_path, index), "exec"), ns)
            if "parameters" in tags:
                ns["tile"] = tile
                ns.update(overrides or {})
    return ns


def plain_json(value):
    """True if value is made only of Python's own JSON types (no numpy scalars, no NaN)."""
    if value is None or type(value) in (bool, int, str):
        return True
    if type(value) is float:
        return math.isfinite(value)
    if type(value) is list:
        return all(plain_json(v) for v in value)
    if type(value) is dict:
        return all(type(k) is str and plain_json(v) for k, v in value.items())
    return False


def names(tree, ctx):
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ctx):
            found.add(node.id)
        elif ctx is ast.Store and isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                found.add((alias.asname or alias.name).split(".")[0])
        elif ctx is ast.Store and isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            found.add(node.name)
    return found


def structure(nb_path):
    """An approximate dataflow of the components (good enough for this notebook: no functions,
    comprehensions or del in component cells): inputs = names read but never assigned in the
    component (builtins and imports aside); outputs = names assigned and read by a later cell."""
    cells = code_cells(nb_path, include_skip=True)
    params, imports, order, comps = set(), set(), [], {}
    for index, tags, src in cells:
        tree = ast.parse(src)
        if "parameters" in tags:
            params |= names(tree, ast.Store)
        elif "imports" in tags:
            imports |= names(tree, ast.Store)
        elif component_of(tags):
            name = component_of(tags)
            if name not in comps:
                order.append(name)
                comps[name] = {"trees": [], "first": index}
            comps[name]["trees"].append(tree)
    later_reads = {}
    for name in order:
        first = comps[name]["first"]
        reads = set()
        for index, tags, src in cells:
            if index > first and component_of(tags) != name and "parameters" not in tags and "imports" not in tags:
                reads |= names(ast.parse(src), ast.Load)
        later_reads[name] = reads
    result = {"params": sorted(params), "imports": sorted(imports), "components": []}
    for name in order:
        stored, loaded = set(), set()
        for tree in comps[name]["trees"]:
            stored |= names(tree, ast.Store)
            loaded |= names(tree, ast.Load)
        inputs = loaded - stored - imports - set(dir(builtins))
        outputs = stored & later_reads[name]
        result["components"].append({"name": name, "inputs": sorted(inputs), "outputs": sorted(outputs)})
    return result


def reference(points, bounds, cell_size, norm_cell_size, height_classes):
    """Plain per-point / per-cell loops, independent of the notebook's vectorized code."""
    xs, ys, zs = points["x"].tolist(), points["y"].tolist(), points["z"].tolist()
    classes = points["classification"].tolist()
    lowest = {}
    for x, y, z in zip(xs, ys, zs):
        key = (math.floor(x / norm_cell_size), math.floor(y / norm_cell_size))
        if key not in lowest or z < lowest[key]:
            lowest[key] = z
    west, south = math.floor(bounds[0] / cell_size), math.floor(bounds[1] / cell_size)
    east, north = math.ceil(bounds[2] / cell_size), math.ceil(bounds[3] / cell_size)
    rows, cols = north - south, east - west
    heights = [[[] for _ in range(cols)] for _ in range(rows)]
    total = [[0] * cols for _ in range(rows)]
    ground = [[0] * cols for _ in range(rows)]
    normalized = []
    for x, y, z, c in zip(xs, ys, zs, classes):
        h = z - lowest[(math.floor(x / norm_cell_size), math.floor(y / norm_cell_size))]
        normalized.append(h)
        col = math.floor(x / cell_size) - west
        row = north - 1 - math.floor(y / cell_size)
        if not (0 <= row < rows and 0 <= col < cols):
            continue
        total[row][col] += 1
        if c == 2:
            ground[row][col] += 1
        if c in height_classes:
            heights[row][col].append(h)
    expected = np.full((len(FEATURES), rows, cols), np.nan, dtype=np.float32)
    p95_float64 = []  # before the cast to float32, cells in row-major order
    for row in range(rows):
        for col in range(cols):
            values = heights[row][col]
            if values:
                p95_float64.append(float(np.percentile(np.array(values), 95)))
                expected[0, row, col] = p95_float64[-1]
                expected[1, row, col] = max(values)
                expected[2, row, col] = np.mean(values)
            if total[row][col]:
                expected[3, row, col] = ground[row][col] / total[row][col]
                expected[4, row, col] = total[row][col] / (cell_size * cell_size)
    grid = {"origin_x": west * cell_size, "origin_y": north * cell_size, "rows": rows, "cols": cols}
    return expected, np.array(normalized), grid, np.array(p95_float64)


def bits(a):
    return np.ascontiguousarray(a, dtype=np.float32).view(np.uint32)


def check(nb_path, tile, overrides=None):
    ns = run_notebook(nb_path, tile, overrides)
    raster, info = ns["raster"], ns["raster_info"]
    expected, normalized, grid, p95_float64 = reference(ns["points"], ns["bounds"], ns["cell_size"],
                                           ns["norm_cell_size"], ns["height_classes"])
    exact = {}
    for i, name in enumerate(FEATURES):
        if name == "mean_normalized_height":
            continue  # a sum: its rounding depends on summation order, checked with a tolerance
        if raster.shape == expected.shape:
            diff = bits(raster[i]) != bits(expected[i])
            exact[name] = {"mismatches": int(diff.sum()),
                           "examples": [[int(r), int(c), float(raster[i, r, c]), float(expected[i, r, c])]
                                        for r, c in zip(*np.nonzero(diff))][:3]}
    # The percentile before its cast to float32 (the features cell's float64 p95, one value per
    # occupied cell in row-major order): numpy's own lerp, reproduced bit for bit.
    p95 = np.asarray(ns["p95"])
    p95_float64_mismatches = (int((p95 != p95_float64).sum()) if p95.shape == p95_float64.shape
                              else -1)
    mean_ok = raster.shape == expected.shape and bool(np.allclose(
        raster[2], expected[2], rtol=1e-6, atol=1e-6, equal_nan=True))
    outputs = {k: ns[k] for k in ("bounds", "crs", "point_count", "grid", "feature_names", "raster_info")}
    return {
        "bounds": ns["bounds"],
        "cell_size": ns["cell_size"],
        "shape": list(raster.shape),
        "dtype": str(raster.dtype),
        "feature_stack_dtype": str(ns["feature_stack"].dtype),
        "cell_index_dtype": str(ns["cell_index"].dtype),
        "expected_shape": list(expected.shape),
        "exact": exact,
        "mean_ok": mean_ok,
        "p95_float64_mismatches": p95_float64_mismatches,
        "nan_same": bool((np.isnan(raster) == np.isnan(expected)).all()) if raster.shape == expected.shape else False,
        "nan_cells": [int(np.isnan(raster[i]).sum()) for i in range(len(FEATURES))],
        "normalized_equal": bool(np.array_equal(ns["normalized_height"], normalized)),
        "outside": int((ns["cell_index"] < 0).sum()),
        "info": info,
        "expected_grid": grid,
        "plain_json": {k: plain_json(v) for k, v in outputs.items()},
        "ndarrays": {k: isinstance(ns[k], np.ndarray) for k in
                     ("points", "normalized_height", "height_mask", "cell_index", "feature_stack", "raster")},
    }


def heights(nb_path, tile):
    """The features cell on made-up normalized heights that the demo's normalize never gives (a user's
    own normalize could): negative ones, -0.0, ties, tiny and huge magnitudes; with 0.25 m cells, more
    than 65536 of them (the order's second pass over the cell's digits). Checked against np.percentile
    and np.max per cell, the cells grouped by a stable sort of the cell alone."""
    ns = {}
    rng = np.random.default_rng(7)
    with contextlib.redirect_stdout(sys.stderr):
        for index, tags, src in code_cells(nb_path):
            exec(compile(src, "%s [cell %d]" % (nb_path, index), "exec"), ns)
            if "parameters" in tags:
                ns["tile"] = tile
                ns["cell_size"] = 0.25
            if "component:normalize" in tags:
                n = ns["normalized_height"].size
                pool = np.array([0.0, -0.0, 1.5, -1.5, 1e-300, -1e-300, 1e6, -1e6, 0.1, 0.2])
                ns["normalized_height"] = np.where(rng.random(n) < 0.5, pool[rng.integers(0, pool.size, n)],
                                                   rng.normal(0.0, 3.0, n))
    selected = (ns["cell_index"] >= 0) & ns["height_mask"]
    cells = ns["cell_index"][selected]
    values = ns["normalized_height"][selected]
    by_cell = np.argsort(cells, kind="stable")
    occupied, starts = np.unique(cells[by_cell], return_index=True)
    groups = np.split(values[by_cell], starts[1:])
    p95 = np.array([np.percentile(g, 95) for g in groups])
    highest = np.array([g.max() for g in groups])
    stack = ns["feature_stack"].reshape(len(FEATURES), -1)
    return {
        "n_cells": int(ns["n_cells"]),
        "occupied": int(occupied.size),
        "negative": int((values < 0).sum()),
        "p95_mismatches": int((np.asarray(ns["p95"]) != p95).sum()) if len(ns["p95"]) == p95.size else -1,
        "p95_raster_mismatches": int((stack[0, occupied] != p95.astype(np.float32)).sum()),
        "max_mismatches": int((stack[1, occupied] != highest.astype(np.float32)).sum()),
    }


def save_tile(points, stem, bounds=None):
    np.save(stem + ".npy", points, allow_pickle=False)
    if bounds is not None:
        Path(stem + ".json").write_text(json.dumps(
            {"bounds": bounds, "point_count": int(points.size), "crs": "EPSG:28992", "source": "test"}))


def variants(tile):
    """holes.npy: the tile with one cell emptied, one cell without filtered points, points exactly on
    edges, and bounds larger than the data (empty cells)."""
    points = np.load(tile, allow_pickle=False)
    x0, y0, x1, y1 = json.loads(Path(tile).with_suffix(".json").read_text())["bounds"]
    x, y = points["x"], points["y"]
    in_a = (x >= x0 + 30) & (x < x0 + 40) & (y >= y0 + 20) & (y < y0 + 30)
    in_b = (x >= x0 + 60) & (x < x0 + 70) & (y >= y0 + 70) & (y < y0 + 80)
    filtered = np.isin(points["classification"], [1, 3, 4, 5])
    holes = points[~in_a & ~(in_b & filtered)].copy()
    edge = holes[:4].copy()
    edge["x"] = [x0, x1 + 20, x0 + 5, x0 + 5]   # west edge (in), new east edge (out)
    edge["y"] = [y0 + 5, y0 + 5, y1 + 10, y0]   # new north edge (out), south edge (in)
    holes = np.concatenate([holes, edge])
    save_tile(holes, "holes", [x0, y0, x1 + 20, y1 + 10])
    return {"points": int(holes.size)}


def tiling(nb_path, tile):
    """The tile cut into pieces at multiples of the cell size (one piece without a sidecar, one
    shuffled): each piece's raster equals the whole tile's raster where cells coincide, bit for bit."""
    points = np.load(tile, allow_pickle=False)
    x0, y0, x1, y1 = json.loads(Path(tile).with_suffix(".json").read_text())["bounds"]
    full = run_notebook(nb_path, tile)["raster"]
    rng = np.random.default_rng(7)
    xm, ym = x0 + 50, y0 + 30
    west = points[points["x"] < xm]
    east = points[points["x"] >= xm]
    east = east[rng.permutation(east.size)]
    south = points[points["y"] < ym]
    north = points[points["y"] >= ym]
    save_tile(west, "west")  # no sidecar: bounds from the points' extent
    save_tile(east, "east", [xm, y0, x1, y1])
    save_tile(south, "south", [x0, y0, x1, ym])
    save_tile(north, "north", [x0, ym, x1, y1])
    rows_north = int(round((y1 - ym) / 10.0))
    cols_west = int(round((xm - x0) / 10.0))
    pieces = {
        "west": (slice(None), slice(0, cols_west)),
        "east": (slice(None), slice(cols_west, None)),
        "north": (slice(0, rows_north), slice(None)),
        "south": (slice(rows_north, None), slice(None)),
    }
    out = {"full_shape": list(full.shape), "pieces": {}}
    for name, (rows, cols) in pieces.items():
        ns = run_notebook(nb_path, name + ".npy")
        part = ns["raster"]
        want = full[:, rows, cols]
        same = part.shape == want.shape and bool(np.array_equal(bits(part), bits(want)))
        out["pieces"][name] = {
            "shape": list(part.shape), "expected_shape": list(want.shape), "bit_identical": same,
            "origin": [ns["raster_info"]["origin_x"], ns["raster_info"]["origin_y"]],
            "bounds": ns["bounds"],
        }
    return out


def boundaries(nb_path, tile, workdir):
    """Run component by component, each in a fresh namespace holding only the imports, the
    parameters and the earlier components' values read back from .npy / .json files, the way
    the runtime passes them. Values that cannot be written that way are not passed on."""
    cells = code_cells(nb_path)
    params_src, imports_src, order, comps = [], [], [], {}
    for index, tags, src in cells:
        if "parameters" in tags:
            params_src.append(src)
        elif "imports" in tags:
            imports_src.append(src)
        elif component_of(tags):
            name = component_of(tags)
            if name not in comps:
                order.append(name)
                comps[name] = []
            comps[name].append(src)
        else:
            raise SystemExit("cell %d is an untagged code cell" % index)
    params = {}
    exec("\n".join(params_src), params)
    params = {k: v for k, v in params.items() if not k.startswith("__")}
    params["tile"] = tile
    store = Path(workdir)
    store.mkdir(parents=True, exist_ok=True)
    files = {}
    unwritable = []
    for name in order:
        ns = {}
        exec("\n".join(imports_src), ns)
        shared = set(ns)
        ns.update(params)
        for var, file in files.items():
            ns[var] = (np.load(file, allow_pickle=False) if file.suffix == ".npy"
                       else json.loads(file.read_text()))
        before = dict(ns)
        with contextlib.redirect_stdout(sys.stderr):
            for src in comps[name]:
                exec(src, ns)
        for var, value in ns.items():
            if var in shared or var.startswith("__") or (var in before and before[var] is value):
                continue
            if isinstance(value, np.ndarray) and value.dtype != object:
                file = store / (name + "." + var + ".npy")
                np.save(file, value, allow_pickle=False)
            elif plain_json(value):
                file = store / (name + "." + var + ".json")
                file.write_text(json.dumps(value, allow_nan=False))
            else:
                unwritable.append([name, var, type(value).__name__])
                continue
            files[var] = file
    raster = np.load(files["raster"], allow_pickle=False)
    whole = run_notebook(nb_path, tile)
    return {
        "bit_identical": bool(np.array_equal(bits(raster), bits(whole["raster"]))),
        "raster_info_equal": json.loads(files["raster_info"].read_text()) == whole["raster_info"],
        "unwritable": unwritable,
    }


def stats(tile):
    p = np.load(tile, allow_pickle=False)
    side = json.loads(Path(tile).with_suffix(".json").read_text())
    x0, y0, x1, y1 = side["bounds"]
    classes, counts = np.unique(p["classification"], return_counts=True)
    pulses_first = p["return_number"] == 1
    return {
        "dtype": [[n, p.dtype[n].str] for n in p.dtype.names],
        "sidecar": side,
        "count": int(p.size),
        "inside": bool(((p["x"] >= x0) & (p["x"] < x1) & (p["y"] >= y0) & (p["y"] < y1)).all()),
        "classes": {str(int(c)): int(n) for c, n in zip(classes, counts)},
        "max_returns": int(p["number_of_returns"].max()),
        "returns_consistent": bool((p["return_number"] >= 1).all() and
                                   (p["return_number"] <= p["number_of_returns"]).all()),
        "pulses": int(pulses_first.sum()),
        "gps_sorted": bool((np.diff(p["gps_time"]) >= 0).all()),
        "z_range": [float(p["z"].min()), float(p["z"].max())],
    }


mode = sys.argv[1]
if mode == "stats":
    result = stats(sys.argv[2])
elif mode == "structure":
    result = structure(sys.argv[2])
elif mode == "check":
    result = check(sys.argv[2], sys.argv[3], json.loads(sys.argv[4]) if len(sys.argv) > 4 else None)
elif mode == "variants":
    result = variants(sys.argv[2])
elif mode == "tiling":
    result = tiling(sys.argv[2], sys.argv[3])
elif mode == "heights":
    result = heights(sys.argv[2], sys.argv[3])
elif mode == "boundaries":
    result = boundaries(sys.argv[2], sys.argv[3], sys.argv[4])
else:
    raise SystemExit("unknown mode " + mode)
print(json.dumps(result))
`;

function run(cmd: string, args: string[], cwd: string): string {
  try {
    return execFileSync(cmd, args, { cwd, encoding: "utf8", maxBuffer: 64 * 1024 * 1024, stdio: ["ignore", "pipe", "pipe"] });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.filter((a) => a !== PY).join(" ")} failed: ${e.message}\n${e.stderr ?? ""}`);
  }
}

function py<T>(cwd: string, ...args: string[]): T {
  return JSON.parse(run(pythonExecutable(), ["-c", PY, ...args], cwd)) as T;
}

function generate(out: string, ...extra: string[]): void {
  run(pythonExecutable(), [GENERATOR, "--out", out, ...extra], path.dirname(out));
}

interface NotebookCell {
  cell_type: string;
  id?: string;
  metadata: { tags?: string[] };
  source: string[] | string;
  execution_count?: number | null;
  outputs?: unknown[];
}

interface CheckResult {
  bounds: number[];
  cell_size: number;
  shape: number[];
  dtype: string;
  feature_stack_dtype: string;
  cell_index_dtype: string;
  expected_shape: number[];
  exact: Record<string, { mismatches: number; examples: number[][] }>;
  mean_ok: boolean;
  p95_float64_mismatches: number;
  nan_same: boolean;
  nan_cells: number[];
  normalized_equal: boolean;
  outside: number;
  info: Record<string, unknown>;
  expected_grid: { origin_x: number; origin_y: number; rows: number; cols: number };
  plain_json: Record<string, boolean>;
  ndarrays: Record<string, boolean>;
}

const FEATURES = [
  "perc_95_normalized_height",
  "max_normalized_height",
  "mean_normalized_height",
  "pulse_penetration_ratio",
  "point_density",
];

describe("demo notebook (notebooks/lidar.ipynb) and synthetic forest", function () {
  this.timeout(60000);
  let dir = "";
  const tile = (): string => path.join(dir, "tile.npy");

  before(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "naaw-demo-"));
    generate(tile());
  });

  after(function () {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  describe("scripts/synthetic_forest.py", function () {
    it("is deterministic: the same arguments give byte-identical files, another seed does not", function () {
      const again = path.join(dir, "again", "tile.npy");
      fs.mkdirSync(path.dirname(again));
      generate(again);
      assert.ok(fs.readFileSync(tile()).equals(fs.readFileSync(again)), "npy differs between runs");
      assert.ok(
        fs.readFileSync(path.join(dir, "tile.json")).equals(fs.readFileSync(path.join(dir, "again", "tile.json"))),
        "sidecar differs between runs",
      );
      const other = path.join(dir, "other.npy");
      generate(other, "--seed", "7", "--size", "40", "--origin", "85000", "445000", "--density", "5");
      assert.ok(!fs.readFileSync(other).equals(fs.readFileSync(tile())));
      const s = py<{ count: number; inside: boolean; sidecar: { bounds: number[] } }>(dir, "stats", other);
      assert.deepEqual(s.sidecar.bounds, [85000, 445000, 85040, 445040]);
      assert.ok(s.inside);
      assert.ok(Math.abs(s.count - 40 * 40 * 5) <= 5, `count ${s.count}`);
      // no temp files left behind
      assert.deepEqual(fs.readdirSync(path.join(dir, "again")).sort(), ["tile.json", "tile.npy"]);
    });

    it("writes an AHN-like structured tile with a sidecar", function () {
      const s = py<{
        dtype: [string, string][];
        sidecar: { bounds: number[]; point_count: number; crs: string; source: string };
        count: number;
        inside: boolean;
        classes: Record<string, number>;
        max_returns: number;
        returns_consistent: boolean;
        pulses: number;
        gps_sorted: boolean;
        z_range: number[];
      }>(dir, "stats", tile());
      assert.deepEqual(s.dtype, [
        ["x", "<f8"], ["y", "<f8"], ["z", "<f8"], ["intensity", "<u2"],
        ["return_number", "|u1"], ["number_of_returns", "|u1"], ["classification", "|u1"], ["gps_time", "<f8"],
      ]);
      assert.deepEqual(s.sidecar, {
        bounds: [120000, 480000, 120100, 480100], point_count: s.count, crs: "EPSG:28992", source: "synthetic",
      });
      assert.ok(s.count > 190000 && s.count < 210000, `count ${s.count}`);
      assert.ok(s.inside, "points outside the half-open bounds");
      assert.deepEqual(Object.keys(s.classes).sort(), ["1", "2", "3", "4", "5", "6"]);
      assert.ok(s.classes["2"]! > 0.15 * s.count && s.classes["5"]! > 0.3 * s.count, JSON.stringify(s.classes));
      assert.ok(s.max_returns >= 3 && s.returns_consistent);
      assert.ok(s.pulses < s.count * 0.8, "expected multiple returns per pulse");
      assert.ok(s.gps_sorted);
      assert.ok(s.z_range[1]! - s.z_range[0]! > 15, `z range ${s.z_range}`);
    });
  });

  describe("notebooks/lidar.ipynb", function () {
    const nb = JSON.parse(fs.readFileSync(NOTEBOOK, "utf8")) as {
      nbformat: number;
      nbformat_minor: number;
      metadata: { kernelspec?: { name: string }; language_info?: { name: string } };
      cells: NotebookCell[];
    };
    const src = (c: NotebookCell): string => (Array.isArray(c.source) ? c.source.join("") : c.source);
    const tags = (c: NotebookCell): string[] => c.metadata.tags ?? [];

    it("is a clean nbformat 4.5 notebook with tagged cells in order", function () {
      assert.equal(nb.nbformat, 4);
      assert.equal(nb.nbformat_minor, 5);
      assert.equal(nb.metadata.kernelspec?.name, "python3");
      assert.equal(nb.metadata.language_info?.name, "python");
      const ids = nb.cells.map((c) => c.id);
      assert.ok(ids.every((id) => typeof id === "string" && /^[A-Za-z0-9_-]{1,64}$/.test(id)));
      assert.equal(new Set(ids).size, ids.length);
      const code = nb.cells.filter((c) => c.cell_type === "code");
      for (const c of code) {
        assert.equal(c.execution_count, null, `cell ${c.id} has an execution count`);
        assert.deepEqual(c.outputs, [], `cell ${c.id} has outputs`);
        assert.ok(tags(c).length > 0, `code cell ${c.id} is untagged`);
      }
      assert.deepEqual(code.map((c) => tags(c).join(",")), [
        "parameters", "imports", "component:load", "component:normalize", "component:filter",
        "component:neighbors", "component:features", "component:export", "skip",
      ]);
      // a markdown cell right before each component
      nb.cells.forEach((c, i) => {
        if (tags(c).some((t) => t.startsWith("component:"))) assert.equal(nb.cells[i - 1]!.cell_type, "markdown");
      });
      assert.equal(src(code[0]!), 'cell_size = 10.0\nnorm_cell_size = 1.0\nheight_classes = [1, 3, 4, 5]\ntile = "data/synthetic_tile.npy"');
      assert.equal(src(code[1]!), "import json\nfrom pathlib import Path\n\nimport numpy as np");
      for (const c of code.slice(2, 8)) {
        assert.ok(!/^\s*[%!]/m.test(src(c)), `IPython magic in ${c.id}`);
        assert.ok(!/^\s*(import|from)\s/m.test(src(c)), `import in ${c.id} (imports belong in the imports cell)`);
      }
      assert.match(src(code[8]!), /matplotlib/);
      // written as Jupyter writes it: 1-space indent, trailing newline
      const text = fs.readFileSync(NOTEBOOK, "utf8");
      assert.equal(text, JSON.stringify(JSON.parse(text), sortKeysReplacer, 1) + "\n");
    });

    it("components read only parameters, imports and earlier components' outputs", function () {
      const s = py<{ params: string[]; imports: string[]; components: { name: string; inputs: string[]; outputs: string[] }[] }>(
        dir, "structure", NOTEBOOK);
      assert.deepEqual(s.params, ["cell_size", "height_classes", "norm_cell_size", "tile"]);
      assert.deepEqual(s.imports, ["Path", "json", "np"]);
      assert.deepEqual(s.components, [
        { name: "load", inputs: ["cell_size", "tile"], outputs: ["bounds", "crs", "point_count", "points"] },
        { name: "normalize", inputs: ["norm_cell_size", "points"], outputs: ["normalized_height"] },
        { name: "filter", inputs: ["height_classes", "points"], outputs: ["height_mask"] },
        { name: "neighbors", inputs: ["bounds", "cell_size", "points"], outputs: ["cell_index", "grid"] },
        { name: "features", inputs: ["cell_index", "grid", "height_mask", "normalized_height", "points"], outputs: ["feature_names", "feature_stack"] },
        { name: "export", inputs: ["crs", "feature_names", "feature_stack", "grid", "point_count"], outputs: ["raster", "raster_info"] },
      ]);
    });

    function assertMatchesReference(r: CheckResult): void {
      assert.deepEqual(r.shape, r.expected_shape);
      assert.equal(r.dtype, "float32");
      assert.equal(r.feature_stack_dtype, "float32");
      assert.equal(r.cell_index_dtype, "int64");
      assert.ok(r.normalized_equal, "normalized_height differs from the per-cell loop");
      assert.deepEqual(Object.keys(r.exact).sort(), FEATURES.filter((f) => f !== "mean_normalized_height").sort());
      for (const [feature, m] of Object.entries(r.exact)) {
        assert.equal(m.mismatches, 0, `${feature}: ${m.mismatches} cells differ, e.g. ${JSON.stringify(m.examples)}`);
      }
      assert.equal(r.p95_float64_mismatches, 0, "the float64 percentile differs from np.percentile");
      assert.ok(r.mean_ok, "mean_normalized_height differs");
      assert.ok(r.nan_same, "NaN cells differ");
      assert.deepEqual(r.info, {
        feature_names: FEATURES,
        origin_x: r.expected_grid.origin_x,
        origin_y: r.expected_grid.origin_y,
        cell_size: r.cell_size,
        rows: r.expected_grid.rows,
        cols: r.expected_grid.cols,
        crs: "EPSG:28992",
        point_count: r.info["point_count"],
      });
      for (const [name, ok] of Object.entries(r.plain_json)) assert.ok(ok, `${name} is not plain JSON`);
      for (const [name, ok] of Object.entries(r.ndarrays)) assert.ok(ok, `${name} is not an ndarray`);
    }

    it("computes every feature exactly as an independent per-cell loop (np.percentile bit for bit)", function () {
      const r = py<CheckResult>(dir, "check", NOTEBOOK, "tile.npy");
      assert.deepEqual(r.bounds, [120000, 480000, 120100, 480100]);
      // shape = bounds / cell_size; row 0 is the north edge
      assert.deepEqual(r.shape, [5, 10, 10]);
      assert.deepEqual(r.expected_grid, { origin_x: 120000, origin_y: 480100, rows: 10, cols: 10 });
      assertMatchesReference(r);
      assert.equal(r.outside, 0);
      assert.deepEqual(r.nan_cells, [0, 0, 0, 0, 0]);
    });

    it("follows the cell_size parameter (2 m: 2500 cells, the percentile's lerp exercised)", function () {
      const r = py<CheckResult>(dir, "check", NOTEBOOK, "tile.npy", JSON.stringify({ cell_size: 2.0 }));
      assert.equal(r.cell_size, 2);
      assert.deepEqual(r.shape, [5, 50, 50]);
      assertMatchesReference(r);
    });

    it("orders any heights right: negative, -0.0, ties, 1e-300 to 1e6, over more than 65536 cells (p95 and max per cell as np.percentile and np.max)", function () {
      const r = py<{ n_cells: number; occupied: number; negative: number; p95_mismatches: number; p95_raster_mismatches: number; max_mismatches: number }>(
        dir, "heights", NOTEBOOK, "tile.npy");
      assert.ok(r.n_cells > 65536, `${r.n_cells} cells: the order's second pass over the cell is not exercised`);
      assert.ok(r.occupied > 1000 && r.negative > 1000, JSON.stringify(r));
      assert.equal(r.p95_mismatches, 0);
      assert.equal(r.p95_raster_mismatches, 0);
      assert.equal(r.max_mismatches, 0);
    });

    it("gives NaN exactly where cells are empty, and drops points on the east/north edges", function () {
      py(dir, "variants", "tile.npy");
      const r = py<CheckResult>(dir, "check", NOTEBOOK, "holes.npy");
      assert.deepEqual(r.bounds, [120000, 480000, 120120, 480110]);
      assert.deepEqual(r.shape, [5, 11, 12]);
      assertMatchesReference(r);
      assert.equal(r.outside, 2);
      // 11x12 grid, data in 10x10 of it: 32 cells empty, one more emptied, one more without
      // filtered points (the height features only)
      assert.deepEqual(r.nan_cells, [34, 34, 34, 33, 33]);
    });

    it("does not depend on the tiling: pieces cut at multiples of cell_size agree bit for bit", function () {
      const r = py<{ full_shape: number[]; pieces: Record<string, { shape: number[]; expected_shape: number[]; bit_identical: boolean; origin: number[]; bounds: number[] }> }>(
        dir, "tiling", NOTEBOOK, "tile.npy");
      assert.deepEqual(r.full_shape, [5, 10, 10]);
      assert.deepEqual(r.pieces["west"]!.bounds, [120000, 480000, 120050, 480100]); // snapped extent, no sidecar
      assert.deepEqual(r.pieces["east"]!.origin, [120050, 480100]);
      assert.deepEqual(r.pieces["north"]!.origin, [120000, 480100]);
      assert.deepEqual(r.pieces["south"]!.origin, [120000, 480030]);
      for (const [name, p] of Object.entries(r.pieces)) {
        assert.deepEqual(p.shape, p.expected_shape, name);
        assert.ok(p.bit_identical, `${name} differs from the whole tile`);
      }
    });

    it("passes only .npy / .json values between components (fresh namespace per component)", function () {
      const r = py<{ bit_identical: boolean; raster_info_equal: boolean; unwritable: string[][] }>(
        dir, "boundaries", NOTEBOOK, "tile.npy", path.join(dir, "values"));
      assert.ok(r.bit_identical);
      assert.ok(r.raster_info_equal);
      // only component-local helpers may be unwritable (never read by a later component)
      assert.deepEqual(r.unwritable, [["load", "sidecar_path", "PosixPath"]]);
    });
  });
});

/** JSON.stringify replacer that sorts object keys, as Jupyter does when it writes a notebook. */
function sortKeysReplacer(_key: string, value: unknown): unknown {
  if (value && typeof value === "object" && !Array.isArray(value)) {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }
  return value;
}
