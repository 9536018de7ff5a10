// `naaw` starts at once: the entry point runs compiled JavaScript (dist/, bin/dist.js) and each verb
// loads only what it needs. Asserted on the modules a real process loads, not on time (the timing
// is bench/cli-startup.bench.ts).
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import { load as loadYaml } from "js-yaml";
import * as os from "os";
import * as path from "path";
import { PRECOMPILED, schemaValidatorIn, WORKFLOW_SCHEMA_FILE, writePrecompiledValidator } from "../src/workflow/schemaValidator";

const ROOT = path.resolve(__dirname, "..");
const CLI = path.join(ROOT, "bin", "naaw.js");
const MODULE_LOG = path.join(ROOT, "test", "helpers", "moduleLog.js");

interface CompiledCli {
  isCurrent(sourceDir?: string, distDir?: string): boolean;
  build(sourceDir?: string, distDir?: string): void;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const dist = require("../bin/dist.js") as CompiledCli;

/** What a start must not load: TypeScript sources and loaders, the compiler, Pulumi, heavy verbs' packages. */
const FORBIDDEN: ReadonlyArray<{ what: string; matches: (file: string) => boolean }> = [
  { what: "a TypeScript source under src/", matches: (f) => f.startsWith(path.join(ROOT, "src") + path.sep) && f.endsWith(".ts") },
  // ajv too: validate uses the build's precompiled validator of workflows/schema.json.
  ...["typescript", "ts-node", "sucrase", "pirates", "@pulumi", "geotiff", "laz-perf", "@kubernetes", "ajv"].map((pkg) => ({
    what: `the ${pkg} package`,
    matches: (f: string) => f.includes(`${path.sep}node_modules${path.sep}${pkg}${path.sep}`),
  })),
];

/** Runs `naaw args` with the module-recording preload; returns its output and the files it loaded. */
function naawLoading(args: readonly string[]): { status: number | null; stdout: string; stderr: string; loaded: string[] } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "naaw-startup-"));
  try {
    const log = path.join(dir, "modules.txt");
    const result = spawnSync(process.execPath, ["-r", MODULE_LOG, CLI, ...args], {
      cwd: ROOT,
      encoding: "utf8",
      timeout: 30_000,
      env: { ...process.env, NAAW_MODULE_LOG: log },
    });
    const loaded = fs.existsSync(log) ? fs.readFileSync(log, "utf8").split("\n").filter(Boolean) : [];
    return { status: result.status, stdout: result.stdout, stderr: result.stderr, loaded };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe("naaw starts without TypeScript, the compiler or Pulumi", function () {
  before(function () {
    // `npm test` builds first (pretest); a developer running this file alone after an edit gets a build here.
    if (!dist.isCurrent()) dist.build();
  });

  const commands: ReadonlyArray<{ args: readonly string[]; prints: RegExp }> = [
    { args: ["--help"], prints: /^Usage: naaw /m },
    { args: ["components", "--help"], prints: /^Usage: naaw components /m },
    { args: ["validate", "workflows/lidar.yaml"], prints: /^workflows\/lidar\.yaml: valid: \d+ steps/m },
  ];
  for (const { args, prints } of commands) {
    it(`naaw ${args.join(" ")} works and loads compiled JavaScript only`, function () {
      const run = naawLoading(args);
      assert.equal(run.status, 0, `naaw ${args.join(" ")} exited ${run.status}: ${run.stderr}`);
      assert.match(run.stdout, prints);
      const problems = FORBIDDEN.flatMap(({ what, matches }) => {
        const files = run.loaded.filter(matches);
        return files.length ? [`${what}: ${files.length} files, e.g. ${path.relative(ROOT, files[0])}`] : [];
      });
      assert.deepEqual(problems, [], `naaw ${args.join(" ")} loaded what it should not`);
      assert.ok(run.loaded.includes(path.join(ROOT, "dist", "cli", "main.js")), "the compiled CLI ran");
    });
  }
});

describe("a verb loads only its own definition, and validate runs Python's analysis once", function () {
  const verbModule = (verb: string) => path.join(ROOT, "dist", "cli", `${verb}.js`);
  const VERB_MODULES = ["components", "build", "serve", "validate", "render", "run", "submit", "plan", "cache", "builtin", "builtinChain"];

  it("GIVEN `naaw validate` THEN no other verb's module loads; GIVEN `naaw --help` THEN every verb is listed", function () {
    const validate = naawLoading(["validate", "workflows/lidar.yaml"]);
    assert.equal(validate.status, 0, validate.stderr);
    assert.deepEqual(VERB_MODULES.filter((v) => validate.loaded.includes(verbModule(v))), ["validate"]);
    const help = naawLoading(["--help"]);
    assert.deepEqual(VERB_MODULES.filter((v) => help.loaded.includes(verbModule(v))), VERB_MODULES);
    for (const verb of ["components", "build", "serve", "validate", "render", "run", "submit", "plan", "cache", "builtin", "builtin-chain"]) {
      assert.match(help.stdout, new RegExp(`^  ${verb} `, "m"), `--help lists ${verb}`);
    }
    const unknown = spawnSync(process.execPath, [CLI, "valdate"], { cwd: ROOT, encoding: "utf8" });
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /unknown command 'valdate'[\s\S]*validate/, "a misspelt verb is answered with the verb it resembles");
  });

  it("GIVEN a workflow using one notebook THEN validate runs Python's analysis of it once, and reports as before", function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "naaw-python-count-"));
    try {
      const log = path.join(dir, "runs.txt");
      const python = path.join(dir, "python");
      const real = process.env.NAAW_PYTHON || "python3";
      fs.writeFileSync(python, `#!/bin/sh\necho "$*" >> '${log}'\nexec ${real} "$@"\n`, { mode: 0o755 });
      const run = spawnSync(process.execPath, [CLI, "validate", "workflows/lidar.yaml"], {
        cwd: ROOT,
        encoding: "utf8",
        env: { ...process.env, NAAW_PYTHON: python },
      });
      assert.equal(run.status, 0, run.stderr);
      assert.match(run.stdout, /^workflows\/lidar\.yaml: valid: 8 steps/m);
      const runs = fs.readFileSync(log, "utf8").split("\n").filter(Boolean);
      assert.deepEqual(runs, ["-S -s -m naaw_analyzer"], "one analysis of notebooks/lidar.ipynb, without site-packages");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("bin/dist.js: the compiled CLI runs only while no source changed since its build", function () {
  let dir: string;
  let src: string;
  let out: string;
  const past = new Date(Date.now() - 60_000);

  beforeEach(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "naaw-dist-"));
    src = path.join(dir, "src");
    out = path.join(dir, "dist");
    fs.mkdirSync(path.join(src, "cli"), { recursive: true });
    fs.writeFileSync(path.join(src, "cli", "main.ts"), "export const answer: number = 42;\n");
    fs.writeFileSync(path.join(src, "prices.csv"), "a,b\n");
    // Sources older than the build, as after a checkout followed by `npm ci`.
    for (const p of [path.join(src, "cli", "main.ts"), path.join(src, "prices.csv"), path.join(src, "cli"), src]) fs.utimesSync(p, past, past);
  });
  afterEach(function () {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("GIVEN no build THEN it is not current; GIVEN a build THEN it is, with types stripped and other files copied", function () {
    assert.equal(dist.isCurrent(src, out), false);
    dist.build(src, out);
    assert.equal(dist.isCurrent(src, out), true);
    assert.match(fs.readFileSync(path.join(out, "cli", "main.js"), "utf8"), /exports\.answer = answer|const answer = 42/);
    assert.doesNotMatch(fs.readFileSync(path.join(out, "cli", "main.js"), "utf8"), /: number/);
    assert.equal(fs.readFileSync(path.join(out, "prices.csv"), "utf8"), "a,b\n");
  });

  it("GIVEN a build WHEN a source is edited, added or removed THEN it is not current until rebuilt", function () {
    dist.build(src, out);
    fs.writeFileSync(path.join(src, "cli", "main.ts"), "export const answer: number = 43;\n");
    assert.equal(dist.isCurrent(src, out), false, "an edited file");
    // Rebuilt a while after the edit (within the same clock tick, the check errs on the stale side).
    fs.utimesSync(path.join(src, "cli", "main.ts"), past, past);
    dist.build(src, out);
    assert.equal(dist.isCurrent(src, out), true);

    fs.writeFileSync(path.join(src, "cli", "extra.ts"), "export {};\n");
    fs.utimesSync(path.join(src, "cli", "extra.ts"), past, past); // e.g. copied with its mtime kept
    assert.equal(dist.isCurrent(src, out), false, "a new file (its directory changed)");
    dist.build(src, out);

    fs.rmSync(path.join(src, "prices.csv"));
    assert.equal(dist.isCurrent(src, out), false, "a removed file");
  });
});

describe("the build's precompiled validator of workflows/schema.json", function () {
  let dir: string;
  const schema = fs.readFileSync(WORKFLOW_SCHEMA_FILE, "utf8");

  before(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "naaw-schema-"));
    writePrecompiledValidator(dir, schema);
  });
  after(function () {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("GIVEN the schema it was made from THEN it is used, and reports what ajv compiling the schema reports", function () {
    const precompiled = schemaValidatorIn(dir, schema);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    assert.equal(precompiled, (require(path.join(dir, PRECOMPILED)) as { validate: unknown }).validate, "the precompiled function");
    const compiled = schemaValidatorIn(path.join(dir, "no-such-dir"), schema);
    assert.notEqual(compiled, precompiled);
    const documents: unknown[] = [
      { steps: [{ uses: "lidar/load", with: {} }] },
      { steps: [{ usess: "lidar/load" }, {}], params: { tile_size: { type: "float", default: "x" } }, extra: 1 },
      { steps: "none", outputs: [1] },
      "not a mapping",
    ];
    for (const document of documents) {
      const ok = compiled(document);
      assert.equal(precompiled(document), ok, JSON.stringify(document));
      assert.deepEqual(precompiled.errors ?? null, compiled.errors ?? null, JSON.stringify(document));
    }
    assert.ok(documents.some((d) => !compiled(d)), "some documents are refused");
  });

  it("GIVEN a schema edited since the build THEN ajv compiles the schema as it is now", function () {
    const demo = loadYaml(fs.readFileSync(path.join(ROOT, "workflows", "lidar.yaml"), "utf8"));
    assert.equal(schemaValidatorIn(dir, schema)(demo), true, "the demo workflow fits the schema");
    const edited = JSON.parse(schema) as { properties: { name: { pattern: string } } };
    edited.properties.name.pattern = "^no-such-name$";
    const validate = schemaValidatorIn(dir, JSON.stringify(edited));
    assert.equal(validate(demo), false, "the edited schema's rule applies, not the precompiled one's");
  });
});
