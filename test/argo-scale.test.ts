// How big a country-sized run makes its Workflow object (issue 12, "Workflows that Argo can hold"):
// the node and parameter accounting of src/workflow/argo/scale.ts, on the rendered demo workflow for
// AHN3-sized input, today's design against the candidate designs of docs/argo-scale.md.
import { strict as assert } from "assert";
import * as path from "path";
import { tileId } from "../src/lidar/tileStore";
import { compileWorkflow } from "../src/workflow/compile";
import {
  ARGO_OBJECT_LIMITS,
  ArgoDocument,
  ArgoTemplate,
  ScaleError,
  ScaleInput,
  ScaleReport,
  argoScale,
  jsonListBytes,
  planBatches,
  renderArgo,
  scaleProblems,
} from "../src/workflow/argo";
import { argoValidators } from "./helpers/argoSchema";
import { demoGraph } from "./helpers/demo";

const ROOT = path.resolve(__dirname, "..");

/**
 * AHN3: ~1,400 LAZ sheets; Laserfarm's 2 km tiles, ~10,000 of which hold data. The longest tile key
 * comes from the extent of the Netherlands in RD New (EPSG:28992): x up to ~278 km, y up to ~620 km,
 * tiled as split tiles (the cell, then the tile of the cell).
 */
const CELL = 10;
const TILE = 2000;
const tileIndex = (metres: number): number => Math.floor(Math.floor(metres / CELL) / (TILE / CELL));
const AHN3: ScaleInput = { inputs: 1400, tiles: 10_000, tileKey: tileId(tileIndex(278_000), tileIndex(619_999)), inputKey: "ahn3/C_25GN1.LAZ" };

function demoDocument(): ArgoDocument {
  const previous = process.cwd();
  process.chdir(ROOT);
  try {
    const { graph, diagnostics } = compileWorkflow("workflows/lidar.yaml");
    assert.ok(graph, diagnostics.map((d) => d.message).join("\n"));
    const { document, problems } = renderArgo(graph);
    assert.deepEqual(problems, []);
    return document;
  } finally {
    process.chdir(previous);
  }
}

function template(document: ArgoDocument, name: string): ArgoTemplate {
  const found = document.spec.templates.find((t) => t.name === name);
  assert.ok(found, `no template ${name}`);
  return found;
}

function print(title: string, report: ScaleReport): void {
  const types = Object.entries(report.nodesByType).filter(([, n]) => n > 0).map(([t, n]) => `${t} ${n.toLocaleString("en-US")}`).join(", ");
  console.log(`      ${title}: ${report.nodes.toLocaleString("en-US")} nodes (${types}); largest parameter ${report.largestParameter.bytes.toLocaleString("en-US")} B at ${report.largestParameter.where}`);
}

/*
 * The candidate designs, as the manifests they would render to: built from today's rendering (its
 * images, containers, split and merge), to be counted and checked against Argo's schema, not run.
 */
const COMPONENTS = ["load", "normalize", "filter", "neighbors", "features", "export"];

function withTemplates(base: ArgoDocument, templates: ArgoTemplate[]): ArgoDocument {
  return { ...base, spec: { ...base.spec, templates } };
}

/** The six component containers of one tile (or one batch) in one pod, in chain order. */
function chainSet(base: ArgoDocument, name: string): ArgoTemplate {
  const containers = COMPONENTS.map((c, i) => {
    const { image, command, args } = template(base, `lidar-${c}`).container!;
    // Argo saves a containerSet's outputs from the container named `main`: the chain's last.
    return { name: i === COMPONENTS.length - 1 ? "main" : c, image, command, args, ...(i > 0 ? { dependencies: [COMPONENTS[i - 1]] } : {}) };
  });
  return { name, inputs: { parameters: [{ name: "item" }] }, containerSet: { containers, retryStrategy: { retries: "2" } } };
}

/** One pod per tile, its component chain as a containerSet (intermediates stay in the pod). */
function containerSetPerTile(base: ArgoDocument): ArgoDocument {
  const main = template(base, "main");
  const tasks = main.dag!.tasks.map((t) => (t.name === "tiles" ? { ...t, template: "tile-chain", arguments: { parameters: [{ name: "item", value: "{{item}}" }] } } : t));
  return withTemplates(base, [{ name: "main", dag: { tasks } }, chainSet(base, "tile-chain"), template(base, "builtin-split"), template(base, "builtin-merge")]);
}

/** A child Workflow per batch of tiles: the parent creates each from the WorkflowTemplate. */
function childWorkflowsParent(base: ArgoDocument): ArgoDocument {
  const main = template(base, "main");
  const manifest = [
    "apiVersion: argoproj.io/v1alpha1",
    "kind: Workflow",
    "metadata: {generateName: '{{workflow.name}}-'}",
    "spec:",
    "  workflowTemplateRef: {name: lidar-tiles}",
    "  arguments: {parameters: [{name: batch, value: '{{inputs.parameters.item}}'}]}",
  ].join("\n");
  const tasks = main.dag!.tasks.map((t) => (t.name === "tiles" ? { ...t, template: "child", withParam: "{{tasks.split.outputs.parameters.child-batches}}", arguments: { parameters: [{ name: "item", value: "{{item}}" }] } } : t));
  const child: ArgoTemplate = {
    name: "child",
    inputs: { parameters: [{ name: "item" }] },
    resource: { action: "create", manifest, successCondition: "status.phase == Succeeded", failureCondition: "status.phase in (Failed, Error)" },
  };
  return withTemplates(base, [{ name: "main", dag: { tasks } }, child, template(base, "builtin-split"), template(base, "builtin-merge")]);
}

/** One child Workflow: today's tile DAG over its batch's tile keys, passed as a workflow parameter. */
function childWorkflow(base: ArgoDocument): ArgoDocument {
  const main: ArgoTemplate = {
    name: "main",
    dag: { tasks: [{ name: "tiles", template: "tiles", withParam: "{{workflow.parameters.batch}}", arguments: { parameters: [{ name: "item", value: "{{item}}" }] } }] },
  };
  const containers = base.spec.templates.filter((t) => t.container && t.name.startsWith("lidar-"));
  return { ...base, spec: { ...base.spec, arguments: { parameters: [{ name: "batch" }] }, templates: [main, template(base, "tiles"), ...containers] } };
}

describe("Argo scale: the nodes and parameters of one Workflow object", function () {
  let demo: ArgoDocument;
  before(() => {
    demo = demoDocument();
  });

  it("counts the demo's nodes as Argo makes them: a DAG node per tile, a Retry node and a pod per attempt for load, a TaskGroup for the fan-out", () => {
    const report = argoScale(demo, { inputs: 1, tiles: 9, tileKey: "tile_0_0" });
    // main DAG + split pod + tiles TaskGroup + merge pod, and per tile: its DAG, load's Retry and pod, five pods.
    assert.deepEqual(report.nodesByType, { DAG: 1 + 9, TaskGroup: 1, Pod: 2 + 9 * 6, Retry: 9, Container: 0 });
    assert.equal(report.nodes, 4 + 9 * 8);
    assert.equal(report.pods, 2 + 9 * 6);
    // load's retry limit is 2: at worst three pods per tile.
    assert.equal(argoScale(demo, { inputs: 1, tiles: 9, tileKey: "tile_0_0", attempts: "all" }).pods, 2 + 9 * 8);
    assert.deepEqual(report.parameters, [{ where: "main/tiles ← split.tiles", bytes: JSON.stringify(Array(9).fill("tile_0_0")).length }]);
  });

  it("today's design for AHN3 (1,400 inputs, 10,000 tiles): 80,004 nodes in one object, far over a few thousand; the tile list is 150 kB", () => {
    assert.equal(AHN3.tileKey, "tile_139_309");
    const first = argoScale(demo, AHN3);
    const worst = argoScale(demo, { ...AHN3, attempts: "all" });
    print("today, no retries", first);
    print("today, every load retried twice", worst);
    assert.equal(first.nodes, 80_004);
    assert.equal(first.pods, 60_002);
    assert.equal(worst.nodes, 100_004);
    // The inputs do not change the count: one split pod reads all 1,400 files (~16 TB) alone.
    assert.equal(argoScale(demo, { ...AHN3, inputs: 1 }).nodes, first.nodes);
    assert.deepEqual(first.largestParameter, { where: "main/tiles ← split.tiles", bytes: jsonListBytes(10_000, "tile_139_309") });
    assert.equal(first.largestParameter.bytes, 150_001);
    const problems = scaleProblems(first);
    assert.equal(problems.length, 1, problems.join("\n"));
    assert.match(problems[0], /80,004 nodes in one Workflow object \(at most 3,000\)/);
  });

  it("a parameter over the limit is named with its bytes (a 100,000-tile list)", () => {
    const problems = scaleProblems(argoScale(demo, { ...AHN3, tiles: 100_000 }));
    assert.ok(problems.some((p) => /^main\/tiles ← split\.tiles is a parameter of 1,500,001 bytes \(at most 262,144\)/.test(p)), problems.join("\n"));
  });

  it("a fan-out whose length the input does not give is an error naming the task and what to add", () => {
    const main = template(demo, "main");
    const odd = withTemplates(demo, demo.spec.templates.map((t) => (t === main ? { ...main, dag: { tasks: main.dag!.tasks.map((x) => (x.withParam ? { ...x, withParam: "{{tasks.split.outputs.parameters.sheets}}" } : x)) } } : t)));
    assert.throws(() => argoScale(odd, AHN3), (e: unknown) => e instanceof ScaleError && /main\/tiles iterates over .*sheets.*add it to lists as 'split\.sheets'/.test(e.message));
    assert.equal(argoScale(odd, { ...AHN3, lists: { "split.sheets": { length: 3, item: "a" } } }).nodesByType.DAG, 1 + 3);
    assert.throws(() => argoScale(demo, { ...AHN3, tiles: -1 }), /tiles must be a whole number/);
  });

  describe("the candidate designs for AHN3 (docs/argo-scale.md), each a manifest Argo's schema accepts", function () {
    let validate: (d: unknown) => string[];
    before(function () {
      this.timeout(60_000);
      validate = argoValidators(true).workflow;
    });

    it("one pod per tile with a containerSet: 70,004 nodes (a Container node per container), still far over", () => {
      const doc = containerSetPerTile(demo);
      assert.deepEqual(validate(doc), []);
      const report = argoScale(doc, AHN3);
      print("containerSet per tile", report);
      assert.equal(report.nodes, 1 + 1 + 1 + 10_000 * (1 + 6) + 1);
      assert.equal(report.pods, 10_002);
      assert.ok(scaleProblems(report).length > 0);
    });

    it("child Workflows of 374 tiles: 27 children of 2,994 nodes and a 31-node parent, but still 6 pods a tile", () => {
      const perChild = Math.floor((ARGO_OBJECT_LIMITS.nodes - 2) / 8);
      const children = Math.ceil(AHN3.tiles / perChild);
      assert.deepEqual([perChild, children], [374, 27]);
      const parent = childWorkflowsParent(demo);
      const child = childWorkflow(demo);
      assert.deepEqual(validate(parent), []);
      assert.deepEqual(validate(child), []);
      const parentReport = argoScale(parent, { ...AHN3, lists: { "split.child-batches": { length: children, item: "b26" } } });
      const childReport = argoScale(child, { ...AHN3, lists: { "params.batch": { length: perChild, item: AHN3.tileKey } } });
      print("child workflows: parent", parentReport);
      print("child workflows: each child", childReport);
      assert.equal(parentReport.nodes, 1 + 1 + 1 + children + 1);
      assert.equal(childReport.nodes, 1 + 1 + perChild * 8);
      assert.equal(childReport.largestParameter.bytes, jsonListBytes(374, AHN3.tileKey));
      assert.deepEqual(scaleProblems(childReport), []);
      assert.deepEqual(scaleProblems(parentReport), []);
      // Every object fits, but the run still makes a pod per step per tile (the last child is not full).
      assert.equal(childReport.pods, perChild * 6);
    });

    it("planBatches' sizes for AHN3 (140 split pods of 10 inputs, 200 tile batches of 50) are what the batched rendering holds: 1,947 nodes", () => {
      const plan = planBatches({ inputs: AHN3.inputs, tiles: AHN3.tiles, parallelism: 200 });
      assert.deepEqual(plan, { splitBatches: 140, inputsPerSplit: 10, tileBatches: 200, tilesPerBatch: 50, childWorkflows: 0, batchesPerChild: 200, nodes: 1_947 });
      const { document: doc, problems } = renderArgo(demoGraph(), { batching: { inputsPerSplit: plan.inputsPerSplit, tileBatches: plan.tileBatches } });
      assert.deepEqual(problems, []);
      assert.deepEqual(validate(doc), []);
      const batch = JSON.stringify({ id: "inputs-139", index: 139, ...Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`k${i}`, AHN3.inputKey])) });
      const report = argoScale(doc, { ...AHN3, lists: { "split-plan.batches": { length: plan.splitBatches, item: batch }, "split-buckets.buckets": { length: plan.tileBatches, item: "b199" } } });
      print("batched (the rendering): split 140 × 10 inputs, tiles 200 × 50", report);
      // planBatches' formula is what Argo's accounting gives for the rendered structure.
      assert.equal(report.nodes, plan.nodes);
      assert.equal(report.pods, 1 + 1 + 140 + 1 + 200 + 1);
      assert.deepEqual(scaleProblems(report), []);
    });

    it("past the node budget the batches go to child Workflows, each object under 3,000 nodes", () => {
      const plan = planBatches({ inputs: AHN3.inputs, tiles: 200_000, parallelism: 2_000 });
      assert.deepEqual(plan, { splitBatches: 140, inputsPerSplit: 10, tileBatches: 2_000, tilesPerBatch: 100, childWorkflows: 7, batchesPerChild: 333, nodes: 2_999 });
      assert.throws(() => planBatches({ inputs: 30_000, tiles: 10, parallelism: 1 }), /read at least \d+ inputs per split pod/);
      assert.throws(() => planBatches({ inputs: 1, tiles: 0, parallelism: 1 }), /tiles must be a whole number of at least 1/);
    });
  });
});
