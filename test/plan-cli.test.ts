// `npx naaw plan` as a user runs it: a real process, its stdout, stderr and exit code.
import { strict as assert } from "assert";
import { spawnSync, SpawnSyncReturns } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { tileCountsFor, volumeFromHeaders } from "../src/plan/volume";
import { pythonEnv, pythonExecutable } from "../src/python/interpreter";
import { ROOT } from "./helpers/demo";

const CLI = path.join(ROOT, "bin", "naaw.js");

function naaw(args: readonly string[]): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [CLI, "plan", ...args], { cwd: ROOT, encoding: "utf8", timeout: 170_000 });
}

/** A failure as users should see it: the exit code, one line on stderr, no stack trace. */
function assertOneLine(result: SpawnSyncReturns<string>, status: number, pattern: RegExp): string {
  assert.equal(result.status, status, `expected exit ${status}; stderr: ${result.stderr}`);
  assert.doesNotMatch(result.stderr, / {4}at /, "no stack trace");
  const lines = result.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `one line on stderr, got:\n${result.stderr}`);
  assert.match(lines[0]!, pattern);
  return lines[0]!;
}

describe("naaw plan (CLI)", function () {
  this.timeout(180_000);

  it("prints the plan as JSON with the issue's keys", () => {
    const result = naaw(["--data", "1e9points", "--budget", "20", "--json"]);
    assert.equal(result.status, 0, result.stderr);
    const json = JSON.parse(result.stdout);
    for (const key of ["cloud", "region", "instanceType", "spot", "nodes", "parallelism", "tileSize", "makespanHours", "cost", "alternatives", "calibration", "prices"]) assert.ok(key in json, key);
    assert.deepEqual([json.cloud, json.region, json.feasible], ["aws", "eu-west-1", true]);
    assert.ok(json.cost.total <= 20 && json.cost.compute > 0 && json.cost.controlPlane > 0 && json.cost.nat > 0);
    assert.equal(json.data.points, 1e9);
  });

  it("bad values are one line each and exit 2", () => {
    assertOneLine(naaw(["--budget", "-5"]), 2, /^naaw: --budget must be a positive number, got '-5'$/);
    assertOneLine(naaw(["--data", "12XB"]), 2, /^naaw: --data 12XB: unknown unit 'XB'/);
    assertOneLine(naaw(["--data", "1e9points", "--region", "mars-1"]), 2, /^naaw: unknown region 'mars-1'; the price catalog has eu-central-1, eu-west-1, us-east-1$/);
    assertOneLine(naaw(["--data", "1e9points", "--instance-types", "x9.huge"]), 2, /^naaw: unknown instance type 'x9.huge' in eu-west-1/);
    assertOneLine(naaw(["--data", "1e9points", "--objective", "fastest"]), 2, /^naaw: --objective must be time or cost/);
  });

  it("an infeasible budget exits 1 with the minimum in one line, and that minimum plans", () => {
    const line = assertOneLine(naaw(["--data", "1e10points", "--budget", "0.5", "--deadline", "24"]), 1, /^naaw: no plan within 0\.50 USD finishes within 24 h: the cheapest costs [\d.]+ USD \(--budget [\d.]+\)$/);
    const minimum = /--budget ([\d.]+)\)/.exec(line)![1]!;
    const again = naaw(["--data", "1e10points", "--budget", minimum, "--deadline", "24", "--json"]);
    assert.equal(again.status, 0, again.stderr);
    assert.ok(JSON.parse(again.stdout).cost.total <= Number(minimum));
  });

  it("prices the AHN3 stacks: AWS within budget and deadline; OpenStack sized for the deadline, a budget refused", () => {
    const aws = naaw(["--stack", "aws-lidar"]);
    assert.equal(aws.status, 0, aws.stderr);
    assert.match(aws.stdout, /700\.00 G points/);
    assert.match(aws.stdout, /^Chosen: \d+ × \S+ \((spot|on demand)\), \d+ m tiles/m);
    assert.match(aws.stdout, /^INSTANCE +vCPUs +Mem\(GiB\) +SPOT +NODES +TILE\(m\) +HOURS +COST\(USD\) +CHOSEN$/m);
    for (const name of ["Workflow nodes", "System nodes", "EKS control plane", "NAT gateway", "NAT data", "S3 storage during the run", "S3 PUT", "S3 GET", "EBS gp3", "Data transfer out", "Total per run", "Total per month of storage"]) assert.ok(aws.stdout.includes(name), name);
    // The batched run: pods of tile batches, their count, and a Workflow object that holds them.
    assert.match(aws.stdout, /^Chosen: .*, tile batch pods of [\d.]+ GiB and [\d.]+ CPU, \d+ GiB of disk a node: /m);
    // Disk is a cluster setting: the nodes' root volume and the batch pods' ephemeral-storage request.
    assert.match(aws.stdout, /^cluster settings: .*Karpenter limits\.cpu \d+, EC2NodeClass root volume \d+Gi, tile batch pod ephemeral-storage \d+Gi$/m);
    assert.match(aws.stdout, /^time: .*split [\d.]+ (min|h) \(140 pods\), tiles [\d.]+ (min|h) \(\d+ batches of up to \d+ tiles\)/m);
    assert.match(aws.stdout, /^note: the batched run holds [\d,]+ nodes in one Workflow object \(at most 3,000\): 140 split pods of up to 10 input files, \d+ tile batch pods/m);
    assert.doesNotMatch(aws.stdout, /child workflows|etcd/i);

    const openstack = naaw(["--stack", "openstack-lidar", "--json"]);
    assert.equal(openstack.status, 0, openstack.stderr);
    const json = JSON.parse(openstack.stdout);
    assert.equal(json.cloud, "openstack");
    assert.equal(json.cost.total, null);
    assert.ok(json.makespanHours <= 48);
    assert.ok(json.notes.some((n: string) => /budget cannot be checked/.test(n)));
    assertOneLine(naaw(["--stack", "openstack-lidar", "--budget", "100"]), 2, /naaw:openstackFlavors/);
  });

  it("--calibrate runs the workflow here and writes the calibration beside it", function () {
    this.timeout(300_000);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "naaw-plan-calibrate-"));
    try {
      fs.mkdirSync(path.join(tmp, "workflows"));
      fs.copyFileSync(path.join(ROOT, "workflows", "lidar.yaml"), path.join(tmp, "workflows", "lidar.yaml"));
      const made = spawnSync(pythonExecutable(), [path.join(ROOT, "scripts", "synthetic_forest.py"), "--las-dir", path.join(tmp, "las"), "--tiles", "1", "1", "--size", "200", "--density", "4"], { encoding: "utf8", env: pythonEnv() });
      assert.equal(made.status, 0, made.stderr);
      const workflow = path.join(tmp, "workflows", "lidar.yaml");
      const result = naaw([workflow, "--notebooks", path.join(ROOT, "notebooks"), "--calibrate", path.join(tmp, "las"), "--tile-size", "100"]);
      assert.equal(result.status, 0, result.stderr);
      const calibration = JSON.parse(fs.readFileSync(path.join(tmp, "workflows", "lidar.calibration.json"), "utf8"));
      const volume = volumeFromHeaders(path.join(tmp, "las"));
      assert.equal(calibration.sample.points, volume.points);
      assert.equal(calibration.sample.tileSize, 100);
      assert.equal(calibration.sample.tiles, tileCountsFor(volume, 100).tiles);
      assert.match(calibration.command, /--calibrate .* --tile-size 100$/);
      assert.equal(calibration.steps.length, 8);
      for (const step of calibration.steps) assert.ok(step.peakMemoryMiB > 0, step.step);
      assert.ok(calibration.steps.filter((s: { phase: string }) => s.phase === "tile").some((s: { cpuSeconds: number }) => s.cpuSeconds > 0));
      assert.match(result.stdout, /normalize +tile/);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
