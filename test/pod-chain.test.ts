// A batched tile pod (docs/pod-chain.md, docs/argo-scale.md) run on this machine: the pod's /tmp laid
// out in a temporary directory (the batch's pieces as Argo delivers them, each component's directory
// as its image holds it), and every container's command started at once as a child process: the
// built-in join (`naaw builtin-chain join`) and the six lidar components (`python3 -m naaw_runtime
// chain`), wired as workflows/lidar.yaml's tiles group. Checked: the exported rasters are those the
// local runner computes for the same tiles, byte for byte, with 2 and 1 items in flight; the work
// directory is empty afterwards; a bad piece (join) or a raising cell (load) on the 2nd tile stops
// every container, naming the step and tile, with the 1st tile exported; a killed container stops the
// others instead of hanging.
import { strict as assert } from "assert";
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { LidarInputError } from "../src/lidar/errors";
import { checkInputSet, joinTile, joinTileDirectory, planTiles } from "../src/lidar/pieces";
import { resolveRunParams } from "../src/local/params";
import { LocalRunner } from "../src/local/runner";
import { StepValue } from "../src/local/values";
import { compileWorkflow } from "../src/workflow/compile";
import { cutLas } from "./helpers/cutLas";
import { tempDir } from "./helpers/notebooks";
import { writeParallelSplitWorkflow } from "./helpers/parallelWorkflow";
import { CHAIN, layOutPieces, podCommands, writeComponentDirs } from "./helpers/podChain";
import { lidarFile } from "./helpers/testData";

const ROOT = path.resolve(__dirname, "..");
const TILE_SIZE = 500;

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
    // The batch's pieces as a tile pod receives them, and each component's directory as its image holds it.
    pieces = await layOutPieces(files, path.join(scratch.dir, "parts"), path.join(scratch.dir, "pod", "files", "pieces"), TILE_SIZE);
    images = writeComponentDirs(path.join(scratch.dir, "images"));

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

  /** Starts every container at once; resolves when all have exited. `onStart` sees the children (to kill one). */
  async function runPod(name: string, options: { window?: number; itemsFrom?: string; env?: NodeJS.ProcessEnv; onStart?: (children: Map<string, ChildProcess>, pod: string) => void } = {}): Promise<{ exits: Exit[]; pod: string; seconds: number; peak: number }> {
    const pod = path.join(scratch.dir, name);
    fs.mkdirSync(pod, { recursive: true });
    const env = { ...process.env, PYTHONPATH: "", ...options.env };
    const started = performance.now();
    const children = new Map<string, ChildProcess>();
    const exits = Object.entries(podCommands({ pod, itemsFrom: options.itemsFrom ?? pieces, components: images, crs, window: options.window ?? 2 })).map(
      ([step, { command, args, cwd }]) =>
        new Promise<Exit>((resolve) => {
          // Each container's termination log, as Kubernetes gives it one (the runtimes write it only if it exists).
          const terminationLog = path.join(pod, `termination-log-${step}`);
          fs.writeFileSync(terminationLog, "");
          const child = spawn(command, args, { cwd, env: { ...env, NAAW_TERMINATION_LOG: terminationLog }, stdio: ["ignore", "ignore", "pipe"] });
          children.set(step, child);
          let stderr = "";
          child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
          child.on("close", (code, signal) => resolve({ step, code, signal, stderr }));
        }),
    );
    options.onStart?.(children, pod);
    // The tiles in flight: item directories in the work directory, sampled while the pod runs.
    let peak = 0;
    const sampler = setInterval(() => {
      const work = path.join(pod, "work");
      if (fs.existsSync(work)) peak = Math.max(peak, fs.readdirSync(work).filter((n) => !n.startsWith(".")).length);
    }, 15);
    // No container may hang: a pod that has not ended in a minute fails the test (and is killed).
    const guard = setTimeout(() => children.forEach((c) => c.kill("SIGKILL")), 60_000);
    const done = await Promise.all(exits);
    clearTimeout(guard);
    clearInterval(sampler);
    return { exits: done, pod, seconds: (performance.now() - started) / 1000, peak };
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

  /**
   * A smaller batch (the first `count` tiles; the failures need no more), its own copy of the pieces,
   * in which `spoil` may damage one piece of the 2nd tile. Returns its pieces directory and that piece.
   */
  function batchOf(name: string, count: number, spoil?: (piece: string) => void): { itemsFrom: string; piece: string } {
    // (Copies, not links: a spoiled piece must not change the whole batch's.)
    const itemsFrom = path.join(scratch.dir, name, "pieces");
    const tiles = [...expected.keys()].sort().slice(0, count);
    for (const tile of tiles) fs.cpSync(path.join(pieces, tile), path.join(itemsFrom, tile), { recursive: true });
    const piece = path.join(itemsFrom, tiles[1]!, fs.readdirSync(path.join(itemsFrom, tiles[1]!)).find((f) => f.endsWith(".npy"))!);
    spoil?.(piece);
    return { itemsFrom, piece };
  }

  it("join of a tile's pieces directory (no plan file): planTiles' join byte for byte; pieces of another tile are refused", () => {
    const out = path.join(scratch.dir, "joins");
    const all = fs.readdirSync(pieces).flatMap((tile) => fs.readdirSync(path.join(pieces, tile)).filter((f) => f.endsWith(".npy")).map((f) => path.join(pieces, tile, f)));
    const plans = planTiles(all, path.join(out, "plans"));
    assert.ok(plans.some((plan) => (JSON.parse(fs.readFileSync(plan, "utf8")) as { pieces: string[] }).pieces.length > 1), "some tile has pieces from several files");
    for (const plan of plans) {
      const tile = path.basename(plan, ".json");
      const planned = joinTile({ plan, outDir: path.join(out, "planned"), crs });
      const fromDir = joinTileDirectory({ dir: path.join(pieces, tile), outDir: path.join(out, "from-dir"), crs });
      for (const [a, b] of [[planned.npy, fromDir.npy], [planned.json, fromDir.json]] as const) assert.ok(fs.readFileSync(a).equals(fs.readFileSync(b)), `${path.basename(b)} differs`);
    }
    const [first, second] = fs.readdirSync(pieces).sort();
    const mixed = path.join(out, "mixed", first!);
    fs.cpSync(path.join(pieces, first!), mixed, { recursive: true });
    for (const f of fs.readdirSync(path.join(pieces, second!))) fs.copyFileSync(path.join(pieces, second!, f), path.join(mixed, `other-${f}`));
    assert.throws(() => joinTileDirectory({ dir: mixed, outDir: path.join(out, "mixed-out"), crs }), (e: Error) => e instanceof LidarInputError && e.message.includes(`holds pieces of ${first}, ${second}`));
  });

  // The whole batch with the default window; window 1 (one tile at a time) on a batch of 3.
  for (const [window, count] of [[2, Infinity], [1, 3]] as const) {
    it(`window ${window}: every tile's raster and raster_info exported, byte for byte the local runner's; nothing left in the work directory`, async () => {
      const tiles = [...expected.keys()].sort().slice(0, count);
      const itemsFrom = count === Infinity ? pieces : batchOf(`w${window}`, count).itemsFrom;
      const { exits, pod, seconds, peak } = await runPod(`pod-w${window}`, { window, itemsFrom });
      console.log(`      pod of ${tiles.length} tiles, window ${window}: ${seconds.toFixed(1)} s, at most ${peak} tiles on disk`);
      for (const exit of exits) assert.equal(exit.code, 0, `${exit.step}: ${exit.stderr}`);
      // Pipelined, with backpressure: never more than `window` tiles' intermediates on disk, and with 2 the join runs a tile ahead.
      assert.ok(peak <= window, `${peak} tiles on disk at once`);
      assert.equal(peak, window);
      assert.deepEqual(fs.readdirSync(path.join(pod, "out", "raster")).sort(), tiles.map((t) => `${t}.npy`));
      assertExported(pod, tiles);
      assert.deepEqual(leftInWork(pod), []);
    });
  }

  it("a bad piece in the 2nd tile: join fails on it (exit 2), every other container stops naming join and the tile, the 1st tile is exported", async () => {
    const tiles = [...expected.keys()].sort();
    const bad = tiles[1]!;
    const { itemsFrom, piece } = batchOf("cut-short", 3, (file) => fs.truncateSync(file, fs.statSync(file).size - 10));
    const victim = path.basename(piece);
    const { exits, pod, seconds } = await runPod("pod-bad", { itemsFrom });
    console.log(`      pod with a bad piece: all stopped in ${seconds.toFixed(1)} s`);
    const join = exits.find((e) => e.step === "join")!;
    assert.equal(join.code, 2, join.stderr);
    assert.match(join.stderr, new RegExp(`^naaw: join failed on ${bad}: .*${victim}.*sidecar says`, "m"));
    for (const exit of exits.filter((e) => e.step !== "join")) {
      assert.equal(exit.code, 1, `${exit.step}: ${exit.stderr}`);
      assert.match(exit.stderr, new RegExp(`^(naaw: )?stopped: join failed on ${bad}: `, "m"), `${exit.step}: ${exit.stderr}`);
    }
    assert.match(fs.readFileSync(path.join(pod, "work", ".abort"), "utf8"), new RegExp(`^join failed on ${bad}: `));
    assert.ok(fs.existsSync(path.join(pod, "work", bad, "join", ".failed")));
    // What Argo shows as each container's message: the step and tile that failed.
    assert.match(fs.readFileSync(path.join(pod, "termination-log-join"), "utf8"), new RegExp(`^join failed on ${bad}: `));
    assert.match(fs.readFileSync(path.join(pod, "termination-log-features"), "utf8"), new RegExp(`^stopped: join failed on ${bad}: `));
    assertExported(pod, [tiles[0]!]);
    assert.ok(!fs.existsSync(path.join(pod, "out", "raster", `${bad}.npy`)));
  });

  it("a notebook component failing on the 2nd tile (load's cell raises): exit 1 naming the notebook cell, the others stop naming load and the tile", async () => {
    const tiles = [...expected.keys()].sort();
    // Bounds that are not numbers: the join carries them (as null), and load's float() raises.
    const spoil = (piece: string): void => {
      const sidecar = piece.replace(/\.npy$/, ".json");
      fs.writeFileSync(sidecar, JSON.stringify({ ...JSON.parse(fs.readFileSync(sidecar, "utf8")), bounds: ["a", "b", "c", "d"] }));
    };
    const bad = tiles[1]!;
    const { itemsFrom } = batchOf("bad-bounds", 3, spoil);
    const { exits, pod } = await runPod("pod-cell-fails", { itemsFrom });
    const load = exits.find((e) => e.step === "load")!;
    assert.equal(load.code, 1, load.stderr);
    assert.match(load.stderr, /^component 'load' failed at notebooks\/lidar\.ipynb cell \d+, line \d+: TypeError: /m);
    assert.doesNotMatch(load.stderr, /naaw_runtime/, "the traceback shows notebook cells, not the runtime");
    for (const exit of exits.filter((e) => e.step !== "load")) {
      assert.equal(exit.code, 1, `${exit.step}: ${exit.stderr}`);
      assert.match(exit.stderr, new RegExp(`^(naaw: )?stopped: load failed on ${bad}: component 'load' failed at notebooks/lidar\\.ipynb cell`, "m"), `${exit.step}: ${exit.stderr}`);
    }
    assert.match(fs.readFileSync(path.join(pod, "work", bad, "load", ".failed"), "utf8"), /TypeError/);
    assertExported(pod, [tiles[0]!]);
  });

  it("a container killed from outside (SIGKILL, as the OOM killer does): the others stop, naming it and the tile it did not finish", async () => {
    const tiles = [...expected.keys()].sort().slice(0, 3);
    const { exits, pod, seconds } = await runPod("pod-killed", {
      itemsFrom: batchOf("killed", 3).itemsFrom,
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
      // On a loaded machine the kill can land late: a step before features in the chain (the join,
      // load, ...) may then have done every tile already and ended well, with nothing left to stop.
      if (CHAIN.indexOf(exit.step) < CHAIN.indexOf("features") && exit.code === 0 && exit.stderr.trim() === "") continue;
      assert.equal(exit.code, 1, `${exit.step}: ${exit.stderr}`);
      assert.match(exit.stderr, new RegExp(`stopped: step features stopped without finishing ${unfinished} \\(killed\\? see its container's log\\)`), `${exit.step}: ${exit.stderr}`);
    }
    assertExported(pod, tiles.slice(0, tiles.indexOf(unfinished)));
  });
});
