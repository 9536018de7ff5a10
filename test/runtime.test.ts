import { strict as assert } from "assert";
import { spawnSync, SpawnSyncReturns } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { pythonEnv, pythonExecutable } from "../src/python/interpreter";
import { Service, startService, stopService } from "./helpers/runtimeService";

// The component runtime (runtime/python/naaw_runtime) driven the way images and the local runner drive it:
// `python3 -m naaw_runtime serve` over HTTP and `python3 -m naaw_runtime run` as a batch step.

const FIXTURES = path.join(__dirname, "fixtures", "components");
const SCALE = path.join(FIXTURES, "scale");
const UNWRITABLE = path.join(FIXTURES, "unwritable");
const INPLACE = path.join(FIXTURES, "inplace");
const PYTHON = pythonExecutable();
const ENV = pythonEnv();

/** Parsed JSON as the tests inspect it. */
type Json = any;

function python(code: string, ...args: string[]): string {
  const result = spawnSync(PYTHON, ["-c", code, ...args], { encoding: "utf8", env: ENV, timeout: 20_000 });
  assert.equal(result.status, 0, `python3 failed: ${result.stderr}`);
  return result.stdout;
}

function saveNpy(file: string, numpyExpression: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  python(`import sys, numpy as np; np.save(sys.argv[1], ${numpyExpression})`, file);
}

/** An .npy file read back by numpy itself: its dtype and values. */
function loadNpy(file: string): { dtype: string; values: Json } {
  const out = python(
    "import sys, json, numpy as np; a = np.load(sys.argv[1], allow_pickle=False); " +
      "print(json.dumps({'dtype': str(a.dtype), 'values': a.tolist()}))",
    file,
  );
  return JSON.parse(out);
}

function readJson(file: string): Json {
  return JSON.parse(fs.readFileSync(file, "utf8"));
}

function makeTempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

async function request(url: string, init?: RequestInit): Promise<{ status: number; body: Json }> {
  const response = await fetch(url, init);
  return { status: response.status, body: await response.json() };
}

function postRun(service: Service, body: unknown): Promise<{ status: number; body: Json }> {
  return request(`${service.url}/run`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

function runBatch(...args: string[]): SpawnSyncReturns<string> {
  return spawnSync(PYTHON, ["-m", "naaw_runtime", "run", ...args], { encoding: "utf8", env: ENV, timeout: 20_000 });
}

describe("naaw_runtime serve", function () {
  let root: string;
  let outside: string;
  let service: Service | undefined;

  before(async function () {
    root = makeTempDir("naaw-runtime-root-");
    outside = makeTempDir("naaw-runtime-outside-");
    saveNpy(path.join(root, "inputs", "values.npy"), "np.array([1.5, 2.0, -0.5, 4.0])");
    saveNpy(path.join(outside, "secret.npy"), "np.array([7.0])");
    fs.writeFileSync(path.join(root, "inputs", "values.json"), "[1, 2, 3]");
    fs.writeFileSync(path.join(root, "inputs", "corrupt.npy"), "this is not an npy file");
    fs.symlinkSync(path.join(outside, "secret.npy"), path.join(root, "inputs", "escape.npy"));
    service = await startService(SCALE, root);
  });

  after(async function () {
    await stopService(service);
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(outside, { recursive: true, force: true });
  });

  it("answers /healthz with the component name", async function () {
    const { status, body } = await request(`${service!.url}/healthz`);
    assert.equal(status, 200);
    assert.deepEqual(body, { status: "ok", component: "scale" });
  });

  it("serves the spec and an OpenAPI 3.0 document naming the real inputs and params", async function () {
    const { status, body } = await request(`${service!.url}/spec`);
    assert.equal(status, 200);
    assert.deepEqual(body.component, readJson(path.join(SCALE, "component.json")));
    const openapi = body.openapi;
    assert.match(openapi.openapi, /^3\.0\.\d+$/);
    assert.equal(openapi.servers[0].url, service!.url);
    const requestRef = openapi.paths["/run"].post.requestBody.content["application/json"].schema.$ref;
    assert.equal(requestRef, "#/components/schemas/RunRequest");
    const runRequest = openapi.components.schemas.RunRequest;
    assert.deepEqual(Object.keys(runRequest.properties.inputs.properties), ["values"]);
    assert.deepEqual(runRequest.properties.inputs.required, ["values"]);
    assert.equal(runRequest.properties.inputs.properties.values.pattern, "\\.npy$");
    assert.deepEqual(runRequest.properties.params.properties.factor.type, "number");
    assert.equal(runRequest.properties.params.properties.factor.default, 2.0);
    const outputs = openapi.components.schemas.RunResponse.properties.outputs.properties;
    assert.deepEqual(Object.keys(outputs).sort(), ["scaled", "total"]);
    assert.deepEqual(Object.keys(openapi.paths).sort(), ["/healthz", "/run", "/spec"]);
  });

  it("runs on a real .npy and writes outputs whose contents are right, with no temporary files left", async function () {
    const { status, body } = await postRun(service!, {
      inputs: { values: "inputs/values.npy" },
      params: { factor: 3 },
      outputs: "out/first",
    });
    assert.equal(status, 200, JSON.stringify(body));
    assert.deepEqual(body.outputs, {
      scaled: { path: path.join("out", "first", "scaled.npy"), type: "ndarray" },
      total: { path: path.join("out", "first", "total.json"), type: "float" },
    });
    assert.equal(typeof body.seconds, "number");
    assert.deepEqual(loadNpy(path.join(root, body.outputs.scaled.path)), {
      dtype: "float64",
      values: [4.5, 6.0, -1.5, 12.0],
    });
    assert.equal(readJson(path.join(root, body.outputs.total.path)), 21);
    assert.deepEqual(fs.readdirSync(path.join(root, "out", "first")).sort(), ["scaled.npy", "total.json"]);
  });

  it("takes params from their defaults and writes to a fresh directory under .naaw/runs by default", async function () {
    const { status, body } = await postRun(service!, { inputs: { values: "inputs/values.npy" } });
    assert.equal(status, 200, JSON.stringify(body));
    const scaledPath: string = body.outputs.scaled.path;
    assert.match(scaledPath, /^\.naaw\/runs\/[^/]+\/scaled\.npy$/);
    assert.deepEqual(loadNpy(path.join(root, scaledPath)).values, [3.0, 4.0, -1.0, 8.0]);
    assert.equal(readJson(path.join(root, body.outputs.total.path)), 14);
    const second = await postRun(service!, { inputs: { values: "inputs/values.npy" } });
    assert.notEqual(path.dirname(second.body.outputs.scaled.path), path.dirname(scaledPath));
  });

  const badRequests: ReadonlyArray<{ what: string; body: unknown; error: RegExp }> = [
    {
      what: "an unknown input",
      body: { inputs: { values: "inputs/values.npy", heights: "inputs/values.npy" } },
      error: /unknown input 'heights'; component 'scale' takes inputs: values/,
    },
    { what: "a missing input", body: { inputs: {} }, error: /missing input 'values' \(ndarray\)/ },
    {
      what: "a .json where an ndarray is declared",
      body: { inputs: { values: "inputs/values.json" } },
      error: /input 'values' is declared ndarray, so it must be a \.npy file/,
    },
    {
      what: "a string for a float param",
      body: { inputs: { values: "inputs/values.npy" }, params: { factor: "two" } },
      error: /param 'factor' must be float, got str 'two'/,
    },
    {
      what: "a bool for a float param",
      body: { inputs: { values: "inputs/values.npy" }, params: { factor: true } },
      error: /param 'factor' must be float, got bool True/,
    },
    {
      what: "an unknown param",
      body: { inputs: { values: "inputs/values.npy" }, params: { scale: 2 } },
      error: /unknown param 'scale'; component 'scale' takes params: factor/,
    },
    {
      what: "a corrupt .npy",
      body: { inputs: { values: "inputs/corrupt.npy" } },
      error: /input 'values': cannot read inputs\/corrupt\.npy/,
    },
    {
      what: "a file that does not exist",
      body: { inputs: { values: "inputs/nothing.npy" } },
      error: /input 'values': inputs\/nothing\.npy does not exist/,
    },
    {
      what: "a relative path out of the data root",
      body: { inputs: { values: "../secret.npy" } },
      error: /input 'values': path '\.\.\/secret\.npy' is outside the data root/,
    },
    {
      what: "an absolute path out of the data root",
      body: { inputs: { values: "/etc/hostname.npy" } },
      error: /is outside the data root/,
    },
    {
      what: "a symlink out of the data root",
      body: { inputs: { values: "inputs/escape.npy" } },
      error: /path 'inputs\/escape\.npy' is outside the data root/,
    },
    {
      what: "an outputs directory out of the data root",
      body: { inputs: { values: "inputs/values.npy" }, outputs: "../elsewhere" },
      error: /'outputs': path '\.\.\/elsewhere' is outside the data root/,
    },
    { what: "a body that is not an object", body: "[1, 2]", error: /must be a JSON object/ },
    { what: "malformed JSON", body: '{"inputs": {"values": ', error: /malformed JSON in the request body/ },
    {
      what: "NaN, which is not JSON",
      body: '{"inputs": {"values": "inputs/values.npy"}, "params": {"factor": NaN}}',
      error: /malformed JSON.*NaN/,
    },
  ];
  for (const { what, body, error } of badRequests) {
    it(`answers 400 for ${what}`, async function () {
      const response = await postRun(service!, body);
      assert.equal(response.status, 400, JSON.stringify(response.body));
      assert.match(response.body.error, error);
    });
  }

  it("answers 413 for a body over 1 MiB", async function () {
    const padding = "x".repeat(1024 * 1024 + 512);
    const response = await postRun(service!, { inputs: { values: "inputs/values.npy" }, padding });
    assert.equal(response.status, 413);
    assert.match(response.body.error, /over the limit of 1048576 bytes \(1 MiB\)/);
  });

  it("answers 500 naming the notebook cell and line when the cell code raises, and keeps serving", async function () {
    const response = await postRun(service!, {
      inputs: { values: "inputs/values.npy" },
      params: { factor: 0 },
      outputs: "out/failed",
    });
    assert.equal(response.status, 500);
    assert.deepEqual(response.body, {
      error:
        "component 'scale' failed at notebooks/scale.ipynb cell 5, line 3: ZeroDivisionError: float division by zero",
      cell: 5,
      line: 3,
    });
    assert.deepEqual(fs.readdirSync(path.join(root, "out", "failed")), [], "a failed run writes no outputs");
    assert.equal((await request(`${service!.url}/healthz`)).status, 200);
  });

  it("answers 404 for an unknown path and 405 for a wrong method", async function () {
    const missing = await request(`${service!.url}/nope`);
    assert.equal(missing.status, 404);
    assert.match(missing.body.error, /no such path \/nope/);
    const response = await fetch(`${service!.url}/run`);
    assert.equal(response.status, 405);
    assert.equal(response.headers.get("allow"), "POST");
    assert.match(((await response.json()) as Json).error, /GET is not allowed on \/run; use POST/);
  });
});

describe("naaw_runtime outputs that cannot cross a step boundary", function () {
  let root: string;
  let service: Service | undefined;

  before(async function () {
    root = makeTempDir("naaw-runtime-unwritable-");
    service = await startService(UNWRITABLE, root);
  });

  after(async function () {
    await stopService(service);
    fs.rmSync(root, { recursive: true, force: true });
  });

  it("converts numpy scalars, including nested ones, to plain JSON", async function () {
    const { status, body } = await postRun(service!, { params: { mode: "list" }, outputs: "ok" });
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(fs.readFileSync(path.join(root, "ok", "count.json"), "utf8"), "3");
    assert.deepEqual(readJson(path.join(root, "ok", "labels.json")), ["a", "b", { weight: 0.5 }]);
  });

  const failures: ReadonlyArray<{ mode: string; error: string | RegExp }> = [
    { mode: "set", error: "component 'unwritable': output 'labels' is a set, which cannot be written as .npy or .json" },
    {
      mode: "function",
      error: "component 'unwritable': output 'labels' is a function, which cannot be written as .npy or .json",
    },
    { mode: "object_array", error: /^component 'unwritable': output 'labels' is an ndarray of dtype object/ },
    { mode: "nan", error: /^component 'unwritable': output 'labels' contains nan at labels\[1\], which JSON cannot/ },
    {
      mode: "wrong_type",
      error: "component 'unwritable': output 'count' is declared int, but the cell code produced str 'three'",
    },
    { mode: "undefined", error: "component 'unwritable' did not define output 'labels'" },
  ];
  for (const { mode, error } of failures) {
    it(`fails with 500 naming component, variable and type, writing nothing (mode ${mode})`, async function () {
      const outputs = `failed-${mode}`;
      const response = await postRun(service!, { params: { mode }, outputs });
      assert.equal(response.status, 500, JSON.stringify(response.body));
      if (typeof error === "string") assert.equal(response.body.error, error);
      else assert.match(response.body.error, error);
      assert.deepEqual(fs.readdirSync(path.join(root, outputs)), []);
    });
  }
});

describe("naaw_runtime run (batch)", function () {
  let work: string;
  let inputs: string;

  beforeEach(function () {
    work = makeTempDir("naaw-runtime-batch-");
    inputs = path.join(work, "inputs");
    saveNpy(path.join(inputs, "values.npy"), "np.arange(5, dtype=np.int32)");
  });

  afterEach(function () {
    fs.rmSync(work, { recursive: true, force: true });
  });

  it("exits 0 and writes correct outputs", function () {
    const outputs = path.join(work, "outputs");
    const result = runBatch("--component", SCALE, "--inputs", inputs, "--outputs", outputs, "--param", "factor=0.5");
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(fs.readdirSync(outputs).sort(), ["scaled.npy", "total.json"]);
    assert.deepEqual(loadNpy(path.join(outputs, "scaled.npy")), { dtype: "float64", values: [0, 0.5, 1, 1.5, 2] });
    assert.equal(readJson(path.join(outputs, "total.json")), 5);
  });

  it("replaces outputs through a temporary file and a rename, leaving no temporary files", function () {
    const outputs = path.join(work, "outputs");
    assert.equal(runBatch("--component", SCALE, "--inputs", inputs, "--outputs", outputs).status, 0);
    // A hard link keeps the old inode: a rename leaves it untouched, a write in place would change it.
    fs.linkSync(path.join(outputs, "total.json"), path.join(work, "previous-total.json"));
    const rerun = runBatch("--component", SCALE, "--inputs", inputs, "--outputs", outputs, "--param", "factor=3");
    assert.equal(rerun.status, 0, rerun.stderr);
    assert.equal(readJson(path.join(outputs, "total.json")), 30);
    assert.equal(readJson(path.join(work, "previous-total.json")), 20);
    assert.deepEqual(fs.readdirSync(outputs).sort(), ["scaled.npy", "total.json"]);
  });

  it("exits 2 with one line and no traceback on a missing input", function () {
    const empty = path.join(work, "empty");
    fs.mkdirSync(empty);
    const result = runBatch("--component", SCALE, "--inputs", empty, "--outputs", path.join(work, "out"));
    assert.equal(result.status, 2);
    const lines = result.stderr.trimEnd().split("\n");
    assert.equal(lines.length, 1, result.stderr);
    assert.match(lines[0], /^input 'values' \(ndarray\) not found: expected .*values\.npy$/);
    assert.equal(fs.existsSync(path.join(work, "out")), false, "bad input fails before anything is written");
  });

  const badParams: ReadonlyArray<{ param: string; error: RegExp }> = [
    { param: "factr=2", error: /^unknown param 'factr'; component 'scale' takes params: factor$/ },
    { param: "factor=two", error: /^--param factor: 'two' is not a JSON value/ },
    { param: 'factor="2"', error: /^param 'factor' must be float, got str '2'$/ },
    { param: "factor", error: /^--param 'factor' must look like NAME=VALUE$/ },
  ];
  for (const { param, error } of badParams) {
    it(`exits 2 with one line for --param ${param}`, function () {
      const result = runBatch("--component", SCALE, "--inputs", inputs, "--outputs", work, "--param", param);
      assert.equal(result.status, 2, result.stderr);
      assert.equal(result.stderr.trimEnd().split("\n").length, 1, result.stderr);
      assert.match(result.stderr.trimEnd(), error);
    });
  }

  it("takes a str param verbatim", function () {
    const outputs = path.join(work, "outputs");
    const result = runBatch("--component", UNWRITABLE, "--outputs", outputs, "--param", "mode=list");
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(readJson(path.join(outputs, "labels.json")), ["a", "b", { weight: 0.5 }]);
  });

  it("exits 1 naming the component, notebook, cell and line when the cell code raises", function () {
    const outputs = path.join(work, "outputs");
    const result = runBatch("--component", SCALE, "--inputs", inputs, "--outputs", outputs, "--param", "factor=0");
    assert.equal(result.status, 1);
    const [first, ...rest] = result.stderr.trimEnd().split("\n");
    assert.equal(
      first,
      "component 'scale' failed at notebooks/scale.ipynb cell 5, line 3: ZeroDivisionError: float division by zero",
    );
    const traceback = rest.join("\n");
    assert.match(traceback, /notebooks\/scale\.ipynb cell 5, line 3, in <module>\n\s+unscaled_mean = total \/ factor/);
    assert.doesNotMatch(traceback, /runpy|naaw_runtime/, "the runtime's own frames are left out");
    assert.deepEqual(fs.readdirSync(outputs), []);
  });

  it("exits 1 naming the component, variable and type of an unwritable output", function () {
    const result = runBatch("--component", UNWRITABLE, "--outputs", path.join(work, "o"), "--param", "mode=set");
    assert.equal(result.status, 1);
    assert.equal(
      result.stderr.trimEnd(),
      "component 'unwritable': output 'labels' is a set, which cannot be written as .npy or .json",
    );
  });

  it("refuses a malformed component.json with exit 2 naming the field", function () {
    const broken = path.join(work, "broken");
    fs.cpSync(SCALE, broken, { recursive: true });
    const spec = readJson(path.join(broken, "component.json"));
    spec.inputs[0].type = "array";
    fs.writeFileSync(path.join(broken, "component.json"), JSON.stringify(spec));
    const result = runBatch("--component", broken, "--inputs", inputs, "--outputs", path.join(work, "o"));
    assert.equal(result.status, 2);
    assert.match(result.stderr.trimEnd(), /^invalid component spec .*component\.json: inputs\[0\]\.type: 'array' is not one of/);
  });
});

describe("naaw_runtime serve lifecycle", function () {
  let root: string;
  let service: Service | undefined;

  beforeEach(function () {
    root = makeTempDir("naaw-runtime-lifecycle-");
  });

  afterEach(async function () {
    await stopService(service);
    service = undefined;
    fs.rmSync(root, { recursive: true, force: true });
  });

  it("shuts down cleanly with exit code 0 on SIGTERM", async function () {
    service = await startService(SCALE, root);
    assert.equal((await request(`${service.url}/healthz`)).status, 200);
    service.process.kill("SIGTERM");
    assert.equal(await service.exited, 0, service.stderr());
    assert.match(service.stderr(), /naaw_runtime: stopped serving scale/);
  });

  it("answers requests on one kept-alive connection, and stops on SIGTERM without waiting for it to close", async function () {
    service = await startService(SCALE, root);
    const agent = new http.Agent({ keepAlive: true });
    const get = (): Promise<{ status: number; reused: boolean }> =>
      new Promise((resolve, reject) => {
        const request = http.get(`${service!.url}/healthz`, { agent }, (response) => {
          response.resume();
          response.on("end", () => resolve({ status: response.statusCode ?? 0, reused: request.reusedSocket }));
        });
        request.on("error", reject);
      });
    assert.deepEqual(await get(), { status: 200, reused: false });
    assert.deepEqual(await get(), { status: 200, reused: true });
    // The connection stays open (idle) in the agent; the service must not wait out its 60 s idle limit.
    service.process.kill("SIGTERM");
    const outcome = await Promise.race([service.exited, new Promise((resolve) => setTimeout(() => resolve("still running"), 20_000))]);
    agent.destroy();
    assert.equal(outcome, 0, service.stderr());
  });

  it("closes a kept-alive connection after a request whose body it did not read, so the body is never taken for a request", async function () {
    service = await startService(SCALE, root);
    const { port } = new URL(service.url);
    const smuggled = "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n";
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(Number(port), "127.0.0.1", () => socket.end(`GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled}`));
      let text = "";
      socket.setEncoding("utf8").on("data", (chunk: string) => (text += chunk));
      socket.on("close", () => resolve(text)).on("error", reject);
    });
    assert.equal(answer.match(/^HTTP\/1\.1 /gm)?.length, 1, answer);
    assert.match(answer, /^HTTP\/1\.1 200 /);
    assert.match(answer, /^Connection: close\r$/m);
  });

  it("gives cells that write into a large (memory-mapped) input array their own copy: the input file never changes", async function () {
    const input = path.join(root, "values.npy");
    saveNpy(input, "np.arange(600_000, dtype=np.float64)"); // 4.8 MB: over the size from which inputs are mapped
    const digest = (): string => createHash("sha256").update(fs.readFileSync(input)).digest("hex");
    const before = digest();
    service = await startService(INPLACE, root);
    for (const run of ["first", "second"]) {
      const { status, body } = await postRun(service, { inputs: { values: "values.npy" }, params: { factor: 3 }, outputs: run });
      assert.equal(status, 200, JSON.stringify(body));
      const check = python(
        "import sys, numpy as np; a = np.load(sys.argv[1]); print(bool((a == np.arange(600_000) * 3.0).all()))",
        path.join(root, body.outputs.scaled.path),
      );
      assert.equal(check.trim(), "True", `the ${run} run scaled an input that was not the original`);
    }
    assert.equal(digest(), before);
  });

  it("refuses a data root that is not a directory with exit 2", function () {
    const result = spawnSync(
      PYTHON,
      ["-m", "naaw_runtime", "serve", "--component", SCALE, "--port", "0", "--data-root", path.join(root, "nope")],
      { encoding: "utf8", env: ENV, timeout: 20_000 },
    );
    assert.equal(result.status, 2);
    assert.match(result.stderr.trimEnd(), /^--data-root .*nope is not a directory$/);
  });
});
