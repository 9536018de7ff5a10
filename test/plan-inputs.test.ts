// What the planner reads: the price catalog, the data volume (stated or from LAS headers), the
// calibration's staleness and a stack's `naaw:` keys.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { splitPointClouds } from "../src/lidar/split";
import { pythonEnv, pythonExecutable } from "../src/python/interpreter";
import { Calibration, componentHashes, readCalibration, staleComponents } from "../src/plan/calibration";
import { INSTANCE_COLUMNS, loadAwsPrices, parseInstanceCatalog, parseRegionalPrices, PriceCatalogError } from "../src/plan/prices/catalog";
import { PlanInputError } from "../src/plan/request";
import { renderStackPlan } from "../src/plan/planWorkflow";
import { readStackSettings, settingsFromConfig } from "../src/plan/settings";
import { DataVolumeError, parseStatedVolume, resolveDataVolume, tileCountsFor, volumeFromHeaders } from "../src/plan/volume";
import { demoGraph, ROOT } from "./helpers/demo";

const HEADER = INSTANCE_COLUMNS.join(",");
const PROVENANCE = "# Compiled: 2026-12-01\n# Source: test\n";

describe("plan: the price catalog", () => {
  it("ships dated prices for eu-west-1, eu-central-1 and us-east-1, every family in four sizes", () => {
    const prices = loadAwsPrices();
    assert.match(prices.provenance.date, /^\d{4}-\d{2}-\d{2}$/);
    assert.match(prices.provenance.source, /AWS/);
    for (const region of ["eu-west-1", "eu-central-1", "us-east-1"]) {
      assert.ok(prices.regional.has(region), region);
      for (const family of ["c6i", "c7i", "c7g", "c8g", "m7i", "r7i"]) {
        for (const size of ["xlarge", "2xlarge", "4xlarge", "8xlarge"]) {
          const offer = prices.offers.find((o) => o.region === region && o.instanceType === `${family}.${size}`);
          assert.ok(offer && offer.spotPrice < offer.price, `${family}.${size} in ${region}`);
        }
      }
    }
    const c7i = prices.offers.find((o) => o.region === "eu-west-1" && o.instanceType === "c7i.4xlarge")!;
    // SkyPilot's catalog at the commit the file names: on demand, and the median zone's spot price.
    assert.deepEqual([c7i.vcpus, c7i.memoryGiB, c7i.price, c7i.spotPrice, c7i.availabilityZone], [16, 32, 0.76608, 0.3481, "euw1-az1"]);
    const ireland = prices.regional.get("eu-west-1")!;
    assert.deepEqual(
      [ireland.controlPlaneStandardPerHour, ireland.controlPlaneExtendedPerHour, ireland.natGatewayPerHour, ireland.natGatewayPerGB, ireland.s3StoragePerGBMonth, ireland.s3PutPer1000, ireland.s3GetPer1000],
      [0.1, 0.6, 0.048, 0.048, 0.023, 0.005, 0.0004],
    );
  });

  it("names the file and line of every malformed row", () => {
    const bad = (text: string, pattern: RegExp) => assert.throws(() => parseInstanceCatalog(text, "x.csv"), (e: Error) => e instanceof PriceCatalogError && pattern.test(e.message));
    bad(`${PROVENANCE}InstanceType,vCPUs\n`, /^x\.csv:3: expected the header/);
    bad(`${PROVENANCE}${HEADER}\nc7i.xlarge,4,8,0.19,0.08,eu-west-1,eu-west-1a\n`, /^x\.csv:4: expected 8 columns/);
    bad(`${PROVENANCE}${HEADER}\nc7i.xlarge,4,8,cheap,0.08,eu-west-1,eu-west-1a,x86_64\n`, /^x\.csv:4: Price must be a positive number, found 'cheap'/);
    bad(`${PROVENANCE}${HEADER}\nc7i.xlarge,4,8,0.19,0.3,eu-west-1,eu-west-1a,x86_64\n`, /^x\.csv:4: the spot price 0.3 is above/);
    bad(`${PROVENANCE}${HEADER}\nc7i.xlarge,4,8,0.19,0.08,eu-west-1,eu-west-1a,x86_64\nc7i.xlarge,4,8,0.19,0.08,eu-west-1,eu-west-1b,x86_64\n`, /^x\.csv:5: c7i.xlarge in eu-west-1 is listed twice/);
    assert.throws(() => parseRegionalPrices(`${PROVENANCE}Region,Item,Unit,Price\neu-west-1,nat-gateway,GB,0.048\n`, "r.csv"), /^Error: r\.csv:4: 'nat-gateway' is priced per hour, found 'GB'|r\.csv:4: 'nat-gateway' is priced per hour/);
    assert.throws(() => parseRegionalPrices(`${PROVENANCE}Region,Item,Unit,Price\neu-west-1,nat-gateway,hour,0.048\n`, "r.csv"), /r\.csv: region eu-west-1 has no price for eks-control-plane-standard/);
  });
});

describe("plan: the data volume", () => {
  it("reads sizes and point counts, decimal and binary, and rejects anything else in one line", () => {
    assert.equal(parseStatedVolume("700e9points").points, 700e9);
    assert.equal(parseStatedVolume("16TB").bytes, 16e12);
    assert.ok(Math.abs(parseStatedVolume("16TB").points - 700e9) < 1, "16 TB is AHN3's 700 billion points at its bytes per point");
    assert.equal(parseStatedVolume("1.4TiB").bytes, 1.4 * 2 ** 40);
    assert.equal(parseStatedVolume("500GB", { bytesPerPoint: 10 }).points, 50e9);
    for (const bad of ["12XB", "5 parsecs", "-3TB", "0points", "TB"]) {
      assert.throws(() => resolveDataVolume(bad), (e: Error) => e instanceof DataVolumeError && !e.message.includes("\n") && e.message.includes(bad), bad);
    }
  });

  it("states tile counts from the density: more area, more tiles; bigger tiles, fewer", () => {
    let previous = 0;
    for (const points of [1e6, 1e8, 1e10, 700e9]) {
      const counts = tileCountsFor(parseStatedVolume(`${points}points`), 500);
      assert.ok(counts.tiles >= previous);
      assert.ok(counts.maxPoints <= 10 * 500 * 500 + 1e-6);
      previous = counts.tiles;
    }
    const ahn3 = parseStatedVolume("700e9points");
    assert.equal(tileCountsFor(ahn3, 500).tiles, 280_000);
    assert.equal(tileCountsFor(ahn3, 2000).tiles, 17_500);
  });

  describe("from LAS headers", function () {
    this.timeout(120_000);
    let dir = "";
    before(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "naaw-plan-volume-"));
      const made = spawnSync(pythonExecutable(), [path.join(ROOT, "scripts", "synthetic_forest.py"), "--las-dir", dir, "--tiles", "3", "2", "--size", "200", "--density", "2"], { encoding: "utf8", env: pythonEnv(), timeout: 90_000 });
      assert.equal(made.status, 0, made.stderr);
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("counts points and bytes from the headers, and the same tiles the split makes, for several tile sizes", async () => {
      const volume = volumeFromHeaders(dir);
      assert.equal(volume.files, 6);
      assert.equal(volume.bytes, fs.readdirSync(dir).reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0));
      for (const tileSize of [100, 150, 250, 500, 2000]) {
        const out = fs.mkdtempSync(path.join(dir, "split-"));
        const split = await splitPointClouds({ input: dir, outDir: out, tileSize, cellSize: 10 });
        assert.equal(volume.points, split.pointCount);
        const counts = tileCountsFor(volume, tileSize);
        assert.equal(counts.tiles, split.tiles.length, `${tileSize} m tiles`);
        const fullest = Math.max(...split.tiles.map((t) => t.pointCount));
        assert.ok(Math.abs(counts.maxPoints - fullest) / fullest < 0.25, `${tileSize} m: fullest tile ${counts.maxPoints} estimated, ${fullest} split`);
        fs.rmSync(out, { recursive: true, force: true });
      }
      assert.equal(resolveDataVolume(path.join(dir, "*.las")).points, volume.points, "a glob");
    });
  });
});

describe("plan: the committed review rendering of a stack's plan", () => {
  it("renderStackPlan gives the same text and JSON every time, as npm run render would commit them", () => {
    const graph = demoGraph();
    const previous = process.cwd();
    process.chdir(ROOT);
    try {
      const first = renderStackPlan("aws-lidar", graph, "workflows/lidar.yaml");
      const second = renderStackPlan("aws-lidar", graph, "workflows/lidar.yaml");
      assert.equal(first.text, second.text);
      assert.equal(first.json, second.json);
      assert.match(first.text, /^Chosen: /m);
      assert.match(first.text, /^Total per run +[\d.]+$/m);
      const json = JSON.parse(first.json);
      assert.equal(json.data.points, 700e9);
      assert.equal(json.request.objective, "cost");
      // What the batched rendering will hold for this plan: one tile batch per pod at once, 7 + S + 9·K nodes.
      const b = json.batches;
      assert.equal(b.splitBatches, Math.ceil(json.data.files / 10));
      assert.equal(b.tileBatches, Math.min(json.parallelism, 250, json.tiles));
      assert.equal(b.workflowNodes, 7 + b.splitBatches + 9 * b.tileBatches);
      assert.equal(b.childWorkflows, 0);
      assert.ok(json.podMemoryGiB > 0 && json.podCpu > 1, "a tile batch pod asks for all its containers at once");
    } finally {
      process.chdir(previous);
    }
  });
});

describe("plan: calibration and stack config", () => {
  it("the committed calibration was measured by naaw plan --calibrate on the demo data", () => {
    const calibration = readCalibration(path.join(ROOT, "workflows", "lidar.calibration.json"));
    assert.match(calibration.command, /^npx naaw plan .*--calibrate/);
    assert.ok(calibration.machine.cpuModel && calibration.machine.cores >= 1 && /^v\d+/.test(calibration.machine.node) && /^3\./.test(calibration.machine.python));
    for (const step of calibration.steps.filter((s) => !s.uses.startsWith("builtin/"))) {
      assert.ok(step.cpuSecondsPerMillionPoints > 0 && step.peakMemoryMiB > 0 && step.runs === calibration.sample.tiles, step.step);
    }
    assert.deepEqual(calibration.steps.map((s) => s.phase), ["split", "tile", "tile", "tile", "tile", "tile", "tile", "merge"]);
  });

  it("a changed component hash makes the calibration stale, naming the component", () => {
    const graph = demoGraph();
    const calibration = readCalibration(path.join(ROOT, "workflows", "lidar.calibration.json"));
    const fresh: Calibration = { ...calibration, components: componentHashes(graph) };
    assert.deepEqual(staleComponents(fresh, graph), []);
    const changed: Calibration = { ...fresh, components: { ...fresh.components, "lidar/features": "0".repeat(64) } };
    assert.deepEqual(staleComponents(changed, graph), ["lidar/features"]);
  });

  it("reads naaw: keys of a stack, Pulumi's strings too, and names the key of a bad value", () => {
    const settings = settingsFromConfig({ budget: "25", deadlineHours: 12, spot: "false", region: "eu-central-1", dataVolume: "16TB", openstackFlavors: [{ name: "m1.large", vcpus: 4, memoryGiB: 16 }] }, "stacks/Pulumi.x.yaml");
    assert.deepEqual([settings.budget, settings.deadlineHours, settings.spot, settings.region, settings.data], [25, 12, false, "eu-central-1", "16TB"]);
    assert.equal(settings.openstackFlavors![0]!.pricePerHour, undefined);
    assert.throws(() => settingsFromConfig({ budget: "-5" }, "stacks/Pulumi.x.yaml"), (e: Error) => e instanceof PlanInputError && /stacks\/Pulumi\.x\.yaml naaw:budget must be a positive number, got '-5'/.test(e.message));
    assert.throws(() => settingsFromConfig({ openstackFlavors: [{ name: "m1", vcpus: 2.5, memoryGiB: 4 }] }, "s"), /naaw:openstackFlavors\[0\]\.vcpus must be a whole number/);
    const dev = readStackSettings("dev", path.join(ROOT, "stacks"));
    assert.ok(dev.budget !== undefined && dev.data !== undefined, "the dev stack states a budget and its data");
    const ahn3 = readStackSettings("aws-lidar", path.join(ROOT, "stacks"));
    assert.equal(ahn3.data, "700e9points");
    assert.throws(() => readStackSettings("nope", path.join(ROOT, "stacks")), /no stack 'nope'.*the stacks are .*dev/);
  });
});
