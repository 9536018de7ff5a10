// The embedded runner (src/local/) on a small notebook workflow: fan-out over items, real component
// services on 127.0.0.1, the content-addressed cache, retries, failures that name the cell, and no
// service left running afterwards.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { StepCache } from "../src/local/cache";
import { ParamValueError, resolveParams } from "../src/local/params";
import { LocalRunner, RunResult, StepFailure } from "../src/local/runner";
import { StepValue } from "../src/local/values";
import { pythonEnv, pythonExecutable } from "../src/python/interpreter";
import { compileWorkflow } from "../src/workflow/compile";
import { WorkflowGraph } from "../src/workflow/validate";
import { tempDir, writeNotebook } from "./helpers/notebooks";

/** A project: notebook `tiny` (load → scale → stats, with a flaky step) and a workflow over params.files. */
function writeProject(dir: string, workflowSteps: string): string {
  fs.mkdirSync(path.join(dir, "notebooks"), { recursive: true });
  fs.mkdirSync(path.join(dir, "workflows"), { recursive: true });
  writeNotebook(
    path.join(dir, "notebooks"),
    [
      { tags: ["parameters"], source: 'path = "a.npy"\nfactor = 2.0\nfail_first = 0\n' },
      { tags: ["imports"], source: "from pathlib import Path\nimport numpy as np\n" },
      { tags: ["component:load"], source: "arr: np.ndarray = np.load(path, allow_pickle=False)\n" },
      {
        tags: ["component:scale"],
        source:
          "attempts = Path(path + '.attempts')\n" +
          "seen = int(attempts.read_text()) if attempts.exists() else 0\n" +
          "attempts.write_text(str(seen + 1))\n" +
          "if seen < fail_first:\n" +
          "    raise RuntimeError(f'flaky: attempt {seen + 1}')\n" +
          "if factor < 0:\n" +
          "    raise ValueError('factor must not be negative')\n" +
          "scaled: np.ndarray = arr * factor\n",
      },
      { tags: ["component:stats"], source: "total: float = float(scaled.sum())\n" },
      { tags: ["skip"], source: "print(total)\n" },
    ],
    "tiny.ipynb",
  );
  const file = path.join(dir, "workflows", "tiny.yaml");
  fs.writeFileSync(
    file,
    [
      "name: tiny",
      "params:",
      "  files:",
      "    type: list",
      "  factor:",
      "    type: float",
      "    default: 2.0",
      "  fail_first:",
      "    type: int",
      "    default: 0",
      "steps:",
      "  - id: items",
      "    foreach: ${{ params.files }}",
      "    steps:",
      "      - id: load",
      "        uses: tiny/load",
      "        with:",
      "          path: ${{ item }}",
      "      - id: scale",
      "        uses: tiny/scale",
      "        with:",
      "          arr: ${{ steps.load.outputs.arr }}",
      "          path: ${{ item }}",
      "          factor: ${{ params.factor }}",
      "          fail_first: ${{ params.fail_first }}",
      workflowSteps,
      "      - id: stats",
      "        uses: tiny/stats",
      "        with:",
      "          scaled: ${{ steps.scale.outputs.scaled }}",
      "",
    ].join("\n"),
  );
  return file;
}

function writeArrays(dir: string, count: number): string[] {
  const files = Array.from({ length: count }, (_, i) => path.join(dir, `a${i}.npy`));
  const script = `import numpy as np, sys\nfor i, f in enumerate(sys.argv[1:]): np.save(f, np.arange(1, 5, dtype=np.float64) * (i + 1))`;
  const result = spawnSync(pythonExecutable(), ["-c", script, ...files], { env: pythonEnv(), encoding: "utf8" });
  assert.equal(result.status, 0, result.stderr);
  return files;
}

function graphOf(file: string): WorkflowGraph {
  const { graph, diagnostics } = compileWorkflow(file);
  assert.ok(graph, diagnostics.map((d) => d.message).join("; "));
  return graph;
}

function totals(result: RunResult, items: number): number[] {
  return Array.from({ length: items }, (_, i) => {
    const value = result.outputs.get(`stats#${i}`)!.total as StepValue & { kind: "file" };
    return JSON.parse(fs.readFileSync(value.path, "utf8")) as number;
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("naaw run: the embedded runner", function () {
  this.timeout(120_000);
  let scratch: { dir: string; cleanup: () => void };
  let workflow: string;
  let files: string[];
  let graph: WorkflowGraph;

  before(() => {
    scratch = tempDir("naaw-run-");
    workflow = writeProject(scratch.dir, "        retry:\n          limit: 2\n          backoff: 0s");
    files = writeArrays(scratch.dir, 5);
    graph = graphOf(workflow);
  });
  after(() => scratch.cleanup());

  function runner(options: { workers?: number; useCache?: boolean; params?: Record<string, unknown>; cache?: string; fuseItems?: boolean } = {}): LocalRunner {
    return new LocalRunner(graph, {
      workers: options.workers ?? 2,
      cacheDir: options.cache ?? path.join(scratch.dir, "cache"),
      useCache: options.useCache ?? true,
      params: { files, factor: 2.0, fail_first: 0, ...options.params },
      contextsDir: path.join(scratch.dir, "contexts"),
      fuseItems: options.fuseItems,
    });
  }

  /** Every entry of a cache: step, item, key and its output files' bytes. */
  function entriesOf(cache: string): string[] {
    const store = new StepCache(cache);
    return fs.readdirSync(cache).filter((d) => /^[0-9a-f]{2}$/.test(d)).flatMap((shard) =>
      fs.readdirSync(path.join(cache, shard)).map((key) => {
        const manifest = JSON.parse(fs.readFileSync(path.join(store.entryDir(key), "manifest.json"), "utf8")) as { step: string; item: string; files: Record<string, { sha256: string }> };
        const files = Object.entries(manifest.files).map(([name, f]) => `${name}=${f.sha256}`).sort().join(",");
        return `${manifest.step} ${manifest.item} ${key} ${files}`;
      }),
    ).sort();
  }

  it("runs every item through every step, in parallel, and stops every service it started", async () => {
    const run = runner({ cache: path.join(scratch.dir, "cache-a"), fuseItems: false });
    let peak = 0;
    const watch = setInterval(() => (peak = Math.max(peak, run.servicePids().length)), 20);
    const pids: number[] = [];
    const sample = setInterval(() => pids.push(...run.servicePids()), 50);
    const result = await run.run();
    clearInterval(watch);
    clearInterval(sample);
    assert.deepEqual(totals(result, 5), [20, 40, 60, 80, 100]);
    assert.equal(result.items, 5);
    assert.equal(result.timings.length, 15);
    assert.ok(result.timings.every((t) => !t.cached && t.attempts === 1));
    // Two workers: at most two processes per component, reused across the items.
    assert.ok(result.servicesStarted <= 6 && result.servicesStarted >= 3, `started ${result.servicesStarted}`);
    assert.ok(pids.length > 0);
    for (const pid of new Set(pids)) assert.ok(!alive(pid), `service ${pid} is still running`);
  });

  it("runs an item's steps in one request to one service a worker, leaving the entries a per-step run leaves", async () => {
    // GIVEN the same run, once an item's steps a request each to a service per component, once the steps of an item in one request
    const perStep = runner({ cache: path.join(scratch.dir, "cache-per-step"), fuseItems: false });
    const perStepResult = await perStep.run();
    const fused = runner({ cache: path.join(scratch.dir, "cache-fused") });
    const pids: number[] = [];
    const sample = setInterval(() => pids.push(...fused.servicePids()), 20);
    const result = await fused.run();
    clearInterval(sample);
    // THEN the results, the timings and the cache entries (keys and bytes) are the same, from one service per worker
    assert.deepEqual(totals(result, 5), [20, 40, 60, 80, 100]);
    assert.equal(result.timings.length, 15);
    assert.ok(result.timings.every((t) => !t.cached && t.attempts === 1));
    // Two workers: at most two services, each of the three components (the second may be stopped
    // while it starts, when the run ends first).
    assert.ok(result.servicesStarted >= 1 && result.servicesStarted <= 2, `started ${result.servicesStarted}`);
    assert.deepEqual(entriesOf(path.join(scratch.dir, "cache-fused")), entriesOf(path.join(scratch.dir, "cache-per-step")));
    assert.equal(entriesOf(path.join(scratch.dir, "cache-fused")).length, 15);
    assert.equal(perStepResult.items, result.items);
    for (const pid of new Set(pids)) assert.ok(!alive(pid), `service ${pid} is still running`);
    // AND a second run finds every entry, whichever way the first ran
    const again = await runner({ cache: path.join(scratch.dir, "cache-per-step") }).run();
    assert.ok(again.timings.every((t) => t.cached));
  });

  it("without the cache, keeps the values only the item's next steps read in memory, and writes the results", async () => {
    const cache = path.join(scratch.dir, "cache-private");
    const result = await runner({ cache, useCache: false }).run();
    assert.deepEqual(totals(result, 5), [20, 40, 60, 80, 100]);
    // load's and scale's outputs are read by the next step of their item only: no step has them as files.
    // stats' total, which no step reads, is the run's result: written.
    for (let i = 0; i < 5; i++) {
      assert.deepEqual(Object.keys(result.outputs.get(`load#${i}`)!), []);
      assert.deepEqual(Object.keys(result.outputs.get(`scale#${i}`)!), []);
      assert.deepEqual(Object.keys(result.outputs.get(`stats#${i}`)!), ["total"]);
    }
  });

  it("reuses finished steps from the cache, and redoes only what a changed param affects", async () => {
    const cache = path.join(scratch.dir, "cache-b");
    await runner({ cache }).run();
    const again = await runner({ cache }).run();
    assert.ok(again.timings.every((t) => t.cached), "a second run runs nothing");
    assert.equal(again.servicesStarted, 0);
    assert.deepEqual(totals(again, 5), [20, 40, 60, 80, 100]);

    const changed = await runner({ cache, params: { factor: 3.0 } }).run();
    const ran = changed.timings.filter((t) => !t.cached).map((t) => t.step).sort();
    assert.deepEqual(ran, [...Array(5).fill("scale"), ...Array(5).fill("stats")], "load does not depend on factor");
    assert.deepEqual(totals(changed, 5), [30, 60, 90, 120, 150]);

    const fresh = await runner({ cache, useCache: false }).run();
    assert.ok(fresh.timings.every((t) => !t.cached), "--no-cache runs everything");
  });

  for (const fuseItems of [true, false]) {
    it(`retries a failing step as its retry says, then succeeds (${fuseItems ? "an item's steps in one request" : "a request a step"})`, async () => {
      for (const f of files) fs.rmSync(`${f}.attempts`, { force: true });
      const retried: string[] = [];
      const run = new LocalRunner(graph, {
        workers: 2, cacheDir: path.join(scratch.dir, `cache-c-${fuseItems}`), useCache: true, fuseItems,
        params: { files, factor: 2.0, fail_first: 1 }, contextsDir: path.join(scratch.dir, "contexts"),
        events: { retrying: (task, attempt) => retried.push(`${task.step} ${task.itemName} ${attempt}`) },
      });
      const result = await run.run();
      const scale = result.timings.filter((t) => t.step === "scale");
      assert.deepEqual(scale.map((t) => t.attempts), [2, 2, 2, 2, 2]);
      assert.deepEqual(result.timings.filter((t) => t.step !== "scale").map((t) => t.attempts), Array(10).fill(1));
      assert.deepEqual(retried.sort(), files.map((f) => `scale ${path.basename(f)} 1`).sort());
      assert.deepEqual(totals(result, 5), [20, 40, 60, 80, 100]);
    });

    it(`without the cache, retries a step of an item (${fuseItems ? "its steps in one request" : "a request a step"})`, async () => {
      for (const f of files) fs.rmSync(`${f}.attempts`, { force: true });
      const result = await runner({ cache: path.join(scratch.dir, `cache-c2-${fuseItems}`), useCache: false, fuseItems, params: { fail_first: 1 } }).run();
      assert.deepEqual(result.timings.filter((t) => t.step === "scale").map((t) => t.attempts), [2, 2, 2, 2, 2]);
      assert.deepEqual(totals(result, 5), [20, 40, 60, 80, 100]);
    });
  }

  it("names the step, the item, the notebook cell and line of a failure, after the retries; keeps what finished", async () => {
    for (const f of files) fs.rmSync(`${f}.attempts`, { force: true });
    const cache = path.join(scratch.dir, "cache-d");
    const run = runner({ cache, params: { fail_first: 10 } });
    await assert.rejects(run.run(), (error: unknown) => {
      assert.ok(error instanceof StepFailure);
      assert.match(error.message, /^step 'scale' \(tiny\/scale\) on a\d\.npy: component 'scale' failed at .*tiny\.ipynb cell 3, line 5: RuntimeError: flaky: attempt 3 \(after 3 attempts\)$/);
      return true;
    });
    assert.deepEqual(run.servicePids(), []);
    // The loads that finished are in the cache: a rerun that succeeds reuses them.
    for (const f of files) fs.rmSync(`${f}.attempts`, { force: true });
    const rerun = await runner({ cache }).run();
    assert.ok(rerun.timings.some((t) => t.step === "load" && t.cached));
  });

  it("fails a step without retry at its first error", async () => {
    const run = runner({ cache: path.join(scratch.dir, "cache-e"), params: { files: [path.join(scratch.dir, "missing.npy")] } });
    await assert.rejects(run.run(), (error: unknown) => {
      assert.ok(error instanceof StepFailure);
      assert.match(error.message, /step 'load' .* on missing\.npy: component 'load' failed at .*cell 2, line 1: FileNotFoundError[^()]*$/);
      return true;
    });
  });

  it("reads relative path params from the directory naaw run was started in, with the cache elsewhere", function () {
    // GIVEN relative paths to the arrays (from the project directory) and a cache outside it
    const cache = tempDir("naaw-run-cache-elsewhere-");
    try {
      const cli = path.resolve(__dirname, "..", "bin", "naaw.js");
      const run = spawnSync(process.execPath, [cli, "run", "workflows/tiny.yaml", "--set", "files=[a0.npy, a1.npy]", "--cache-dir", cache.dir, "--workers", "1"], {
        cwd: scratch.dir,
        encoding: "utf8",
        timeout: 120_000,
      });
      // THEN the services read scratch/a0.npy and a1.npy (sums 10 and 20, scaled by 2), not files under the cache
      assert.equal(run.status, 0, run.stderr);
      const found = spawnSync("find", [cache.dir, "-name", "total.json"], { encoding: "utf8" }).stdout.trim().split("\n");
      const values = found.map((f) => JSON.parse(fs.readFileSync(f, "utf8")) as number).sort((a, b) => a - b);
      assert.deepEqual(values, [20, 40]);
    } finally {
      cache.cleanup();
    }
  });

  it("parses --set values by the param's type, with one-line errors", () => {
    const params = resolveParams(graph.params, ["files=[a.npy, b.npy]", "factor=3"], "tiny.yaml");
    assert.deepEqual(params, { files: ["a.npy", "b.npy"], factor: 3, fail_first: 0 });
    assert.throws(() => resolveParams(graph.params, ["factor=abc", "files=[]"], "tiny.yaml"), (e: unknown) => e instanceof ParamValueError && /param 'factor' is a float, but 'abc' is a str/.test(e.message));
    assert.throws(() => resolveParams(graph.params, ["nope=1"], "tiny.yaml"), /has no param 'nope' \(its params: files, factor, fail_first\)/);
    assert.throws(() => resolveParams(graph.params, [], "tiny.yaml"), /param 'files' of tiny.yaml has no default: give it with --set files=VALUE/);
    assert.throws(() => resolveParams(graph.params, ["files"], "tiny.yaml"), /--set files: expected NAME=VALUE/);
  });
});

describe("naaw run: files passed on without a copy", function () {
  this.timeout(120_000);
  let scratch: { dir: string; cleanup: () => void };
  let graph: WorkflowGraph;
  let files: string[];

  before(() => {
    scratch = tempDir("naaw-run-pass-");
    fs.mkdirSync(path.join(scratch.dir, "notebooks"));
    writeNotebook(
      path.join(scratch.dir, "notebooks"),
      [
        { tags: ["parameters"], source: 'src = "a.npy"\nfile = "a.npy"\n' },
        { tags: ["imports"], source: "import numpy as np\n" },
        { tags: ["component:make"], source: "made = np.load(src, allow_pickle=False) * 10\n" },
        // Only reads its file: a read-only memory map of it, which the runner keeps as that file.
        { tags: ["component:passon"], source: 'same: np.ndarray = np.load(file, mmap_mode="r", allow_pickle=False)\n' },
        // Writes into its input in place, as notebook code may.
        { tags: ["component:bump"], source: "same += 1\nbumped: np.ndarray = same\n" },
        { tags: ["skip"], source: "print(made, bumped)\n" },
      ],
      "pass.ipynb",
    );
    fs.mkdirSync(path.join(scratch.dir, "workflows"));
    const workflow = path.join(scratch.dir, "workflows", "pass.yaml");
    const step = (id: string, uses: string, binding: string): string => `      - id: ${id}\n        uses: pass/${uses}\n        with:\n          ${binding}\n`;
    fs.writeFileSync(
      workflow,
      "name: pass\nparams:\n  files:\n    type: list\nsteps:\n  - id: items\n    foreach: ${{ params.files }}\n    steps:\n" +
        step("make", "make", "src: ${{ item }}") +
        step("passon", "passon", "file: ${{ steps.make.outputs.made }}") +
        step("bump", "bump", "same: ${{ steps.passon.outputs.same }}") +
        step("outside", "passon", "file: ${{ item }}"),
    );
    files = writeArrays(scratch.dir, 2);
    graph = graphOf(workflow);
  });
  after(() => scratch.cleanup());

  const cacheRoot = (): string => path.join(scratch.dir, "cache");
  const run = (): Promise<RunResult> =>
    new LocalRunner(graph, { workers: 2, cacheDir: cacheRoot(), useCache: true, params: { files }, contextsDir: path.join(scratch.dir, "contexts") }).run();
  const fileOf = (result: RunResult, step: string, output: string): string => (result.outputs.get(step)![output] as StepValue & { kind: "file" }).path;
  const values = (file: string): number[] => {
    const read = spawnSync(pythonExecutable(), ["-c", "import sys, json, numpy as np; print(json.dumps(np.load(sys.argv[1]).tolist()))", file], { env: pythonEnv(), encoding: "utf8" });
    assert.equal(read.status, 0, read.stderr);
    return JSON.parse(read.stdout) as number[];
  };

  it("keeps an input passed on unchanged as the earlier step's file; a later step writing into it in place changes nothing cached", async () => {
    for (const attempt of ["first", "from the cache"]) {
      const result = await run();
      if (attempt !== "first") assert.ok(result.timings.every((t) => t.cached), "a second run runs nothing");
      for (let i = 0; i < files.length; i++) {
        const made = fileOf(result, `make#${i}`, "made");
        assert.equal(fileOf(result, `passon#${i}`, "same"), made, "passon's output is make's file, not a copy");
        const original = [1, 2, 3, 4].map((v) => v * (i + 1) * 10);
        assert.deepEqual(values(made), original, `make's cached file is unchanged (${attempt} run)`);
        assert.deepEqual(values(fileOf(result, `bump#${i}`, "bumped")), original.map((v) => v + 1));
        // A file from outside the cache may change after the step: its entry holds a copy.
        const outside = fileOf(result, `outside#${i}`, "same");
        assert.ok(outside.startsWith(cacheRoot() + path.sep) && outside !== files[i], outside);
        assert.deepEqual(values(outside), [1, 2, 3, 4].map((v) => v * (i + 1)));
      }
    }
  });

  it("finds an entry damaged when the file it passed on is gone, instead of handing out a missing file", async () => {
    const result = await run();
    const entryOf = (file: string): string => path.dirname(path.dirname(file)); // <entry>/outputs/<name>
    const made = entryOf(fileOf(result, "make#0", "made"));
    const manifests = spawnSync("grep", ["-l", '"step": "passon"', "-r", cacheRoot(), "--include=manifest.json"], { encoding: "utf8" }).stdout.trim().split("\n");
    const passon = manifests.map((m) => path.dirname(m)).find((dir) => fs.readFileSync(path.join(dir, "manifest.json"), "utf8").includes(path.relative(cacheRoot(), made)))!;
    fs.rmSync(made, { recursive: true });
    const lookup = await new StepCache(cacheRoot()).lookup(path.basename(passon));
    assert.equal(lookup.kind, "damaged");
    assert.match((lookup as { problem: string }).problem, /passed on from another entry, is gone/);
  });
});
