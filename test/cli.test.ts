// The `naaw` command line (src/cli) as a user runs it: `node bin/naaw.js …` in a real process.
import { strict as assert } from "assert";
import { ChildProcess, spawn, spawnSync, SpawnSyncReturns } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { pythonEnv, pythonExecutable } from "../src/python/interpreter";
import { notebookJson, tempDir, TestCell } from "./helpers/notebooks";

const ROOT = path.resolve(__dirname, "..");
const CLI = path.join(ROOT, "bin", "naaw.js");
const GENERATOR = path.join(ROOT, "scripts", "synthetic_forest.py");
const DEMO_COMPONENTS = ["load", "normalize", "filter", "neighbors", "features", "export"];
const PYTHON = pythonExecutable();
const ENV = pythonEnv();

/** Parsed JSON as the tests inspect it. */
type Json = any;

function naaw(args: readonly string[], cwd = ROOT): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: "utf8", timeout: 30_000 });
}

function naawOk(args: readonly string[], cwd = ROOT): string {
  const result = naaw(args, cwd);
  assert.equal(result.status, 0, `naaw ${args.join(" ")} failed (${result.status}): ${result.stderr}`);
  return result.stdout;
}

/** A failure as users should see it: exit 1, one line on stderr, no stack trace. */
function assertOneLineError(result: SpawnSyncReturns<string>, pattern: RegExp): string {
  assert.equal(result.status, 1, `expected exit 1; stderr: ${result.stderr}`);
  assert.doesNotMatch(result.stderr, / {4}at /, "no stack trace");
  const lines = result.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `one line on stderr, got:\n${result.stderr}`);
  assert.match(lines[0], pattern);
  return lines[0];
}

function python(code: string, ...args: string[]): string {
  const result = spawnSync(PYTHON, ["-c", code, ...args], { encoding: "utf8", env: ENV, timeout: 30_000 });
  assert.equal(result.status, 0, `python3 failed: ${result.stderr}`);
  return result.stdout;
}

describe("naaw --help", function () {
  it("describes the tool and its three verbs", function () {
    const out = naawOk(["--help"]);
    assert.match(out, /^Usage: naaw /);
    assert.match(out, /Notebook-as-a-Workflow/);
    for (const verb of ["components", "build", "serve"]) assert.match(out, new RegExp(`^\\s+${verb} `, "m"), verb);
  });

  const verbs: ReadonlyArray<{ verb: string; usage: RegExp; says: RegExp; options: readonly string[] }> = [
    { verb: "components", usage: /^Usage: naaw components \[options\] \[notebook\.\.\.\]/, says: /list the components/, options: ["--json", "--base-image"] },
    { verb: "build", usage: /^Usage: naaw build \[options\] \[component\.\.\.\]/, says: /Docker build context per component/, options: ["--out", "--notebook", "--base-image"] },
    { verb: "serve", usage: /^Usage: naaw serve \[options\] <component>/, says: /REST service/, options: ["--port", "--host", "--data-root", "--notebook"] },
  ];
  for (const { verb, usage, says, options } of verbs) {
    it(`naaw ${verb} --help describes the verb and its options`, function () {
      const out = naawOk([verb, "--help"]);
      assert.match(out, usage);
      assert.match(out, says);
      for (const option of options) assert.ok(out.includes(option), `${verb} --help mentions ${option}`);
      assert.match(out, /Examples?:/);
    });
  }
});

describe("naaw components", function () {
  let tmp: { dir: string; cleanup: () => void };

  before(function () {
    tmp = tempDir("naaw-cli-components-");
  });

  after(function () {
    tmp.cleanup();
  });

  it("--json prints exactly the documented shape, the six demo components in notebook order", function () {
    const out = naawOk(["components", "notebooks/lidar.ipynb", "--json"]);
    const doc = JSON.parse(out);
    assert.deepEqual(Object.keys(doc), ["components", "diagnostics"]);
    assert.deepEqual(doc.diagnostics, [], "the demo notebook has no warnings");
    assert.deepEqual(
      doc.components.map((c: Json) => c.name),
      DEMO_COMPONENTS,
    );
    const keys = ["name", "notebook", "cells", "inputs", "outputs", "params", "requirements", "hash"].sort();
    let lastCell = -1;
    for (const c of doc.components) {
      assert.deepEqual(Object.keys(c).sort(), keys, c.name);
      assert.equal(c.notebook, "notebooks/lidar.ipynb");
      assert.ok(Array.isArray(c.cells) && c.cells.every((i: unknown) => Number.isInteger(i)));
      assert.ok(c.cells[0] > lastCell, "notebook order");
      lastCell = c.cells[c.cells.length - 1];
      for (const v of [...c.inputs, ...c.outputs]) {
        assert.deepEqual(Object.keys(v).sort(), ["name", "type"], `${c.name}: ${JSON.stringify(v)}`);
        assert.match(v.type, /^(ndarray|int|float|str|bool|list|dict|any)$/);
      }
      for (const p of c.params) assert.deepEqual(Object.keys(p).sort(), ["default", "name", "type"], `${c.name}: ${JSON.stringify(p)}`);
      assert.ok(Array.isArray(c.requirements) && c.requirements.includes("numpy"));
      assert.match(c.hash, /^[0-9a-f]{64}$/);
    }
    const byName = Object.fromEntries(doc.components.map((c: Json) => [c.name, c]));
    assert.deepEqual(byName.normalize.inputs, [{ name: "points", type: "ndarray" }]);
    assert.deepEqual(byName.normalize.outputs, [{ name: "normalized_height", type: "ndarray" }]);
    assert.deepEqual(byName.normalize.params, [{ name: "norm_cell_size", type: "float", default: 1 }]);
    assert.deepEqual(byName.load.inputs, []);
    assert.deepEqual(
      byName.export.outputs.map((o: Json) => o.name),
      ["raster", "raster_info"],
    );
  });

  it("the table lists every component with its hash prefix", function () {
    const json = JSON.parse(naawOk(["components", "notebooks/lidar.ipynb", "--json"]));
    const out = naawOk(["components", "notebooks/lidar.ipynb"]);
    assert.ok(out.includes("notebooks/lidar.ipynb"), "the table names the notebook");
    const lines = out.trimEnd().split("\n");
    const header = lines.findIndex((l) => /^COMPONENT\s.*\bINPUTS\s+OUTPUTS\s+PARAMS\s.*\bHASH$/.test(l));
    assert.ok(header >= 0, out);
    const rows = lines.slice(header + 1);
    assert.equal(rows.length, DEMO_COMPONENTS.length, out);
    json.components.forEach((c: Json, i: number) => {
      assert.ok(rows[i].startsWith(`${c.name} `), rows[i]);
      assert.ok(rows[i].endsWith(c.hash.slice(0, 12)), rows[i]);
      for (const input of c.inputs) assert.ok(rows[i].includes(`${input.name}: ${input.type}`), rows[i]);
    });
  });

  it("reads every notebook under notebooks/ when none is given", function () {
    const doc = JSON.parse(naawOk(["components", "--json"], ROOT));
    assert.deepEqual(
      doc.components.map((c: Json) => [c.name, c.notebook]),
      DEMO_COMPONENTS.map((n) => [n, "notebooks/lidar.ipynb"]),
    );
  });

  it("says where it looked when no notebook is given and there is none", function () {
    assertOneLineError(naaw(["components"], tmp.dir), /^naaw: no notebooks given and none found under notebooks\/; pass a path/);
  });

  const valid: TestCell[] = [{ tags: ["component:a"], source: "x = 1\n" }];
  const bad: ReadonlyArray<{ what: string; file: string; content?: string; error: RegExp }> = [
    { what: "invalid JSON", file: "broken.ipynb", content: '{"nbformat": 4, "cells": [\n', error: /^broken\.ipynb:\d+: error: not a notebook: invalid JSON/ },
    {
      what: "nbformat 3",
      file: "old.ipynb",
      content: JSON.stringify({ nbformat: 3, nbformat_minor: 0, metadata: {}, worksheets: [{ cells: [] }] }),
      error: /^old\.ipynb: error: nbformat 3; NaaW reads nbformat 4 notebooks/,
    },
    { what: "no cells", file: "empty.ipynb", content: notebookJson([]), error: /^empty\.ipynb: error: the notebook has no cells$/ },
    { what: "an R kernel", file: "r.ipynb", content: notebookJson(valid, "R"), error: /^r\.ipynb: error: the notebook's kernel is R; NaaW components are Python/ },
    { what: "a missing file", file: "missing.ipynb", error: /^missing\.ipynb: error: no such notebook$/ },
    {
      what: "a component reading a name defined only in an untagged cell",
      file: "untagged.ipynb",
      content: notebookJson([
        { markdown: true, source: "# t\n" },
        { source: "threshold = 3\n" },
        { tags: ["component:pick"], source: "values = [1, 5, 9]\nkept = [v for v in values if v > threshold]\n" },
      ]),
      error: /^untagged\.ipynb: cell 2, line 2: error: component 'pick' reads 'threshold', which is defined only in cell 1 \(an untagged cell\)/,
    },
  ];
  it("--json answers a notebook's errors as diagnostics on stdout, with cell and line, and exit code 1", function () {
    const { content, file } = bad.find((b) => b.file === "untagged.ipynb")!;
    fs.writeFileSync(path.join(tmp.dir, file), content!);
    const result = naaw(["components", file, "--json"], tmp.dir);
    assert.equal(result.status, 1, result.stderr);
    assert.equal(result.stderr, "", "nothing but the JSON");
    const doc = JSON.parse(result.stdout);
    assert.deepEqual(doc.components, []);
    assert.deepEqual(
      doc.diagnostics.map((d: Json) => [d.severity, d.file, d.cell, d.line]),
      [["error", "untagged.ipynb", 2, 2]],
    );
    assert.match(doc.diagnostics[0].message, /reads 'threshold', which is defined only in cell 1 \(an untagged cell\)/);
  });

  for (const { what, file, content, error } of bad) {
    it(`exits 1 with one line naming the file for ${what}`, function () {
      if (content !== undefined) fs.writeFileSync(path.join(tmp.dir, file), content);
      assertOneLineError(naaw(["components", file], tmp.dir), error);
      assertOneLineError(naaw(["build", "--notebook", file, "--out", "out"], tmp.dir), error);
      assert.equal(fs.existsSync(path.join(tmp.dir, "out")), false, "build writes nothing for a bad notebook");
    });
  }
});

describe("naaw validate --json", function () {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => (tmp = tempDir()));
  afterEach(() => tmp.cleanup());

  it("GIVEN the demo workflow THEN valid, its sizes and the components its steps use", function () {
    const doc = JSON.parse(naawOk(["validate", "workflows/lidar.yaml", "--json"]));
    assert.deepEqual(
      { ...doc, uses: undefined },
      { workflow: "workflows/lidar.yaml", valid: true, steps: 8, foreach: 1, params: 7, uses: undefined, diagnostics: [] },
    );
    assert.deepEqual(doc.uses, ["builtin/merge", "builtin/split", ...DEMO_COMPONENTS.map((c) => `lidar/${c}`).sort()]);
  });

  it("GIVEN a step using an unknown component THEN invalid, the diagnostic at its line and column, exit code 1, nothing on stderr", function () {
    const file = path.join(tmp.dir, "broken.yaml");
    fs.writeFileSync(file, "name: broken\nsteps:\n  - id: a\n    uses: lidar/nope\n");
    const result = naaw(["validate", file, "--json", "--notebooks", path.join(ROOT, "notebooks")]);
    assert.equal(result.status, 1);
    assert.equal(result.stderr, "");
    const doc = JSON.parse(result.stdout);
    assert.equal(doc.valid, false);
    assert.deepEqual(
      doc.diagnostics.map((d: Json) => [d.severity, d.file, d.line, d.column]),
      [["error", file, 4, 11]],
    );
    assert.match(doc.diagnostics[0].message, /unknown component 'lidar\/nope'; notebook 'lidar' has: load, normalize/);
  });
});

describe("naaw build", function () {
  let tmp: { dir: string; cleanup: () => void };

  beforeEach(function () {
    tmp = tempDir("naaw-cli-build-");
  });

  afterEach(function () {
    tmp.cleanup();
  });

  it("refuses an unknown component, naming the known ones, and writes nothing", function () {
    const out = path.join(tmp.dir, "out");
    const line = assertOneLineError(naaw(["build", "unknown-component", "--notebook", "notebooks/lidar.ipynb", "--out", out]), /no component named 'unknown-component'/);
    assert.ok(line.includes(`the catalog has: ${DEMO_COMPONENTS.join(", ")}`), line);
    assert.equal(fs.existsSync(out), false);
  });

  it("writes one context per component, and a rebuild replaces each one whole, leaving no staging directories", function () {
    const out = path.join(tmp.dir, "contexts");
    const table = naawOk(["build", "--notebook", "notebooks/lidar.ipynb", "--out", out]);
    assert.deepEqual(fs.readdirSync(out).sort(), [...DEMO_COMPONENTS].sort());
    for (const name of DEMO_COMPONENTS) {
      assert.ok(fs.existsSync(path.join(out, name, "component.json")), name);
      assert.equal(JSON.parse(fs.readFileSync(path.join(out, name, "component.json"), "utf8")).name, name);
      assert.match(table, new RegExp(`^${name}\\s+${out.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}/${name}\\s`, "m"));
    }
    const before = fs.readFileSync(path.join(out, "normalize", "cells.py"), "utf8");
    const inode = fs.statSync(path.join(out, "normalize")).ino;
    fs.writeFileSync(path.join(out, "normalize", "stale.txt"), "left from an older build");
    fs.writeFileSync(path.join(out, "normalize", "cells.py"), "# edited by hand\n");
    fs.rmSync(path.join(out, "filter", "Dockerfile"));

    naawOk(["build", "normalize", "filter", "--notebook", "notebooks/lidar.ipynb", "--out", out]);
    assert.deepEqual(fs.readdirSync(out).sort(), [...DEMO_COMPONENTS].sort(), "no leftover staging or .old directories");
    assert.equal(fs.existsSync(path.join(out, "normalize", "stale.txt")), false, "the old directory is replaced, not merged");
    assert.equal(fs.readFileSync(path.join(out, "normalize", "cells.py"), "utf8"), before);
    assert.ok(fs.existsSync(path.join(out, "filter", "Dockerfile")));
    assert.notEqual(fs.statSync(path.join(out, "normalize")).ino, inode, "the context is swapped in by a rename");
  });
});

/** Linux: the pids whose parent is `pid`. */
function childrenOf(pid: number): number[] {
  const found: number[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      // pid (comm) state ppid …; comm may hold spaces and parentheses, so split after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) found.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function connects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

describe("naaw serve", function () {
  let tmp: { dir: string; cleanup: () => void };
  let cli: ChildProcess | undefined;
  let cliExited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  let pythonPids: number[] = [];
  let stdout = "";
  let stderr = "";
  let url = "";
  let port = 0;

  before(async function () {
    tmp = tempDir("naaw-cli-serve-");
    const generated = spawnSync(PYTHON, [GENERATOR, "--out", path.join(tmp.dir, "tile.npy"), "--size", "30", "--density", "20"], {
      encoding: "utf8",
      timeout: 30_000,
    });
    assert.equal(generated.status, 0, generated.stderr);
    // Its own process group, so that cleanup can stop the CLI and its python child together.
    cli = spawn(process.execPath, [CLI, "serve", "normalize", "--port", "0", "--data-root", tmp.dir], {
      cwd: ROOT,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const child = cli;
    cliExited = new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
    child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`naaw serve did not start within 20 s; stderr: ${stderr}`)), 20_000);
      child.stdout!.on("data", (chunk: Buffer) => {
        stdout += chunk.toString();
        const match = /^naaw_runtime: serving normalize on (http:\/\/127\.0\.0\.1:(\d+))$/m.exec(stdout);
        if (match) {
          clearTimeout(timer);
          url = match[1];
          port = Number(match[2]);
          resolve();
        }
      });
      void cliExited.then(({ code }) => {
        clearTimeout(timer);
        reject(new Error(`naaw serve exited with ${code} before serving; stderr: ${stderr}`));
      });
    });
    pythonPids = childrenOf(child.pid!);
  });

  after(async function () {
    if (cli && cli.exitCode === null && cli.signalCode === null) {
      try {
        process.kill(-cli.pid!, "SIGKILL");
      } catch {
        // Already gone.
      }
      await cliExited;
    }
    for (const pid of pythonPids) {
      if (alive(pid)) process.kill(pid, "SIGKILL");
    }
    tmp.cleanup();
  });

  it("listens on a real port and answers /healthz", async function () {
    assert.notEqual(port, 0);
    assert.equal(pythonPids.length, 1, "the CLI runs one python service");
    const response = await fetch(`${url}/healthz`);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { status: "ok", component: "normalize" });
  });

  it("serves /spec whose OpenAPI document names the input points", async function () {
    const response = await fetch(`${url}/spec`);
    assert.equal(response.status, 200);
    const body: Json = await response.json();
    assert.equal(body.component.name, "normalize");
    assert.equal(body.component.notebook, "notebooks/lidar.ipynb");
    const runRequest = body.openapi.components.schemas.RunRequest;
    assert.deepEqual(Object.keys(runRequest.properties.inputs.properties), ["points"]);
    assert.deepEqual(runRequest.properties.inputs.required, ["points"]);
    assert.ok(runRequest.properties.params.properties.norm_cell_size);
  });

  it("POST /run normalizes real points: each 1 m cell's lowest point is at height 0", async function () {
    const response = await fetch(`${url}/run`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ inputs: { points: "tile.npy" }, outputs: "out" }),
    });
    const body: Json = await response.json();
    assert.equal(response.status, 200, JSON.stringify(body));
    assert.deepEqual(body.outputs, { normalized_height: { path: path.join("out", "normalized_height.npy"), type: "ndarray" } });
    const check = String.raw`
import json, sys
import numpy as np
pts = np.load(sys.argv[1], allow_pickle=False)
nh = np.load(sys.argv[2], allow_pickle=False)
keys = np.stack([np.floor(pts["x"]).astype(np.int64), np.floor(pts["y"]).astype(np.int64)], axis=1)
_, inverse = np.unique(keys, axis=0, return_inverse=True)
inverse = inverse.reshape(-1)
cells = int(inverse.max()) + 1
lowest_z = np.full(cells, np.inf)
np.minimum.at(lowest_z, inverse, pts["z"])
lowest_nh = np.full(cells, np.inf)
np.minimum.at(lowest_nh, inverse, nh)
print(json.dumps({
    "shape": [list(pts.shape), list(nh.shape)], "dtype": str(nh.dtype), "cells": cells,
    "min_zero": bool(np.all(lowest_nh == 0)), "non_negative": bool(np.all(nh >= 0)),
    "matches": bool(np.array_equal(nh, pts["z"] - lowest_z[inverse])), "positive": int((nh > 0).sum()),
}))
`;
    const result = JSON.parse(python(check, path.join(tmp.dir, "tile.npy"), path.join(tmp.dir, body.outputs.normalized_height.path)));
    assert.deepEqual(result.shape[0], result.shape[1], "one height per point");
    assert.equal(result.dtype, "float64");
    assert.ok(result.cells >= 900, `${result.cells} cells of 1 m`);
    assert.ok(result.positive > 0, "not all heights are 0");
    assert.equal(result.non_negative, true);
    assert.equal(result.min_zero, true, "every 1 m cell has a point at normalized height 0");
    assert.equal(result.matches, true, "z minus the cell's lowest z");
  });

  it("answers 400 naming a missing input", async function () {
    const response = await fetch(`${url}/run`, { method: "POST", body: JSON.stringify({ inputs: {} }) });
    assert.equal(response.status, 400);
    assert.match(((await response.json()) as Json).error, /missing input 'points' \(ndarray\)/);
  });

  it("stops on SIGTERM, and its python service stops with it", async function () {
    assert.equal(await connects(port), true);
    cli!.kill("SIGTERM");
    const timeout = new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), 10_000).unref());
    const exited = await Promise.race([cliExited, timeout]);
    assert.notEqual(exited, "timeout", "naaw serve did not exit within 10 s of SIGTERM");
    assert.deepEqual(exited, { code: 0, signal: null }, stderr);
    assert.match(stderr, /naaw_runtime: stopped serving normalize/);
    for (const pid of pythonPids) assert.equal(alive(pid), false, `python service ${pid} is still running`);
    assert.equal(await connects(port), false, "the port no longer accepts connections");
  });
});
