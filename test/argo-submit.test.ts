// Submit-and-watch of Argo Workflows (src/argo/) and `naaw submit`, against a fake Kubernetes API
// on 127.0.0.1 (test/helpers/fakeKubeApi.ts): success, a failed step reported with its step, tile
// and message at the poll that sees it, the API going away mid-run, an unchanged second submit
// that creates nothing, and no token in anything a user sees.
import { strict as assert } from "assert";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { gzipSync } from "zlib";
import { pythonEnv, pythonExecutable } from "../src/python/interpreter";
import {
  ApiUnreachableError,
  Clock,
  deleteRun,
  KubeApiError,
  RunFailedError,
  RunProgress,
  RunRequestError,
  runIdentity,
  submitAndWatch,
  workflowFromTemplate,
} from "../src/argo/run";
import { classifyError, makeRedactor } from "../src/argo/kubeClient";
import { formatFailedStep } from "../src/argo/outcome";
import { componentMessage, workflowState } from "../src/argo/status";
import { argoValidators } from "./helpers/argoSchema";
import { failed, FakeKubeApi, lidarNodes, pending, PodSpec, running, succeeded } from "./helpers/fakeKubeApi";

const ROOT = path.resolve(__dirname, "..");
const NAAW = path.join(ROOT, "bin", "naaw.js");

/** A clock whose sleeps return at once and move time on: polls and backoff cost no wall time. */
function fakeClock(): Clock & { elapsed(): number; sleeps: number[] } {
  let now = 1_000_000;
  const start = now;
  const sleeps: number[] = [];
  return {
    now: () => now,
    sleep: async (ms) => {
      sleeps.push(ms);
      now += ms;
    },
    elapsed: () => now - start,
    sleeps,
  };
}

const COMPONENT_ERROR = "component 'features' failed at lidar.ipynb cell 7, line 3: ValueError: cell_size must divide the tile";
const FAILED_FEATURES: PodSpec = { step: "features", tile: "tile_0_1", phase: "Failed", message: `main: Error (exit code 1): ${COMPONENT_ERROR}` };
const SPLIT_DONE: PodSpec = { step: "split", phase: "Succeeded" };

function lidarWorkflow(identity = "abc123"): Record<string, unknown> {
  return workflowFromTemplate("lidar", { tile_size: "500", crs: "EPSG:28992" }, identity);
}

describe("argo submit and watch", function () {
  const servers: FakeKubeApi[] = [];
  const start = async (options: Parameters<typeof FakeKubeApi.start>[0] = {}) => {
    const api = await FakeKubeApi.start(options);
    servers.push(api);
    return api;
  };
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.stop()));
  });

  describe("run identity and the Workflow from a template", () => {
    it("is the same for the same template and params, whatever the key order, and differs when either changes", () => {
      const template = { kind: "WorkflowTemplate", metadata: { name: "lidar" }, spec: { entrypoint: "main", templates: [{ name: "main", b: 1, a: 2 }] } };
      const reordered = { spec: { templates: [{ a: 2, name: "main", b: 1 }], entrypoint: "main" }, metadata: { name: "lidar" }, kind: "WorkflowTemplate" };
      const id = runIdentity(template, { tile_size: "500", crs: "EPSG:28992" });
      assert.match(id, /^[0-9a-f]{16}$/);
      assert.equal(runIdentity(reordered, { crs: "EPSG:28992", tile_size: "500" }), id);
      assert.notEqual(runIdentity(template, { tile_size: "250", crs: "EPSG:28992" }), id);
      const changedImage = structuredClone(template);
      (changedImage.spec.templates[0] as Record<string, unknown>).b = 3;
      assert.notEqual(runIdentity(changedImage, { tile_size: "500", crs: "EPSG:28992" }), id);
      assert.throws(() => runIdentity({ x: Number.NaN }, {}), /JSON cannot hold/);
    });

    it("refers to the template, passes the params in name order, carries the identity label and passes Argo's schema", () => {
      const workflow = workflowFromTemplate("lidar", { tile_size: "500", crs: "EPSG:28992" }, "0123456789abcdef");
      assert.deepEqual((workflow.spec as Record<string, unknown>).workflowTemplateRef, { name: "lidar" });
      assert.deepEqual(((workflow.spec as Record<string, unknown>).arguments as Record<string, unknown>).parameters, [
        { name: "crs", value: "EPSG:28992" },
        { name: "tile_size", value: "500" },
      ]);
      const metadata = workflow.metadata as { generateName: string; labels: Record<string, string> };
      assert.equal(metadata.generateName, "lidar-");
      assert.equal(metadata.labels["naaw.dev/run-identity"], "0123456789abcdef");
      assert.deepEqual(argoValidators().workflow(workflow), []);
      assert.throws(() => workflowFromTemplate("Lidar_Run", {}, "x1"), RunRequestError);
      assert.throws(() => workflowFromTemplate("lidar", {}, "not a label!"), /not a Kubernetes label value/);
    });
  });

  describe("reading Argo's status", () => {
    it("takes the component's message from Argo's node message, with or without a termination message", () => {
      assert.equal(componentMessage(`main: Error (exit code 1): ${COMPONENT_ERROR}`), COMPONENT_ERROR);
      assert.equal(componentMessage(`Error (exit code 2): input 'points' not found`), "input 'points' not found");
      assert.match(componentMessage("main: OOMKilled (exit code 137)"), /^OOMKilled \(exit code 137\); the container wrote no termination message/);
      assert.equal(componentMessage("pod deleted"), "pod deleted");
    });

    it("names the step and tile of a failed pod, counts an attempt Argo retries as retrying, and reads compressed nodes", () => {
      const name = "lidar-x1";
      const nodes = lidarNodes(name, [SPLIT_DONE, { step: "load", tile: "tile_0_0", phase: "Succeeded" }, FAILED_FEATURES]);
      const state = workflowState({ metadata: { name }, status: { phase: "Running", nodes } }, "argo");
      assert.deepEqual(
        state.failed.map(({ step, tile, message }) => ({ step, tile, message })),
        [{ step: "features", tile: "tile_0_1", message: COMPONENT_ERROR }],
      );
      assert.equal(state.podsDone, 3);

      // The same failed pod as the first attempt of a Retry node that is still running: not failed yet.
      const pod = Object.values(nodes).find((n) => n.type === "Pod" && n.phase === "Failed")!;
      const retryId = `${name}-retry`;
      const withRetry = { ...nodes, [retryId]: { id: retryId, name: "retry", type: "Retry", phase: "Running", boundaryID: pod.boundaryID, children: [pod.id] } };
      const retried = workflowState({ metadata: { name }, status: { phase: "Running", nodes: withRetry } }, "argo");
      assert.deepEqual(retried.failed, []);
      assert.deepEqual(retried.retrying.map((f) => f.step), ["features"]);

      const compressed = gzipSync(JSON.stringify(nodes)).toString("base64");
      const fromCompressed = workflowState({ metadata: { name }, status: { phase: "Failed", compressedNodes: compressed } }, "argo");
      assert.deepEqual(fromCompressed.failed, state.failed);
    });
  });

  describe("the component's message reaches Argo", () => {
    it("naaw_runtime run writes its one-line error to the termination log when the file is there, and creates none when it is not", () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "naaw-termlog-"));
      try {
        const inputs = path.join(dir, "inputs");
        fs.mkdirSync(inputs);
        const numpy = spawnSync(pythonExecutable(), ["-c", "import sys, numpy as np; np.save(sys.argv[1], np.array([1.0, 2.0]))", path.join(inputs, "values.npy")], { env: pythonEnv(), encoding: "utf8" });
        assert.equal(numpy.status, 0, numpy.stderr);
        const run = (log: string) =>
          spawnSync(pythonExecutable(), ["-m", "naaw_runtime", "run", "--component", path.join(__dirname, "fixtures", "components", "scale"), "--inputs", inputs, "--outputs", path.join(dir, "out"), "--param", "factor=0"], {
            env: { ...pythonEnv(), NAAW_TERMINATION_LOG: log },
            encoding: "utf8",
          });
        const log = path.join(dir, "termination-log");
        fs.writeFileSync(log, ""); // the kubelet creates it before the container starts
        const failedRun = run(log);
        assert.equal(failedRun.status, 1, failedRun.stderr);
        const message = "component 'scale' failed at notebooks/scale.ipynb cell 5, line 3: ZeroDivisionError: float division by zero";
        assert.equal(fs.readFileSync(log, "utf8"), message);
        // As Argo then words the node's message, and as the watch reads it back:
        assert.equal(componentMessage(`main: Error (exit code 1): ${fs.readFileSync(log, "utf8")}`), message);
        const absent = path.join(dir, "no-such-log");
        assert.equal(run(absent).status, 1);
        assert.equal(fs.existsSync(absent), false, "outside Kubernetes no file is created");
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe("submitAndWatch", () => {
    it("creates the Workflow with its identity label, reports each phase and returns the outcome when it succeeds", async () => {
      const api = await start({ progression: [pending(), running([{ step: "split", phase: "Running" }]), running([SPLIT_DONE]), succeeded([SPLIT_DONE])] });
      const progress: RunProgress[] = [];
      const clock = fakeClock();
      const outcome = await submitAndWatch({
        kubeconfig: api.kubeconfig(),
        namespace: "argo",
        workflow: lidarWorkflow(),
        identity: "abc123",
        wait: true,
        onProgress: (p) => progress.push(p),
        clock,
      });
      assert.equal(outcome.phase, "Succeeded");
      assert.equal(outcome.reused, false);
      assert.match(outcome.name, /^lidar-[0-9a-f]{5}$/);
      assert.deepEqual(outcome.failed, []);
      assert.equal(outcome.finishedAt, "2026-01-01T00:05:00Z");
      assert.equal(api.count("POST"), 1);
      assert.equal(api.gets(outcome.name), 4, "one get per scripted status, none after the end");
      const labels = (api.object(outcome.name)!.metadata as { labels: Record<string, string> }).labels;
      assert.equal(labels["naaw.dev/run-identity"], "abc123");
      assert.equal(labels["app.kubernetes.io/managed-by"], "naaw");
      assert.deepEqual(
        progress.filter((p) => p.phaseChanged).map((p) => p.phase),
        ["Pending", "Running", "Succeeded"],
      );
      assert.ok(api.requests.every((r) => r.authorized), "every request carried the kubeconfig's token");
      assert.deepEqual(clock.sleeps, [5000, 5000, 5000, 5000], "polls every 5 s by default");
    });

    it("reports a failed step with its step, tile and message at the poll that first sees it, while the workflow still runs", async () => {
      // Gets 1-3: Pending, Running, Running with split done; get 4: a tile's features pod failed.
      const api = await start({ progression: [pending(), running([]), running([SPLIT_DONE]), running([SPLIT_DONE, FAILED_FEATURES]), failed([SPLIT_DONE, FAILED_FEATURES])] });
      const clock = fakeClock();
      const failures: string[] = [];
      const error = await submitAndWatch({
        kubeconfig: api.kubeconfig(),
        namespace: "argo",
        workflow: lidarWorkflow(),
        identity: "abc123",
        wait: true,
        onProgress: (p) => failures.push(...p.newlyFailed.map((f) => `${f.step}/${f.tile}`)),
        clock,
      }).then(
        () => assert.fail("the run failed, submitAndWatch must reject"),
        (e: unknown) => e,
      );
      assert.ok(error instanceof RunFailedError, String(error));
      const name = error.outcome.name;
      assert.equal(api.gets(name), 4, "the watch ends at the first get that shows the failure");
      assert.ok(clock.elapsed() - 3 * 5000 <= 60_000, "the failure is reported within a minute of the get that showed it");
      assert.equal(error.outcome.phase, "Running");
      assert.deepEqual(error.outcome.failed.map(({ step, tile, message }) => ({ step, tile, message })), [{ step: "features", tile: "tile_0_1", message: COMPONENT_ERROR }]);
      assert.deepEqual(failures, ["features/tile_0_1"]);
      const lines = error.message.split("\n");
      assert.ok(lines.includes(`  step features, tile tile_0_1: ${COMPONENT_ERROR}`), error.message);
      assert.match(error.message, new RegExp(`argo -n argo logs ${name}`));
      assert.match(error.message, new RegExp(`kubectl -n argo logs -l workflows.argoproj.io/workflow=${name} -c main`));
      assert.match(error.message, new RegExp(`argo -n argo stop ${name}`), "it says the workflow still runs and how to stop it");
    });

    it("reports a run that ended Failed with the workflow's message and every failed step", async () => {
      const mergeFailed: PodSpec = { step: "merge", phase: "Failed", message: "main: Error (exit code 1): merge: no rasters under /tmp/naaw/inputs/rasters" };
      const api = await start({ progression: [pending(), failed([SPLIT_DONE, FAILED_FEATURES, mergeFailed], "child 'lidar-x' failed")] });
      const error = await submitAndWatch({ kubeconfig: api.kubeconfig(), namespace: "argo", workflow: lidarWorkflow(), identity: "abc123", wait: true, failFast: false, clock: fakeClock() }).catch((e: unknown) => e);
      assert.ok(error instanceof RunFailedError, String(error));
      assert.equal(error.outcome.phase, "Failed");
      assert.match(error.message, /ended Failed: child 'lidar-x' failed/);
      assert.match(error.message, /^ {2}step merge: merge: no rasters under \/tmp\/naaw\/inputs\/rasters$/m);
      assert.match(error.message, /^ {2}step features, tile tile_0_1: component 'features' failed/m);
    });

    it("ends the watch when a pod cannot start for stuckTimeoutMs (Argo would wait for ever), at once for an invalid image name", async () => {
      const pullBackOff: PodSpec = { step: "load", tile: "tile_0_0", phase: "Pending", message: 'ImagePullBackOff: Back-off pulling image "naaw/load:0b43d0"' };
      const api = await start({ progression: [pending(), running([SPLIT_DONE, pullBackOff])] });
      const stuck: string[] = [];
      const error = await submitAndWatch({
        kubeconfig: api.kubeconfig(),
        namespace: "argo",
        workflow: lidarWorkflow(),
        identity: "stuck1",
        wait: true,
        onProgress: (p) => stuck.push(...p.newlyStuck.map(formatFailedStep)),
        clock: fakeClock(),
      }).catch((e: unknown) => e);
      assert.ok(error instanceof RunFailedError, String(error));
      // First seen at get 2; 300 s at one get every 5 s later: get 62.
      assert.equal(api.gets(error.outcome.name), 62);
      assert.deepEqual(stuck, ['step load, tile tile_0_0: cannot start: ImagePullBackOff: Back-off pulling image "naaw/load:0b43d0"'], "reported once, when first seen");
      assert.match(error.message, /pods cannot start .* this watch gave them 300 s/);
      assert.match(error.message, /^ {2}step load, tile tile_0_0: cannot start: ImagePullBackOff/m);

      const invalid: PodSpec = { step: "load", tile: "tile_0_0", phase: "Pending", message: 'InvalidImageName: Failed to apply default image tag "naaw/Load:x"' };
      const api2 = await start({ progression: [pending(), running([SPLIT_DONE, invalid])] });
      const hopeless = await submitAndWatch({ kubeconfig: api2.kubeconfig(), namespace: "argo", workflow: lidarWorkflow(), identity: "stuck2", wait: true, clock: fakeClock() }).catch((e: unknown) => e);
      assert.ok(hopeless instanceof RunFailedError, String(hopeless));
      assert.equal(api2.gets(hopeless.outcome.name), 2, "an invalid image name ends the watch at the poll that shows it");
    });

    it("gives up with a clear error when the API goes away mid-run, after apiTimeoutMs of retries, without hanging", async () => {
      const api = await start({ progression: [pending(), running([SPLIT_DONE])], goAwayAfterGets: 2 });
      const clock = fakeClock();
      const problems: string[] = [];
      const error = await submitAndWatch({
        kubeconfig: api.kubeconfig(),
        namespace: "argo",
        workflow: lidarWorkflow(),
        identity: "abc123",
        wait: true,
        onProgress: (p) => p.apiProblem && problems.push(p.apiProblem),
        clock,
      }).catch((e: unknown) => e);
      assert.ok(error instanceof ApiUnreachableError, String(error));
      const name = api.names()[0];
      assert.ok(error.message.includes(api.url), error.message);
      assert.ok(error.message.includes(`workflow ${name}`), error.message);
      assert.ok(error.message.includes(`kubectl -n argo get workflow ${name}`), error.message);
      assert.ok(error.message.includes(`argo -n argo watch ${name}`), error.message);
      assert.match(error.message, /the run goes on on the cluster/);
      // Default apiTimeoutMs is 5 minutes: the backoff waited that long (in fake time) and not much more.
      const afterLastGoodPoll = clock.elapsed() - 2 * 5000 - 5000;
      assert.equal(afterLastGoodPoll, 300_000, "gave up after exactly apiTimeoutMs of failures (fake time)");
      assert.ok(problems.length >= 5 && problems.every((p) => /cannot reach the API server/.test(p)), problems.join("\n"));
      assert.ok(!error.message.includes(api.token));
    });

    it("gives up on a server that accepts requests and never answers, within apiTimeoutMs", async () => {
      const api = await start({ progression: [pending(), running([])], hangAfterGets: 1 });
      const error = await submitAndWatch({
        kubeconfig: api.kubeconfig(),
        namespace: "argo",
        workflow: lidarWorkflow(),
        identity: "abc123",
        wait: true,
        pollIntervalMs: 10,
        apiTimeoutMs: 400,
      }).catch((e: unknown) => e);
      assert.ok(error instanceof ApiUnreachableError, String(error));
      assert.match(error.message, /no answer from http:\/\/127\.0\.0\.1:\d+ within 0\.4 s/);
      assert.match(error.message, /kubectl -n argo get workflow lidar-/);
    });

    it("creates nothing on a second submit with the same identity and returns the first run's outcome", async () => {
      const api = await start({ progression: [pending(), running([SPLIT_DONE]), succeeded([SPLIT_DONE])] });
      const request = { kubeconfig: api.kubeconfig(), namespace: "argo", workflow: lidarWorkflow("same1"), identity: "same1", wait: true, clock: fakeClock() };
      const first = await submitAndWatch(request);
      const getsAfterFirst = api.gets(first.name);
      const second = await submitAndWatch({ ...request, clock: fakeClock() });
      assert.equal(api.count("POST"), 1, "the second submit created no Workflow");
      assert.equal(second.name, first.name);
      assert.equal(second.phase, "Succeeded");
      assert.equal(second.reused, true);
      assert.equal(api.gets(first.name), getsAfterFirst, "a finished run is not polled again");
      const list = api.requests.filter((r) => r.method === "GET" && r.query.labelSelector !== undefined).map((r) => r.query.labelSelector);
      assert.deepEqual(list, ["naaw.dev/run-identity=same1", "naaw.dev/run-identity=same1"]);

      const changed = await submitAndWatch({ ...request, identity: "other2", workflow: lidarWorkflow("other2"), clock: fakeClock() });
      assert.equal(api.count("POST"), 2, "a new identity starts a new run");
      assert.notEqual(changed.name, first.name);
    });

    it("reports an earlier failed run with the same identity as failed, saying how to run it again, without creating one", async () => {
      const api = await start();
      const seeded = api.seed(lidarWorkflow("fail1"), [failed([SPLIT_DONE, FAILED_FEATURES])]);
      const error = await submitAndWatch({ kubeconfig: api.kubeconfig(), namespace: "argo", workflow: lidarWorkflow("fail1"), identity: "fail1", wait: true, clock: fakeClock() }).catch((e: unknown) => e);
      assert.ok(error instanceof RunFailedError, String(error));
      assert.equal(api.count("POST"), 0);
      assert.equal(error.outcome.name, seeded);
      assert.equal(error.outcome.reused, true);
      assert.match(error.message, new RegExp(`delete it: \`kubectl -n argo delete workflow ${seeded}\``));
      assert.match(error.message, /step features, tile tile_0_1: component 'features' failed/);
    });

    it("returns right after creating with wait: false, and a run can be deleted (404 is fine)", async () => {
      const api = await start();
      const outcome = await submitAndWatch({ kubeconfig: api.kubeconfig(), namespace: "argo", workflow: lidarWorkflow(), identity: "nowait", wait: false, clock: fakeClock() });
      assert.equal(outcome.phase, "Pending");
      assert.equal(api.gets(outcome.name), 0);
      await deleteRun({ kubeconfig: api.kubeconfig(), namespace: "argo" }, outcome.name);
      assert.deepEqual(api.names(), []);
      await deleteRun({ kubeconfig: api.kubeconfig(), namespace: "argo" }, outcome.name);
    });

    it("says what to do about refused credentials, a missing namespace and a missing context, and never shows the token", async () => {
      const api = await start();
      const wrongToken = api.kubeconfig().replace(api.token, "wrong-token-0123456789");
      const messages: string[] = [];
      const denied = await submitAndWatch({ kubeconfig: wrongToken, namespace: "argo", workflow: lidarWorkflow(), identity: "a1", wait: true, clock: fakeClock() }).catch((e: unknown) => e);
      assert.ok(denied instanceof KubeApiError && denied.status === 401, String(denied));
      assert.match(denied.message, /did not accept the credentials of context 'fake'/);
      messages.push(denied.message);
      const noNamespace = await submitAndWatch({ kubeconfig: api.kubeconfig(), namespace: "elsewhere", workflow: lidarWorkflow(), identity: "a1", wait: true, clock: fakeClock() }).catch((e: unknown) => e);
      assert.ok(noNamespace instanceof KubeApiError, String(noNamespace));
      assert.match(noNamespace.message, /namespace 'elsewhere' does not exist .* or Argo Workflows is not installed there/);
      messages.push(noNamespace.message);
      const noContext = await submitAndWatch({ kubeconfig: api.kubeconfig(), context: "prod", namespace: "argo", workflow: lidarWorkflow(), identity: "a1", wait: true }).catch((e: unknown) => e);
      assert.ok(noContext instanceof RunRequestError, String(noContext));
      assert.match(noContext.message, /has no context 'prod'; it has 'fake'/);
      messages.push(noContext.message);
      const badYaml = await submitAndWatch({ kubeconfig: `users:\n  - name: x\n    user: {token: ${api.token}\n`, namespace: "argo", workflow: lidarWorkflow(), identity: "a1", wait: true }).catch((e: unknown) => e);
      assert.ok(badYaml instanceof RunRequestError, String(badYaml));
      messages.push(badYaml.message);
      for (const m of messages) assert.ok(!m.includes(api.token) && !m.includes("wrong-token-0123456789"), m);
    });

    it("retries what may pass (no connection, 5xx, 429) and not what cannot (an untrusted certificate, 403)", () => {
      const where = { server: "https://k8s.example:6443", context: "prod", namespace: "argo", requestTimeoutMs: 30_000 };
      const classify = (error: unknown) => classifyError(error, "get workflow w", where, (s) => s);
      assert.equal(classify(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED", type: "system" })).transient, true);
      assert.equal(classify(Object.assign(new Error("aborted"), { name: "AbortError" })).transient, true);
      const tls = classify(Object.assign(new Error("self-signed certificate"), { code: "DEPTH_ZERO_SELF_SIGNED_CERT", type: "system" }));
      assert.equal(tls.transient, false);
      assert.match(tls.message, /TLS connection to https:\/\/k8s\.example:6443 failed \(DEPTH_ZERO_SELF_SIGNED_CERT\); check the cluster's certificate-authority-data/);
      const status = (code: number) => classify(Object.assign(new Error("x"), { code, body: JSON.stringify({ kind: "Status", message: `status ${code}` }) }));
      assert.equal(status(503).transient, true);
      assert.equal(status(429).transient, true);
      assert.equal(status(403).transient, false);
      assert.match(status(403).message, /forbidden \(403\): status 403; the user of context 'prod' needs create, get, list and delete on workflows\.argoproj\.io in namespace 'argo'/);
    });

    it("redacts tokens that reach a message by other paths", () => {
      const redact = makeRedactor(["s3cr3t-token-value"]);
      assert.equal(redact("exec said: s3cr3t-token-value"), "exec said: [redacted]");
      assert.equal(redact("Authorization: Bearer abc.def.ghi"), "Authorization: Bearer [redacted]");
      assert.equal(redact("token k8s-aws-v1.aHR0cHM6Ly9zdHMu"), "token [redacted]");
    });
  });

  describe("npx naaw submit", function () {
    this.timeout(120_000);
    let dir: string;
    before(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "naaw-submit-"));
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    function naaw(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
      return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [NAAW, ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, KUBECONFIG: path.join(dir, "absent"), ...env } });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
        child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
        child.on("error", reject);
        child.on("close", (code) => resolve({ code, stdout, stderr }));
      });
    }

    async function kubeconfigFile(api: FakeKubeApi): Promise<string> {
      const file = path.join(dir, `kubeconfig-${api.url.split(":").pop()}.yaml`);
      fs.writeFileSync(file, api.kubeconfig());
      return file;
    }

    it("renders workflows/lidar.yaml, submits it and exits 0 when the run succeeds", async () => {
      const api = await start({ progression: [pending(), running([SPLIT_DONE]), succeeded([SPLIT_DONE])] });
      const result = await naaw(["submit", "workflows/lidar.yaml", "--kubeconfig", await kubeconfigFile(api), "--namespace", "argo", "--set", "tile_size=250", "--service-account", "naaw-workflow", "--poll-interval", "0.01"]);
      assert.equal(result.code, 0, result.stderr);
      const [name] = api.names();
      assert.match(result.stderr, new RegExp(`submitted ${name} to namespace argo`));
      assert.match(result.stderr, new RegExp(`^${name}: Pending$`, "m"));
      assert.match(result.stderr, new RegExp(`^${name}: Running`, "m"));
      assert.match(result.stdout, new RegExp(`^${name}: Succeeded in 4 min 55 s; results under key 'out'`, "m"));
      const created = api.object(name)!;
      const parameters = ((created.spec as Record<string, unknown>).arguments as { parameters: { name: string; value: string }[] }).parameters;
      assert.equal(parameters.find((p) => p.name === "tile_size")?.value, "250");
      assert.equal(((created.metadata as Record<string, unknown>).labels as Record<string, string>)["naaw.dev/workflow"], "lidar");
      assert.equal((created.spec as Record<string, unknown>).serviceAccountName, "naaw-workflow");
      assert.ok(!result.stderr.includes(api.token) && !result.stdout.includes(api.token));

      const again = await naaw(["submit", "workflows/lidar.yaml", "--kubeconfig", await kubeconfigFile(api), "--namespace", "argo", "--set", "tile_size=250", "--service-account", "naaw-workflow", "--poll-interval", "0.01"]);
      assert.equal(again.code, 0, again.stderr);
      assert.equal(api.count("POST"), 1, "the same workflow and params again: reattached, not resubmitted");
      assert.match(again.stderr, /is an earlier run of the same workflow and params/);
    });

    it("exits 1 with the failed step's name, tile and message when the run fails", async () => {
      const api = await start({ progression: [pending(), running([SPLIT_DONE]), running([SPLIT_DONE, FAILED_FEATURES])] });
      const result = await naaw(["submit", "workflows/lidar.yaml", "--kubeconfig", await kubeconfigFile(api), "-n", "argo", "--poll-interval", "0.01"]);
      assert.equal(result.code, 1, result.stderr);
      assert.ok(result.stderr.includes(`step features, tile tile_0_1: ${COMPONENT_ERROR}`), result.stderr);
      assert.match(result.stderr, /logs: `argo -n argo logs lidar-/);
      assert.ok(!result.stderr.includes(api.token));
    });

    it("--stack reads the stack's kubeconfig and workflow namespace outputs through the pulumi CLI, and says what to do without it", async () => {
      const api = await start({ progression: [pending(), succeeded([SPLIT_DONE])] });
      // A stand-in for the Pulumi CLI that answers only the exact command naaw must run.
      const bin = path.join(dir, "fake-pulumi-bin");
      fs.mkdirSync(bin, { recursive: true });
      const outputs = path.join(dir, "outputs.json");
      fs.writeFileSync(outputs, JSON.stringify({ kubeconfig: api.kubeconfig(), workflowNamespace: "argo", artifactBucket: "b" }));
      fs.writeFileSync(path.join(bin, "pulumi"), `#!/bin/sh\n[ "$*" = "stack output --json --show-secrets --stack kind" ] || { echo "unexpected: $*" >&2; exit 9; }\ncat '${outputs}'\n`, { mode: 0o755 });
      const result = await naaw(["submit", "workflows/lidar.yaml", "--stack", "kind", "--poll-interval", "0.01"], { PATH: `${bin}${path.delimiter}${process.env.PATH}` });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /submitted lidar-[0-9a-f]{5} to namespace argo/);
      assert.equal(api.count("POST"), 1);

      const empty = path.join(dir, "empty-bin");
      fs.mkdirSync(empty, { recursive: true });
      const noPulumi = await naaw(["submit", "workflows/lidar.yaml", "--stack", "kind"], { PATH: empty });
      assert.equal(noPulumi.code, 2, noPulumi.stderr);
      assert.match(noPulumi.stderr, /Pulumi CLI, which is not on PATH.*pulumi stack output kubeconfig --show-secrets --stack kind > kubeconfig\.yaml/);
    });

    it("exits 2 on bad input (an unknown param, a missing kubeconfig, a missing context) and 3 when the cluster cannot be reached", async () => {
      const api = await start();
      const file = await kubeconfigFile(api);
      const unknownParam = await naaw(["submit", "workflows/lidar.yaml", "--kubeconfig", file, "--set", "tiles=3"]);
      assert.equal(unknownParam.code, 2, unknownParam.stderr);
      assert.match(unknownParam.stderr, /has no param 'tiles'/);
      const noKubeconfig = await naaw(["submit", "workflows/lidar.yaml"]);
      assert.equal(noKubeconfig.code, 2, noKubeconfig.stderr);
      assert.match(noKubeconfig.stderr, /no kubeconfig: KUBECONFIG names .* none of which exists; give --kubeconfig FILE/);
      const noContext = await naaw(["submit", "workflows/lidar.yaml", "--kubeconfig", file, "--context", "prod"]);
      assert.equal(noContext.code, 2, noContext.stderr);
      assert.match(noContext.stderr, /no context 'prod'/);
      assert.equal(api.count("POST"), 0);
      await api.stop();
      const unreachable = await naaw(["submit", "workflows/lidar.yaml", "--kubeconfig", file, "-n", "argo", "--api-timeout", "0.3"]);
      assert.equal(unreachable.code, 3, unreachable.stderr);
      assert.match(unreachable.stderr, /could not reach the Kubernetes API at http:\/\/127\.0\.0\.1:\d+/);
    });
  });
});
