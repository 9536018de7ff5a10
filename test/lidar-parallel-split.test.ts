// Issue 12, "Split in parallel", run locally: the demo workflow with its split fanned out over the
// input files (test/helpers/parallelWorkflow.ts) gives GeoTIFFs byte-identical to today's workflow,
// for one LAS file and for the same points cut into 9 LAS files, with 1 and 2 workers; bad input
// fails in builtin/inputs, before any split.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { renderArgo } from "../src/workflow/argo";
import { compileWorkflow } from "../src/workflow/compile";
import { renderCwl } from "../src/workflow/cwl";
import { cutLas } from "./helpers/cutLas";
import { tempDir } from "./helpers/notebooks";
import { writeParallelSplitWorkflow } from "./helpers/parallelWorkflow";
import { servicesUnder } from "./helpers/runnerProject";
import { lidarFile } from "./helpers/testData";

const ROOT = path.resolve(__dirname, "..");
const NAAW = path.join(ROOT, "bin", "naaw.js");
const FEATURES = ["perc_95_normalized_height", "max_normalized_height", "mean_normalized_height", "pulse_penetration_ratio", "point_density"];

function naaw(workflow: string, input: string, out: string, cacheDir: string, workers: number): { status: number | null; stdout: string; stderr: string } {
  const args = ["run", workflow, "--set", `input=${input}`, "--set", "tile_size=250", "--workers", String(workers), "--out", out, "--cache-dir", cacheDir];
  const result = spawnSync(process.execPath, [NAAW, ...args], { cwd: ROOT, encoding: "utf8", timeout: 240_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("the split in parallel over input files (local runner)", function () {
  this.timeout(600_000);
  let scratch: { dir: string; cleanup: () => void };
  let workflow: string;
  let today: string;
  let nine: string;

  before(() => {
    scratch = tempDir("naaw-parallel-split-");
    workflow = writeParallelSplitWorkflow(path.join(ROOT, "workflows", "lidar.yaml"), path.join(ROOT, "notebooks"), path.join(scratch.dir, "project"));
    nine = path.join(scratch.dir, "nine");
    cutLas(lidarFile("autzen_trim.las"), nine, 9);
    today = path.join(scratch.dir, "today");
    const result = naaw("workflows/lidar.yaml", lidarFile("autzen_trim.las"), today, path.join(scratch.dir, "cache-today"), 2);
    assert.equal(result.status, 0, result.stderr);
  });
  after(() => scratch.cleanup());
  afterEach(() => assert.deepEqual(servicesUnder(scratch.dir), [], "a component service outlived its run"));

  // Files and workers each change once from the first run (a fourth run, one file on 2 workers, would
  // add 7 s and nothing: the number of workers is already shown not to matter on 9 files).
  const runs = [
    ["one LAS file", () => lidarFile("autzen_trim.las"), 1, [1]],
    ["the same points cut into 9 LAS files", () => nine, 9, [1, 2]],
  ] as const;
  for (const [name, inputOf, files, workerCounts] of runs) {
    for (const workers of workerCounts) {
      it(`${name}, ${workers} worker${workers === 1 ? "" : "s"}: the GeoTIFFs of today's split, byte for byte`, () => {
        const out = path.join(scratch.dir, `out-${files}-${workers}`);
        // A fresh cache for each run, so every step computes.
        const result = naaw(workflow, inputOf(), out, path.join(scratch.dir, `cache-${files}-${workers}`), workers);
        assert.equal(result.status, 0, result.stderr);
        assert.match(result.stdout, /steps: \d+ run, 0 from the cache/);
        assert.match(result.stderr, new RegExp(`parts: ${files} items?`), "one split task per input file");
        for (const feature of FEATURES) {
          const got = fs.readFileSync(path.join(out, `${feature}.tif`));
          assert.ok(got.equals(fs.readFileSync(path.join(today, `${feature}.tif`))), `${feature}.tif differs from today's`);
        }
      });
    }
  }

  it("Argo and CWL refuse to render it, naming each built-in only the local runner runs", () => {
    const { graph, diagnostics } = compileWorkflow(workflow);
    assert.ok(graph, diagnostics.map((d) => d.message).join("; "));
    const local = ["inputs (builtin/inputs)", "split (builtin/split_pieces)", "plan (builtin/plan_tiles)", "join (builtin/join)"];
    for (const [engine, problems] of [["Argo", renderArgo(graph).problems], ["CWL", renderCwl(graph).problems]] as const) {
      for (const step of local) {
        const [id, uses] = step.split(" ");
        assert.ok(problems.some((p) => p.includes(`step '${id}' ${uses}: this built-in runs only on the local runner`)), `${engine} names ${step}:\n${problems.join("\n")}`);
      }
    }
  });

  it("bad input fails in builtin/inputs with one line naming the file, before any split", () => {
    const bad = path.join(scratch.dir, "bad");
    fs.mkdirSync(bad);
    fs.copyFileSync(path.join(nine, "part-0.las"), path.join(bad, "a.las"));
    fs.writeFileSync(path.join(bad, "b.las"), "x,y,z\n".repeat(100));
    const result = naaw(workflow, bad, path.join(scratch.dir, "out-bad"), path.join(scratch.dir, "cache-bad"), 2);
    assert.notEqual(result.status, 0);
    const lines = result.stderr.trim().split("\n").filter((l) => l.startsWith("naaw:"));
    assert.equal(lines.length, 1, result.stderr);
    assert.match(lines[0]!, /inputs.*b\.las: not a LAS file/);
    assert.doesNotMatch(result.stderr, /parts: \d+ item/, "no split started");
    assert.doesNotMatch(result.stderr, /\n\s+at /, "no stack trace");
  });
});
