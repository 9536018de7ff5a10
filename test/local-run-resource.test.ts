// The local target (`pulumi up -s local`): components/LocalRun.ts registers one dynamic resource
// whose provider, serialized as Pulumi serializes it, runs the demo workflow for real in a plain
// Node process, as the engine's dynamic-provider host would; its identity follows the workflow,
// the notebook and the params; bad input fails before anything runs, with what `naaw run` prints.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { ensureDemoData } from "../scripts/demoData";
import { decodeFloat32GeoTiff } from "../src/lidar/geotiff";
import { readLasHeader } from "../src/lidar/lasHeader";
import { LocalRunError, LocalRunInputs, localRunInputs, LocalRunOutputs } from "../src/local/localRun";
import { localRunResource } from "../src/local/localRunResource";
import { projectProvider } from "../components/projectProvider";
import { callHost, secretLookingValues } from "./fixtures/provider/callHost";
import { ROOT } from "./helpers/demo";
import { tempDir } from "./helpers/notebooks";
import { installRecordingMocks, RecordedResource, settled, valueOf } from "./helpers/pulumiMocks";
import type { LocalRun } from "../components/LocalRun";
import { servicesUnder } from "./helpers/runnerProject";

const WORKFLOW = path.join(ROOT, "workflows", "lidar.yaml");
const FEATURES = ["max_normalized_height", "mean_normalized_height", "perc_95_normalized_height", "point_density", "pulse_penetration_ratio"];
/** One of the demo's nine 200 m tiles (400 k points): the whole run takes seconds. A relative path, read from the workdir. */
const SMALL_INPUT = "data/lidar/forest_1_1.las";

describe("LocalRun: the local target's dynamic resource", function () {
  this.timeout(240_000);
  let scratch: { dir: string; cleanup: () => void };
  let cacheDir: string;

  before(() => {
    ensureDemoData();
    scratch = tempDir("naaw-local-run-");
    cacheDir = path.join(scratch.dir, "cache");
  });
  after(() => scratch.cleanup());
  afterEach(() => assert.deepEqual(servicesUnder(scratch.dir), [], "a component service outlived its run"));

  describe("under Pulumi mocks, then in a plain Node host (what `pulumi up -s local` does)", () => {
    let recorded: RecordedResource[];
    let registered: RecordedResource;
    let outs: LocalRunOutputs;
    let run: LocalRun;
    const out = (): string => path.join(scratch.dir, "out");

    before(async () => {
      recorded = [];
      // The state the provider would report: what create returns (here a stand-in, to see the outputs wired).
      installRecordingMocks(recorded, (args) => ({ ...args.inputs, rasters: { point_density: "/o/point_density.tif" }, report: "/o/report.html", succeededSteps: 3, cachedSteps: 1 }));
      const { LocalRun } = await import("../components/LocalRun");
      run = new LocalRun("demo", { workflow: WORKFLOW, params: { input: SMALL_INPUT }, outDir: out(), cacheDir, workers: 2, workdir: ROOT });
      await settled(recorded);
      registered = recorded[0]!;
    });

    it("exposes the run's state as outputs: rasters, report, out directory, identity, step counts", async () => {
      assert.deepEqual(await valueOf(run.rasters), { point_density: "/o/point_density.tif" });
      assert.equal(await valueOf(run.report), "/o/report.html");
      assert.equal(await valueOf(run.outDir), out());
      assert.match(await valueOf(run.identity), /^[0-9a-f]{64}$/);
      assert.deepEqual([await valueOf(run.succeededSteps), await valueOf(run.cachedSteps)], [3, 1]);
    });

    it("registers one dynamic resource with the run's inputs and a serialized provider", () => {
      assert.deepEqual(
        recorded.map((r) => [r.type, r.name, r.custom]),
        [["pulumi-nodejs:dynamic:LocalRun", "demo", true]],
      );
      const { __provider: provider, identity, ...inputs } = registered.inputs;
      assert.deepEqual(inputs, { workflow: WORKFLOW, params: { input: SMALL_INPUT }, outDir: out(), workdir: ROOT, cacheDir, useCache: true, workers: 2 });
      assert.match(identity, /^[0-9a-f]{64}$/);
      assert.equal(typeof provider, "string");
      assert.ok(provider.includes(JSON.stringify(path.join(ROOT, "src", "local", "localRunResource.ts"))) && provider.includes('"localRunResource"'));
      console.log(`      serialized provider: ${Buffer.byteLength(provider)} bytes`);
      assert.ok(Buffer.byteLength(provider) < 8192);
      assert.deepEqual(secretLookingValues(provider), []);
    });

    it("create runs the demo for real in a plain Node process: its rasters exist and are GeoTIFFs", async () => {
      const started = Date.now();
      const { __provider: text, ...inputs } = registered.inputs;
      // The engine hands create every property, the serialized provider among them. The host runs in
      // another directory (callHost's cwd): the relative input is read from the run's workdir.
      const answer = callHost(text, "create", [registered.inputs], scratch.dir);
      assert.equal(answer.status, 0, answer.stderr);
      console.log(`      create in the host: ${((Date.now() - started) / 1000).toFixed(1)} s`);
      outs = answer.result.outs;
      assert.match(answer.result.id, new RegExp(`^${inputs.identity.slice(0, 16)}-[0-9a-f]{8}$`));
      assert.equal(outs.identity, inputs.identity);
      assert.equal(outs.outDir, out());
      assert.equal(outs.report, path.join(out(), "report.html"));
      assert.ok(fs.statSync(outs.report).size > 0);
      assert.equal((outs as unknown as Record<string, unknown>).__provider, undefined, "the state keeps the provider once, not in the outputs");
      assert.deepEqual(Object.keys(outs.rasters).sort(), FEATURES);
      for (const feature of FEATURES) {
        const file = outs.rasters[feature]!;
        assert.equal(file, path.join(out(), `${feature}.tif`));
        const raster = await decodeFloat32GeoTiff(fs.readFileSync(file));
        assert.equal(raster.cellSize, 10);
        assert.ok(raster.width > 0 && raster.height > 0);
        const info = spawnSync("gdalinfo", ["-json", file], { encoding: "utf8" });
        if (info.error) continue; // no GDAL on this machine: the decoder above checked the file
        assert.equal(info.status, 0, info.stderr);
        assert.equal(JSON.parse(info.stdout).driverShortName, "GTiff");
      }
      // split, then six components on each tile, then merge; nothing was cached before.
      assert.equal(outs.succeededSteps, 2 + 6 * outs.items);
      assert.equal(outs.cachedSteps, 0);
      assert.equal(outs.points, readLasHeader(path.join(ROOT, SMALL_INPUT)).pointCount);
    });

    it("an unchanged `pulumi up` does nothing; a refresh keeps the run while its results exist", async () => {
      const { __provider: text } = registered.inputs;
      assert.deepEqual(callHost(text, "diff", ["id", outs, registered.inputs], scratch.dir).result, { changes: false });
      assert.deepEqual(await localRunResource.read!("id", outs), { id: "id", props: outs });
    });

    it("results removed from disk: the next `up` runs again in place, from the cache, and a refresh drops the run", async () => {
      fs.rmSync(outs.rasters.point_density!);
      assert.deepEqual(await localRunResource.diff!("id", outs, registered.inputs as LocalRunInputs), { changes: true });
      assert.deepEqual(await localRunResource.read!("id", outs), { id: "" });
      const again = await localRunResource.update!("id", outs, registered.inputs as LocalRunInputs);
      assert.ok(fs.existsSync(outs.rasters.point_density!));
      assert.equal(again.outs!.cachedSteps, again.outs!.succeededSteps - 1, "only the merge (never cached) runs again");
    });

    it("delete leaves the results on disk", async () => {
      await localRunResource.delete!("id", outs);
      for (const file of [...Object.values(outs.rasters), outs.report]) assert.ok(fs.existsSync(file), file);
    });
  });

  describe("identity", () => {
    const inputs = (extra: Partial<Parameters<typeof localRunInputs>[0]> = {}): LocalRunInputs =>
      localRunInputs({ workflow: WORKFLOW, params: { input: SMALL_INPUT }, outDir: path.join(scratch.dir, "id-out"), cacheDir, workdir: ROOT, ...extra });

    it("is the same for the same workflow, notebook and params, whatever the workers or the cache", () => {
      const first = inputs();
      assert.equal(inputs({ workers: 1, useCache: false, cacheDir: path.join(scratch.dir, "other-cache") }).identity, first.identity);
      // A param given as its default is the same run; given as a string, as `--set` would read it.
      assert.equal(inputs({ params: { input: SMALL_INPUT, tile_size: 500 } }).identity, first.identity);
      assert.equal(inputs({ params: { tile_size: "500", input: SMALL_INPUT } }).identity, first.identity);
    });

    it("changes with a param, the output directory, the workflow and a notebook component", () => {
      const first = inputs().identity;
      const others = [
        inputs({ params: { input: SMALL_INPUT, tile_size: 250 } }).identity,
        inputs({ outDir: path.join(scratch.dir, "elsewhere") }).identity,
      ];
      // The workflow copied elsewhere is the same run (its components' notebook named as before); with one more line it is not.
      const project = path.join(scratch.dir, "project");
      fs.mkdirSync(path.join(project, "workflows"), { recursive: true });
      fs.mkdirSync(path.join(project, "notebooks"), { recursive: true });
      const copied = path.join(project, "workflows", "lidar.yaml");
      fs.copyFileSync(WORKFLOW, copied);
      assert.equal(inputs({ workflow: copied, notebooks: path.join(ROOT, "notebooks") }).identity, first);
      fs.appendFileSync(copied, "# a comment\n");
      others.push(inputs({ workflow: copied, notebooks: path.join(ROOT, "notebooks") }).identity);
      // One notebook file, before and after one component cell is edited (a component's hash also
      // covers where its notebook is, so both are at the same place).
      const notebookFile = path.join(project, "notebooks", "lidar.ipynb");
      const notebook = JSON.parse(fs.readFileSync(path.join(ROOT, "notebooks", "lidar.ipynb"), "utf8"));
      fs.writeFileSync(notebookFile, JSON.stringify(notebook));
      const unedited = inputs({ notebooks: path.dirname(notebookFile) }).identity;
      const cell = notebook.cells.find((c: { metadata?: { tags?: string[] } }) => c.metadata?.tags?.includes("component:features"));
      cell.source = [...[cell.source].flat(), "\ncell_count_check = n_cells\n"];
      fs.writeFileSync(notebookFile, JSON.stringify(notebook));
      const edited = inputs({ notebooks: path.dirname(notebookFile) }).identity;
      assert.notEqual(edited, unedited, "an edited component cell gives a new identity");
      others.push(edited);
      assert.equal(new Set([first, ...others]).size, 1 + others.length, "each change gives a new identity");
    });
  });

  describe("bad input: one clean message, nothing run", () => {
    it("a bad param fails the program (the preview) with what `naaw run` prints, naming the param and its declaration", async () => {
      installRecordingMocks([]);
      const { LocalRun } = await import("../components/LocalRun");
      const outDir = path.join(scratch.dir, "bad-out");
      assert.throws(
        () => new LocalRun("bad", { workflow: WORKFLOW, params: { cell_size: -1 }, outDir, cacheDir, workdir: ROOT }),
        (error: Error) => {
          assert.ok(error instanceof pulumi.RunError, `${error.name}: ${error.message}`);
          assert.match(error.message, /^LocalRun 'bad': workflows\/lidar\.yaml:\d+:\d+: error: --set cell_size=-1: .*cell_size/);
          return true;
        },
      );
      assert.throws(() => new LocalRun("typo", { workflow: WORKFLOW, params: { tile_sise: 250 }, outDir, cacheDir, workdir: ROOT }), /LocalRun 'typo': naaw: --set tile_sise=250: workflows\/lidar\.yaml has no param 'tile_sise' \(its params: input, out, /);
      assert.throws(() => new LocalRun("list", { workflow: WORKFLOW, params: { height_classes: "[1, 300]" }, outDir, cacheDir, workdir: ROOT }), /height_classes/);
      assert.ok(!fs.existsSync(outDir), "nothing was written");
    });

    it("a param the state cannot hold, a relative path in the resource's inputs: named, before any file is read", () => {
      assert.throws(() => localRunInputs({ workflow: WORKFLOW, params: { tile_size: () => 1 }, workdir: ROOT }), (e: Error) => e instanceof LocalRunError && /params\.tile_size must be a string, a finite number/.test(e.message));
      return localRunResource.check!({}, { workflow: "workflows/lidar.yaml", params: {}, outDir: "/o", workdir: ROOT, cacheDir, useCache: true, workers: 0, identity: "x" }).then((checked) => {
        assert.deepEqual(
          checked.failures!.map((f) => f.property),
          ["workflow", "workers", "identity"],
        );
      });
    });

    it("a step that fails in the host rejects with the step and its message, no stack trace", async () => {
      const bad = path.join(scratch.dir, "not-a-las.las");
      fs.writeFileSync(bad, "this is not a LAS file\n");
      const inputs = localRunInputs({ workflow: WORKFLOW, params: { input: bad }, outDir: path.join(scratch.dir, "failed-out"), cacheDir, workdir: ROOT, workers: 1 });
      // In process: the error's type; through the serialized provider in the host: the message the engine shows.
      await assert.rejects(localRunResource.create(inputs), LocalRunError);
      const provider = projectProvider(path.join(ROOT, "src", "local", "localRunResource.ts"), "localRunResource");
      const text = (await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true })).text;
      const answer = callHost(text, "create", [inputs], scratch.dir);
      assert.equal(answer.status, 3, answer.stderr);
      const message = answer.error!;
      console.log(`      ${message}`);
      assert.match(message, /^naaw: workflows\/lidar\.yaml: step 'split' \(builtin\/split\)/);
      assert.match(message, /not-a-las\.las/);
      assert.doesNotMatch(message, /\n\s+at /);
      assert.ok(!fs.existsSync(path.join(scratch.dir, "failed-out", "report.html")), "a failed run writes no report");
    });
  });
});
