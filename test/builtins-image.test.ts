// The built-ins image (images/builtins/Dockerfile) and the build context the program makes for it
// (src/containerize/builtinsContext.ts): made for real here, written to a temporary directory and run
// from there with nothing but its own files, as the image will run it. No Docker on this machine, so
// the Dockerfile is checked as text against the context it is built from.
import { strict as assert } from "assert";
import { spawnSync, SpawnSyncReturns } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as ts from "typescript";
import { ensureDemoData } from "../scripts/demoData";
import { BUILD_TSCONFIG, BUILTINS_ENTRY, BuiltinsContext, PROJECT_ROOT, renderBuiltinsContext } from "../src/containerize/builtinsContext";
import { COMPONENT_UID } from "../src/containerize/dockerfile";
import { BuildContextError, fileContextBytes, writeFileContext } from "../src/containerize/fileContext";
import { checkDeclared } from "../src/containerize/vendorPackages";
import { npyBytes } from "../src/lidar/npy";
import { tempDir } from "./helpers/notebooks";
import { lidarFile } from "./helpers/testData";

const ROOT = PROJECT_ROOT;
const PROJECT_MANIFEST = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

/** Packages that must never be in the image: compilers, loaders, test tools, the Pulumi SDKs. */
const NOT_IN_THE_IMAGE = /^(typescript|ts-node|sucrase|pirates|mocha|@types\/.*|@pulumi\/.*|@kubernetes\/.*)$/;

/** The Dockerfile's instructions, continuation lines joined, comments dropped. */
function instructions(dockerfile: string): { op: string; args: string }[] {
  return dockerfile
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => {
      const [op, ...rest] = line.split(/\s+/);
      return { op: op!.toUpperCase(), args: rest.join(" ") };
    });
}

/** The packages a context's compiled files require, read from the JavaScript itself. */
function requiredPackages(context: BuiltinsContext["context"]): string[] {
  const names = new Set<string>();
  for (const [file, bytes] of context) {
    if (file.startsWith("node_modules/") || !file.endsWith(".js")) continue;
    for (const { fileName } of ts.preProcessFile(bytes.toString("utf8"), true, true).importedFiles) {
      if (fileName.startsWith(".") || fileName.startsWith("node:") || require("module").builtinModules.includes(fileName)) continue;
      names.add(fileName.startsWith("@") ? fileName.split("/").slice(0, 2).join("/") : fileName.split("/")[0]!);
    }
  }
  return [...names].sort();
}

/**
 * A copy of the project's sources under a temporary root (node_modules linked), to render the
 * context of an edited project without touching the real one.
 */
function projectCopy(dir: string): string {
  const root = path.join(dir, "project");
  fs.mkdirSync(root);
  for (const entry of ["src", "images"]) fs.cpSync(path.join(ROOT, entry), path.join(root, entry), { recursive: true });
  for (const file of ["package.json", "tsconfig.json", BUILD_TSCONFIG]) fs.copyFileSync(path.join(ROOT, file), path.join(root, file));
  fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(root, "node_modules"), "dir");
  return root;
}

describe("built-ins image: the program-made build context", function () {
  this.timeout(180000);
  let built: BuiltinsContext;
  let work: ReturnType<typeof tempDir>;
  let ctx: string;
  let tracer: string;

  before(() => {
    const started = performance.now();
    built = renderBuiltinsContext();
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `      context: ${built.context.size} files, ${(fileContextBytes(built.context) / 1e6).toFixed(2)} MB ` +
        `(${built.modules.length} compiled modules, ${built.packages.length} packages), made in ${seconds.toFixed(2)} s`,
    );
    work = tempDir("naaw-builtins-");
    ctx = path.join(work.dir, "ctx");
    writeFileContext(ctx, built.context);
    // Loaded before the CLI: lists every module the process required, to prove they all came from the context.
    tracer = path.join(work.dir, "trace.js");
    fs.writeFileSync(tracer, `process.on("exit", () => require("fs").writeFileSync(process.env.NAAW_TRACE, JSON.stringify(Object.keys(require.cache).filter((f) => f !== __filename))));\n`);
  });

  after(() => work.cleanup());

  /** `naaw` from the written context, as the image runs it: plain Node, no loader, no project on any path. */
  function contextNaaw(args: readonly string[], trace?: string): SpawnSyncReturns<string> {
    return spawnSync(process.execPath, [...(trace ? ["--require", tracer] : []), path.join(ctx, BUILTINS_ENTRY), ...args], {
      cwd: work.dir,
      encoding: "utf8",
      env: { PATH: process.env.PATH, HOME: work.dir, ...(trace ? { NAAW_TRACE: trace } : {}) },
      timeout: 120000,
    });
  }

  /** `naaw` of the project (bin/naaw.js, TypeScript through sucrase): what the context's must equal. */
  function projectNaaw(args: readonly string[]): SpawnSyncReturns<string> {
    return spawnSync(process.execPath, [path.join(ROOT, "bin", "naaw.js"), ...args], { cwd: work.dir, encoding: "utf8", timeout: 120000 });
  }

  function assertRanFromContext(trace: string): void {
    const loaded = JSON.parse(fs.readFileSync(trace, "utf8")) as string[];
    assert.ok(loaded.length > 10, `only ${loaded.length} modules were traced`);
    const outside = loaded.filter((file) => !file.startsWith(ctx + path.sep));
    assert.deepEqual(outside, [], "every module the CLI loaded is in the context");
  }

  /** Every file under dir, relative, with its bytes. */
  function filesUnder(dir: string): Map<string, Buffer> {
    const files = new Map<string, Buffer>();
    for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
      if (entry.isFile()) files.set(path.relative(dir, path.join(entry.parentPath, entry.name)), fs.readFileSync(path.join(entry.parentPath, entry.name)));
    }
    return files;
  }

  it("holds the Dockerfile, the compiled CLI and the packages it requires, and nothing for development", () => {
    assert.ok(built.context.get("Dockerfile")!.equals(fs.readFileSync(path.join(ROOT, "images", "builtins", "Dockerfile"))));
    assert.ok(built.context.has(BUILTINS_ENTRY));
    for (const file of ["src/cli/builtin.js", "src/cli/builtinChain.js", "src/chain/protocol.js", "src/chain/stepLoop.js", "src/lidar/split.js", "src/lidar/pieces.js", "src/lidar/merge.js", "src/lidar/lazPerf.js"]) assert.ok(built.context.has(file), file);
    const project = [...built.context.keys()].filter((f) => !f.startsWith("node_modules/"));
    assert.deepEqual(project.filter((f) => !/^(Dockerfile|package\.json|(src|images)\/.*\.js)$/.test(f)), [], "only JavaScript of src/ and images/ besides Dockerfile and package.json");
    // The rest of the CLI, the Pulumi program and the tests are not there.
    for (const prefix of ["test/", "components/", "scripts/", "bench/", "src/cli/run.js", "src/cli/main.js", "src/plan/", "src/containerize/", "src/notebook/analyzeNotebook.js"]) {
      assert.ok(!project.some((f) => f.startsWith(prefix)), `${prefix} is not in the context`);
    }
    assert.ok(![...built.context.keys()].some((f) => /\.ts$/.test(f)), "no TypeScript source, no type declarations");
    assert.deepEqual(built.packages.filter((p) => NOT_IN_THE_IMAGE.test(p.name)).map((p) => p.name), []);
    const shipped = new Set([...built.context.keys()].filter((f) => f.startsWith("node_modules/")).map((f) => built.packages.find((p) => f.startsWith(`${p.dir}/`))?.dir));
    assert.ok(!shipped.has(undefined), "every file under node_modules belongs to a listed package");
    assert.deepEqual([...shipped].sort(), built.packages.map((p) => p.dir));
  });

  it("names in its package.json exactly the packages the compiled code requires, at the versions copied, with no scripts or dev dependencies", () => {
    const manifest = JSON.parse(built.context.get("package.json")!.toString("utf8"));
    assert.deepEqual(Object.keys(manifest).filter((k) => ["scripts", "devDependencies", "optionalDependencies", "main"].includes(k)), []);
    assert.equal(manifest.bin.naaw, BUILTINS_ENTRY);
    const required = requiredPackages(built.context);
    assert.deepEqual(Object.keys(manifest.dependencies).sort(), required);
    assert.ok(required.includes("laz-perf") && required.includes("geotiff") && required.includes("commander"), required.join(", "));
    for (const name of required) {
      assert.ok(PROJECT_MANIFEST.dependencies[name], `${name} is a runtime dependency of the project`);
      const installed = JSON.parse(fs.readFileSync(path.join(ROOT, "node_modules", name, "package.json"), "utf8")).version;
      assert.equal(manifest.dependencies[name], installed, `${name} at the version vendored`);
    }
    // Every dependency of every vendored package is vendored too (the closure is complete).
    const dirs = new Set(built.packages.map((p) => p.dir));
    for (const pkg of built.packages) {
      const own = JSON.parse(built.context.get(`${pkg.dir}/package.json`)!.toString("utf8"));
      for (const dep of Object.keys(own.dependencies ?? {})) {
        assert.ok(dirs.has(`${pkg.dir}/node_modules/${dep}`) || dirs.has(`node_modules/${dep}`), `${pkg.name} needs ${dep}`);
      }
    }
  });

  it("runs a real split of the demo's LAS from the context alone, with the project's output byte for byte", () => {
    ensureDemoData();
    const las = path.join(ROOT, "data", "lidar", "forest_0_0.las");
    const args = ["builtin", "split", "--param", `input=${las}`, "--param", "tile_size=100", "--outputs"];
    const trace = path.join(work.dir, "split.trace.json");
    const ran = contextNaaw([...args, path.join(work.dir, "split-ctx")], trace);
    assert.equal(ran.status, 0, ran.stderr);
    assert.match(ran.stderr, /split: .* points read/);
    assertRanFromContext(trace);
    const reference = projectNaaw([...args, path.join(work.dir, "split-project")]);
    assert.equal(reference.status, 0, reference.stderr);
    const ours = filesUnder(path.join(work.dir, "split-ctx"));
    const theirs = filesUnder(path.join(work.dir, "split-project"));
    assert.ok(JSON.parse(ours.get("tiles.json")!.toString()).length >= 4, "200 m tile cut into 100 m tiles");
    assert.deepEqual([...ours.keys()].sort(), [...theirs.keys()].sort());
    for (const [file, bytes] of ours) assert.ok(bytes.equals(theirs.get(file)!), file);
  });

  it("decodes LAZ through the vendored laz-perf WASM", () => {
    const laz = lidarFile("simple.laz");
    const trace = path.join(work.dir, "laz.trace.json");
    const ran = contextNaaw(["builtin", "split", "--param", `input=${laz}`, "--outputs", path.join(work.dir, "laz-ctx")], trace);
    assert.equal(ran.status, 0, ran.stderr);
    assertRanFromContext(trace);
    const loaded = JSON.parse(fs.readFileSync(trace, "utf8")) as string[];
    assert.ok(loaded.some((f) => f.startsWith(path.join(ctx, "node_modules", "laz-perf") + path.sep)), "laz-perf came from the context");
    const reference = projectNaaw(["builtin", "split", "--param", `input=${laz}`, "--outputs", path.join(work.dir, "laz-project")]);
    assert.equal(reference.status, 0, reference.stderr);
    const ours = filesUnder(path.join(work.dir, "laz-ctx"));
    const theirs = filesUnder(path.join(work.dir, "laz-project"));
    assert.ok(ours.size > 1);
    assert.deepEqual([...ours.keys()].sort(), [...theirs.keys()].sort());
    for (const [file, bytes] of ours) assert.ok(bytes.equals(theirs.get(file)!), file);
  });

  it("runs the pod chain's join (builtin-chain) from the context alone, over a batch of pieces", () => {
    ensureDemoData();
    const las = path.join(ROOT, "data", "lidar", "forest_0_0.las");
    const split = contextNaaw(["builtin", "split_pieces", "--param", `input=${las}`, "--param", "tile_size=100", "--outputs", path.join(work.dir, "pieces-out")]);
    assert.equal(split.status, 0, split.stderr);
    // As a tile pod receives them: pieces/<tile>/<input>.npy + .json.
    const pieces = path.join(work.dir, "chain-pieces");
    const made = fs.readdirSync(path.join(work.dir, "pieces-out", "pieces")).filter((f) => f.endsWith(".npy"));
    for (const npy of made) {
      const tile = npy.replace(/\.npy$/, "");
      fs.mkdirSync(path.join(pieces, tile), { recursive: true });
      for (const ext of [".npy", ".json"]) fs.copyFileSync(path.join(work.dir, "pieces-out", "pieces", tile + ext), path.join(pieces, tile, `forest_0_0${ext}`));
    }
    const trace = path.join(work.dir, "chain.trace.json");
    const chainWork = path.join(work.dir, "chain-work");
    const ran = contextNaaw(["builtin-chain", "join", "--work", chainWork, "--items-from", pieces, "--chain", "join", "--export", `tile=${path.join(work.dir, "chain-tiles")}`], trace);
    assert.equal(ran.status, 0, ran.stderr);
    assertRanFromContext(trace);
    // One item per tile, each exported, then cleaned from the work directory (join is the whole chain here).
    assert.deepEqual(fs.readdirSync(path.join(work.dir, "chain-tiles")).sort(), made.map((f) => f.replace(/\.npy$/, ".json")).sort());
    assert.deepEqual(fs.readdirSync(chainWork).filter((f) => !f.startsWith(".")), []);
  });

  it("runs a real merge to GeoTIFFs (geotiff.js from the context) equal to the project's", () => {
    const tiles = path.join(work.dir, "tiles");
    fs.mkdirSync(tiles);
    const [rows, cols, features] = [4, 5, ["height", "density"]];
    const data = new Float32Array(features.length * rows * cols).map((_, i) => (i % 7 === 0 ? NaN : i / 3));
    fs.writeFileSync(path.join(tiles, "t.npy"), npyBytes("<f4", [features.length, rows, cols], new Uint8Array(data.buffer)));
    fs.writeFileSync(
      path.join(tiles, "t.json"),
      JSON.stringify({ feature_names: features, origin_x: 120000, origin_y: 480000, cell_size: 10, rows, cols, crs: "EPSG:28992", point_count: 1 }),
    );
    const args = (out: string): string[] => ["builtin", "merge", "--input", `rasters=${path.join(tiles, "t.npy")}`, "--input", `raster_infos=${path.join(tiles, "t.json")}`, "--param", `out=${path.join(work.dir, out)}`, "--outputs", path.join(work.dir, `${out}-outputs`)];
    const trace = path.join(work.dir, "merge.trace.json");
    const ran = contextNaaw(args("merge-ctx"), trace);
    assert.equal(ran.status, 0, ran.stderr);
    assertRanFromContext(trace);
    assert.equal(projectNaaw(args("merge-project")).status, 0);
    for (const feature of features) {
      const ours = fs.readFileSync(path.join(work.dir, "merge-ctx", `${feature}.tif`));
      assert.ok(ours.equals(fs.readFileSync(path.join(work.dir, "merge-project", `${feature}.tif`))), `${feature}.tif`);
    }
  });

  it("is `naaw` with the built-in verb only, and reports bad input as the CLI does: one line, exit 2", () => {
    const help = contextNaaw(["--help"]);
    assert.equal(help.status, 0);
    assert.match(help.stdout, /^Usage: naaw /m);
    assert.match(help.stdout, /builtin \[options\] <name>/);
    assert.match(help.stdout, /builtin-chain \[options\] <name>/, "and the pod chain's join (docs/pod-chain.md)");
    assert.equal(contextNaaw(["--version"]).stdout.trim(), JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).version);
    const other = contextNaaw(["run", "workflows/lidar.yaml"]);
    assert.equal(other.status, 1);
    assert.match(other.stderr, /unknown command 'run'/);
    const missing = path.join(work.dir, "no-such.las");
    const bad = contextNaaw(["builtin", "split", "--param", `input=${missing}`, "--outputs", path.join(work.dir, "bad")]);
    assert.equal(bad.status, 2, bad.stderr);
    assert.equal(bad.stderr.trim().split("\n").length, 1, bad.stderr);
    assert.match(bad.stderr, new RegExp(`^naaw: .*${missing.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`));
    assert.equal(bad.stderr, projectNaaw(["builtin", "split", "--param", `input=${missing}`, "--outputs", path.join(work.dir, "bad")]).stderr);
  });

  it("Dockerfile: a pinned Node 20 slim base, the components' non-root uid, naaw on the PATH, and no install or build step", () => {
    const text = built.context.get("Dockerfile")!.toString("utf8");
    const steps = instructions(text);
    const from = steps.filter((s) => s.op === "FROM");
    assert.equal(from.length, 1);
    assert.match(from[0]!.args, /^node:20\.\d+\.\d+-bookworm-slim$/, "an exact Node 20 release, not a moving tag");
    assert.match(text, /^#.*digest/m, "says a digest pin is to be added");
    const users = steps.filter((s) => s.op === "USER");
    const lastBuildStep = Math.max(...steps.map((s, i) => (s.op === "RUN" || s.op === "COPY" ? i : -1)));
    assert.ok(steps.indexOf(users[users.length - 1]!) > lastBuildStep, "USER after every RUN and COPY");
    assert.deepEqual(users.map((u) => u.args), [`${COMPONENT_UID}:${COMPONENT_UID}`], "numeric, so runAsNonRoot can verify it");
    const run = steps.filter((s) => s.op === "RUN").map((s) => s.args).join("\n");
    assert.match(run, new RegExp(`useradd --uid ${COMPONENT_UID} --gid ${COMPONENT_UID}`));
    assert.doesNotMatch(run, /\b(npm|npx|yarn|corepack|tsc|ts-node)\s+(install|ci|add|run|exec|-p)\b/, "nothing is installed or compiled in the image");
    assert.match(run, /rm -rf \/usr\/local\/lib\/node_modules .*\/usr\/local\/bin\/npm /, "npm and friends are removed");
    // naaw on the PATH is the context's entry point, which package.json's bin names too.
    assert.match(run, new RegExp(`ln -s /opt/naaw/${BUILTINS_ENTRY} /usr/local/bin/naaw`));
    // What is copied is exactly what the context has at its top level (besides the Dockerfile itself).
    const copied = steps.filter((s) => s.op === "COPY").map((s) => s.args.split(" ")[0]!.replace(/\/$/, "")).sort();
    const topLevel = [...new Set([...built.context.keys()].map((f) => f.split("/")[0]!))].filter((f) => f !== "Dockerfile").sort();
    assert.deepEqual(copied, topLevel);
  });

  it("type-checks (tsc -p tsconfig.build.json --noEmit): the entry point, which tsconfig.json does not cover, and isolatedModules", () => {
    const config = ts.getParsedCommandLineOfConfigFile(path.join(ROOT, BUILD_TSCONFIG), { noEmit: true }, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => assert.fail(String(d.messageText)) })!;
    const program = ts.createProgram(config.fileNames, config.options);
    const diagnostics = ts.getPreEmitDiagnostics(program);
    assert.deepEqual(ts.formatDiagnostics(diagnostics, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => ROOT, getNewLine: () => "\n" }), "");
  });

  describe("the hash is the image's identity", () => {
    let copy: ReturnType<typeof tempDir>;
    let root: string;
    before(() => {
      copy = tempDir("naaw-builtins-project-");
      root = projectCopy(copy.dir);
    });
    after(() => copy.cleanup());

    it("is the same for the same project, changes with a built-in's code, and not with code the built-ins never load", () => {
      assert.equal(renderBuiltinsContext(root).hash, built.hash, "the same sources and packages give the same hash anywhere");
      fs.appendFileSync(path.join(root, "src", "plan", "plan.ts"), "\n// an edit the built-ins never load\n");
      fs.appendFileSync(path.join(root, "src", "cli", "run.ts"), "\n// nor this one\n");
      assert.equal(renderBuiltinsContext(root).hash, built.hash);
      fs.appendFileSync(path.join(root, "src", "lidar", "split.ts"), "\nexport const EDITED = 1;\n");
      const edited = renderBuiltinsContext(root);
      assert.notEqual(edited.hash, built.hash, "a changed built-in gives a new image");
      assert.match(edited.context.get("src/lidar/split.js")!.toString(), /exports\.EDITED = 1/);
    });

    it("fails, naming the file and what to run, when the code requires a package package.json does not list in dependencies", () => {
      const entry = path.join(root, "images", "builtins", "naaw.ts");
      const original = fs.readFileSync(entry, "utf8");
      try {
        const [shebang, ...rest] = original.split("\n");
        fs.writeFileSync(entry, [shebang, `import "mocha";`, `import "left-pad-that-is-not-there";`, ...rest].join("\n"));
        assert.throws(
          () => renderBuiltinsContext(root),
          (e: Error) =>
            e instanceof BuildContextError &&
            e.message.includes("images/builtins/naaw.ts requires 'mocha', which package.json lists only in devDependencies, which the image does not get: move it to dependencies (npm install --save-prod mocha)") &&
            e.message.includes("images/builtins/naaw.ts requires 'left-pad-that-is-not-there', which package.json does not list in dependencies: add it (npm install left-pad-that-is-not-there)"),
        );
      } finally {
        fs.writeFileSync(entry, original);
      }
    });

    it("fails on a require of a computed name and on a syntax error, naming the file", () => {
      const file = path.join(root, "src", "lidar", "crs.ts");
      const original = fs.readFileSync(file, "utf8");
      try {
        fs.writeFileSync(file, `${original}\nconst which = "fs";\nexport const loaded = require(which);\nexport const broken = (;\n`);
        assert.throws(
          () => renderBuiltinsContext(root),
          (e: Error) => e instanceof BuildContextError && /src\/lidar\/crs\.ts: a require of a computed name/.test(e.message) && /src\/lidar\/crs\.ts\(\d+,\d+\): error TS\d+/.test(e.message),
        );
      } finally {
        fs.writeFileSync(file, original);
      }
    });
  });

  it("checkDeclared accepts what dependencies lists and reports every other package at once", () => {
    const manifest = { dependencies: { geotiff: "^3" }, devDependencies: { mocha: "^12" } };
    assert.doesNotThrow(() => checkDeclared(new Map([["geotiff", ["a.ts"]]]), manifest));
    assert.throws(
      () => checkDeclared(new Map([["geotiff", ["a.ts"]], ["mocha", ["b.ts", "c.ts"]], ["x", ["d.ts"]]]), manifest),
      (e: Error) => /b\.ts, c\.ts require 'mocha'.*devDependencies/.test(e.message) && /d\.ts requires 'x'.*npm install x/.test(e.message) && !/'geotiff'/.test(e.message),
    );
  });
});
