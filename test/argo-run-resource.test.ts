// The run of a WorkflowTemplate as `pulumi up` makes it (components/ArgoWorkflow.ts's dynamic
// resource): the serialized provider in a plain Node host, as the engine runs it, against a fake
// Kubernetes API on 127.0.0.1. A run that succeeds gives its name and phase; one that fails fails the
// update with the step, the tile and the component's message; an unchanged `up` starts nothing.
import { strict as assert } from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { projectProvider } from "../components/projectProvider";
import { argoRunResource, ArgoRunInputs } from "../src/bus/argoRunResource";
import { FakeKubeApi, failed, pending, running, StatusStep, succeeded } from "./helpers/fakeKubeApi";
import { tempDir } from "./helpers/notebooks";

const HOST = path.join(__dirname, "fixtures", "provider", "host.js");
const IMPLEMENTATION = path.resolve(__dirname, "..", "src", "bus", "argoRunResource.ts");

/** One provider method in a child Node host, asynchronously (the fake API answers from this process). */
function callHostAsync(text: string, method: string, args: readonly unknown[], dir: string): Promise<{ status: number | null; result?: any; error?: string; stderr: string }> {
  const textFile = path.join(dir, "provider.js");
  const argsFile = path.join(dir, `${method}-${Date.now()}.json`);
  fs.writeFileSync(textFile, text);
  fs.writeFileSync(argsFile, JSON.stringify(args));
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [HOST, textFile, method, argsFile], { env, cwd: dir });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (status) => resolve({ status, result: status === 0 ? JSON.parse(stdout) : undefined, error: status === 3 ? stderr : undefined, stderr }));
  });
}

const TILE_FAILURE = { step: "features", tile: "3_7", phase: "Failed" as const, message: "main: Error (exit code 1): component 'features' failed at lidar.ipynb cell 6, line 12: ValueError: tile 3_7 has no ground points" };
const SPLIT_DONE = { step: "split", phase: "Succeeded" as const };

describe("ArgoWorkflow's run resource: submit and watch from the dynamic-provider host", function () {
  this.timeout(120_000);
  let scratch: ReturnType<typeof tempDir>;
  let text: string;
  const apis: FakeKubeApi[] = [];

  async function start(progression: readonly StatusStep[]): Promise<FakeKubeApi> {
    const api = await FakeKubeApi.start({ namespace: "naaw", progression });
    apis.push(api);
    return api;
  }

  const inputs = (api: FakeKubeApi, overrides: Partial<ArgoRunInputs> = {}): ArgoRunInputs => ({
    kubeconfig: api.kubeconfig(),
    namespace: "naaw",
    templateName: "lidar",
    parameters: { input: "ahn3/laz", out: "ahn3/rasters", tile_size: "2000" },
    identity: "3f2a9c1d0b7e4a56",
    wait: true,
    pollIntervalMs: 20,
    ...overrides,
  });

  before(async () => {
    scratch = tempDir("naaw-argo-run-");
    // As @pulumi/pulumi/dynamic serializes a dynamic resource's provider object.
    const provider = projectProvider(IMPLEMENTATION, "argoRunResource");
    text = (await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true })).text;
  });
  afterEach(async () => {
    for (const api of apis.splice(0)) await api.stop();
  });
  after(() => scratch.cleanup());

  it("GIVEN a run that succeeds WHEN created in the host THEN the Workflow is made from the template with the params and identity, and its name and phase come back", async () => {
    const api = await start([pending(), running([SPLIT_DONE]), succeeded([SPLIT_DONE])]);
    const answer = await callHostAsync(text, "create", [inputs(api)], scratch.dir);
    assert.equal(answer.status, 0, answer.stderr);
    const { id, outs } = answer.result;
    assert.match(id, /^lidar-[0-9a-z]{5}$/);
    assert.equal(outs.workflowName, id);
    assert.equal(outs.phase, "Succeeded");
    const created = api.object(id)! as any;
    assert.deepEqual(created.spec.workflowTemplateRef, { name: "lidar" });
    assert.deepEqual(
      Object.fromEntries((created.spec.arguments.parameters as { name: string; value: string }[]).map((p) => [p.name, p.value])),
      { input: "ahn3/laz", out: "ahn3/rasters", tile_size: "2000" },
    );
    assert.equal(created.metadata.labels["naaw.dev/run-identity"], "3f2a9c1d0b7e4a56");
    assert.match(answer.stderr, /naaw: workflow lidar-\w+ Succeeded/, "progress reaches pulumi up's diagnostics");
    assert.ok(!answer.stderr.includes(api.token), "no token in the progress lines");
  });

  it("GIVEN a tile whose component fails WHEN created THEN the update fails with the step, the tile and the component's message, not a time-out", async () => {
    const api = await start([pending(), running([SPLIT_DONE]), running([SPLIT_DONE, TILE_FAILURE]), failed([SPLIT_DONE, TILE_FAILURE])]);
    const answer = await callHostAsync(text, "create", [inputs(api)], scratch.dir);
    assert.equal(answer.status, 3, answer.stderr);
    assert.match(answer.error!, /step features, tile 3_7: .*component 'features' failed at lidar\.ipynb cell 6, line 12: ValueError: tile 3_7 has no ground points/);
    assert.ok(!answer.error!.includes(api.token));
    assert.ok(!/\n\s+at /.test(answer.error!), "no stack trace");
    assert.ok(api.count("GET", "get") <= 4, `the failure was reported at the poll that saw it (${api.count("GET", "get")} gets)`);
  });

  it("GIVEN a run of the same identity on the cluster WHEN created again THEN nothing new is submitted", async () => {
    const api = await start([succeeded([SPLIT_DONE])]);
    const first = await argoRunResource.create(inputs(api));
    const second = await argoRunResource.create(inputs(api));
    assert.equal(second.id, first.id);
    assert.equal(api.count("POST"), 1, "one Workflow for one identity");
  });

  it("GIVEN wait false WHEN created THEN it returns once the Workflow exists", async () => {
    const api = await start([pending(), running([]), succeeded([])]);
    const { outs } = await argoRunResource.create(inputs(api, { wait: false }));
    assert.equal(outs.phase, "Pending");
    assert.equal(api.count("POST"), 1);
  });

  it("diffs by identity: the same template and params change nothing, another identity replaces the run", async () => {
    const api = await start([succeeded([])]);
    const old = { ...inputs(api), workflowName: "lidar-abcde", phase: "Succeeded" };
    assert.deepEqual(await argoRunResource.diff("lidar-abcde", old, inputs(api, { kubeconfig: "rotated", wait: false })), { changes: false, replaces: [], deleteBeforeReplace: false });
    assert.deepEqual(await argoRunResource.diff("lidar-abcde", old, inputs(api, { identity: "9999999999999999" })), { changes: true, replaces: ["identity"], deleteBeforeReplace: false });
  });
});
