// A batched tile pod (docs/pod-chain.md, docs/argo-scale.md) run on this machine: the pod's /tmp laid
// out in a temporary directory (the batch's pieces as Argo delivers them, each component's directory
// as its image holds it), and every container's command started at once as a child process: the
// built-in join (`naaw builtin-chain join`) and the six lidar components (`python3 -m naaw_runtime
// chain`), wired as workflows/lidar.yaml's tiles group. Checked: the exported rasters are those the
// local runner computes for the same tiles, byte for byte, with 2 and 1 items in flight; the work
// directory is empty afterwards; a bad piece of the 2nd tile stops every container, naming the step
// and tile, with the 1st tile exported; a killed container stops the others instead of hanging.
import { strict as assert } from "assert";
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { findNotebooks, loadCatalog } from "../src/containerize/catalog";
import { writeBuildContext } from "../src/containerize/context";
import { checkInputSet, splitFileIntoPieces } from "../src/lidar/pieces";
import { resolveRunParams } from "../src/local/params";
import { LocalRunner } from "../src/local/runner";
import { StepValue } from "../src/local/values";
import { pythonExecutable } from "../src/python/interpreter";
import { compileWorkflow } from "../src/workflow/compile";
import { cutLas } from "./helpers/cutLas";
import { tempDir } from "./helpers/notebooks";
import { writeParallelSplitWorkflow } from "./helpers/parallelWorkflow";
import { lidarFile } from "./helpers/testData";

const ROOT = path.resolve(__dirname, "..");
const NAAW = path.join(ROOT, "bin", "naaw.js");
const TILE_SIZE = 500;
const CHAIN = ["join", "load", "normalize", "filter", "neighbors", "features", "export"];

/** The wiring of workflows/lidar.yaml's tiles group (with the parallel split's join first), as each container's arguments. */
const WIRING: Record<string, string[]> = {
  load: ["--param-from", "tile=join/tile", "--param", "cell_size=10.0"],
  normalize: ["--input", "points=load/points", "--param", "norm_cell_size=1.0"],
  filter: ["--input", "points=load/points", "--param", "height_classes=[1, 3, 4, 5]"],
  neighbors: ["--input", "points=load/points", "--input", "bounds=load/bounds", "--param", "cell_size=10.0"],
  features: ["--input", "points=load/points", "--input", "normalized_height=normalize/normalized_height", "--input", "height_mask=filter/height_mask", "--input", "cell_index=neighbors/cell_index", "--input", "grid=neighbors/grid"],
  export: ["--input", "feature_stack=features/feature_stack", "--input", "feature_names=features/feature_names", "--input", "grid=neighbors/grid", "--input", "crs=load/crs", "--input", "point_count=load/point_count"],
};

interface Exit {
  readonly step: string;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
}

describe("a batched tile pod: the chain's containers pipelined over the tiles on a shared /tmp", function () {
  this.timeout(180_000);
  let scratch: { dir: string; cleanup: () => void };
  let pieces: string;
  let images: string;
  let crs: string;
  /** tile → the local runner's export outputs (raster.npy, raster_info.json), byte for byte. */
  const expected = new Map<string, { raster: Buffer; info: Buffer }>();

  before(async () => {
    scratch = tempDir("naaw-pod-chain-");
    const inputs = path.join(scratch.dir, "inputs");
    const files = cutLas(lidarFile("autzen_trim.las"), inputs, 3);
    crs = checkInputSet(inputs, "EPSG:28992").crs;
    // The batch's pieces as a tile pod receives them: files/pieces/<tile>/<input>.npy + .json.
    pieces = path.join(scratch.dir, "pod", "files", "pieces");
    for (const file of files) {
      const parts = path.join(scratch.dir, "parts", path.basename(file, ".las"));
      const split = await splitFileIntoPieces({ file, outDir: parts, tileSize: TILE_SIZE, cellSize: 10 });
      for (const tile of split.tiles) {
        fs.mkdirSync(path.join(pieces, tile.id), { recursive: true });
        for (const from of [tile.npy, tile.json]) fs.linkSync(from, path.join(pieces, tile.id, path.basename(file, ".las") + path.extname(from)));
      }
    }
    // Each component's directory as its image holds it: the build context naaw build writes.
    images = path.join(scratch.dir, "images");
    for (const entry of loadCatalog(findNotebooks(path.join(ROOT, "notebooks"))).entries) writeBuildContext(path.join(images, entry.spec.name), entry.context);

    // The reference: the local runner on the workflow with the parallel split, over the same three files.
    const workflow = writeParallelSplitWorkflow(path.join(ROOT, "workflows", "lidar.yaml"), path.join(ROOT, "notebooks"), path.join(scratch.dir, "project"));
    const { graph, diagnostics } = compileWorkflow(workflow);
    assert.ok(graph, diagnostics.map((d) => d.message).join("; "));
    const { params } = resolveRunParams(graph, [`input=${inputs}`, `tile_size=${TILE_SIZE}`], path.join(scratch.dir, "out-runner"), workflow);
    const started = performance.now();
    const result = await new LocalRunner(graph, { workers: 2, cacheDir: path.join(scratch.dir, "cache"), useCache: true, params, contextsDir: path.join(scratch.dir, "contexts") }).run();
    console.log(`      local runner (parallel split, ${result.items} items): in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    const fileOf = (key: string, output: string): string => (result.outputs.get(key)![output] as StepValue & { kind: "file" }).path;
    for (let i = 0; result.outputs.has(`export#${i}`); i++) {
      const tile = path.basename(fileOf(`join#${i}`, "tile"), ".npy");
      expected.set(tile, { raster: fs.readFileSync(fileOf(`export#${i}`, "raster")), info: fs.readFileSync(fileOf(`export#${i}`, "raster_info")) });
    }
    assert.deepEqual([...expected.keys()].sort(), fs.readdirSync(pieces).sort(), "the pod's items are the runner's tiles");
    assert.ok(expected.size >= 4, `${expected.size} tiles`);
  });
  after(() => scratch.cleanup());

  /** Every container's command line, as the emitter renders them (paths under the pod's /tmp, here `pod`). */
  function commands(pod: string, window: number): Record<string, { command: string; args: string[]; cwd: string }> {
    const common = ["--work", path.join(pod, "work"), "--items-from", pieces, "--chain", CHAIN.join(","), "--window", String(window)];
    const all: Record<string, { command: string; args: string[]; cwd: string }> = {
      join: { command: process.execPath, args: [NAAW, "builtin-chain", "join", ...common, "--param", `crs=${crs}`], cwd: pod },
    };
    for (const step of CHAIN.slice(1)) {
      const exports = step === "export" ? ["--export", `raster=${path.join(pod, "out", "raster")}`, "--export", `raster_info=${path.join(pod, "out", "raster_info")}`] : [];
      // As the image runs it: `python3 -m naaw_runtime` from the component's directory, whose runtime it carries.
      const dir = path.join(images, step);
      all[step] = { command: pythonExecutable(), args: ["-m", "naaw_runtime", "chain", "--component", dir, "--step", step, ...common, ...WIRING[step]!, ...exports], cwd: dir };
    }
    return all;
  }

  /** Starts every container at once; resolves when all have exited. `onStart` sees the children (to kill one). */
  async function runPod(name: string, options: { window?: number; env?: NodeJS.ProcessEnv; onStart?: (children: Map<string, ChildProcess>, pod: string) => void } = {}): Promise<{ exits: Exit[]; pod: string; seconds: number }> {
    const pod = path.join(scratch.dir, name);
    fs.mkdirSync(pod, { recursive: true });
    const env = { ...process.env, PYTHONPATH: "", ...options.env };
    const started = performance.now();
    const children = new Map<string, ChildProcess>();
    const exits = Object.entries(commands(pod, options.window ?? 2)).map(
      ([step, { command, args, cwd }]) =>
        new Promise<Exit>((resolve) => {
          const child = spawn(command, args, { cwd, env, stdio: ["ignore", "ignore", "pipe"] });
          children.set(step, child);
          let stderr = "";
          child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
          child.on("close", (code, signal) => resolve({ step, code, signal, stderr }));
        }),
    );
    options.onStart?.(children, pod);
    // No container may hang: a pod that has not ended in a minute fails the test (and is killed).
    const guard = setTimeout(() => children.forEach((c) => c.kill("SIGKILL")), 60_000);
    const done = await Promise.all(exits);
    clearTimeout(guard);
    return { exits: done, pod, seconds: (performance.now() - started) / 1000 };
  }

  function assertExported(pod: string, tiles: readonly string[]): void {
    for (const tile of tiles) {
      const want = expected.get(tile)!;
      assert.ok(fs.readFileSync(path.join(pod, "out", "raster", `${tile}.npy`)).equals(want.raster), `${tile}.npy differs from the local runner's raster`);
      assert.ok(fs.readFileSync(path.join(pod, "out", "raster_info", `${tile}.json`)).equals(want.info), `${tile}.json differs from the local runner's raster_info`);
    }
  }

  /** What is left in the work directory: only the protocol's own (heartbeats, an empty trash), no tile. */
  function leftInWork(pod: string): string[] {
    const work = path.join(pod, "work");
    return fs.readdirSync(work).flatMap((name) => (name === ".alive" ? [] : name === ".trash" ? fs.readdirSync(path.join(work, name)).map((n) => `.trash/${n}`) : [name]));
  }

  for (const window of [2, 1]) {
    it(`window ${window}: every tile's raster and raster_info exported, byte for byte the local runner's; nothing left in the work directory`, async () => {
      const { exits, pod, seconds } = await runPod(`pod-w${window}`, { window });
      console.log(`      pod of ${expected.size} tiles, window ${window}: ${seconds.toFixed(1)} s`);
      for (const exit of exits) assert.equal(exit.code, 0, `${exit.step}: ${exit.stderr}`);
      assert.deepEqual(fs.readdirSync(path.join(pod, "out", "raster")).sort(), [...expected.keys()].sort().map((t) => `${t}.npy`));
      assertExported(pod, [...expected.keys()]);
      assert.deepEqual(leftInWork(pod), []);
    });
  }

  it("a bad piece in the 2nd tile: join fails on it (exit 2), every other container stops naming join and the tile, the 1st tile is exported", async () => {
    const tiles = [...expected.keys()].sort();
    const bad = tiles[1]!;
    // The batch's own copy of the pieces, with one of the 2nd tile's cut short.
    const original = pieces;
    pieces = path.join(scratch.dir, "bad", "pieces");
    fs.cpSync(original, pieces, { recursive: true });
    const victim = fs.readdirSync(path.join(pieces, bad)).find((f) => f.endsWith(".npy"))!;
    fs.truncateSync(path.join(pieces, bad, victim), fs.statSync(path.join(pieces, bad, victim)).size - 10);
    try {
      const { exits, pod, seconds } = await runPod("pod-bad");
      console.log(`      pod with a bad piece: all stopped in ${seconds.toFixed(1)} s`);
      const join = exits.find((e) => e.step === "join")!;
      assert.equal(join.code, 2, join.stderr);
      assert.match(join.stderr, new RegExp(`^naaw: join failed on ${bad}: .*${victim}.*sidecar says`, "m"));
      for (const exit of exits.filter((e) => e.step !== "join")) {
        assert.equal(exit.code, 1, `${exit.step}: ${exit.stderr}`);
        assert.match(exit.stderr, new RegExp(`^(naaw: )?stopped: join failed on ${bad}: `, "m"), exit.step);
      }
      assert.match(fs.readFileSync(path.join(pod, "work", ".abort"), "utf8"), new RegExp(`^join failed on ${bad}: `));
      assert.ok(fs.existsSync(path.join(pod, "work", bad, "join", ".failed")));
      assertExported(pod, [tiles[0]!]);
      assert.ok(!fs.existsSync(path.join(pod, "out", "raster", `${bad}.npy`)));
    } finally {
      pieces = original;
    }
  });

  it("a container killed from outside (SIGKILL, as the OOM killer does): the others stop, naming it and the tile it did not finish", async () => {
    const tiles = [...expected.keys()].sort();
    const { exits, pod, seconds } = await runPod("pod-killed", {
      env: { NAAW_CHAIN_STALE_SECONDS: "3" },
      onStart: (children, pod) => {
        // Killed as soon as it is up (its heartbeat exists), before it can finish the first tile.
        const watch = setInterval(() => {
          if (!fs.existsSync(path.join(pod, "work", ".alive", "features"))) return;
          clearInterval(watch);
          children.get("features")!.kill("SIGKILL");
        }, 10);
      },
    });
    console.log(`      pod with a killed container: the others stopped in ${seconds.toFixed(1)} s`);
    const killed = exits.find((e) => e.step === "features")!;
    assert.equal(killed.signal, "SIGKILL");
    // The tile the others name is the first one features left unfinished: the ones before it are exported, it is not.
    const unfinished = tiles.find((t) => !fs.existsSync(path.join(pod, "out", "raster", `${t}.npy`)))!;
    assert.ok(unfinished !== undefined, "features was killed before the last tile");
    for (const exit of exits.filter((e) => e.step !== "features")) {
      assert.equal(exit.code, 1, `${exit.step}: ${exit.stderr}`);
      assert.match(exit.stderr, new RegExp(`stopped: step features stopped without finishing ${unfinished} \\(killed\\? see its container's log\\)`), `${exit.step}: ${exit.stderr}`);
    }
    assertExported(pod, tiles.slice(0, tiles.indexOf(unfinished)));
  });
});
