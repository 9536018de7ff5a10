// The REST service against what an adversarial caller sends (issue 8, "The REST service"): params that
// name paths outside --data-root, a body nested too deeply for Python's JSON decoder, and a --host that
// other machines can reach. Every service here is the real `python3 -m naaw_runtime serve` (or
// `naaw serve`) on 127.0.0.1, driven over HTTP and stopped after; nothing is ever sent off 127.0.0.1.
import { strict as assert } from "assert";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { pythonEnv, pythonExecutable } from "../src/python/interpreter";
import { filesUnder, tempDir, writeNotebook } from "./helpers/notebooks";
import { Service, startService, stopService } from "./helpers/runtimeService";

const ROOT = path.resolve(__dirname, "..");
const NAAW = path.join(ROOT, "bin", "naaw.js");
const GENERATOR = path.join(ROOT, "scripts", "synthetic_forest.py");
const PYTHON = pythonExecutable();
const ENV = pythonEnv();

/** Parsed JSON as the tests inspect it. */
type Json = any;

async function postRun(service: Service, body: unknown): Promise<{ status: number; body: Json }> {
  const response = await fetch(`${service.url}/run`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

/** One component's build context, as `naaw build` writes it, under `out`; returns its directory. */
function build(component: string, out: string, notebook?: string): string {
  const args = [NAAW, "build", component, "--out", out, ...(notebook ? ["--notebook", notebook] : [])];
  const result = spawnSync(process.execPath, args, { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
  assert.equal(result.status, 0, result.stderr);
  return path.join(out, component);
}

/** A synthetic forest tile (.npy + .json sidecar) of `size` metres; returns its point count. */
function makeTile(file: string, size: number): number {
  const made = spawnSync(PYTHON, [GENERATOR, "--out", file, "--size", String(size), "--density", "5"], { encoding: "utf8", env: ENV, timeout: 30_000 });
  assert.equal(made.status, 0, made.stderr);
  return (JSON.parse(fs.readFileSync(file.replace(/\.npy$/, ".json"), "utf8")) as { point_count: number }).point_count;
}

describe("the REST service, hardened", function () {
  this.timeout(120_000);
  let scratch: { dir: string; cleanup: () => void };
  let root: string; // --data-root
  let outside: string; // beside the data root: the service's working directory, holding a decoy tile
  let rootPoints: number;
  let outsidePoints: number;
  let load: Service | undefined;

  before(async function () {
    scratch = tempDir("naaw-hardening-service-");
    root = path.join(scratch.dir, "root");
    outside = path.join(scratch.dir, "outside");
    fs.mkdirSync(root);
    fs.mkdirSync(outside);
    // Two valid tiles of different sizes: were a param let out of the root, the run would succeed on the
    // outside one, and the point count would say which tile was read.
    rootPoints = makeTile(path.join(root, "tile.npy"), 20);
    outsidePoints = makeTile(path.join(outside, "tile.npy"), 30);
    assert.notEqual(rootPoints, outsidePoints);
    fs.symlinkSync(path.join(outside, "tile.npy"), path.join(root, "link.npy"));
    const loadDir = build("load", path.join(scratch.dir, "contexts"));
    load = await startService(loadDir, root, { cwd: outside });
  });

  after(async function () {
    await stopService(load);
    scratch.cleanup();
  });

  describe("path-valued params stay inside --data-root", function () {
    const escapes: readonly { what: string; tile: () => string; shown: RegExp }[] = [
      { what: "an absolute path elsewhere", tile: () => path.join(outside, "tile.npy"), shown: /path '\/.*\/outside\/tile\.npy'/ },
      { what: "a `..` escape", tile: () => "../outside/tile.npy", shown: /path '\.\.\/outside\/tile\.npy'/ },
      { what: "a `..` escape behind a name", tile: () => "sub/../../outside/tile.npy", shown: /path 'sub\/\.\.\/\.\.\/outside\/tile\.npy'/ },
      { what: "a symlink pointing out", tile: () => "link.npy", shown: /path 'link\.npy'/ },
    ];
    for (const { what, tile, shown } of escapes) {
      it(`refuses load's tile as ${what} with 400 naming the param, before the cells run or anything is written`, async function () {
        const outputs = `out/${what.replace(/\W+/g, "-")}`;
        const { status, body } = await postRun(load!, { params: { tile: tile() }, outputs });
        assert.equal(status, 400, JSON.stringify(body));
        assert.match(body.error, /^param 'tile': /);
        assert.match(body.error, shown);
        assert.match(body.error, /is outside the data root/);
        assert.deepEqual(filesUnder(path.join(root, "out")), [], "no outputs written");
        assert.deepEqual(filesUnder(path.join(root, ".naaw")), [], "no fresh run directory");
        assert.doesNotMatch(load!.stderr(), /points, bounds/, "the load cell never printed: it did not run");
      });
    }

    it("runs load on a tile inside the root, read relative to the root even from another working directory", async function () {
      const { status, body } = await postRun(load!, { params: { tile: "tile.npy" }, outputs: "out/inside" });
      assert.equal(status, 200, JSON.stringify(body));
      const count = JSON.parse(fs.readFileSync(path.join(root, body.outputs.point_count.path), "utf8")) as number;
      assert.equal(count, rootPoints, `the root's tile (${rootPoints} points), not the working directory's (${outsidePoints})`);
    });

    it("reads a relative param from the root even when the service was started in a directory inside it", async function () {
      const sub = path.join(root, "sub");
      fs.mkdirSync(sub, { recursive: true });
      // A decoy where the cells would look if they kept the working directory they were started in.
      fs.copyFileSync(path.join(outside, "tile.npy"), path.join(sub, "tile.npy"));
      fs.copyFileSync(path.join(outside, "tile.json"), path.join(sub, "tile.json"));
      const fromSub = await startService(path.join(scratch.dir, "contexts", "load"), root, { cwd: sub });
      try {
        const count = async (tile: string, outputs: string): Promise<number> => {
          const { status, body } = await postRun(fromSub, { params: { tile }, outputs });
          assert.equal(status, 200, JSON.stringify(body));
          return JSON.parse(fs.readFileSync(path.join(root, body.outputs.point_count.path), "utf8")) as number;
        };
        assert.equal(await count("tile.npy", "out/sub-root"), rootPoints, "the root's tile.npy, as an input path would be");
        assert.equal(await count("sub/tile.npy", "out/sub-sub"), outsidePoints);
        const refused = await postRun(fromSub, { params: { tile: "../outside/tile.npy" }, outputs: "out/sub-refused" });
        assert.equal(refused.status, 400, JSON.stringify(refused.body));
        assert.match(refused.body.error, /^param 'tile': path '\.\.\/outside\/tile\.npy' is outside the data root/);
      } finally {
        await stopService(fromSub);
      }
    });

    it("with --workdir DIR inside the root, reads relative params and writes outputs from DIR, still held to the root", async function () {
      // How naaw run starts its services: the cells run where the user ran naaw, the root spans the cache too.
      const work = path.join(root, "work");
      fs.mkdirSync(work, { recursive: true });
      fs.copyFileSync(path.join(outside, "tile.npy"), path.join(work, "tile.npy"));
      fs.copyFileSync(path.join(outside, "tile.json"), path.join(work, "tile.json"));
      const fromWork = await startService(path.join(scratch.dir, "contexts", "load"), root, { cwd: outside, extra: ["--workdir", work] });
      try {
        const { status, body } = await postRun(fromWork, { params: { tile: "tile.npy" }, outputs: "out/work" });
        assert.equal(status, 200, JSON.stringify(body));
        assert.equal(JSON.parse(fs.readFileSync(path.join(work, body.outputs.point_count.path), "utf8")), outsidePoints, "work/tile.npy was read");
        assert.ok(fs.existsSync(path.join(work, "out", "work")), "outputs are relative to the workdir");
        const climbs = await postRun(fromWork, { params: { tile: "../tile.npy" }, outputs: "out/work-up" });
        assert.equal(climbs.status, 200, "a path that climbs out of the workdir but stays in the root is allowed");
        const refused = await postRun(fromWork, { params: { tile: "../../outside/tile.npy" }, outputs: "out/work-refused" });
        assert.equal(refused.status, 400, JSON.stringify(refused.body));
        assert.match(refused.body.error, /^param 'tile': path '\.\.\/\.\.\/outside\/tile\.npy' is outside the data root/);
      } finally {
        await stopService(fromWork);
      }
      const outsideRoot = spawnSync(PYTHON, ["-m", "naaw_runtime", "serve", "--component", path.join(scratch.dir, "contexts", "load"), "--port", "0", "--data-root", root, "--workdir", outside], { env: ENV, encoding: "utf8", timeout: 30_000 });
      assert.equal(outsideRoot.status, 2, outsideRoot.stderr);
      assert.match(outsideRoot.stderr, /--workdir .*outside must be a directory inside --data-root/);
    });

    it("holds every string of any param to the root, and lets strings that are no escaping path through", async function () {
      const nb = writeNotebook(scratch.dir, [
        { tags: ["parameters"], source: 'label = "EPSG:28992"\nnames = ["a"]\noptions = {"unit": "m"}\n' },
        { tags: ["component:echo"], source: "echoed: list = [label, names, options]\n" },
        { tags: ["skip"], source: "print(echoed)\n" },
      ]);
      const echo = await startService(build("echo", path.join(scratch.dir, "echo-contexts"), nb), root, { cwd: outside });
      try {
        const fine = { label: "m/s", names: ["tiles/a.npy", "EPSG:28992", "s3://bucket/key", ""], options: { unit: "../root/x" } };
        const ok = await postRun(echo, { params: fine, outputs: "out/echo" });
        assert.equal(ok.status, 200, JSON.stringify(ok.body));
        const echoed = JSON.parse(fs.readFileSync(path.join(root, ok.body.outputs.echoed.path), "utf8")) as unknown;
        assert.deepEqual(echoed, [fine.label, fine.names, fine.options], "strings pass unchanged");
        for (const [params, name] of [
          [{ label: "/etc/passwd" }, "label"],
          [{ names: ["a", "../../etc/passwd"] }, "names"],
          [{ options: { nested: { deeper: ["/"] } } }, "options"],
          [{ label: `${"x/../".repeat(1000)}../outside` }, "label"], // longer than PATH_MAX: checked lexically
        ] as const) {
          const refused = await postRun(echo, { params, outputs: "out/refused" });
          assert.equal(refused.status, 400, JSON.stringify(refused.body));
          assert.match(refused.body.error, new RegExp(`^param '${name}': path '.*' is outside the data root`));
        }
        assert.equal(fs.existsSync(path.join(root, "out", "refused")), false);
      } finally {
        await stopService(echo);
      }
    });
  });

  describe("a deeply nested body", function () {
    for (const [what, body] of [
      ["100000 nested arrays", "[".repeat(100_000) + "]".repeat(100_000)],
      ["100000 unclosed arrays", "[".repeat(100_000)],
      ["nesting inside a param", `{"params": {"tile": ${"[".repeat(50_000)}${"]".repeat(50_000)}}}`],
      ["100000 nested objects", '{"a":'.repeat(100_000) + "1" + "}".repeat(100_000)],
    ] as const) {
      it(`answers ${what} with 400 and a JSON error, and goes on serving`, async function () {
        const { status, body: answer } = await postRun(load!, body);
        assert.equal(status, 400, JSON.stringify(answer));
        assert.match(answer.error, /^the JSON in the request body is nested too deeply \(Python's limit is about \d+ levels\)$/);
        assert.doesNotMatch(load!.stderr(), /Traceback|RecursionError/);
        const health = await fetch(`${load!.url}/healthz`);
        assert.equal(health.status, 200);
        const next = await postRun(load!, { params: { tile: "tile.npy" }, outputs: "out/after-nesting" });
        assert.equal(next.status, 200, JSON.stringify(next.body));
      });
    }
  });

  describe("--host other than loopback", function () {
    it("is warned about by the function that decides, and loopback is not", function () {
      const code =
        "import json, sys; from naaw_runtime.service import exposure_warning; " +
        "print(json.dumps({h: exposure_warning(h) for h in sys.argv[1:]}))";
      const hosts = ["127.0.0.1", "127.8.9.10", "::1", "[::1]", "localhost", "::ffff:127.0.0.1", "0.0.0.0", "::", "", "192.0.2.1", "10.0.0.7", "fe80::1"];
      const result = spawnSync(PYTHON, ["-c", code, ...hosts], { encoding: "utf8", env: ENV, timeout: 20_000 });
      assert.equal(result.status, 0, result.stderr);
      const warnings = JSON.parse(result.stdout) as Record<string, string | null>;
      for (const host of ["127.0.0.1", "127.8.9.10", "::1", "[::1]", "localhost", "::ffff:127.0.0.1"]) assert.equal(warnings[host], null, host);
      for (const host of ["0.0.0.0", "::", "", "192.0.2.1", "10.0.0.7", "fe80::1"]) {
        assert.match(warnings[host] ?? "", /^naaw_runtime: warning: --host .* is not a loopback address: the service has no authentication, and anyone who can reach it over the network can run the component/, host);
      }
    });

    it("makes `naaw serve` warn on stderr (on an address it cannot listen on, so nothing is exposed)", async function () {
      // 192.0.2.1 is TEST-NET-1 (RFC 5737): not loopback and on no interface here, so the bind fails
      // after the warning. Should this machine allow binding foreign addresses, it would listen there,
      // reachable by nobody; the test then stops it.
      const cli = spawn(process.execPath, [NAAW, "serve", "load", "--host", "192.0.2.1", "--port", "0", "--data-root", root], {
        cwd: ROOT,
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stderr = "";
      let stdout = "";
      cli.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      cli.stdout!.on("data", (chunk: Buffer) => {
        stdout += chunk.toString();
        if (/serving load on/.test(stdout)) cli.kill("SIGTERM");
      });
      const code = await new Promise<number | null>((resolve) => cli.on("exit", (status) => resolve(status)));
      assert.match(stderr, /^naaw_runtime: warning: --host 192\.0\.2\.1 is not a loopback address: the service has no authentication/m);
      if (!/serving load on/.test(stdout)) {
        assert.equal(code, 2, stderr);
        assert.match(stderr, /cannot listen on 192\.0\.2\.1:0/);
      }
    });

    it("says nothing of the kind for a service on 127.0.0.1", function () {
      assert.doesNotMatch(load!.stderr(), /warning/);
    });
  });
});
