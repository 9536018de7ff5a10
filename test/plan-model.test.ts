// The planner's properties (issue 9), over grids of requests priced with the committed calibration
// (measured by `naaw plan --calibrate`) and the shipped AWS catalog.
import { strict as assert } from "assert";
import * as path from "path";
import { readCalibration } from "../src/plan/calibration";
import { ceilCents } from "../src/plan/choose";
import { CostLine, Estimate } from "../src/plan/model";
import { Plan, planJson, planRun } from "../src/plan/plan";
import { loadAwsPrices } from "../src/plan/prices/catalog";
import { OpenStackFlavor, PlanInputError } from "../src/plan/request";
import { buildRequest, PlanSettings } from "../src/plan/settings";
import { parseStatedVolume } from "../src/plan/volume";

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
  it("adds up: waves over slots, Argo's pod rate as a floor, memory-bound slots, spot overhead as configured", () => {
    for (const data of VOLUMES) {
      for (const overhead of [0, 0.05, 0.3]) {
        const p = plan(data, { assumptions: { spotInterruptionOverhead: overhead, argoPodsPerSecond: 2 } });
        for (const e of p.candidates) {
          const t = e.timeline;
          assert.ok(Math.abs(e.makespanHours - (t.clusterCreate + t.nodeStart + t.split + t.tiles + t.merge) / 3600) < 1e-9);
          assert.equal(e.waves, Math.ceil(e.tileCounts.tiles / e.parallelism));
          assert.equal(e.parallelism, e.slotsPerNode * e.candidate.nodes);
          const tileSteps = calibration.steps.filter((s) => s.phase === "tile").length;
          const factor = e.candidate.spot ? 1 + overhead : 1;
          assert.ok(t.tiles >= ((e.tileCounts.tiles * tileSteps) / 2) * factor - 1e-6, "no faster than Argo creates pods");
          const m = e.candidate.machine;
          assert.ok(e.slotsPerNode <= m.vcpus - 0.25 && e.slotsPerNode * e.podMemoryGiB <= m.memoryGiB * 0.95 - 1 + 1e-9, `${m.name}: ${e.slotsPerNode} slots of ${e.podMemoryGiB} GiB`);
          assert.ok(e.nodeHours * 3600 >= e.candidate.nodes * (t.nodeStart + t.tiles) - 1e-6, "every node is billed from launch through the tiles");
        }
      }
    }
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
    assert.ok(internet.notes.some((n) => /child workflows/.test(n)), "a Workflow object cannot hold every tile");
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
