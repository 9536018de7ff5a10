// The demo workflow on a second engine: Debian's cwltool runs the rendered CWL (without containers) on
// a small real LAS file, and its GeoTIFFs are the same bytes as `naaw run` gives.
// Needs cwltool and gdal-bin from Debian (.ci/run installs both).
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { writeBuildContext } from "../../src/containerize/context";
import { PYTHON_PACKAGES_DIR, pythonExecutable } from "../../src/python/interpreter";
import { compileWorkflow } from "../../src/workflow/compile";
import { renderCwlYaml } from "../../src/workflow/cwl";
import { tempDir } from "../helpers/notebooks";
import { lidarFile } from "../helpers/testData";

const ROOT = path.resolve(__dirname, "..", "..");
const NAAW = path.join(ROOT, "bin", "naaw.js");
const FEATURES = ["perc_95_normalized_height", "max_normalized_height", "mean_normalized_height", "pulse_penetration_ratio", "point_density"];

describe("the LiDAR workflow on cwltool and GDAL", function () {
  this.timeout(300_000);
  let scratch: { dir: string; cleanup: () => void };
  before(() => (scratch = tempDir("naaw-cwl-lidar-")));
  after(() => scratch.cleanup());

  it("gives the same GeoTIFFs as naaw run for autzen_trim.las in 250 m tiles", () => {
    const input = lidarFile("autzen_trim.las");
    const naawOut = path.join(scratch.dir, "naaw");
    const local = spawnSync(process.execPath, [NAAW, "run", "workflows/lidar.yaml", "--set", `input=${input}`, "--set", "tile_size=250", "--out", naawOut, "--cache-dir", path.join(scratch.dir, "cache")], { cwd: ROOT, encoding: "utf8" });
    assert.equal(local.status, 0, local.stderr);

    const cwd = process.cwd();
    process.chdir(ROOT);
    const { graph, diagnostics } = compileWorkflow("workflows/lidar.yaml");
    process.chdir(cwd);
    assert.ok(graph, diagnostics.map((d) => d.message).join("; "));
    const contexts = path.join(scratch.dir, "contexts");
    for (const step of graph.steps) if (step.component.entry) writeBuildContext(path.join(contexts, step.component.name), step.component.entry.context);
    // cwltool gives each tool a fresh HOME, which a pyenv shim needs: run the interpreter itself.
    const python = spawnSync(pythonExecutable(), ["-c", "import sys; print(sys.executable)"], { encoding: "utf8" }).stdout.trim();
    const { text, problems } = renderCwlYaml(graph, {
      noDocker: true,
      contextsDir: contexts,
      python,
      pythonPath: PYTHON_PACKAGES_DIR,
      naawCommand: [process.execPath, NAAW],
    });
    assert.deepEqual(problems, []);
    const cwlFile = path.join(scratch.dir, "lidar.cwl");
    fs.writeFileSync(cwlFile, text);
    const job = path.join(scratch.dir, "job.json");
    fs.writeFileSync(job, JSON.stringify({ input, tile_size: 250, out: "rasters" }));
    const out = path.join(scratch.dir, "cwl");
    const tmp = path.join(scratch.dir, "tmp");
    fs.mkdirSync(tmp);
    const run = spawnSync("cwltool", ["--no-container", "--outdir", out, "--tmpdir-prefix", `${tmp}/`, "--tmp-outdir-prefix", `${tmp}/`, cwlFile, job], { cwd: scratch.dir, encoding: "utf8", timeout: 280_000 });
    assert.equal(run.status, 0, `cwltool failed:\n${run.stderr.slice(-3000)}`);
    const result = JSON.parse(run.stdout) as Record<string, { basename: string; path: string }[]>;
    assert.deepEqual(result["merge.files"]!.map((f) => f.basename).sort(), FEATURES.map((f) => `${f}.tif`).sort());
    for (const file of result["merge.files"]!) {
      assert.ok(fs.readFileSync(file.path).equals(fs.readFileSync(path.join(naawOut, file.basename))), `${file.basename}: cwltool and naaw run differ`);
    }

    // GDAL reads every GeoTIFF of the run with the grid of the reference computed from the LAS file.
    const reference = path.join(scratch.dir, "reference");
    const made = spawnSync(pythonExecutable(), [path.join(ROOT, "test", "helpers", "reference_features.py"), "--out", reference, input], { encoding: "utf8" });
    assert.equal(made.status, 0, made.stderr);
    const grid = JSON.parse(fs.readFileSync(path.join(reference, "grid.json"), "utf8")) as { origin_x: number; origin_y: number; rows: number; cols: number; cell_size: number };
    for (const feature of FEATURES) {
      const info = spawnSync("gdalinfo", ["-json", path.join(naawOut, `${feature}.tif`)], { encoding: "utf8" });
      assert.equal(info.status, 0, info.stderr);
      const json = JSON.parse(info.stdout) as { size: number[]; geoTransform: number[]; bands: { type: string; noDataValue: unknown }[] };
      assert.deepEqual(json.size, [grid.cols, grid.rows], `${feature}: size`);
      assert.deepEqual(json.geoTransform, [grid.origin_x, grid.cell_size, 0, grid.origin_y, 0, -grid.cell_size], `${feature}: geotransform`);
      assert.equal(json.bands.length, 1);
      assert.equal(json.bands[0]!.type, "Float32");
      assert.equal(json.bands[0]!.noDataValue, "NaN", `${feature}: nodata`);
    }
  });
});
