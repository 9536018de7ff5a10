// Build contexts as `naaw build` writes them (src/containerize): deterministic bytes and hashes, hashes
// that move only with what goes into an image, the contract files of docs/components.md, and the
// generated code run for real by the runtime (python3 + numpy) on a synthetic LiDAR tile.
import { strict as assert } from "assert";
import { spawnSync, SpawnSyncReturns } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { loadCatalog } from "../src/containerize/catalog";
import { BuildContext, contextHash } from "../src/containerize/context";
import { pythonEnv, pythonExecutable } from "../src/python/interpreter";
import { notebookJson, tempDir, TestCell } from "./helpers/notebooks";
import { MALLOC_TUNABLES } from "../src/python/interpreter";

const ROOT = path.resolve(__dirname, "..");
const CLI = path.join(ROOT, "bin", "naaw.js");
const NOTEBOOK = path.join(ROOT, "notebooks", "lidar.ipynb");
const GENERATOR = path.join(ROOT, "scripts", "synthetic_forest.py");
const DEMO_COMPONENTS = ["load", "normalize", "filter", "neighbors", "features", "export"];
const PYTHON = pythonExecutable();
const ENV = pythonEnv();

/** Parsed JSON as the tests inspect it. */
type Json = any;

interface CatalogJsonEntry {
  name: string;
  notebook: string;
  cells: number[];
  inputs: { name: string; type: string }[];
  outputs: { name: string; type: string }[];
  params: { name: string; type: string; default: unknown }[];
  requirements: string[];
  hash: string;
}

function naaw(args: readonly string[], cwd = ROOT): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: "utf8", timeout: 30_000 });
}

function naawOk(args: readonly string[], cwd = ROOT): string {
  const result = naaw(args, cwd);
  assert.equal(result.status, 0, `naaw ${args.join(" ")} failed (${result.status}): ${result.stderr}`);
  return result.stdout;
}

function catalogOf(args: readonly string[], cwd = ROOT): CatalogJsonEntry[] {
  return (JSON.parse(naawOk(["components", "--json", ...args], cwd)) as { components: CatalogJsonEntry[] }).components;
}

function hashes(entries: readonly CatalogJsonEntry[]): Record<string, string> {
  return Object.fromEntries(entries.map((e) => [e.name, e.hash]));
}

function python(code: string, ...args: string[]): string {
  const result = spawnSync(PYTHON, ["-c", code, ...args], { encoding: "utf8", env: ENV, timeout: 30_000 });
  assert.equal(result.status, 0, `python3 failed: ${result.stderr}`);
  return result.stdout;
}

function runComponent(component: string, args: readonly string[]): SpawnSyncReturns<string> {
  return spawnSync(PYTHON, ["-m", "naaw_runtime", "run", "--component", component, ...args], {
    encoding: "utf8",
    env: ENV,
    timeout: 30_000,
  });
}

/** Every file under `dir` as a build context: `/`-separated relative path → content, sorted like renderBuildContext. */
function readTree(dir: string): Map<string, string> {
  const files: [string, string][] = [];
  const walk = (current: string, prefix: string): void => {
    for (const entry of fs.readdirSync(current, { withFileTypes: true })) {
      const full = path.join(current, entry.name);
      const relative = prefix ? `${prefix}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(full, relative);
      else files.push([relative, fs.readFileSync(full, "utf8")]);
    }
  };
  walk(dir, "");
  files.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return new Map(files);
}

function assertSameTree(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>, what: string): void {
  assert.deepEqual([...a.keys()], [...b.keys()], `${what}: the same files`);
  for (const [file, content] of a) assert.equal(b.get(file), content, `${what}: ${file} differs`);
}

function readJson(file: string): Json {
  return JSON.parse(fs.readFileSync(file, "utf8"));
}

describe("build contexts: determinism", function () {
  let tmp: { dir: string; cleanup: () => void };

  before(function () {
    tmp = tempDir("naaw-containerize-det-");
  });

  after(function () {
    tmp.cleanup();
  });

  it("naaw build twice gives byte-identical trees whose hashes equal `components --json`", function () {
    const first = path.join(tmp.dir, "first");
    const second = path.join(tmp.dir, "second");
    naawOk(["build", "--notebook", "notebooks/lidar.ipynb", "--out", first]);
    naawOk(["build", "--notebook", "notebooks/lidar.ipynb", "--out", second]);
    assert.deepEqual(fs.readdirSync(first).sort(), [...DEMO_COMPONENTS].sort());
    assert.deepEqual(fs.readdirSync(second).sort(), [...DEMO_COMPONENTS].sort());
    const listed = hashes(catalogOf(["notebooks/lidar.ipynb"]));
    for (const name of DEMO_COMPONENTS) {
      const a = readTree(path.join(first, name));
      const b = readTree(path.join(second, name));
      assertSameTree(a, b, name);
      assert.equal(contextHash(a), contextHash(b));
      assert.equal(contextHash(a), listed[name], `${name}: the listed hash is the hash of the written context`);
    }
  });

  it("renderBuildContext gives the same context on every call, and naaw build writes exactly it", function () {
    // The notebook path is relative to the working directory in specs; mocha runs from the repo root.
    const relative = path.relative(process.cwd(), NOTEBOOK);
    const one = loadCatalog([relative]);
    const two = loadCatalog([relative]);
    const out = path.join(tmp.dir, "in-process");
    naawOk(["build", "--notebook", "notebooks/lidar.ipynb", "--out", out]);
    assert.deepEqual(
      one.entries.map((e) => e.spec.name),
      DEMO_COMPONENTS,
    );
    for (const [i, entry] of one.entries.entries()) {
      const other: BuildContext = two.entries[i].context;
      assertSameTree(entry.context, other, entry.spec.name);
      assert.equal(entry.hash, contextHash(entry.context));
      assert.equal(entry.hash, two.entries[i].hash);
      if (process.cwd() === ROOT) assertSameTree(entry.context, readTree(path.join(out, entry.spec.name)), entry.spec.name);
    }
  });
});

describe("build contexts: what changes a hash", function () {
  let tmp: { dir: string; cleanup: () => void };

  const baseCells: TestCell[] = [
    { markdown: true, source: "# A small pipeline\n\nThree steps.\n" },
    { tags: ["parameters"], source: "scale = 2.0\noffset = 1\n" },
    { tags: ["imports"], source: "import numpy as np\n" },
    { tags: ["component:make"], source: "values = np.arange(6, dtype=np.float64) * scale\n" },
    { markdown: true, source: "## Shift\n" },
    { tags: ["component:shift"], source: "shifted = values + offset\n" },
    { tags: ["component:total"], source: "total = float(shifted.sum())\n" },
    { tags: ["skip"], source: "print(total)\n" },
  ];

  function write(name: string, cells: readonly TestCell[]): string {
    const file = path.join(tmp.dir, name);
    fs.writeFileSync(file, notebookJson(cells));
    return name;
  }

  function edit(index: number, source: string): TestCell[] {
    return baseCells.map((c, i) => (i === index ? { ...c, source } : c));
  }

  before(function () {
    tmp = tempDir("naaw-containerize-hash-");
  });

  after(function () {
    tmp.cleanup();
  });

  // Every notebook is written under the same file name in its own directory, so the spec's
  // `notebook` path (part of the hash) is the same and only the edit differs.
  function hashesFor(cells: readonly TestCell[], extra: readonly string[] = []): Record<string, string> {
    const dir = fs.mkdtempSync(path.join(tmp.dir, "nb-"));
    fs.writeFileSync(path.join(dir, "nb.ipynb"), notebookJson(cells));
    return hashes(catalogOf(["nb.ipynb", ...extra], dir));
  }

  it("editing one component's code changes only that component's hash", function () {
    const base = hashesFor(baseCells);
    assert.deepEqual(Object.keys(base), ["make", "shift", "total"]);
    assert.equal(new Set(Object.values(base)).size, 3, "each component has its own hash");
    const edited = hashesFor(edit(5, "shifted = values + offset * 1\n"));
    assert.notEqual(edited.shift, base.shift);
    assert.equal(edited.make, base.make);
    assert.equal(edited.total, base.total);
    assert.deepEqual(hashesFor(baseCells), base, "the same notebook gives the same hashes");
  });

  it("editing the imports cell changes every component's hash", function () {
    const base = hashesFor(baseCells);
    const edited = hashesFor(edit(2, "import numpy as np\nimport math\n"));
    for (const name of Object.keys(base)) assert.notEqual(edited[name], base[name], name);
  });

  it("changing --base-image changes every hash, and build and components agree on it", function () {
    const base = hashesFor(baseCells);
    const pinned = hashesFor(baseCells, ["--base-image", "python:3.12-slim"]);
    for (const name of Object.keys(base)) assert.notEqual(pinned[name], base[name], name);

    const dir = fs.mkdtempSync(path.join(tmp.dir, "nb-"));
    fs.writeFileSync(path.join(dir, "nb.ipynb"), notebookJson(baseCells));
    const out = naawOk(["build", "--notebook", "nb.ipynb", "--base-image", "python:3.12-slim", "--out", "ctx"], dir);
    for (const name of Object.keys(base)) {
      const tree = readTree(path.join(dir, "ctx", name));
      assert.match(tree.get("Dockerfile") ?? "", /^FROM python:3\.12-slim$/m);
      assert.equal(contextHash(tree), pinned[name], name);
      assert.match(out, new RegExp(`^${name}\\s.*\\s${pinned[name]}$`, "m"), "the build table shows the hash");
    }
  });

  it("editing a markdown cell or a skip cell changes no hash", function () {
    const base = hashesFor(baseCells);
    assert.deepEqual(hashesFor(edit(0, "# A different title\n\nWith more words, and $x^2$.\n")), base);
    assert.deepEqual(hashesFor(edit(4, "## Shift by the offset\n")), base);
    assert.deepEqual(hashesFor(edit(7, "# a plot, say\nprint('total is', total)\n")), base);
  });

  it("the hash is the sha256 of the context written to disk", function () {
    write("unused.ipynb", baseCells);
    const relative = path.relative(process.cwd(), path.join(tmp.dir, "unused.ipynb"));
    const catalog = loadCatalog([relative]);
    for (const entry of catalog.entries) {
      const out = path.join(tmp.dir, "written", entry.spec.name);
      naawOk(["build", entry.spec.name, "--notebook", path.join(tmp.dir, "unused.ipynb"), "--out", path.dirname(out)], process.cwd());
      assert.equal(contextHash(readTree(out)), entry.hash, entry.spec.name);
    }
  });
});

describe("build contexts: the files of a component", function () {
  let tmp: { dir: string; cleanup: () => void };
  let catalog: CatalogJsonEntry[];
  let cells: string[];

  before(function () {
    tmp = tempDir("naaw-containerize-files-");
    naawOk(["build", "--notebook", "notebooks/lidar.ipynb", "--out", tmp.dir]);
    catalog = catalogOf(["notebooks/lidar.ipynb"]);
    const nb = readJson(NOTEBOOK);
    cells = nb.cells.map((c: Json) => (Array.isArray(c.source) ? c.source.join("") : c.source));
  });

  after(function () {
    tmp.cleanup();
  });

  it("the Dockerfile starts from the base image, installs the requirements, runs as uid 10001 and has a health check", function () {
    for (const name of DEMO_COMPONENTS) {
      const dockerfile = fs.readFileSync(path.join(tmp.dir, name, "Dockerfile"), "utf8");
      const lines = dockerfile.split("\n");
      assert.equal(lines.filter((l) => l.startsWith("FROM ")).length, 1);
      assert.ok(lines.includes("FROM python:3.11-slim"), "the default base image");
      assert.ok(lines.includes("COPY requirements.txt ./"));
      assert.match(dockerfile, /^RUN python3 -m pip install --no-cache-dir -r requirements\.txt$/m);
      const user = lines.findIndex((l) => l === "USER 10001:10001");
      assert.ok(user > 0, "a non-root user");
      const install = lines.findIndex((l) => l.includes("pip install"));
      assert.ok(install < user, "requirements are installed before dropping root");
      assert.ok(!lines.slice(user + 1).some((l) => /^USER /.test(l)), "no later USER switches back");
      assert.ok(lines.includes(`ENV GLIBC_TUNABLES=${MALLOC_TUNABLES}`), "malloc keeps a tile's freed arrays, as naaw run's services do");
      assert.match(dockerfile, /^HEALTHCHECK .*\n\s+CMD .*\/healthz/m);
      // No ENTRYPOINT, so engines can give the full batch command (cwltool never overrides one).
      assert.ok(!lines.some((l) => l.startsWith("ENTRYPOINT")));
      assert.match(dockerfile, /^CMD \["python3", "-m", "naaw_runtime", "serve", "--component", "\/app\/component", "--host", "0\.0\.0\.0"/m);
    }
  });

  it("requirements.txt lists numpy, and .dockerignore exists", function () {
    for (const name of DEMO_COMPONENTS) {
      const requirements = fs.readFileSync(path.join(tmp.dir, name, "requirements.txt"), "utf8").split("\n").filter(Boolean);
      assert.ok(requirements.includes("numpy"), `${name}: ${requirements.join(",")}`);
      const ignore = fs.readFileSync(path.join(tmp.dir, name, ".dockerignore"), "utf8");
      assert.match(ignore, /__pycache__/);
    }
  });

  it("component.json matches the catalog entry and maps every line of cells.py back to the notebook", function () {
    for (const entry of catalog) {
      const spec = readJson(path.join(tmp.dir, entry.name, "component.json"));
      const { hash: _hash, ...listed } = entry;
      void _hash;
      const { sourceMap, ...rest } = spec;
      assert.deepEqual(rest, listed, entry.name);
      assert.ok(Array.isArray(sourceMap) && sourceMap.length >= 2, `${entry.name}: a source map`);
    }
  });

  it("cells.py holds the imports cell, then the component's cells, verbatim", function () {
    for (const entry of catalog) {
      const text = fs.readFileSync(path.join(tmp.dir, entry.name, "cells.py"), "utf8");
      const lines = text.split("\n");
      const spec = readJson(path.join(tmp.dir, entry.name, "component.json"));
      const mapped: number[] = spec.sourceMap.map((m: Json) => m.cell);
      assert.deepEqual(mapped, [2, ...entry.cells], `${entry.name}: imports cell 2, then its own cells`);
      for (const m of spec.sourceMap) {
        const cellLines = cells[m.cell].replace(/\s+$/, "").split("\n");
        assert.equal(m.cellLine, 1);
        assert.equal(m.lines, cellLines.length, `${entry.name}: all of cell ${m.cell}`);
        assert.deepEqual(lines.slice(m.line - 1, m.line - 1 + m.lines), cellLines, `${entry.name}: cell ${m.cell} verbatim`);
      }
      // The imports come first in the file, then each cell in order.
      const positions = [cells[2], ...entry.cells.map((c) => cells[c])].map((source) => text.indexOf(source.replace(/\s+$/, "")));
      assert.ok(positions.every((p) => p >= 0), entry.name);
      assert.deepEqual([...positions].sort((a, b) => a - b), positions, `${entry.name}: imports first, then cells in order`);
    }
  });
});

describe("build contexts: the demo chain run through the generated code", function () {
  let tmp: { dir: string; cleanup: () => void };

  before(function () {
    tmp = tempDir("naaw-containerize-chain-");
  });

  after(function () {
    tmp.cleanup();
  });

  it("load → normalize → filter → neighbors → features → export computes the 95th percentile numpy computes", function () {
    const build = path.join(tmp.dir, "build");
    naawOk(["build", ...DEMO_COMPONENTS, "--notebook", "notebooks/lidar.ipynb", "--out", build]);
    const tile = path.join(tmp.dir, "data", "tile.npy");
    const generated = spawnSync(PYTHON, [GENERATOR, "--out", tile, "--size", "60", "--density", "20"], { encoding: "utf8", timeout: 30_000 });
    assert.equal(generated.status, 0, generated.stderr);

    const specs: Json[] = DEMO_COMPONENTS.map((name) => readJson(path.join(build, name, "component.json")));
    const runs = path.join(tmp.dir, "runs");
    for (const [i, spec] of specs.entries()) {
      const inputs = path.join(tmp.dir, "inputs", spec.name);
      fs.mkdirSync(inputs, { recursive: true });
      for (const input of spec.inputs) {
        const provider = specs
          .slice(0, i)
          .reverse()
          .find((s: Json) => s.outputs.some((o: Json) => o.name === input.name));
        assert.ok(provider, `${spec.name}: no earlier component provides '${input.name}'`);
        const file = ["npy", "json"].map((ext) => path.join(runs, provider.name, `${input.name}.${ext}`)).find((f) => fs.existsSync(f));
        assert.ok(file, `${provider.name} did not write '${input.name}'`);
        fs.copyFileSync(file, path.join(inputs, path.basename(file)));
      }
      const params = spec.params.some((p: Json) => p.name === "tile") ? ["--param", `tile=${tile}`] : [];
      const outputs = path.join(runs, spec.name);
      const result = runComponent(path.join(build, spec.name), ["--inputs", inputs, "--outputs", outputs, ...params]);
      assert.equal(result.status, 0, `${spec.name}: ${result.stderr}`);
      const expected = spec.outputs.map((o: Json) => `${o.name}.${o.type === "ndarray" ? "npy" : "json"}`).sort();
      assert.deepEqual(fs.readdirSync(outputs).sort(), expected, `${spec.name} writes exactly its declared outputs`);
    }

    const check = String.raw`
import json, sys
import numpy as np
raster_path, info_path, tile_path = sys.argv[1:4]
raster = np.load(raster_path, allow_pickle=False)
info = json.load(open(info_path))
pts = np.load(tile_path, allow_pickle=False)
side = json.load(open(tile_path[:-4] + ".json"))
cs = info["cell_size"]
out = {"shape": list(raster.shape), "dtype": str(raster.dtype), "info": info, "bounds": side["bounds"],
       "points": int(pts.shape[0])}
# Normalized height, independently: z minus the lowest z among the points of the same 1 m cell.
keys = np.stack([np.floor(pts["x"]).astype(np.int64), np.floor(pts["y"]).astype(np.int64)], axis=1)
_, inverse = np.unique(keys, axis=0, return_inverse=True)
inverse = inverse.reshape(-1)
lowest = np.full(inverse.max() + 1, np.inf)
np.minimum.at(lowest, inverse, pts["z"])
nh = pts["z"] - lowest[inverse]
keep = np.isin(pts["classification"], [1, 3, 4, 5])
checked, mismatches, empty = 0, [], 0
for r in range(info["rows"]):
    for c in range(info["cols"]):
        x0 = info["origin_x"] + c * cs
        y1 = info["origin_y"] - r * cs
        inside = (pts["x"] >= x0) & (pts["x"] < x0 + cs) & (pts["y"] >= y1 - cs) & (pts["y"] < y1)
        values = nh[inside & keep]
        got = raster[0, r, c]
        if values.size == 0:
            empty += 1
            if not np.isnan(got):
                mismatches.append([r, c, float(got), None])
            continue
        want = np.float32(np.percentile(values, 95))
        checked += 1
        if got != want:
            mismatches.append([r, c, float(got), float(want)])
out.update(checked=checked, empty=empty, mismatches=mismatches)
print(json.dumps(out))
`;
    const result = JSON.parse(python(check, path.join(runs, "export", "raster.npy"), path.join(runs, "export", "raster_info.json"), tile));
    const info = result.info;
    assert.equal(info.feature_names[0], "perc_95_normalized_height");
    assert.equal(info.cell_size, 10);
    assert.equal(info.rows, 6);
    assert.equal(info.cols, 6);
    assert.equal(info.origin_x, result.bounds[0]);
    assert.equal(info.origin_y, result.bounds[3]);
    assert.equal(info.point_count, result.points);
    assert.deepEqual(result.shape, [info.feature_names.length, info.rows, info.cols]);
    assert.equal(result.dtype, "float32");
    assert.ok(result.checked >= 30, `only ${result.checked} cells had vegetation points`);
    assert.deepEqual(result.mismatches, [], "perc_95 differs from np.percentile at [row, col, got, want]");
  });
});

describe("build contexts: a cell error maps back to the notebook", function () {
  let tmp: { dir: string; cleanup: () => void };
  let build: string;
  let notebook: string;

  before(function () {
    tmp = tempDir("naaw-containerize-errors-");
    notebook = path.join(tmp.dir, "errors.ipynb");
    fs.writeFileSync(
      notebook,
      notebookJson([
        { markdown: true, source: "# Errors\n" },
        { tags: ["parameters"], source: "divisor = 0\n" },
        { tags: ["imports"], source: "import numpy as np\n" },
        {
          tags: ["component:make"],
          source: "values = np.arange(4.0)\n\ndef ratio_of(v, d):\n    s = float(v.sum())\n    return s / d\n\ntotal = ratio_of(values, 1.0)\n",
        },
        { markdown: true, source: "## Divide\n" },
        { tags: ["component:divide"], source: "count = values.size\nhalf = total / 2\nmean = total / (count * divisor)\n" },
        { tags: ["component:reuse"], source: "first = half + 1\nratio = ratio_of(values, divisor)\n" },
      ]),
    );
    build = path.join(tmp.dir, "build");
    // Run with the notebook's directory as working directory: specs name it as the user does there.
    naawOk(["build", "--notebook", "errors.ipynb", "--out", build], tmp.dir);
  });

  after(function () {
    tmp.cleanup();
  });

  function runMake(): string {
    const outputs = path.join(tmp.dir, "runs", "make");
    const made = runComponent(path.join(build, "make"), ["--outputs", outputs]);
    assert.equal(made.status, 0, made.stderr);
    return outputs;
  }

  it("an exception on line 3 of a cell exits 1 naming the notebook, the cell and line 3", function () {
    const inputs = runMake();
    const outputs = path.join(tmp.dir, "runs", "divide");
    const result = runComponent(path.join(build, "divide"), ["--inputs", inputs, "--outputs", outputs]);
    assert.equal(result.status, 1, result.stderr);
    const [first, ...rest] = result.stderr.trimEnd().split("\n");
    assert.equal(first, "component 'divide' failed at errors.ipynb cell 5, line 3: ZeroDivisionError: float division by zero");
    assert.match(rest.join("\n"), /errors\.ipynb cell 5, line 3, in <module>\n\s+mean = total \/ \(count \* divisor\)/);
    assert.deepEqual(fs.readdirSync(outputs), [], "a failed run writes no outputs");

    const fine = runComponent(path.join(build, "divide"), ["--inputs", inputs, "--outputs", outputs, "--param", "divisor=2"]);
    assert.equal(fine.status, 0, fine.stderr);
    assert.equal(readJson(path.join(outputs, "half.json")), 3);
  });

  it("a function copied from an earlier component reports the cell and line of its body in the notebook", function () {
    const cellsPy = fs.readFileSync(path.join(build, "reuse", "cells.py"), "utf8");
    assert.match(cellsPy, /def ratio_of\(v, d\):/, "the function is copied into the later component");
    const inputs = path.join(tmp.dir, "inputs", "reuse");
    fs.mkdirSync(inputs, { recursive: true });
    const made = runMake();
    fs.copyFileSync(path.join(made, "values.npy"), path.join(inputs, "values.npy"));
    const divided = path.join(tmp.dir, "runs", "divide-ok");
    assert.equal(runComponent(path.join(build, "divide"), ["--inputs", made, "--outputs", divided, "--param", "divisor=1"]).status, 0);
    fs.copyFileSync(path.join(divided, "half.json"), path.join(inputs, "half.json"));

    const result = runComponent(path.join(build, "reuse"), ["--inputs", inputs, "--outputs", path.join(tmp.dir, "runs", "reuse")]);
    assert.equal(result.status, 1, result.stderr);
    const [first, ...rest] = result.stderr.trimEnd().split("\n");
    assert.equal(first, "component 'reuse' failed at errors.ipynb cell 3, line 5: ZeroDivisionError: float division by zero");
    const traceback = rest.join("\n");
    assert.match(traceback, /errors\.ipynb cell 6, line 2, in <module>\n\s+ratio = ratio_of\(values, divisor\)/);
    assert.match(traceback, /errors\.ipynb cell 3, line 5, in ratio_of\n\s+return s \/ d/);
    assert.doesNotMatch(traceback, /cells\.py/, "every frame of the cells is shown as a notebook cell");
  });
});
