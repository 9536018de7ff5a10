// The planner's properties (issue 9), over grids of requests priced with the committed calibration
// (measured by `naaw plan --calibrate`) and the shipped AWS catalog.
import { strict as assert } from "assert";
import * as path from "path";
import { readCalibration } from "../src/plan/calibration";
import { ceilCents } from "../src/plan/choose";
import { CostLine, estimate, Estimate, ModelContext } from "../src/plan/model";
import { JOIN_MEMORY_MIB, JOIN_MILLICORES, stepMemoryBytes, stepMillicores } from "../src/plan/pods";
import { formatPlan } from "../src/plan/format";
import { Plan, planJson, planRun } from "../src/plan/plan";
import { loadAwsPrices } from "../src/plan/prices/catalog";
import { OpenStackFlavor, PlanInputError } from "../src/plan/request";
import { buildRequest, PlanSettings, settingsFromConfig } from "../src/plan/settings";
import { parseStatedVolume } from "../src/plan/volume";
import { applyPolicy, budgetPolicy, NO_CLUSTER_FACTS } from "../src/schedule";
import { measuredMillicores } from "../src/schedule/budget";
import { ARGO_OBJECT_LIMITS, batchingForParallelism, MAX_TILE_BATCHES, planBatches, renderArgo } from "../src/workflow/argo";
import { demoGraph } from "./helpers/demo";

const ROOT = path.resolve(__dirname, "..");
const calibration = readCalibration(path.join(ROOT, "workflows", "lidar.calibration.json"));
const aws = loadAwsPrices();
const AHN3 = "700e9points";

/** A plan for a stated volume; a few instance types keep the grids quick (every candidate of them is priced). */
function plan(data: string, settings: PlanSettings = {}, flavors?: readonly OpenStackFlavor[]): Plan {
  const request = buildRequest({ instanceTypes: settings.cloud === "openstack" ? undefined : ["c7g.4xlarge", "c7i.2xlarge", "r7i.4xlarge", "m7i.xlarge"], architectures: ["x86_64", "arm64"], ...settings }, parseStatedVolume(data), 500);
  return planRun({ request, calibration, staleComponents: [], aws, flavors });
}

const lineCost = (e: Estimate, key: CostLine["key"]) => e.lines.filter((l) => l.key === key && l.period === "run").reduce((n, l) => n + (l.cost ?? 0), 0);
const VOLUMES = ["3.6e6points", "1e9points", "5e10points", "2e11points", AHN3];

describe("plan: the model's properties", () => {
  it("more budget never gives a slower plan (objective time), and a feasible budget stays feasible", () => {
    for (const data of VOLUMES) {
      const cheapest = plan(data, { objective: "cost" }).chosen!.totalCost!;
      let previous: Plan | undefined;
      for (const factor of [0.5, 0.9, 1, 1.01, 1.1, 1.5, 2, 4, 10]) {
        const p = plan(data, { budget: ceilCents(cheapest * factor) });
        if (previous?.feasible) {
          assert.ok(p.feasible, `${data}: budget ×${factor} infeasible after a smaller budget was feasible`);
          assert.ok(p.chosen!.makespanHours <= previous.chosen!.makespanHours + 1e-12, `${data}: budget ×${factor} is slower`);
        }
        if (factor >= 1.01) assert.ok(p.feasible, `${data}: budget ×${factor} of the cheapest plan must be feasible`);
        if (factor < 1) assert.ok(!p.feasible, `${data}: budget below the cheapest plan must be infeasible`);
        previous = p;
      }
    }
  });

  it("more data never gives a cheaper plan (objective cost, with and without a deadline)", () => {
    for (const deadline of [undefined, 48, 200]) {
      let previous: number | undefined;
      for (const data of ["1e6points", "3.6e6points", "1e8points", "1e9points", "1e10points", "1e11points", AHN3, "1e12points"]) {
        const p = plan(data, { objective: "cost", deadlineHours: deadline });
        if (!p.feasible) break;
        const cost = p.chosen!.totalCost!;
        if (previous !== undefined) assert.ok(cost >= previous - 1e-9, `${data} with deadline ${deadline}: ${cost} is cheaper than ${previous} for less data`);
        previous = cost;
      }
    }
  });

  it("a longer deadline never gives a dearer plan under --objective cost", () => {
    for (const data of VOLUMES) {
      let previous: Plan | undefined;
      for (const deadline of [0.3, 0.5, 1, 2, 5, 10, 20, 40, 80, 200]) {
        const p = plan(data, { objective: "cost", deadlineHours: deadline });
        if (previous?.feasible) {
          assert.ok(p.feasible, `${data}: deadline ${deadline} h infeasible after a shorter one was feasible`);
          assert.ok(p.chosen!.totalCost! <= previous.chosen!.totalCost! + 1e-9, `${data}: deadline ${deadline} h is dearer`);
        }
        if (p.feasible) assert.ok(p.chosen!.makespanHours <= deadline);
        previous = p;
      }
    }
  });

  it("counts every fixed cost in every candidate: control plane, system nodes and NAT hours over the whole run", () => {
    for (const data of VOLUMES) {
      for (const support of ["standard", "extended"] as const) {
        const p = plan(data, { assumptions: { controlPlaneSupport: support } });
        const rate = support === "standard" ? 0.1 : 0.6;
        for (const e of p.candidates) {
          const keys = new Set(e.lines.map((l) => l.key));
          for (const key of ["compute", "systemNodes", "controlPlane", "nat", "storage", "requests", "ebs", "egress", "storageMonth"] as const) assert.ok(keys.has(key), `${key} missing`);
          const controlPlane = e.lines.find((l) => l.key === "controlPlane")!;
          assert.equal(controlPlane.quantity, e.makespanHours);
          assert.ok(Math.abs(controlPlane.cost! - rate * e.makespanHours) < 1e-9);
          assert.equal(e.lines.find((l) => l.name === "NAT gateway")!.quantity, e.makespanHours);
          assert.ok(lineCost(e, "systemNodes") > 0 && lineCost(e, "compute") > 0);
          const sum = e.lines.filter((l) => l.period === "run").reduce((n, l) => n + l.cost!, 0);
          assert.ok(Math.abs(sum - e.totalCost!) < 1e-9, "the total is the sum of the run's lines");
          assert.ok(e.lines.filter((l) => l.period === "month").every((l) => l.cost! >= 0), "a month of storage is shown apart");
        }
      }
    }
  });

  it("charges no NAT data for input in S3 (a free gateway endpoint), and all of it for input from the internet", () => {
    for (const data of VOLUMES) {
      const s3 = plan(data, { inputLocation: "s3" });
      const internet = plan(data, { inputLocation: "internet" });
      const volume = parseStatedVolume(data);
      for (const [p, inputGB] of [[s3, 0], [internet, volume.bytes / 1e9]] as const) {
        for (const e of p.candidates) {
          const natData = e.lines.find((l) => l.key === "nat" && l.unit === "GB")!;
          const images = (e.candidate.nodes + p.request.assumptions.systemNodes) * p.request.assumptions.imageGBPerNode;
          assert.ok(Math.abs(natData.quantity - (inputGB + images)) < 1e-6, `${data}: NAT data ${natData.quantity} GB, expected ${inputGB + images}`);
        }
      }
    }
  });

  it("says the minimum budget or deadline of an infeasible request, and re-planning at it is feasible", () => {
    let checked = 0;
    for (const data of VOLUMES) {
      for (const budget of [0.01, 0.2, 1, 5, 50, 300]) {
        for (const deadline of [undefined, 0.26, 0.5, 3, 20]) {
          for (const objective of ["time", "cost"] as const) {
            const p = plan(data, { budget, deadlineHours: deadline, objective });
            if (p.feasible) continue;
            checked++;
            assert.ok(p.minimum && (p.minimum.budget !== undefined || p.minimum.deadlineHours !== undefined), p.reason);
            assert.doesNotMatch(p.reason!, /\n/);
            const again = plan(data, { budget: p.minimum.budget ?? budget, deadlineHours: p.minimum.deadlineHours ?? deadline, objective });
            assert.ok(again.feasible, `${data}, budget ${budget}, deadline ${deadline}: re-planned at ${JSON.stringify(p.minimum)} is still infeasible: ${again.reason}`);
            if (p.minimum.budget !== undefined) assert.match(p.reason!, new RegExp(`--budget ${p.minimum.budget}\\b`));
          }
        }
      }
    }
    assert.ok(checked > 20, `only ${checked} infeasible requests in the grid`);
  });
});

describe("plan: the timeline of a candidate", () => {
  it("adds up: one wave of at most MAX_TILE_BATCHES tile batches over the slots, slots by the pods' summed requests, spot overhead as configured", () => {
    for (const data of VOLUMES) {
      for (const overhead of [0, 0.05, 0.3]) {
        const p = plan(data, { assumptions: { spotInterruptionOverhead: overhead, argoPodsPerSecond: 2 } });
        for (const e of p.candidates) {
          const t = e.timeline;
          const b = e.batches;
          assert.ok(Math.abs(e.makespanHours - (t.clusterCreate + t.nodeStart + t.split + t.tiles + t.merge) / 3600) < 1e-9);
          assert.equal(e.parallelism, e.slotsPerNode * e.candidate.nodes);
          // The sizes the rendering uses for this plan's parallelism (what `pulumi up` deploys).
          assert.deepEqual(b, planBatches({ inputs: p.request.volume.files, tiles: e.tileCounts.tiles, parallelism: batchingForParallelism(e.parallelism).tileBatches }));
          assert.ok(b.tileBatches <= e.parallelism && b.tileBatches <= MAX_TILE_BATCHES && b.tileBatches * b.tilesPerBatch >= e.tileCounts.tiles);
          assert.equal(b.splitBatches, Math.ceil(p.request.volume.files / 10));
          assert.ok(t.tiles >= (b.tileBatches / 2) * (e.candidate.spot ? 1 + overhead : 1) - 1e-6, "no faster than Argo creates the batch pods");
          const m = e.candidate.machine;
          assert.ok(e.slotsPerNode * e.podCpu <= m.vcpus - 0.25 + 1e-9, `${m.name}: ${e.slotsPerNode} pods of ${e.podCpu} CPU`);
          assert.ok(e.slotsPerNode * e.podMemoryGiB <= m.memoryGiB * 0.95 - 1 + 1e-9, `${m.name}: ${e.slotsPerNode} pods of ${e.podMemoryGiB} GiB`);
          assert.ok(e.nodeHours * 3600 >= e.candidate.nodes * t.nodeStart + Math.min(e.candidate.nodes, Math.ceil(b.tileBatches / e.slotsPerNode)) * t.tiles - 1e-6, "every node is billed from launch, and those with a batch through the tiles");
        }
      }
    }
  });
});

describe("plan: the batched run (split pods over input files, one containerSet pod per tile batch)", () => {
  const context = (data: string, tileSizes = [500]): ModelContext => {
    const p = plan(data, { tileSizes });
    return { request: p.request, calibration, regional: aws.regional.get("eu-west-1"), systemMachine: { name: "m7i.large", vcpus: 2, memoryGiB: 8, price: 0.11235 } };
  };
  const c7i = { name: "c7i.4xlarge", vcpus: 16, memoryGiB: 32, price: 0.76608, spotPrice: 0.3481 };
  const at = (data: string, nodes: number) => estimate({ machine: c7i, nodes, spot: false, tileSize: 500 }, context(data))!;
  const tileSteps = calibration.steps.filter((s) => s.phase === "tile");

  it("a tile batch pod asks for the sum of its containers (they run at once): the join's, and each step's cores and memory at the largest tile", () => {
    for (const tileSize of [250, 500, 1000, 2000]) {
      const e = estimate({ machine: c7i, nodes: 1, spot: false, tileSize }, context(AHN3, [tileSize]));
      const maxPoints = 10 * tileSize * tileSize;
      const memoryMiB = JOIN_MEMORY_MIB + tileSteps.reduce((n, s) => n + Math.ceil((stepMemoryBytes(s, calibration.runtimeBaselineMiB, maxPoints) * 1.25) / 2 ** 20), 0);
      const largest = Math.max(...tileSteps.map((s) => stepMemoryBytes(s, calibration.runtimeBaselineMiB, maxPoints) * 1.25)) / 2 ** 20;
      if (!e) {
        assert.ok(memoryMiB / 1024 > 32 * 0.95 - 1, `${tileSize} m: a ${memoryMiB} MiB pod would fit`);
        continue;
      }
      assert.equal(e.podMemoryGiB, Math.ceil((memoryMiB / 1024) * 4) / 4, `${tileSize} m tiles`);
      assert.ok(e.podMemoryGiB * 1024 > 2 * largest, "the sum, well above the largest step alone");
      assert.equal(e.podCpu, (JOIN_MILLICORES + tileSteps.reduce((n, s) => n + stepMillicores(s), 0)) / 1000);
      assert.equal(e.slotsPerNode, Math.min(Math.floor(15.75 / e.podCpu), Math.floor((32 * 0.95 - 1) / e.podMemoryGiB)));
    }
  });

  it("prices what the budget policy requests: the batched rendering's containerSet sums to the planner's pod, and it sizes a step's cores by the same rule", function () {
    this.timeout(60_000);
    for (const step of calibration.steps) assert.equal(stepMillicores(step), measuredMillicores(step), step.step);
    const p = plan(AHN3, { objective: "cost" });
    const e = p.chosen!;
    const rendering = renderArgo(demoGraph(), { batching: batchingForParallelism(e.parallelism) });
    assert.deepEqual(rendering.problems, []);
    const sized = applyPolicy(budgetPolicy, rendering.document, { plan: p, cluster: NO_CLUSTER_FACTS });
    const containers = sized.spec.templates.find((t) => t.containerSet)!.containerSet!.containers;
    assert.equal(containers.length, 1 + tileSteps.length);
    const quantity = (q: string | undefined, unit: string) => Number(q!.replace(unit, ""));
    const millicores = containers.reduce((n, c) => n + quantity(c.resources!.requests!.cpu, "m"), 0);
    const memoryMiB = containers.reduce((n, c) => n + quantity(c.resources!.requests!.memory, "Mi"), 0);
    assert.equal(millicores, e.podCpu * 1000);
    assert.ok(memoryMiB <= e.podMemoryGiB * 1024 && memoryMiB > e.podMemoryGiB * 1024 - 256, `${memoryMiB} MiB requested, ${e.podMemoryGiB} GiB priced`);
  });

  it("runs a batch's tiles pipelined: at fixed K, twice the tiles take about twice the tile phase; twice the batches, about half", () => {
    const base = at("3e10points", 8);
    const twice = at("6e10points", 8);
    assert.equal(twice.batches.tileBatches, base.batches.tileBatches, "the same K");
    assert.equal(twice.batches.tilesPerBatch, 2 * base.batches.tilesPerBatch);
    const ratio = twice.timeline.tiles / base.timeline.tiles;
    assert.ok(ratio > 1.95 && ratio <= 2, `tile phase ×${ratio.toFixed(3)}`);
    const wider = at("3e10points", 16);
    assert.equal(wider.batches.tileBatches, 2 * base.batches.tileBatches);
    const half = wider.timeline.tiles / base.timeline.tiles;
    assert.ok(half > 0.5 && half < 0.52, `tile phase ×${half.toFixed(3)} with twice the batches`);
    // A batch of one tile runs its steps one after the other: the pipeline only pays off over many tiles.
    // Compared without the transfers (S3 as fast as need be), which are the same either way.
    const ctx = context("3e10points");
    const computeOnly = estimate({ machine: c7i, nodes: 8, spot: false, tileSize: 500 }, { ...ctx, request: { ...ctx.request, assumptions: { ...ctx.request.assumptions, s3MBPerSecondPerPod: 1e12 } } })!;
    const perTile = tileSteps.map((s) => (s.cpuSecondsPerMillionPoints * computeOnly.tileCounts.meanPoints) / 1e6);
    const n = computeOnly.batches.tilesPerBatch;
    const pipelined = (n - 1) * Math.max(...perTile) + perTile.reduce((sum, x) => sum + x, 0);
    const inTurn = n * perTile.reduce((sum, x) => sum + x, 0);
    assert.ok(computeOnly.timeline.tiles > pipelined && computeOnly.timeline.tiles < inTurn, `${computeOnly.timeline.tiles.toFixed(0)} s: between the slowest step's pace (${pipelined.toFixed(0)} s) and running the steps in turn (${inTurn.toFixed(0)} s)`);
  });

  it("runs the split as ceil(files / 10) pods, at most parallelism at once: more nodes than split pods do not speed it up", () => {
    const files = parseStatedVolume(AHN3).files;
    const few = at(AHN3, 4);
    const many = at(AHN3, 64);
    assert.equal(few.batches.splitBatches, Math.ceil(files / 10));
    assert.ok(many.parallelism >= many.batches.splitBatches);
    assert.ok(few.timeline.split > 5 * many.timeline.split, "a few nodes run the split pods in waves");
    assert.equal(at(AHN3, 128).timeline.split, many.timeline.split, "one wave: no faster with more nodes");
  });

  it("past one Workflow object's nodes (20,000 input files: 2,000 split pods) says the run needs child Workflows, and that slots past 250 serve only the split", () => {
    const p = plan("1e13points", { objective: "time", instanceTypes: ["c7i.4xlarge"], tileSizes: [1000] });
    const b = p.chosen!.batches;
    assert.equal(b.splitBatches, 2000);
    assert.ok(b.childWorkflows >= 1 && b.nodes <= ARGO_OBJECT_LIMITS.nodes, JSON.stringify(b));
    assert.ok(p.notes.some((n) => n.startsWith(`the batched run needs ${b.childWorkflows} child Workflow`) && /does not make yet/.test(n)), p.notes.join("\n"));
    assert.ok(p.chosen!.parallelism > MAX_TILE_BATCHES, "the split's 2,000 pods reward more slots");
    assert.ok(p.notes.some((n) => n.includes(`at most ${MAX_TILE_BATCHES} tile batches: the other slots serve only the split`)));
  });

  it("gives a tile batch pod the disk for its tiles' pieces (37 B a point), the chain's window and its rasters: it grows with the tiles per batch, and the node's volume holds its slots", () => {
    const base = at("3e10points", 8);
    const twice = at("6e10points", 8);
    assert.equal(twice.batches.tilesPerBatch, 2 * base.batches.tilesPerBatch, "the same K, twice the tiles each");
    const bytes = (list: typeof tileSteps) => list.reduce((n, s) => n + s.outputBytesPerMillionPoints, 0) / 1e6;
    const split = calibration.steps.filter((s) => s.phase === "split");
    for (const e of [base, twice]) {
      const { tilesPerBatch } = e.batches;
      const { maxPoints } = e.tileCounts;
      assert.ok(Math.abs(e.batchDisk.pieces - tilesPerBatch * maxPoints * bytes(split)) < 1, "the pieces: every tile at the largest, at the split's bytes a point");
      assert.ok(Math.abs(e.batchDisk.window - 2 * maxPoints * bytes(tileSteps)) < 1, "two tiles' intermediates of every tile step");
      assert.ok(Math.abs(e.batchDisk.rasters - tilesPerBatch * maxPoints * bytes(tileSteps.slice(-1))) < 1, "the rasters it exports");
      const total = e.batchDisk.pieces + e.batchDisk.window + e.batchDisk.rasters;
      assert.equal(e.podDiskGiB, Math.ceil((total * 1.25) / 2 ** 30), "with the disk headroom, in whole GiB");
      assert.equal(e.nodeVolumeGiB, Math.ceil((e.slotsPerNode * e.podDiskGiB + 20) / 0.9), "slots × pod, 20 GiB for the system, 10% the kubelet keeps free");
      const ebs = e.lines.find((l) => l.key === "ebs")!;
      assert.ok(Math.abs(ebs.quantity - (e.nodeHours * e.nodeVolumeGiB + 2 * e.makespanHours * 20) / 730) < 1e-9, "priced at the planned volume for every node-hour");
    }
    assert.ok(twice.podDiskGiB > 1.9 * base.podDiskGiB, `${twice.podDiskGiB} GiB for twice the tiles, ${base.podDiskGiB} GiB`);
    assert.ok(twice.nodeVolumeGiB > base.nodeVolumeGiB);
    const e = plan(AHN3, { objective: "cost", budget: 500, deadlineHours: 24 }).chosen!;
    assert.ok(e.nodeVolumeGiB > 100, `AHN3's batches need far more than a 50 GB root volume: ${e.nodeVolumeGiB} GiB`);
  });

  it("an explicit naaw:ebsGBPerNode below the need leaves the candidate out; none left: infeasible, naming the key and the size that would do", () => {
    const settings = settingsFromConfig({ ebsGBPerNode: "50" }, "stacks/Pulumi.test.yaml");
    assert.equal(settings.nodeVolumeGB, 50);
    assert.throws(() => settingsFromConfig({ ebsGBPerNode: "50.5" }, "stacks/Pulumi.test.yaml"), /stacks\/Pulumi\.test\.yaml naaw:ebsGBPerNode must be a whole number of GiB, got '50\.5'/);
    const small = plan(AHN3, { objective: "cost", nodeVolumeGB: 50 });
    assert.equal(small.feasible, false);
    const match = /naaw:ebsGBPerNode is 50 GiB, but \d+ × \S+ nodes need (\d+) GiB of disk each \(.*\): set naaw:ebsGBPerNode to at least (\d+), or unset it/.exec(small.reason!);
    assert.ok(match && match[1] === match[2], small.reason);
    assert.deepEqual(planJson(small).feasible, false);
    const needed = Number(match![1]);
    const enough = plan(AHN3, { objective: "cost", nodeVolumeGB: needed });
    assert.ok(enough.feasible, enough.reason);
    assert.equal(enough.chosen!.nodeVolumeGiB, needed, "the fixed size is the volume priced");
    assert.ok(enough.chosen!.nodeDiskNeedGiB <= needed);
    assert.ok(enough.notes.some((n) => /candidates left out: their nodes need more disk than naaw:ebsGBPerNode/.test(n)), enough.notes.join("\n"));
    // The chosen volume is a cluster setting in the text and the JSON.
    const sized = plan(AHN3, { objective: "cost" });
    assert.equal(planJson(sized).nodeVolumeGiB, sized.chosen!.nodeVolumeGiB);
    assert.equal(planJson(sized).podDiskGiB, sized.chosen!.podDiskGiB);
    assert.match(formatPlan(sized, { workflow: "w", calibrationFile: "c" }), new RegExp(`cluster settings: .*Karpenter limits\\.cpu \\d+, EC2NodeClass root volume ${sized.chosen!.nodeVolumeGiB}Gi, tile batch pod ephemeral-storage ${sized.chosen!.podDiskGiB}Gi`));
  });

  it("keeps only the pieces (the points once) and each tile's rasters in S3, not every step's intermediates", () => {
    const e = at(AHN3, 8);
    const split = calibration.steps.find((s) => s.phase === "split")!;
    const last = tileSteps[tileSteps.length - 1]!;
    const points = parseStatedVolume(AHN3).points;
    const month = e.lines.find((l) => l.period === "month" && /intermediates/.test(l.name))!;
    assert.ok(Math.abs(month.quantity - (points * (split.outputBytesPerMillionPoints + last.outputBytesPerMillionPoints)) / 1e6 / 1e9) < 1e-6);
    assert.ok(Math.abs(split.outputBytesPerMillionPoints / 1e6 - 37) < 0.1, "37 bytes a point");
    const everyStep = (points * tileSteps.reduce((n, s) => n + s.outputBytesPerMillionPoints, 0)) / 1e6 / 1e9;
    assert.ok(month.quantity < everyStep, `${month.quantity} GB kept, ${everyStep} GB if every step's outputs went through S3`);
  });
});

describe("plan: AHN3 (700 billion points)", () => {
  it("on AWS: country-scale tiles, NAT data for internet input far above spot compute, none for S3 input", () => {
    const internet = plan(AHN3, { objective: "cost", inputLocation: "internet", instanceTypes: undefined });
    const e = internet.chosen!;
    assert.ok(e.tileCounts.tiles >= 17_000, `${e.tileCounts.tiles} tiles`);
    const natData = e.lines.find((l) => l.key === "nat" && l.unit === "GB")!;
    assert.ok(natData.cost! > 760 && natData.cost! < 800, `16 TB through the NAT: ${natData.cost}`);
    assert.ok(natData.cost! > 5 * lineCost(e, "compute"), "network costs exceed compute");
    assert.ok(internet.notes.some((n) => /staging it in S3/.test(n)));
    const s3 = plan(AHN3, { objective: "cost", inputLocation: "s3", instanceTypes: undefined });
    assert.ok(s3.chosen!.totalCost! < e.totalCost! - 700, "S3 input avoids the NAT data line");
    // The batched run fits one Workflow object: 7 + S + 9·K nodes, and the note says so.
    const b = s3.chosen!.batches;
    assert.equal(b.childWorkflows, 0);
    assert.equal(b.nodes, 7 + b.splitBatches + 9 * b.tileBatches);
    assert.ok(b.nodes <= ARGO_OBJECT_LIMITS.nodes);
    assert.ok(s3.notes.some((n) => n.includes(`holds ${b.nodes.toLocaleString("en-US")} nodes in one Workflow object`) && n.includes(`${b.tileBatches} tile batch pods`)), s3.notes.join("\n"));
    assert.ok(!s3.notes.some((n) => /child workflows|etcd/i.test(n)), "no child workflows: the batches fit");
  });

  it("on OpenStack with priced flavors: only compute, in the stack's currency; without prices sized for the deadline", () => {
    const flavors: OpenStackFlavor[] = [
      { name: "m1.xlarge", vcpus: 8, memoryGiB: 32, pricePerHour: 0.4 },
      { name: "m1.2xlarge", vcpus: 16, memoryGiB: 64, pricePerHour: 0.8 },
    ];
    const priced = plan(AHN3, { cloud: "openstack", currency: "credits", maxNodes: 40, objective: "cost", deadlineHours: 48 }, flavors);
    assert.ok(priced.feasible, priced.reason);
    assert.equal(priced.request.currency, "credits");
    assert.deepEqual([...new Set(priced.chosen!.lines.map((l) => l.key))], ["compute"]);
    assert.ok(Math.abs(priced.chosen!.totalCost! - priced.chosen!.nodeHours * priced.chosen!.candidate.machine.price!) < 1e-9);

    const unpriced = flavors.map(({ name, vcpus, memoryGiB }) => ({ name, vcpus, memoryGiB }));
    const sized = plan(AHN3, { cloud: "openstack", maxNodes: 40, deadlineHours: 48 }, unpriced);
    assert.ok(sized.feasible && sized.chosen!.totalCost === undefined && sized.chosen!.makespanHours <= 48);
    assert.ok(sized.notes.some((n) => /budget cannot be checked/.test(n)));
    const vcpus = (e: Estimate) => e.candidate.nodes * e.candidate.machine.vcpus;
    assert.ok(sized.candidates.filter((e) => e.makespanHours <= 48).every((e) => vcpus(e) >= vcpus(sized.chosen!)), "the smallest cluster that meets the deadline");
    assert.throws(() => plan(AHN3, { cloud: "openstack", budget: 100 }, unpriced), (e: Error) => e instanceof PlanInputError && /naaw:openstackFlavors/.test(e.message));
  });
});

describe("plan: request errors and the JSON shape", () => {
  it("rejects an unknown region or instance type in one line naming what exists", () => {
    assert.throws(() => plan("1e9points", { region: "mars-1" }), (e: Error) => e instanceof PlanInputError && /unknown region 'mars-1'.*eu-west-1/.test(e.message) && !e.message.includes("\n"));
    assert.throws(() => plan("1e9points", { instanceTypes: ["x9.huge"] }), (e: Error) => e instanceof PlanInputError && /unknown instance type 'x9.huge' in eu-west-1/.test(e.message));
  });

  it("leaves out arm64 machines unless the images are multi-arch, and says why", () => {
    const x86 = plan("1e9points", { instanceTypes: undefined, architectures: undefined });
    assert.ok(x86.candidates.length > 0 && x86.candidates.every((e) => e.candidate.machine.arch === "x86_64"));
    assert.ok(x86.notes.some((n) => /arm64 .* left out/.test(n)));
    const both = plan("1e9points", { instanceTypes: undefined });
    assert.ok(both.candidates.some((e) => e.candidate.machine.arch === "arm64"));
    assert.throws(() => plan("1e9points", { instanceTypes: ["c7g.4xlarge"], architectures: undefined }), (e: Error) => e instanceof PlanInputError && /c7g.4xlarge is arm64, but the images are built for x86_64; set naaw:architectures/.test(e.message));
  });

  it("gives the issue's JSON keys, with a cost breakdown that adds up", () => {
    const json = planJson(plan("1e9points", { budget: 20 })) as Record<string, any>;
    for (const key of ["cloud", "region", "instanceType", "spot", "nodes", "parallelism", "tileSize", "makespanHours", "cost", "alternatives", "calibration", "prices"]) assert.ok(key in json, `no ${key}`);
    for (const key of ["total", "compute", "controlPlane", "nat", "storage", "requests", "egress"]) assert.equal(typeof json.cost[key], "number", `cost.${key}`);
    assert.equal(json.prices.date, aws.provenance.date);
    const sum = json.breakdown.filter((l: any) => l.period === "run").reduce((n: number, l: any) => n + l.cost, 0);
    assert.ok(Math.abs(sum - json.cost.total) < 0.01);
    assert.ok(json.alternatives.length > 1 && json.alternatives.some((a: any) => a.instanceType === json.instanceType && a.nodes === json.nodes));
  });
});
