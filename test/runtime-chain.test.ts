// POST /chain (runtime/python/naaw_runtime/fused.py): the notebook steps of one foreach item run in one request
// to one `naaw_runtime serve` of several components, as `naaw run` sends them. Driven against real services on
// 127.0.0.1, built from a small notebook (load an .npy -> scale it in place -> sum it) by `naaw build`, and
// compared with the same steps run one by one with POST /run on single-component services.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { pythonEnv, pythonExecutable } from "../src/python/interpreter";
import { filesUnder, tempDir, writeNotebook } from "./helpers/notebooks";
import { Service, startService, stopService } from "./helpers/runtimeService";

const ROOT = path.resolve(__dirname, "..");
const NAAW = path.join(ROOT, "bin", "naaw.js");
const PYTHON = pythonExecutable();
const ENV = pythonEnv();

/** Parsed JSON as the tests inspect it. */
type Json = any;

// Cell 0 imports, 1 parameters, 2 load, 3 scale, 4 total, 5 skip (it makes count and total outputs).
// scale writes into its input array in place (scaled is points), and fails on a negative factor at cell 3, line 4.
const CELLS = [
  { tags: ["imports"], source: "import sys\nimport numpy as np\n" },
  { tags: ["parameters"], source: 'tile = "in/small.npy"\nmmap = False\nfactor = 2.0\n' },
  {
    tags: ["component:load"],
    source: 'print("load cell read", tile, file=sys.stderr)\npoints: np.ndarray = np.load(tile, mmap_mode="r" if mmap else None)\ncount: int = int(points.size)\n',
  },
  {
    tags: ["component:scale"],
    source: 'scaled: np.ndarray = points\nscaled *= factor  # in place, into the input array\nif factor < 0:\n    raise ValueError(f"negative factor {factor}")\n',
  },
  { tags: ["component:total"], source: "total: float = float(np.sum(scaled))\n" },
  { tags: ["skip"], source: "print(count, total)\n" },
];

const SMALL = 10; // float64 0..9: read into memory
const BIG = 600_000; // float64 0..599999, 4.8 MB: over MMAP_MIN_BYTES (4 MiB), so memory-mapped copy-on-write
const sumTo = (n: number): number => (n * (n - 1)) / 2; // exact in float64 for these sizes

function python(code: string, ...args: string[]): string {
  const result = spawnSync(PYTHON, ["-c", code, ...args], { encoding: "utf8", env: ENV, timeout: 20_000 });
  assert.equal(result.status, 0, `python3 failed: ${result.stderr}`);
  return result.stdout;
}

/** An .npy's dtype, shape and sum as numpy reads it. */
function npyStats(file: string): { dtype: string; shape: number[]; sum: number } {
  return JSON.parse(
    python(
      "import sys, json, numpy as np; a = np.load(sys.argv[1], allow_pickle=False); " +
        "print(json.dumps({'dtype': str(a.dtype), 'shape': list(a.shape), 'sum': float(a.sum())}))",
      file,
    ),
  );
}

async function post(service: Service, route: string, body: unknown): Promise<{ status: number; body: Json }> {
  const response = await fetch(`${service.url}${route}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

async function get(service: Service, route: string): Promise<{ status: number; body: Json }> {
  const response = await fetch(`${service.url}${route}`);
  return { status: response.status, body: await response.json() };
}

const ref = (step: string, output: string): { step: string; output: string } => ({ step, output });

describe("naaw_runtime serve of several components: POST /chain", function () {
  this.timeout(60_000);
  let scratch: { dir: string; cleanup: () => void };
  let root: string; // --data-root
  let outside: string; // beside the data root
  let contexts: Record<string, string>;
  let chain: Service | undefined;
  const single: Record<string, Service | undefined> = {};
  let originals: Record<string, Buffer>;

  before(async function () {
    scratch = tempDir("naaw-runtime-chain-");
    root = path.join(scratch.dir, "root");
    outside = path.join(scratch.dir, "outside");
    fs.mkdirSync(path.join(root, "in"), { recursive: true });
    fs.mkdirSync(outside);
    python(
      "import sys, numpy as np\n" +
        "np.save(sys.argv[1] + '/in/small.npy', np.arange(int(sys.argv[3]), dtype=np.float64))\n" +
        "np.save(sys.argv[1] + '/in/big.npy', np.arange(int(sys.argv[4]), dtype=np.float64))\n" +
        "np.save(sys.argv[2] + '/secret.npy', np.arange(3, dtype=np.float64))\n",
      root,
      outside,
      String(SMALL),
      String(BIG),
    );
    fs.symlinkSync(path.join(outside, "secret.npy"), path.join(root, "in", "escape.npy"));
    assert.ok(fs.statSync(path.join(root, "in", "big.npy")).size > 4 << 20);
    originals = { small: fs.readFileSync(path.join(root, "in", "small.npy")), big: fs.readFileSync(path.join(root, "in", "big.npy")) };

    const notebook = writeNotebook(scratch.dir, CELLS);
    const out = path.join(scratch.dir, "contexts");
    const built = spawnSync(process.execPath, [NAAW, "build", "--out", out, "--notebook", notebook], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
    assert.equal(built.status, 0, built.stderr);
    contexts = { load: path.join(out, "load"), scale: path.join(out, "scale"), total: path.join(out, "total") };
    const spec = (name: string): Json => JSON.parse(fs.readFileSync(path.join(contexts[name], "component.json"), "utf8"));
    assert.deepEqual(spec("load").outputs, [{ name: "count", type: "int" }, { name: "points", type: "ndarray" }]);
    assert.deepEqual(spec("scale").inputs, [{ name: "points", type: "ndarray" }]);
    assert.deepEqual(spec("total").inputs, [{ name: "scaled", type: "ndarray" }]);

    const started = await Promise.allSettled([
      startService(contexts.load, root, { extra: ["--component", contexts.scale, "--component", contexts.total] }),
      startService(contexts.load, root),
      startService(contexts.scale, root),
      startService(contexts.total, root),
    ]);
    const [c, l, s, t] = started.map((r) => (r.status === "fulfilled" ? r.value : undefined));
    chain = c;
    single.load = l;
    single.scale = s;
    single.total = t;
    const failed = started.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;
  });

  after(async function () {
    await Promise.all([stopService(chain), stopService(single.load), stopService(single.scale), stopService(single.total)]);
    scratch?.cleanup();
  });

  /** Removes out/ and .naaw/ under the root, so each test sees only what it wrote. */
  function clearOutputs(): void {
    fs.rmSync(path.join(root, "out"), { recursive: true, force: true });
    fs.rmSync(path.join(root, ".naaw"), { recursive: true, force: true });
  }

  /** Every file under the root but the inputs the tests made. */
  function written(): string[] {
    return filesUnder(root).filter((f) => !f.startsWith("in/"));
  }

  function assertInputsIntact(): void {
    assert.ok(fs.readFileSync(path.join(root, "in", "small.npy")).equals(originals.small), "in/small.npy unchanged");
    assert.ok(fs.readFileSync(path.join(root, "in", "big.npy")).equals(originals.big), "in/big.npy unchanged");
  }

  beforeEach(clearOutputs);

  /** The load -> scale -> total chain of one tile, every output written under out/<prefix>/<step>. */
  function fullChain(tile: string, prefix: string, factor = 3): Json {
    return {
      steps: [
        { id: "load", component: "load", inputs: {}, params: { tile }, outputs: `out/${prefix}/load`, write: ["points", "count"] },
        { id: "scale", component: "scale", inputs: { points: ref("load", "points") }, params: { factor }, outputs: `out/${prefix}/scale`, write: ["scaled"] },
        { id: "total", component: "total", inputs: { scaled: ref("scale", "scaled") }, params: {}, outputs: `out/${prefix}/total`, write: ["total"] },
      ],
    };
  }

  describe("a chain whose steps read earlier steps' outputs", function () {
    for (const size of ["small", "big"] as const) {
      it(`writes the same bytes as the same steps run one by one with POST /run (${size} tile)`, async function () {
        const tile = `in/${size}.npy`;
        const fused = await post(chain!, "/chain", fullChain(tile, "chain"));
        assert.equal(fused.status, 200, JSON.stringify(fused.body));

        const load = await post(single.load!, "/run", { params: { tile }, outputs: "out/single/load" });
        assert.equal(load.status, 200, JSON.stringify(load.body));
        const scale = await post(single.scale!, "/run", { inputs: { points: load.body.outputs.points.path }, params: { factor: 3 }, outputs: "out/single/scale" });
        assert.equal(scale.status, 200, JSON.stringify(scale.body));
        const total = await post(single.total!, "/run", { inputs: { scaled: scale.body.outputs.scaled.path }, outputs: "out/single/total" });
        assert.equal(total.status, 200, JSON.stringify(total.body));

        // The answer: each step's written outputs, as POST /run answers them, in request order.
        const answers = fused.body.steps as Json[];
        assert.deepEqual(answers.map((s) => s.id), ["load", "scale", "total"]);
        for (const [i, one] of [load, scale, total].entries()) {
          const step = answers[i];
          assert.ok(typeof step.seconds === "number" && step.seconds >= 0);
          assert.deepEqual(
            Object.fromEntries(Object.entries(step.outputs as Record<string, Json>).map(([k, v]) => [k, v.type])),
            Object.fromEntries(Object.entries(one.body.outputs as Record<string, Json>).map(([k, v]) => [k, v.type])),
          );
          for (const [name, answer] of Object.entries(step.outputs as Record<string, Json>)) {
            assert.equal(answer.path, one.body.outputs[name].path.replace("out/single/", "out/chain/"));
            const mine = fs.readFileSync(path.join(root, answer.path));
            const theirs = fs.readFileSync(path.join(root, one.body.outputs[name].path));
            assert.ok(mine.equals(theirs), `${answer.path} differs from the per-step run's`);
          }
        }
        assert.deepEqual(
          filesUnder(path.join(root, "out", "chain")),
          ["load/count.json", "load/points.npy", "scale/scaled.npy", "total/total.json"],
        );
        assert.deepEqual(filesUnder(path.join(root, "out", "single")), filesUnder(path.join(root, "out", "chain")));
        const n = size === "small" ? SMALL : BIG;
        assert.equal(JSON.parse(fs.readFileSync(path.join(root, "out/chain/total/total.json"), "utf8")), 3 * sumTo(n));
        assert.equal(JSON.parse(fs.readFileSync(path.join(root, "out/chain/load/count.json"), "utf8")), n);
        assertInputsIntact();
      });
    }
  });

  describe("outputs left out of 'write'", function () {
    it("are written nowhere, yet later steps read them, and the answer lists only the written ones", async function () {
      const { status, body } = await post(chain!, "/chain", {
        steps: [
          { id: "load", component: "load", params: { tile: "in/big.npy" }, outputs: "out/load", write: ["count"] },
          { id: "scale", component: "scale", inputs: { points: ref("load", "points") }, params: { factor: 2 }, outputs: "out/scale" },
          { id: "total", component: "total", inputs: { scaled: ref("scale", "scaled") }, outputs: "out/total", write: ["total"] },
        ],
      });
      assert.equal(status, 200, JSON.stringify(body));
      assert.deepEqual(
        body.steps.map((s: Json) => [s.id, s.outputs]),
        [
          ["load", { count: { path: "out/load/count.json", type: "int" } }],
          ["scale", {}],
          ["total", { total: { path: "out/total/total.json", type: "float" } }],
        ],
      );
      // points and scaled went from step to step in memory: the total is of the scaled big tile.
      assert.equal(JSON.parse(fs.readFileSync(path.join(root, "out/total/total.json"), "utf8")), 2 * sumTo(BIG));
      assert.equal(JSON.parse(fs.readFileSync(path.join(root, "out/load/count.json"), "utf8")), BIG);
      // Only the written outputs exist; scale (no "write") got no outputs directory; no run directory either.
      assert.deepEqual(written(), ["out/load/count.json", "out/total/total.json"]);
      assert.equal(fs.existsSync(path.join(root, "out", "scale")), false, "no outputs directory for a step with nothing to write");
      assert.match(chain!.stderr(), /load cell read in\/big\.npy/, "the cells print to the service's stderr");
      assertInputsIntact();
    });

    it("are not even kept for a step no later step reads, and an empty 'write' with outputs null writes nothing", async function () {
      const { status, body } = await post(chain!, "/chain", {
        steps: [
          { id: "load", component: "load", params: { tile: "in/small.npy" }, outputs: null, write: [] },
          { id: "total", component: "total", inputs: { scaled: ref("load", "points") } },
        ],
      });
      assert.equal(status, 200, JSON.stringify(body));
      assert.deepEqual(body.steps.map((s: Json) => [s.id, s.outputs]), [["load", {}], ["total", {}]]);
      assert.deepEqual(written(), []);
    });
  });

  describe("a cell that writes into an input array in place", function () {
    // load -> scale (scaled *= factor on load's points) and load -> total (sums load's points): total runs
    // after scale and must see the values load produced, not the scaled ones.
    const ways: readonly { what: string; load: Json; reuse: boolean }[] = [
      { what: "written by the producer", load: { write: ["points"], outputs: "out/load" }, reuse: false },
      { what: "held in memory (not written)", load: {}, reuse: false },
      { what: "the producer's input file passed on (read-only memory map, reuse_files)", load: { write: ["points"], outputs: "out/load", mmap: true }, reuse: true },
    ];
    for (const size of ["small", "big"] as const) {
      for (const way of ways) {
        it(`does not change what a later consumer of the same output reads, nor the file (${size} tile, ${way.what})`, async function () {
          const n = size === "small" ? SMALL : BIG;
          const tile = `in/${size}.npy`;
          const { status, body } = await post(chain!, "/chain", {
            steps: [
              {
                id: "load",
                component: "load",
                params: { tile, ...(way.load.mmap ? { mmap: true } : {}) },
                ...(way.load.outputs ? { outputs: way.load.outputs, write: way.load.write } : {}),
              },
              { id: "scale", component: "scale", inputs: { points: ref("load", "points") }, params: { factor: 5 }, outputs: "out/scale", write: ["scaled"] },
              { id: "total", component: "total", inputs: { scaled: ref("load", "points") }, outputs: "out/total", write: ["total"] },
            ],
            reuse_files: way.reuse,
          });
          assert.equal(status, 200, JSON.stringify(body));
          assert.equal(JSON.parse(fs.readFileSync(path.join(root, "out/total/total.json"), "utf8")), sumTo(n), "the second consumer saw the original values");
          assert.deepEqual(npyStats(path.join(root, "out/scale/scaled.npy")), { dtype: "float64", shape: [n], sum: 5 * sumTo(n) });
          if (way.reuse) {
            assert.deepEqual(body.steps[0].outputs, { points: { path: tile, type: "ndarray" } }, "the input file is the output");
          } else if (way.load.write) {
            assert.deepEqual(body.steps[0].outputs, { points: { path: "out/load/points.npy", type: "ndarray" } });
            assert.ok(fs.readFileSync(path.join(root, "out/load/points.npy")).equals(originals[size]), "the producer's written file is unchanged");
          } else {
            assert.deepEqual(body.steps[0].outputs, {});
          }
          assertInputsIntact();
        });
      }

      it(`does not change an input file two steps read by path (${size} tile)`, async function () {
        const tile = `in/${size}.npy`;
        const { status, body } = await post(chain!, "/chain", {
          steps: [
            { id: "scale", component: "scale", inputs: { points: tile }, params: { factor: 7 } },
            { id: "total", component: "total", inputs: { scaled: tile }, outputs: "out/total", write: ["total"] },
          ],
          reuse_files: true,
        });
        assert.equal(status, 200, JSON.stringify(body));
        assert.equal(JSON.parse(fs.readFileSync(path.join(root, "out/total/total.json"), "utf8")), sumTo(size === "small" ? SMALL : BIG));
        assertInputsIntact();
      });
    }
  });

  describe("a step that fails", function () {
    it("ends the request with 500 naming the notebook cell and line, the failed step, and the answers of the steps before it", async function () {
      const request = fullChain("in/small.npy", "fail", -1);
      const { status, body } = await post(chain!, "/chain", request);
      assert.equal(status, 500, JSON.stringify(body));
      assert.match(body.error, /^component 'scale' failed at .*nb\.ipynb cell 3, line 4: ValueError: negative factor -1/);
      assert.equal(body.cell, 3);
      assert.equal(body.line, 4);
      assert.equal(body.step, "scale");
      assert.equal(body.done.length, 1);
      assert.equal(body.done[0].id, "load");
      assert.deepEqual(body.done[0].outputs, {
        count: { path: "out/fail/load/count.json", type: "int" },
        points: { path: "out/fail/load/points.npy", type: "ndarray" },
      });
      // load's outputs were written (naaw run caches them); the failed step and the ones after it wrote nothing.
      assert.deepEqual(written(), ["out/fail/load/count.json", "out/fail/load/points.npy"]);
      assert.match(chain!.stderr(), /ValueError: negative factor -1/, "the traceback is on the service's stderr");
    });

    // upFront: checked before any step runs (components, input names, references), so nothing is done or written.
    const badInputs: readonly { what: string; step: Json; error: RegExp; upFront?: boolean }[] = [
      {
        what: "a JSON value where an ndarray is declared",
        step: { id: "total", component: "total", inputs: { scaled: ref("load", "count") } },
        error: /^input 'scaled' is declared ndarray, so it must be a \.npy file, not the output 'count' of step 'load'$/,
      },
      {
        what: "a .json file where an ndarray is declared",
        step: { id: "total", component: "total", inputs: { scaled: "out/bad/load/count.json" } },
        error: /^input 'scaled' is declared ndarray, so it must be a \.npy file, not out\/bad\/load\/count\.json$/,
      },
      {
        what: "an unknown input name",
        step: { id: "total", component: "total", inputs: { scaled: ref("load", "points"), extra: ref("load", "points") } },
        error: /^unknown input 'extra'; component 'total' takes inputs: scaled$/,
        upFront: true,
      },
      {
        what: "a missing input",
        step: { id: "total", component: "total", inputs: {} },
        error: /^missing input 'scaled' \(ndarray\)/,
      },
      {
        what: "a reference to the step itself",
        step: { id: "total", component: "total", inputs: { scaled: ref("total", "total") } },
        error: /^input 'scaled': .*"total".* is no output of an earlier step of this request$/,
        upFront: true,
      },
      {
        what: "a reference to an output the earlier step does not have",
        step: { id: "total", component: "total", inputs: { scaled: ref("load", "nope") } },
        error: /^input 'scaled': .*"nope".* is no output of an earlier step of this request$/,
        upFront: true,
      },
      {
        what: "an unknown param",
        step: { id: "total", component: "total", inputs: { scaled: ref("load", "points") }, params: { factor: 2 } },
        error: /^unknown param 'factor'; component 'total' takes params: none$/,
      },
      {
        what: "a param of the wrong type",
        step: { id: "total", component: "scale", inputs: { points: ref("load", "points") }, params: { factor: "2" } },
        error: /^param 'factor' must be float, got str '2'$/,
      },
      {
        what: "an unknown component",
        step: { id: "total", component: "nosuch", inputs: {} },
        error: /^step 'total': this service has no component 'nosuch' \(it serves load, scale, total\)$/,
        upFront: true,
      },
    ];
    for (const { what, step, error, upFront } of badInputs) {
      it(`answers 400 naming the step and the input for ${what}, and goes on serving`, async function () {
        const { status, body } = await post(chain!, "/chain", {
          steps: [{ id: "load", component: "load", params: { tile: "in/small.npy" }, outputs: "out/bad/load", write: ["count"] }, step],
        });
        assert.equal(status, 400, JSON.stringify(body));
        assert.match(body.error, error);
        assert.equal(body.step, "total");
        if (upFront) {
          assert.deepEqual(body.done, []);
          assert.deepEqual(written(), []);
        } else {
          assert.deepEqual(body.done.map((s: Json) => [s.id, s.outputs]), [["load", { count: { path: "out/bad/load/count.json", type: "int" } }]]);
          assert.deepEqual(written(), ["out/bad/load/count.json"]);
        }

        const next = await post(chain!, "/chain", fullChain("in/small.npy", "after"));
        assert.equal(next.status, 200, JSON.stringify(next.body));
        assert.equal(JSON.parse(fs.readFileSync(path.join(root, "out/after/total/total.json"), "utf8")), 3 * sumTo(SMALL));
      });
    }

    it("answers 400 for a reference to a step that comes later in the request, before that step runs", async function () {
      const { status, body } = await post(chain!, "/chain", {
        steps: [
          { id: "scale", component: "scale", inputs: { points: ref("load", "points") }, outputs: "out/scale", write: ["scaled"] },
          { id: "load", component: "load", params: { tile: "in/small.npy" }, outputs: "out/load", write: ["points"] },
        ],
      });
      assert.equal(status, 400, JSON.stringify(body));
      assert.match(body.error, /^input 'points': .*"load".* is no output of an earlier step of this request$/);
      assert.equal(body.step, "scale");
      assert.deepEqual(body.done, []);
      assert.deepEqual(written(), []);
    });
  });

  describe("a malformed request", function () {
    const good = (): Json => fullChain("in/small.npy", "malformed");
    const malformed: readonly { what: string; body: () => unknown; error: RegExp }[] = [
      { what: "not JSON", body: () => "{steps: [", error: /^malformed JSON in the request body/ },
      { what: "not an object", body: () => [good().steps[0]], error: /^the request body must be a JSON object like \{"steps": / },
      { what: "no steps", body: () => ({}), error: /^the request body must be a JSON object like \{"steps": / },
      { what: "empty steps", body: () => ({ steps: [] }), error: /^the request body must be a JSON object like \{"steps": / },
      { what: "a step that is no object", body: () => ({ steps: [good().steps[0], "scale"] }), error: /^steps\[1\] must be an object$/ },
      { what: "an unknown request field", body: () => ({ ...good(), stpes: [] }), error: /^unknown field 'stpes' in the request; expected steps and reuse_files$/ },
      { what: "a non-boolean reuse_files", body: () => ({ ...good(), reuse_files: "yes" }), error: /^'reuse_files' must be true or false$/ },
      {
        what: "an unknown step field",
        body: () => ({ steps: [{ ...good().steps[0], input: {} }] }),
        error: /^unknown field 'input' in steps\[0\]; expected component, id, inputs, outputs, params, write$/,
      },
      {
        what: "duplicate step ids",
        body: () => ({ steps: [good().steps[0], { ...good().steps[1], id: "load" }] }),
        error: /^steps\[1\]: 'id' must be a string naming the step once in the request$/,
      },
      { what: "a step without an id", body: () => ({ steps: [{ component: "load" }] }), error: /^steps\[0\]: 'id' must be a string/ },
      { what: "inputs that are no object", body: () => ({ steps: [{ ...good().steps[0], inputs: ["in/small.npy"] }] }), error: /^steps\[0\]: 'inputs' and 'params' must be objects$/ },
      { what: "'write' that is no list of names", body: () => ({ steps: [{ ...good().steps[0], write: "points" }] }), error: /^steps\[0\]: 'write' must be a list of output names$/ },
      {
        what: "'write' without 'outputs'",
        body: () => ({ steps: [{ id: "load", component: "load", params: { tile: "in/small.npy" }, write: ["points"] }] }),
        error: /^steps\[0\]: 'outputs' must name the directory the outputs in 'write' go to$/,
      },
      {
        what: "'write' naming an unknown output",
        body: () => ({ steps: [{ ...good().steps[0], write: ["points", "pionts"] }] }),
        error: /^step 'load': 'pionts' in 'write' is no output of component 'load'$/,
      },
      {
        what: "an input reference that is not {step, output} strings",
        body: () => ({ steps: [good().steps[0], { ...good().steps[1], inputs: { points: { step: ["load"], output: "points" } } }] }),
        error: /^steps\[1\]: input 'points' must be a path or \{"step": ID, "output": NAME\}/,
      },
      {
        what: "two steps writing into one directory",
        body: () => ({ steps: [good().steps[0], { ...good().steps[1], outputs: good().steps[0].outputs, write: ["scaled"] }] }),
        error: /^steps\[1\]: 'outputs' .* is another step's outputs directory; give each step its own$/,
      },
    ];
    for (const { what, body: make, error } of malformed) {
      it(`answers 400 for ${what}, with a clear message and nothing written`, async function () {
        const logged = chain!.stderr().length;
        const { status, body } = await post(chain!, "/chain", make());
        assert.equal(status, 400, JSON.stringify(body));
        assert.match(body.error, error);
        assert.deepEqual(written(), []);
        assert.doesNotMatch(chain!.stderr().slice(logged), /Traceback|internal error/);
      });
    }
  });

  describe("a service of several components", function () {
    it("lists its components on GET /healthz", async function () {
      assert.deepEqual(await get(chain!, "/healthz"), { status: 200, body: { status: "ok", components: ["load", "scale", "total"] } });
    });

    it("answers POST /run and GET /spec with 400 saying to use POST /chain, writing nothing", async function () {
      const run = await post(chain!, "/run", { params: { tile: "in/small.npy" }, outputs: "out/run" });
      assert.deepEqual(run, {
        status: 400,
        body: { error: "this service serves the components load, scale, total: POST /run serves one; use POST /chain" },
      });
      const spec = await get(chain!, "/spec");
      assert.deepEqual(spec, {
        status: 400,
        body: { error: "this service serves the components load, scale, total: GET /spec serves one; use POST /chain" },
      });
      assert.deepEqual(written(), []);
    });

    const escapes: readonly { what: string; step: () => Json; error: RegExp }[] = [
      { what: "an input path outside (absolute)", step: () => ({ inputs: { points: path.join(outside, "secret.npy") }, outputs: "out/scale", write: ["scaled"] }), error: /^input 'points': path '\/.*\/outside\/secret\.npy' is outside the data root$/ },
      { what: "an input path outside (`..`)", step: () => ({ inputs: { points: "../outside/secret.npy" }, outputs: "out/scale", write: ["scaled"] }), error: /^input 'points': path '\.\.\/outside\/secret\.npy' is outside the data root$/ },
      { what: "an input path through a symlink out", step: () => ({ inputs: { points: "in/escape.npy" }, outputs: "out/scale", write: ["scaled"] }), error: /^input 'points': path 'in\/escape\.npy' is outside the data root$/ },
      { what: "an 'outputs' directory outside", step: () => ({ inputs: { points: "in/small.npy" }, outputs: "../outside/out", write: ["scaled"] }), error: /^'outputs': path '\.\.\/outside\/out' is outside the data root$/ },
    ];
    for (const { what, step, error } of escapes) {
      it(`refuses ${what} in POST /chain with 400 before any cell runs`, async function () {
        const { status, body } = await post(chain!, "/chain", { steps: [{ id: "scale", component: "scale", params: { factor: 2 }, ...step() }] });
        assert.equal(status, 400, JSON.stringify(body));
        assert.match(body.error, error);
        assert.equal(body.step, "scale");
        assert.deepEqual(body.done, []);
        assert.deepEqual(written(), []);
        assert.deepEqual(filesUnder(outside), ["secret.npy"]);
        assert.deepEqual(npyStats(path.join(outside, "secret.npy")), { dtype: "float64", shape: [3], sum: 3 });
      });
    }

    for (const [what, tile] of [
      ["absolute", () => path.join(outside, "secret.npy")],
      ["`..`", () => "../outside/secret.npy"],
      ["through a symlink", () => "in/escape.npy"],
    ] as const) {
      it(`refuses a string param leading outside (${what}) in POST /chain with 400 before any cell runs`, async function () {
        const { status, body } = await post(chain!, "/chain", { steps: [{ id: "load", component: "load", params: { tile: tile() }, outputs: "out/load", write: ["points"] }] });
        assert.equal(status, 400, JSON.stringify(body));
        assert.match(body.error, /^param 'tile': path '.*' is outside the data root/);
        assert.equal(body.step, "load");
        assert.deepEqual(written(), []);
        assert.doesNotMatch(chain!.stderr(), /load cell read .*(outside|escape)/, "the load cell never ran");
      });
    }
  });
});
