// Issue 8, "Workflows and params": YAML alias bombs, params checked before anything runs, and
// `naaw render --out` into a directory or a path that cannot be written. Each class is tested where
// it is decided (in-process, for exact diagnostics and figures) and through the real CLI (for the
// exit code, one line on stderr, and nothing run or written).
import { strict as assert } from "assert";
import { spawnSync, SpawnSyncReturns } from "child_process";
import * as fs from "fs";
import { load } from "js-yaml";
import * as path from "path";
import { formatDiagnostic } from "../src/diagnostics";
import { BUILTIN_STEPS, BuiltinInputError } from "../src/local/builtinSteps";
import { ParamValueError, resolveParams, resolveRunParams, RunParamsError } from "../src/local/params";
import { writeFileAtomic } from "../src/cli/render";
import { WorkflowCatalog } from "../src/workflow/catalog";
import { compileWorkflow } from "../src/workflow/compile";
import { renderArgo } from "../src/workflow/argo";
import { renderWorkflow } from "../src/workflow/render";
import { WorkflowGraph } from "../src/workflow/validate";
import { parseYamlWithPositions, YamlSyntaxError } from "../src/workflow/yamlPositions";
import { argoValidators } from "./helpers/argoSchema";
import { tempDir } from "./helpers/notebooks";

const ROOT = path.resolve(__dirname, "..");
const CLI = path.join(ROOT, "bin", "naaw.js");
const NOTEBOOKS = path.join(ROOT, "notebooks");
const BOMB_MESSAGE = (name: string, size: string): string =>
  `YAML aliases here expand to more than 10,000 values (*${name} alone is ${size}): nested aliases like these are an alias bomb, which naaw refuses; write the values out, or nest fewer aliases`;

function naaw(args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = process.env): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [CLI, ...args], { cwd, env, encoding: "utf8", timeout: 120_000 });
}

/** A failure as users should see it: this exit code, these lines on stderr and nothing else, no stack trace, nothing on stdout. */
function assertFails(result: SpawnSyncReturns<string>, status: number, lines: readonly string[]): void {
  assert.equal(result.status, status, `expected exit ${status}; stderr: ${result.stderr}`);
  assert.doesNotMatch(result.stderr, / {4}at /, "no stack trace");
  assert.deepEqual(result.stderr.trimEnd().split("\n"), lines);
  assert.equal(result.stdout, "");
}

/** `line:column` of `token` on the first line of `text` that contains `lineHas`. */
function where(text: string, lineHas: string, token = lineHas, occurrence = 1): string {
  const lines = text.split("\n");
  const index = lines.findIndex((l) => l.includes(lineHas));
  assert.ok(index >= 0, `no line has ${lineHas}`);
  let column = -1;
  for (let i = 0; i < occurrence; i++) column = lines[index].indexOf(token, column + 1);
  assert.ok(column >= 0, `line ${index + 1} has no ${token}`);
  return `${index + 1}:${column + 1}`;
}

/**
 * Billion laughs as YAML list items: `&a0` holds 10 values, each `&aN` ten aliases of `&aN-1`, so
 * `&a8` expands to 10^9 values (js-yaml shares aliased nodes: parsing it is cheap, walking it is not).
 */
function laughs(indent: string, levels = 9, prefix = "a"): string {
  const lines = [`${indent}- &${prefix}0 [${Array.from({ length: 10 }, (_, i) => i + 1).join(", ")}]`];
  for (let i = 1; i < levels; i++) lines.push(`${indent}- &${prefix}${i} [${Array(10).fill(`*${prefix}${i - 1}`).join(", ")}]`);
  return lines.join("\n");
}

/**
 * Only built-ins, so the CLI needs no notebook analysis (fast), with lidar.yaml's declarations of
 * the params split and merge take.
 */
const BUILTIN_WORKFLOW = `name: tiles
params:
  input:
    type: str
    default: data/lidar
  out:
    type: str
    default: out
  cell_size:
    type: float
    default: 10.0
    exclusiveMinimum: 0
  norm_cell_size:
    type: float
    default: 1.0
    exclusiveMinimum: 0
  tile_size:
    type: float
    default: 500.0
    exclusiveMinimum: 0
  crs:
    type: str
    default: EPSG:28992
    pattern: "^(EPSG:[0-9]{1,5})?$"
steps:
  - id: split
    uses: builtin/split
    with:
      input: \${{ params.input }}
      tile_size: \${{ params.tile_size }}
      cell_size: \${{ params.cell_size }}
      norm_cell_size: \${{ params.norm_cell_size }}
      crs: \${{ params.crs }}
  - id: merge
    uses: builtin/merge
    with:
      rasters: []
      raster_infos: []
      out: \${{ params.out }}
      crs: \${{ params.crs }}
`;

/** The split step alone (no `out`): what Argo and CWL can render without a foreach. */
const SPLIT_WORKFLOW = BUILTIN_WORKFLOW.slice(0, BUILTIN_WORKFLOW.indexOf("  - id: merge")).replace("  out:\n    type: str\n    default: out\n", "");

const catalog = new WorkflowCatalog(NOTEBOOKS);

/** Compiles workflow text (as `<dir>/compiled.yaml`): its errors with the file shortened to `w.yaml`, and the graph. */
function compile(dir: string, text: string): { errors: string[]; graph?: WorkflowGraph } {
  const file = path.join(dir, "compiled.yaml");
  fs.writeFileSync(file, text);
  const result = compileWorkflow(file, catalog);
  return { errors: result.diagnostics.filter((d) => d.severity === "error").map((d) => formatDiagnostic(d).replace(file, "w.yaml")), graph: result.graph };
}

function escaped(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Makes a directory unwritable even for root (chattr +i), else by its mode; undefined if neither can. */
function makeReadOnly(dir: string): (() => void) | undefined {
  if (process.getuid?.() !== 0) {
    fs.chmodSync(dir, 0o555);
    return () => fs.chmodSync(dir, 0o755);
  }
  if (spawnSync("chattr", ["+i", dir]).status !== 0) return undefined;
  return () => void spawnSync("chattr", ["-i", dir]);
}

describe("hardening: YAML alias bombs are refused at parse, at their line", function () {
  this.timeout(300_000);
  let scratch: { dir: string; cleanup: () => void };
  before(() => (scratch = tempDir("naaw-harden-yaml-")));
  after(() => scratch.cleanup());

  const inParams = `name: bomb\nparams:\n  p:\n    type: list\n    default:\n${laughs("      ")}\nsteps:\n  - id: split\n    uses: builtin/split\n    with:\n      input: data\n`;
  const inWith = `name: bomb\nsteps:\n  - id: merge\n    uses: builtin/merge\n    with:\n      out: out\n      raster_infos: []\n      rasters:\n${laughs("        ")}\n`;
  // Mappings of ten aliases of mappings: &m2 expands to 2,221 values; a merge key that merges it four
  // times pushes the aliases past the limit there, in `with:`.
  const maps = [`        m0: &m0 {${Array.from({ length: 10 }, (_, i) => `k${i}: ${i}`).join(", ")}}`];
  for (let i = 1; i < 3; i++) maps.push(`        m${i}: &m${i} {${Array.from({ length: 10 }, (_, k) => `k${k}: *m${i - 1}`).join(", ")}}`);
  const throughMerge = `name: bomb\nparams:\n  d:\n    type: dict\n    default:\n${maps.map((m) => m.slice(2)).join("\n")}\nsteps:\n  - id: merge\n    uses: builtin/merge\n    with:\n      <<: [*m2, *m2, *m2, *m2]\n      out: out\n`;
  const cases: [string, string, string, string][] = [
    // &a0 adds nothing, &a1 110, &a2 1,110; the 8th *a2 of &a3 takes the total past 10,000.
    ["in params", inParams, where(inParams, "&a3", "*a2", 8), BOMB_MESSAGE("a2", "1,111")],
    ["in with:", inWith, where(inWith, "&a3", "*a2", 8), BOMB_MESSAGE("a2", "1,111")],
    ["through a merge key", throughMerge, where(throughMerge, "<<:", "*m2", 4), BOMB_MESSAGE("m2", "2,221")],
  ];
  for (const [what, text, at, message] of cases) {
    it(`${what}: one error at the alias that crosses the limit, in bounded time and memory`, () => {
      const heap = process.memoryUsage().heapUsed;
      const started = performance.now();
      const { errors, graph } = compile(scratch.dir, text);
      const ms = performance.now() - started;
      const grew = (process.memoryUsage().heapUsed - heap) / 2 ** 20;
      assert.deepEqual(errors, [`w.yaml:${at}: error: ${message}`]);
      assert.equal(graph, undefined);
      assert.ok(ms < 2000, `rejected in ${ms.toFixed(0)} ms`);
      assert.ok(grew < 64, `heap grew by ${grew.toFixed(1)} MiB`);
    });
  }

  it("a bomb of 10^30 values is refused as fast as one of 10^9 (the count never expands anything)", () => {
    const text = `name: bomb\nparams:\n  p:\n    type: list\n    default:\n${laughs("      ", 31)}\nsteps: []\n`;
    const started = performance.now();
    assert.throws(() => parseYamlWithPositions(text, "w.yaml"), (e: unknown) => e instanceof YamlSyntaxError && e.message === BOMB_MESSAGE("a2", "1,111"));
    assert.ok(performance.now() - started < 1000);
  });

  it("an alias inside the node it names (a cycle) is refused at its line", () => {
    const { errors } = compile(scratch.dir, "name: t\nparams:\n  p:\n    type: list\n    default: &loop [1, *loop]\nsteps: []\n");
    assert.deepEqual(errors, ["w.yaml:5:24: error: the alias *loop is inside the node &loop it names: a cycle, whose value would be infinite; write the value out"]);
  });

  it("a --set value that is an alias bomb is refused the same way, with exit code 2's error", () => {
    const value = `[&a0 [1,2,3,4,5,6,7,8,9,10], ${Array.from({ length: 8 }, (_, i) => `&a${i + 1} [${Array(10).fill(`*a${i}`).join(",")}]`).join(", ")}]`;
    // The value is long: messages show its first 57 characters.
    const cut = (text: string): string => `${text.slice(0, 57)}...`;
    assert.throws(
      () => resolveParams([{ name: "p", type: "list" }], [`p=${value}`], "w.yaml"),
      (e: unknown) => e instanceof ParamValueError && e.message === `--set ${cut(`p=${value}`)}: '${cut(value)}' is not a list value: ${BOMB_MESSAGE("a2", "1,111")}`,
    );
  });

  it("small aliases and merge keys still work: a shared declaration, a merged with: block", () => {
    const text = `name: t
params:
  size: &size {type: float, default: 10.0, exclusiveMinimum: 0}
  tile_size: {<<: *size, default: 500.0}
  input: {type: str, default: data/lidar}
steps:
  - id: split
    uses: builtin/split
    with: &sizes
      input: \${{ params.input }}
      cell_size: \${{ params.size }}
      tile_size: \${{ params.tile_size }}
  - id: again
    uses: builtin/split
    with:
      <<: *sizes
      crs: EPSG:28992
`;
    const { errors, graph } = compile(scratch.dir, text);
    assert.deepEqual(errors, []);
    const tile = graph!.params.find((p) => p.name === "tile_size")!;
    assert.deepEqual([tile.type, tile.default, tile.constraints], ["float", 500, { exclusiveMinimum: 0 }]);
    const again = graph!.steps.find((s) => s.id === "again")!;
    assert.deepEqual(again.bindings.map((b) => b.name).sort(), ["cell_size", "crs", "input", "tile_size"]);
  });

  it("validate, render and run all refuse the bomb with that one line, exit 1, and write nothing", () => {
    const file = path.join(scratch.dir, "bomb.yaml");
    fs.writeFileSync(file, inParams);
    const line = `${file}:${where(inParams, "&a3", "*a2", 8)}: error: ${BOMB_MESSAGE("a2", "1,111")}`;
    assertFails(naaw(["validate", file], scratch.dir), 1, [line]);
    const rendered = path.join(scratch.dir, "bomb.argo.yaml");
    assertFails(naaw(["render", file, "--to", "argo", "--out", rendered], scratch.dir), 1, [line]);
    assert.equal(fs.existsSync(rendered), false);
    const out = path.join(scratch.dir, "out");
    const cache = path.join(scratch.dir, "cache");
    assertFails(naaw(["run", file, "--out", out, "--cache-dir", cache], scratch.dir), 1, [line]);
    assert.deepEqual([fs.existsSync(out), fs.existsSync(cache)], [false, false]);
  });
});

describe("hardening: params are checked before anything runs", function () {
  this.timeout(300_000);
  let scratch: { dir: string; cleanup: () => void };
  let file: string;
  let out: string;
  let cache: string;
  before(() => {
    scratch = tempDir("naaw-harden-params-");
    file = path.join(scratch.dir, "w.yaml");
    fs.writeFileSync(file, BUILTIN_WORKFLOW);
    out = path.join(scratch.dir, "out");
    cache = path.join(scratch.dir, "cache");
  });
  after(() => scratch.cleanup());

  /** `naaw run` of the built-in workflow: it must fail with exit 2, having run and written nothing. */
  function runRefused(args: readonly string[], lines: readonly string[]): void {
    assertFails(naaw(["run", file, "--cache-dir", cache, ...args], scratch.dir), 2, lines);
    assert.deepEqual([fs.existsSync(out), fs.existsSync(cache)], [false, false], "no output directory and no cache");
  }

  it("lidar.yaml declares the ranges and item types, and validate checks the defaults against them", () => {
    const lidar = fs.readFileSync(path.join(ROOT, "workflows", "lidar.yaml"), "utf8");
    const { errors, graph } = compile(scratch.dir, lidar);
    assert.deepEqual(errors, []);
    const declared = Object.fromEntries(graph!.params.filter((p) => p.constraints).map((p) => [p.name, p.constraints]));
    assert.deepEqual(declared, {
      cell_size: { exclusiveMinimum: 0 },
      norm_cell_size: { exclusiveMinimum: 0 },
      height_classes: { items: { type: "int", minimum: 0, maximum: 255 } },
      tile_size: { exclusiveMinimum: 0 },
      crs: { pattern: "^(EPSG:[0-9]{1,5})?$" },
    });
    const broken = lidar.replace("default: [1, 3, 4, 5]", "default: [1, a]").replace("default: 10.0", "default: 0.0");
    assert.deepEqual(compile(scratch.dir, broken).errors, [
      `w.yaml:${where(broken, "default: 0.0", "0.0")}: error: param 'cell_size' = 0 is not greater than 0 (exclusiveMinimum: 0); give a value greater than 0`,
      `w.yaml:${where(broken, "default: [1, a]", "[")}: error: param 'height_classes' = [1,"a"] has item 1 "a", which is a str, not an int (items: {type: int, minimum: 0, maximum: 255}); give a list of int values, e.g. [1, 3, 4, 5]`,
    ]);
  });

  it("validate says what is wrong with a declaration itself, at the keyword", () => {
    const text = `name: t
params:
  a: {type: str, default: x, minimum: 1}
  b: {type: str, default: x, pattern: "("}
  c: {type: float, default: 1.0, items: {type: int}}
  d: {type: int, default: 1, enum: [1, two]}
  e: {type: int, default: 5, minimum: 10, maximum: 1}
  f: {type: list, default: [1], items: {type: str, exclusiveMinimum: 0}}
steps:
  - id: split
    uses: builtin/split
    with:
      input: data
`;
    assert.deepEqual(compile(scratch.dir, text).errors, [
      `w.yaml:${where(text, "a: {", "1}")}: error: param 'a': 'minimum' applies to int and float values, and the param is str`,
      // A quoted scalar's position is its text's, inside the quotes.
      `w.yaml:${where(text, "b: {", "(")}: error: param 'b': 'pattern' "(" is not a regular expression`,
      `w.yaml:${where(text, "c: {", "{type: int}")}: error: param 'c': 'items' applies to list values, and the param is float`,
      `w.yaml:${where(text, "d: {", "[1, two]")}: error: param 'd': 'enum' value "two" is a str, not an int like the param`,
      `w.yaml:${where(text, "e: {", "1}")}: error: param 'e': no value is both at least 10 and at most 1`,
      `w.yaml:${where(text, "f: {", "{type: str")}: error: param 'f': items: 'exclusiveMinimum' applies to int and float values, and each item is str`,
    ]);
  });

  it("validate runs split's own rules on the defaults: tile_size a multiple of cell_size, norm_cell_size divides it, a CRS that parses", () => {
    const text = BUILTIN_WORKFLOW.replace("default: 500.0", "default: 25.0").replace("default: 1.0", "default: 3.0").replace("default: EPSG:28992", "default: EPSG:99999");
    fs.writeFileSync(path.join(scratch.dir, "defaults.yaml"), text);
    const shown = path.join(scratch.dir, "defaults.yaml");
    assertFails(naaw(["validate", shown], scratch.dir), 1, [
      `${shown}:${where(text, "default: 3.0", "3.0")}: error: param 'norm_cell_size' = 3 does not divide param 'tile_size' = 25: normalization cells would straddle tile edges, so tiling would change the rasters; use a norm_cell_size that divides 25`,
      `${shown}:${where(text, "default: 25.0", "25.0")}: error: param 'tile_size' = 25 is not a multiple of param 'cell_size' = 10: tiling would change the rasters; use a multiple of 10`,
      `${shown}:${where(text, "default: EPSG:99999", "EPSG")}: error: param 'crs' = 'EPSG:99999' is not a CRS the rasters can carry: expected EPSG:<code> (1 to 65535), e.g. EPSG:28992`,
    ]);
  });

  it("run --set: the relations split states, each at the param's declaration, exit 2, nothing run or written", () => {
    runRefused(["--out", out, "--set", "tile_size=25", "--set", "norm_cell_size=3", "--set", "crs=EPSG:99999"], [
      `${file}:${where(BUILTIN_WORKFLOW, "  norm_cell_size:", "norm_cell_size")}: error: param 'norm_cell_size' (--set) = 3 does not divide param 'tile_size' (--set) = 25: normalization cells would straddle tile edges, so tiling would change the rasters; use a norm_cell_size that divides 25`,
      `${file}:${where(BUILTIN_WORKFLOW, "  tile_size:", "tile_size")}: error: param 'tile_size' (--set) = 25 is not a multiple of param 'cell_size' = 10: tiling would change the rasters; use a multiple of 10`,
      `${file}:${where(BUILTIN_WORKFLOW, "  crs:", "crs")}: error: param 'crs' (--set) = 'EPSG:99999' is not a CRS the rasters can carry: expected EPSG:<code> (1 to 65535), e.g. EPSG:28992`,
    ]);
  });

  it("run --set: a value outside its declaration, exit 2, nothing run or written", () => {
    runRefused(["--out", out, "--set", "cell_size=0"], [
      `${file}:${where(BUILTIN_WORKFLOW, "  cell_size:", "cell_size")}: error: --set cell_size=0: param 'cell_size' = 0 is not greater than 0 (exclusiveMinimum: 0); give a value greater than 0`,
    ]);
  });

  it("run: an output directory under a regular file, or in a read-only directory, exit 2, nothing run or written", function () {
    const regular = path.join(scratch.dir, "regular");
    fs.writeFileSync(regular, "a file\n");
    const under = path.join(regular, "out");
    runRefused(["--out", under], [
      `${file}:${where(BUILTIN_WORKFLOW, "  out:", "out")}: error: param 'out' (--out) = '${under}' cannot be the output directory: ${regular} is a file, not a directory, so ${under} cannot be created; give a directory that can be written`,
    ]);
    const readOnly = path.join(scratch.dir, "read-only");
    fs.mkdirSync(readOnly);
    const undo = makeReadOnly(readOnly);
    if (!undo) this.skip();
    try {
      const inside = path.join(readOnly, "out");
      const result = naaw(["run", file, "--cache-dir", cache, "--set", `out=${inside}`], scratch.dir);
      assert.equal(result.status, 2);
      assert.match(result.stderr.trimEnd(), new RegExp(`^${escaped(file)}:${where(BUILTIN_WORKFLOW, "  out:", "out")}: error: param 'out' \\(--set\\) = '${escaped(inside)}' cannot be the output directory: ${escaped(readOnly)} is not writable \\((EACCES|EPERM|EROFS)\\), so ${escaped(inside)} cannot be created; give a directory that can be written$`));
      assert.deepEqual([fs.readdirSync(readOnly), fs.existsSync(cache)], [[], false]);
    } finally {
      undo!();
    }
  });

  it("run --out A --set out=B is a conflict, one line, exit 2; the same directory twice is not", () => {
    const other = path.join(scratch.dir, "other");
    runRefused(["--out", out, "--set", `out=${other}`], [`naaw: --out ${out} and --set out=${other} name two output directories for one run; give one of them`]);
    assert.equal(fs.existsSync(other), false);
    const graph = compile(scratch.dir, BUILTIN_WORKFLOW).graph!;
    assert.equal(resolveRunParams(graph, [`out=${out}/`], out, "w.yaml").outDir, out);
    assert.throws(() => resolveRunParams(graph, [`out=${other}`], out, "w.yaml"), RunParamsError);
  });

  it("run --set height_classes=[a, b] on the LiDAR workflow: the items must be ints, exit 2, no service started", () => {
    const lidar = path.join(scratch.dir, "lidar.yaml");
    const text = fs.readFileSync(path.join(ROOT, "workflows", "lidar.yaml"), "utf8");
    fs.writeFileSync(lidar, text);
    // A python that logs how it is called: analysis runs `-m naaw_analyzer`, a component service `-m naaw_runtime`.
    const log = path.join(scratch.dir, "python.log");
    const python = path.join(scratch.dir, "python");
    fs.writeFileSync(python, `#!/bin/sh\necho "$@" >> '${log}'\nexec ${process.env.NAAW_PYTHON || "python3"} "$@"\n`, { mode: 0o755 });
    const result = naaw(["run", lidar, "--notebooks", NOTEBOOKS, "--out", out, "--cache-dir", cache, "--set", "height_classes=[a, b]"], scratch.dir, { ...process.env, NAAW_PYTHON: python });
    assertFails(result, 2, [
      `${lidar}:${where(text, "  height_classes:", "height_classes")}: error: --set height_classes=[a, b]: param 'height_classes' = ["a","b"] has item 0 "a", which is a str, not an int (items: {type: int, minimum: 0, maximum: 255}); give a list of int values, e.g. [1, 3, 4, 5]`,
    ]);
    assert.deepEqual([fs.existsSync(out), fs.existsSync(cache)], [false, false]);
    const calls = fs.existsSync(log) ? fs.readFileSync(log, "utf8") : "";
    assert.doesNotMatch(calls, /naaw_runtime/, "no component service was started");
  });

  it("a NAAW_PYTHON that cannot run the analysis: one line naming it and what to do, exit 1, no stack trace", () => {
    const python = path.join(scratch.dir, "broken-python");
    fs.writeFileSync(python, `#!/bin/sh\necho "Traceback (most recent call last):" >&2\necho "Unknown option: -S" >&2\nexit 2\n`, { mode: 0o755 });
    const lidar = path.join(ROOT, "workflows", "lidar.yaml");
    assertFails(naaw(["validate", lidar], scratch.dir, { ...process.env, NAAW_PYTHON: python }), 1, [
      `naaw: ${python} could not run the notebook analysis: Unknown option: -S; set NAAW_PYTHON to a working Python 3 (python3 -m naaw_analyzer must run with it)`,
    ]);
    const missing = path.join(scratch.dir, "no-such-python");
    assertFails(naaw(["validate", lidar], scratch.dir, { ...process.env, NAAW_PYTHON: missing }), 1, [
      `naaw: cannot run ${missing} for notebook analysis (spawn ${missing} ENOENT); install Python 3 or set NAAW_PYTHON`,
    ]);
  });

  it("split and merge check their own params before they compute anything", async () => {
    const staging = path.join(scratch.dir, "staging");
    fs.mkdirSync(staging);
    // The input does not exist: the rule must speak first, before any file is looked at.
    const params = { input: path.join(scratch.dir, "nowhere.las"), tile_size: 25, cell_size: 10, norm_cell_size: 0, crs: "" };
    await assert.rejects(BUILTIN_STEPS.split.run({ params, inputs: {}, staging }), (e: unknown) => {
      assert.ok(e instanceof BuiltinInputError);
      assert.equal(e.message, "builtin/split: 'tile_size' = 25 is not a multiple of 'cell_size' = 10: tiling would change the rasters; use a multiple of 10");
      return true;
    });
    await assert.rejects(BUILTIN_STEPS.merge.run({ params: { out: path.join(scratch.dir, "m"), crs: "RD New" }, inputs: {}, staging }), (e: unknown) => {
      assert.ok(e instanceof BuiltinInputError);
      assert.equal(e.message, "builtin/merge: 'crs' = 'RD New' is not a CRS the rasters can carry: expected EPSG:<code> (1 to 65535), e.g. EPSG:28992");
      return true;
    });
    assert.deepEqual([fs.readdirSync(staging), fs.existsSync(path.join(scratch.dir, "m"))], [[], false]);
  });

  it("renderings carry what the engine can: Argo's enum (schema-valid), CWL's item types; the rest is in the description", () => {
    const text = SPLIT_WORKFLOW.replace(
      "steps:\n",
      "  mode: {type: str, default: fast, enum: [fast, slow]}\n  classes: {type: list, default: [1, 2], items: {type: int, minimum: 0}}\nsteps:\n",
    );
    const graph = compile(scratch.dir, text).graph!;
    const argo = renderArgo(graph).document as unknown as { spec: { arguments: { parameters: { name: string; enum?: string[]; description?: string }[] } } };
    const parameter = (name: string) => argo.spec.arguments.parameters.find((p) => p.name === name)!;
    assert.deepEqual(parameter("mode"), { name: "mode", value: "fast", enum: ["fast", "slow"] } as unknown);
    assert.equal(parameter("cell_size").description, "Must be greater than 0 (naaw validate and naaw run check this; Argo does not).");
    assert.equal(parameter("classes").description, "Must be a list of int values at least 0 (naaw validate and naaw run check this; Argo does not).");
    assert.deepEqual(argoValidators().workflow(argo), []);
    const cwl = renderWorkflow(graph, "cwl");
    assert.deepEqual(cwl.problems, []);
    const main = (load(cwl.text) as { $graph: { id: string; inputs: Record<string, { type: unknown; doc?: string }> }[] }).$graph.find((g) => g.id === "#main")!;
    assert.deepEqual(main.inputs.classes.type, { type: "array", items: "long" });
    assert.equal(main.inputs.classes.doc, "Must be a list whose items are at least 0 (naaw validate and naaw run check this; CWL does not).");
    assert.equal(main.inputs.mode.doc, 'Must be one of "fast", "slow" (naaw validate and naaw run check this; CWL does not).');
  });
});

describe("hardening: naaw render --out", function () {
  this.timeout(300_000);
  let scratch: { dir: string; cleanup: () => void };
  let file: string;
  before(() => {
    scratch = tempDir("naaw-harden-render-");
    file = path.join(scratch.dir, "w.yaml");
    fs.writeFileSync(file, SPLIT_WORKFLOW);
  });
  after(() => scratch.cleanup());

  it("an existing directory gets <workflow>.<ext> inside it, and nothing else", () => {
    const dir = path.join(scratch.dir, "rendered");
    fs.mkdirSync(dir);
    const graph = compileWorkflow(file, catalog).graph!;
    for (const [target, name] of [["argo", "w.argo.yaml"], ["mermaid", "w.md"]] as const) {
      const result = naaw(["render", file, "--to", target, "--out", dir], scratch.dir);
      assert.equal(result.status, 0, result.stderr);
      assert.equal(fs.readFileSync(path.join(dir, name), "utf8"), renderWorkflow(graph, target).text);
    }
    assert.deepEqual(fs.readdirSync(dir).sort(), ["w.argo.yaml", "w.md"], "no temporary file is left");
  });

  it("a path under a regular file, or a file name that is a directory, is a one-line error that writes nothing", () => {
    const regular = path.join(scratch.dir, "regular");
    fs.writeFileSync(regular, "a file\n");
    const under = path.join(regular, "w.argo.yaml");
    assertFails(naaw(["render", file, "--to", "argo", "--out", under], scratch.dir), 1, [
      `naaw: --out ${under}: ${regular} is a file, not a directory; give a file or directory that can be written`,
    ]);
    const taken = path.join(scratch.dir, "taken");
    fs.mkdirSync(path.join(taken, "w.cwl"), { recursive: true });
    assertFails(naaw(["render", file, "--to", "cwl", "--out", taken], scratch.dir), 1, [
      `naaw: --out ${taken}: ${path.join(taken, "w.cwl")} is a directory; give a file name, or another directory`,
    ]);
    assert.deepEqual([fs.readFileSync(regular, "utf8"), fs.readdirSync(path.join(taken, "w.cwl")), fs.readdirSync(taken)], ["a file\n", [], ["w.cwl"]]);
  });

  it("a read-only directory is a one-line error that writes nothing", function () {
    const readOnly = path.join(scratch.dir, "read-only");
    fs.mkdirSync(readOnly);
    const undo = makeReadOnly(readOnly);
    if (!undo) this.skip();
    try {
      const result = naaw(["render", file, "--to", "mermaid", "--out", readOnly], scratch.dir);
      assert.equal(result.status, 1);
      assert.match(result.stderr, new RegExp(`^naaw: --out ${escaped(readOnly)}: ${escaped(readOnly)} is not writable \\((EACCES|EPERM|EROFS)\\); give a file or directory that can be written\\n$`));
      assert.deepEqual(fs.readdirSync(readOnly), []);
    } finally {
      undo!();
    }
  });

  it("a write that fails leaves no temporary file behind", () => {
    const dir = path.join(scratch.dir, "atomic");
    fs.mkdirSync(path.join(dir, "target"), { recursive: true });
    // Renaming a file over a directory fails after the temporary file is written.
    assert.throws(() => writeFileAtomic(path.join(dir, "target"), "text"), /EISDIR|EEXIST|ENOTEMPTY|EPERM/);
    assert.deepEqual(fs.readdirSync(dir), ["target"]);
  });
});
