// The batched Argo rendering (issue 12, docs/argo-scale.md): what `pulumi up` deploys for a
// country-sized run. For AHN3-sized input its Workflow object stays within the node and parameter
// limits and the manifest passes Argo's schema; and its pods, run here as Argo would run them
// (test/helpers/argoPods.ts), give the GeoTIFFs of `naaw run` byte for byte.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { writeBuildContext } from "../src/containerize/context";
import { tileBucket } from "../src/lidar/batches";
import { tileId } from "../src/lidar/tileStore";
import { ARGO_OBJECT_LIMITS, ArgoDocument, argoScale, planBatches, renderArgo, scaleProblems } from "../src/workflow/argo";
import { argoValidators } from "./helpers/argoSchema";
import { demoGraph, ROOT } from "./helpers/demo";
import { runArgoPods } from "./helpers/argoPods";
import { cutLas } from "./helpers/cutLas";
import { tempDir } from "./helpers/notebooks";
import { lidarFile } from "./helpers/testData";

const NAAW = path.join(ROOT, "bin", "naaw.js");
const FEATURES = ["perc_95_normalized_height", "max_normalized_height", "mean_normalized_height", "pulse_penetration_ratio", "point_density"];

/** AHN3 as test/argo-scale.test.ts spells it: 1,400 sheets, 10,000 tiles of 2 km in RD New. */
const tileIndex = (metres: number): number => Math.floor(Math.floor(metres / 10) / 200);
const AHN3 = { inputs: 1400, tiles: 10_000, tileKey: tileId(tileIndex(278_000), tileIndex(619_999)), inputKey: "ahn3/laz/C_25GN1.LAZ" };

describe("the batched Argo rendering of the LiDAR workflow", function () {
  this.timeout(240_000);

  it("holds an AHN3-sized run within one Workflow object's limits, and passes Argo's schema", () => {
    const graph = demoGraph();
    // The plan runs 200 pods at once: one bucket of tiles each.
    const sizes = planBatches({ inputs: AHN3.inputs, tiles: AHN3.tiles, parallelism: 200 });
    const { document, problems } = renderArgo(graph, { batching: { inputsPerSplit: sizes.inputsPerSplit, tileBatches: sizes.tileBatches } });
    assert.deepEqual(problems, []);
    const validators = argoValidators();
    assert.deepEqual(validators.workflow(document), []);
    assert.deepEqual(validators.workflowTemplate(renderArgo(graph, { template: true, batching: {} }).document), []);

    // A batch item as plan_inputs writes it: the longest id and index, every slot the longest key.
    const batch = JSON.stringify({ id: "inputs-139", index: 139, ...Object.fromEntries(Array.from({ length: sizes.inputsPerSplit }, (_, i) => [`k${i}`, AHN3.inputKey])) });
    const longestBucket = tileBucket("tile_0_0", sizes.tileBatches).replace(/\d/g, "9");
    const report = argoScale(document, { ...AHN3, lists: { "split-plan.batches": { length: sizes.splitBatches, item: batch }, "split-buckets.buckets": { length: sizes.tileBatches, item: longestBucket } } });
    console.log(`      AHN3 batched: ${report.nodes} nodes (${JSON.stringify(report.nodesByType)}), ${report.pods} pods; largest parameter ${report.largestParameter.bytes} B at ${report.largestParameter.where}`);
    assert.deepEqual(scaleProblems(report), []);
    // Per bucket: Retry, Pod, and a Container for the join and each of the six components; per split batch: one Pod.
    assert.deepEqual(report.nodesByType, { DAG: 1, TaskGroup: 2, Pod: 1 + 1 + sizes.splitBatches + 1 + sizes.tileBatches + 1, Retry: sizes.tileBatches, Container: 7 * sizes.tileBatches });
    assert.ok(report.nodes <= ARGO_OBJECT_LIMITS.nodes && report.largestParameter.bytes <= ARGO_OBJECT_LIMITS.parameterBytes);
    // Nothing in the manifest grows with the tiles: the same document for 10 or 10,000.
    const small = argoScale(document, { ...AHN3, tiles: 10, lists: { "split-plan.batches": { length: 1, item: batch }, "split-buckets.buckets": { length: sizes.tileBatches, item: longestBucket } } });
    assert.equal(small.nodes, report.nodes - 139);
  });

  it("refuses, before any pod, a rendering whose tile batches leave the split no room", () => {
    const { problems } = renderArgo(demoGraph(), { batching: { tileBatches: 500 } });
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /^workflows\/lidar\.yaml:\d+:\d+: 500 tile batches of 9 nodes leave no room for step 'split' within the 3,000 nodes one Workflow object holds: use fewer tile batches \(at most 332\)$/);
  });

  it("naaw render --to argo renders it batched; --per-tile one pod per step per tile; bad sizes are refused with the reason", () => {
    const render = (...args: string[]) => spawnSync(process.execPath, [NAAW, "render", "workflows/lidar.yaml", "--to", "argo", ...args], { cwd: ROOT, encoding: "utf8" });
    const batched = render("--tile-batches", "40");
    assert.equal(batched.status, 0, batched.stderr);
    assert.match(batched.stdout, /containerSet:/);
    assert.match(batched.stdout, /buckets=40/);
    const perTile = render("--per-tile");
    assert.equal(perTile.status, 0, perTile.stderr);
    assert.doesNotMatch(perTile.stdout, /containerSet:/);
    assert.match(perTile.stdout, /name: lidar-load/);
    const tooMany = render("--tile-batches", "500");
    assert.notEqual(tooMany.status, 0);
    assert.match(tooMany.stderr, /500 tile batches of 9 nodes leave no room for step 'split'.*at most 332/);
    assert.doesNotMatch(tooMany.stderr, /\n\s+at /, "no stack trace");
    const both = render("--per-tile", "--tile-batches", "3");
    assert.notEqual(both.status, 0);
    assert.match(both.stderr, /--per-tile renders one pod per step per tile: it takes no --tile-batches/);
  });

  it("runs as Argo would run it: list, split batches, buckets, chain pods, merge give naaw run's GeoTIFFs", async function () {
    const scratch = tempDir("naaw-argo-pods-");
    try {
      const repository = path.join(scratch.dir, "bucket");
      // 3 input files, 2 a split pod (the last batch has an empty slot), 2 buckets of tiles.
      const inputs = cutLas(lidarFile("autzen_trim.las"), path.join(repository, "input"), 3);
      fs.writeFileSync(path.join(repository, "input", "README.txt"), "not a point cloud: the listing leaves it out\n");
      const graph = demoGraph();
      const { document, problems } = renderArgo(graph, { batching: { inputsPerSplit: 2, tileBatches: 2 } });
      assert.deepEqual(problems, []);
      const contexts = path.join(scratch.dir, "contexts");
      const components: Record<string, string> = {};
      for (const step of graph.steps) {
        if (!step.component.entry) continue;
        components[step.component.name] = path.join(contexts, step.component.name);
        writeBuildContext(components[step.component.name]!, step.component.entry.context);
      }
      const pods = await runArgoPods(document as ArgoDocument, { repository, pods: path.join(scratch.dir, "pods"), components, parameters: { input: "input", out: "rasters", tile_size: "250" } });
      const byTemplate = (name: string) => pods.filter((p) => p.template === name).length;
      assert.equal(byTemplate("split-batch"), 2, "2 split pods for 3 files, 2 each");
      assert.equal(byTemplate("tiles"), 2, "one chain pod per bucket");
      assert.ok(pods.filter((p) => p.template === "tiles").every((p) => p.containers === 7));

      const local = path.join(scratch.dir, "local");
      const run = spawnSync(process.execPath, [NAAW, "run", "workflows/lidar.yaml", "--set", `input=${path.dirname(inputs[0]!)}`, "--set", "tile_size=250", "--out", local, "--cache-dir", path.join(scratch.dir, "cache")], { cwd: ROOT, encoding: "utf8" });
      assert.equal(run.status, 0, run.stderr);
      for (const feature of FEATURES) {
        assert.ok(fs.readFileSync(path.join(repository, "rasters", `${feature}.tif`)).equals(fs.readFileSync(path.join(local, `${feature}.tif`))), `${feature}.tif: the batched pods and naaw run differ`);
      }
    } finally {
      scratch.cleanup();
    }
  });
});
