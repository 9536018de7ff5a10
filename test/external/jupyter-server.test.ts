// NaaW's Jupyter server extension (jupyter/server/naaw_jupyter) in Debian's real jupyter_server, on
// 127.0.0.1 with a token: only the authenticated session reaches /naaw/, every answer is what the
// naaw CLI says as JSON (diagnostics with cell or line), paths stay inside the server's root, and a
// local run started over HTTP ends with its report. Needs /usr/bin/python3 with jupyter_server
// (`apt-get install python3-jupyter-server`; CI installs it).
import { strict as assert } from "assert";
import { ChildProcess, spawn, spawnSync } from "child_process";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { notebookJson, tempDir } from "../helpers/notebooks";

const ROOT = path.resolve(__dirname, "..", "..");
const JUPYTER_PYTHON = "/usr/bin/python3";
const EXTENSION_DIR = path.join(ROOT, "jupyter", "server");
const NAAW_CLI = `${process.execPath} ${path.join(ROOT, "bin", "naaw.js")}`;

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

/** The project a scientist has: the demo notebook, its workflow, a broken workflow and a small LAS input. */
function writeProject(dir: string): void {
  fs.mkdirSync(path.join(dir, "notebooks"));
  fs.mkdirSync(path.join(dir, "workflows"));
  fs.copyFileSync(path.join(ROOT, "notebooks", "lidar.ipynb"), path.join(dir, "notebooks", "lidar.ipynb"));
  fs.copyFileSync(path.join(ROOT, "workflows", "lidar.yaml"), path.join(dir, "workflows", "lidar.yaml"));
  fs.copyFileSync(path.join(ROOT, "workflows", "lidar.calibration.json"), path.join(dir, "workflows", "lidar.calibration.json"));
  fs.mkdirSync(path.join(dir, "stacks"));
  fs.copyFileSync(path.join(ROOT, "stacks", "Pulumi.aws-lidar.yaml"), path.join(dir, "stacks", "Pulumi.aws-lidar.yaml"));
  fs.writeFileSync(path.join(dir, "workflows", "broken.yaml"), "name: broken\nsteps:\n  - id: a\n    uses: lidar/nope\n");
  fs.writeFileSync(path.join(dir, "workflows", "other.yaml"), "name: other\nsteps:\n  - id: a\n    uses: elsewhere/thing\n");
  fs.writeFileSync(
    path.join(dir, "notebooks", "untagged.ipynb"),
    notebookJson([{ source: "threshold = 3\n" }, { tags: ["component:pick"], source: "values = [1, 5]\nkept = [v for v in values if v > threshold]\n" }]),
  );
  const python = process.env.NAAW_PYTHON || "python3";
  const made = spawnSync(python, [path.join(ROOT, "scripts", "synthetic_forest.py"), "--las-dir", path.join(dir, "data"), "--tiles", "1", "1", "--size", "60", "--density", "4"], { encoding: "utf8" });
  assert.equal(made.status, 0, made.stderr);
}

describe("the Jupyter server extension: /naaw/ routes in a real jupyter_server", function () {
  this.timeout(180_000);
  let project: ReturnType<typeof tempDir>;
  let server: ChildProcess;
  let base: string;
  const token = randomBytes(16).toString("hex");
  let log = "";

  before(async function () {
    const check = spawnSync(JUPYTER_PYTHON, ["-c", "import jupyter_server"], { encoding: "utf8" });
    assert.equal(check.status, 0, `${JUPYTER_PYTHON} has no jupyter_server: apt-get install python3-jupyter-server\n${check.stderr}`);
    project = tempDir("naaw-jupyter-");
    writeProject(project.dir);
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    // Enabled as a user enables it: by the config file jupyter/server/config/jupyter_server_config.d/naaw_jupyter.json.
    const args = ["-m", "jupyter_server", "--ServerApp.ip=127.0.0.1",
      `--ServerApp.port=${port}`, "--ServerApp.port_retries=0", `--ServerApp.token=${token}`, "--ServerApp.open_browser=False",
      `--ServerApp.root_dir=${project.dir}`, ...(process.getuid?.() === 0 ? ["--allow-root"] : [])];
    server = spawn(JUPYTER_PYTHON, args, {
      cwd: project.dir,
      env: {
        ...process.env,
        PYTHONPATH: EXTENSION_DIR,
        NAAW_CLI,
        JUPYTER_CONFIG_DIR: path.join(project.dir, ".jupyter-config"),
        JUPYTER_CONFIG_PATH: path.join(EXTENSION_DIR, "config"),
        JUPYTER_RUNTIME_DIR: path.join(project.dir, ".jupyter-runtime"),
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    server.stdout!.on("data", (chunk) => (log += chunk));
    server.stderr!.on("data", (chunk) => (log += chunk));
    for (let attempt = 0; ; attempt++) {
      try {
        if ((await fetch(`${base}/api/status`, { headers: { Authorization: `token ${token}` } })).ok) break;
      } catch {
        // not listening yet
      }
      assert.ok(attempt < 200 && server.exitCode === null, `jupyter_server did not start:\n${log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  after(async function () {
    if (server && server.exitCode === null) {
      const exited = new Promise((r) => server.once("exit", r));
      server.kill("SIGTERM");
      await exited;
    }
    project?.cleanup();
  });

  const get = async (route: string, auth = true): Promise<{ status: number; body: Json }> => {
    const response = await fetch(`${base}/naaw/${route}`, auth ? { headers: { Authorization: `token ${token}` } } : {});
    const text = await response.text();
    return { status: response.status, body: response.headers.get("content-type")?.includes("json") ? JSON.parse(text) : { text } };
  };
  const post = async (route: string, body: unknown, auth = true): Promise<{ status: number; body: Json }> => {
    const headers: Record<string, string> = { "Content-Type": "application/json", ...(auth ? { Authorization: `token ${token}` } : {}) };
    const response = await fetch(`${base}/naaw/${route}`, { method: "POST", headers, body: JSON.stringify(body) });
    const text = await response.text();
    return { status: response.status, body: response.headers.get("content-type")?.includes("json") ? JSON.parse(text) : { text } };
  };

  it("GIVEN no token THEN every route answers 403, and nothing runs", async function () {
    assert.equal((await get("components?notebook=notebooks/lidar.ipynb", false)).status, 403);
    assert.equal((await get("workflows?notebook=notebooks/lidar.ipynb", false)).status, 403);
    assert.equal((await post("runs", { workflow: "workflows/lidar.yaml" }, false)).status, 403);
  });

  it("GIVEN the demo notebook THEN its six components with their inputs, exactly as `naaw components --json` says", async function () {
    const { status, body } = await get("components?notebook=notebooks/lidar.ipynb");
    assert.equal(status, 200);
    const direct = spawnSync(process.execPath, [path.join(ROOT, "bin", "naaw.js"), "components", "notebooks/lidar.ipynb", "--json"], { cwd: project.dir, encoding: "utf8" });
    assert.deepEqual(body, JSON.parse(direct.stdout));
    assert.deepEqual(body.components.map((c: Json) => c.name), ["load", "normalize", "filter", "neighbors", "features", "export"]);
    assert.deepEqual(body.components[1].inputs.map((i: Json) => i.name), ["points"]);
  });

  it("GIVEN a name defined only in an untagged cell THEN the diagnostic at that cell and line, as an answer, not an error page", async function () {
    const { status, body } = await get("components?notebook=notebooks/untagged.ipynb");
    assert.equal(status, 200);
    assert.deepEqual(body.components, []);
    assert.deepEqual(body.diagnostics.map((d: Json) => [d.severity, d.cell, d.line]), [["error", 1, 2]]);
    assert.match(body.diagnostics[0].message, /'threshold', which is defined only in cell 0 \(an untagged cell\)/);
  });

  it("GIVEN the notebook as the editor holds it (a tag not yet saved) THEN its components, named by the notebook's own path", async function () {
    const notebook = JSON.parse(fs.readFileSync(path.join(project.dir, "notebooks", "untagged.ipynb"), "utf8"));
    notebook.cells[0].metadata.tags = ["component:setup"];
    const { status, body } = await post("components", { notebook: "notebooks/untagged.ipynb", content: notebook });
    assert.equal(status, 200, JSON.stringify(body));
    assert.deepEqual(body.diagnostics, []);
    assert.deepEqual(body.components.map((c: Json) => [c.name, c.notebook, c.cells]), [["setup", "notebooks/untagged.ipynb", [0]], ["pick", "notebooks/untagged.ipynb", [1]]]);
    assert.deepEqual(body.components[1].inputs, [{ name: "threshold", type: "int" }]);
    const saved = JSON.parse(fs.readFileSync(path.join(project.dir, "notebooks", "untagged.ipynb"), "utf8"));
    assert.deepEqual(saved.cells[0].metadata, {}, "the notebook on disk is not touched");
  });

  it("GIVEN the project's stacks THEN they are listed, and a stack's plan is `naaw plan --stack --json`", async function () {
    assert.deepEqual((await get("stacks")).body, { stacks: ["aws-lidar"] });
    const { status, body } = await get("plan?stack=aws-lidar");
    assert.equal(status, 200);
    const direct = spawnSync(process.execPath, [path.join(ROOT, "bin", "naaw.js"), "plan", "--stack", "aws-lidar", "--json"], { cwd: project.dir, encoding: "utf8" });
    assert.deepEqual(body, JSON.parse(direct.stdout));
    assert.ok(body.breakdown.length > 3 && body.cost.total > 0);
    assert.equal((await get("plan?stack=../etc")).status, 400);
  });

  it("GIVEN a path outside the root, or no such file THEN 400 saying so, and the CLI is not run", async function () {
    const outside = await get("components?notebook=../x.ipynb");
    assert.equal(outside.status, 400);
    assert.match(outside.body.diagnostics[0].message, /outside the server's root directory/);
    const missing = await get("validate?workflow=workflows/none.yaml");
    assert.equal(missing.status, 400);
    assert.match(missing.body.diagnostics[0].message, /no such workflow: workflows\/none\.yaml/);
  });

  it("GIVEN the notebook THEN the workflows using it, validated: the demo valid, the broken one with its line; others left out", async function () {
    const { status, body } = await get("workflows?notebook=notebooks/lidar.ipynb");
    assert.equal(status, 200);
    assert.deepEqual(body.workflows.map((w: Json) => [w.workflow, w.valid]), [["workflows/broken.yaml", false], ["workflows/lidar.yaml", true]]);
    const broken = body.workflows[0];
    assert.deepEqual(broken.diagnostics.map((d: Json) => [d.file, d.line]), [["workflows/broken.yaml", 4]]);
    const mermaid = await get("render?workflow=workflows/lidar.yaml");
    assert.match(mermaid.body.mermaid, /```mermaid\n[\s\S]*normalize/);
  });

  it("GIVEN a run started over HTTP THEN it ends done, with its progress lines and the report's path", async function () {
    const started = await post("runs", { workflow: "workflows/lidar.yaml", params: { input: "data", out: "panel-out", cell_size: 10 } });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    let run = started.body;
    for (let i = 0; run.state === "running"; i++) {
      assert.ok(i < 1200, `the run did not end: ${JSON.stringify(run)}`);
      await new Promise((r) => setTimeout(r, 100));
      run = (await get(`runs/${started.body.id}`)).body;
    }
    assert.equal(run.state, "done", run.lines.join("\n"));
    assert.equal(run.report, "panel-out/report.html");
    assert.ok(fs.statSync(path.join(project.dir, "panel-out", "report.html")).size > 1000);
    assert.ok(run.lines.some((l: string) => /^tiles /.test(l) || /steps: \d+ run/.test(l)), run.lines.join("\n"));
    assert.equal((await get("runs/0123456789abcdef")).status, 404);
  });

  // Last: it stops the server.
  it("GIVEN a run still going WHEN the server stops THEN the run stops too", async function () {
    const marker = `stopped-${randomBytes(4).toString("hex")}`;
    const started = await post("runs", { workflow: "workflows/lidar.yaml", params: { input: "data", out: marker } });
    assert.equal(started.status, 202);
    const running = () => spawnSync("pgrep", ["-f", `out=${marker}`], { encoding: "utf8" }).stdout.trim();
    assert.notEqual(running(), "", "the run is going");
    const exited = new Promise((r) => server.once("exit", r));
    server.kill("SIGTERM");
    await exited;
    for (let i = 0; running() && i < 200; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(running(), "", "no naaw run left");
    assert.equal(fs.existsSync(path.join(project.dir, marker, "report.html")), false, "stopped before it finished, not left to finish");
  });
});
