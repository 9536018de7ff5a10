// `naaw run workflows/lidar.yaml` end to end on the real LAS/LAZ test files (test/helpers/testData.ts): the
// GeoTIFFs equal an independent reference, do not depend on the encoding (LAS or LAZ), the tiling or the
// number of workers; a killed run resumes from the cache; bad input gets one line and a non-zero exit
// and leaves earlier results alone; no component service outlives a run.
import { strict as assert } from "assert";
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { decodeFloat32GeoTiff } from "../src/lidar/geotiff";
import { pythonEnv, pythonExecutable } from "../src/python/interpreter";
import { tempDir } from "./helpers/notebooks";
import { lidarFile } from "./helpers/testData";
import { servicesUnder } from "./helpers/runnerProject";

const ROOT = path.resolve(__dirname, "..");
const NAAW = path.join(ROOT, "bin", "naaw.js");
const FEATURES = ["perc_95_normalized_height", "max_normalized_height", "mean_normalized_height", "pulse_penetration_ratio", "point_density"];

interface Naaw {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function naaw(args: readonly string[], cacheDir: string): Naaw {
  const result = spawnSync(process.execPath, [NAAW, ...args, "--cache-dir", cacheDir], { cwd: ROOT, encoding: "utf8", timeout: 240_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** `naaw run` of the demo workflow on `input` into `out`; asserts success. */
function run(input: string, out: string, cacheDir: string, extra: readonly string[] = []): Naaw {
  const result = naaw(["run", "workflows/lidar.yaml", "--set", `input=${input}`, "--out", out, ...extra], cacheDir);
  assert.equal(result.status, 0, `naaw run failed:\n${result.stderr}`);
  return result;
}

function tiffBytes(out: string): Map<string, Buffer> {
  return new Map(FEATURES.map((f) => [f, fs.readFileSync(path.join(out, `${f}.tif`))]));
}

function assertSameRasters(a: string, b: string, why: string): void {
  const left = tiffBytes(a);
  const right = tiffBytes(b);
  for (const feature of FEATURES) assert.ok(left.get(feature)!.equals(right.get(feature)!), `${feature}.tif differs: ${why}`);
}

async function waitFor(condition: () => boolean, seconds: number, what: string): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe("naaw run on real LAS/LAZ files", function () {
  this.timeout(300_000);
  let scratch: { dir: string; cleanup: () => void };
  let cache: string;

  before(() => {
    scratch = tempDir("naaw-lidar-run-");
    cache = path.join(scratch.dir, "cache");
  });
  after(() => scratch.cleanup());
  afterEach(() => assert.deepEqual(servicesUnder(scratch.dir), [], "a component service outlived its run"));

  it("writes GeoTIFFs equal to an independent reference computed from the LAS file", async () => {
    const out = path.join(scratch.dir, "autzen");
    const result = run(lidarFile("autzen_trim.las"), out, cache, ["--set", "tile_size=250", "--workers", "2"]);
    assert.match(result.stdout, /: done in .* with 2 workers: \d+ tiles, 110\.0 k points/);
    assert.ok(fs.existsSync(path.join(out, "report.html")));

    const reference = path.join(scratch.dir, "reference");
    const made = spawnSync(pythonExecutable(), [path.join(ROOT, "test", "helpers", "reference_features.py"), "--out", reference, lidarFile("autzen_trim.las")], { env: pythonEnv(), encoding: "utf8" });
    assert.equal(made.status, 0, made.stderr);
    const grid = JSON.parse(fs.readFileSync(path.join(reference, "grid.json"), "utf8")) as { origin_x: number; origin_y: number; rows: number; cols: number; cell_size: number };
    for (const feature of FEATURES) {
      const raster = await decodeFloat32GeoTiff(fs.readFileSync(path.join(out, `${feature}.tif`)));
      assert.deepEqual([raster.width, raster.height, raster.originX, raster.originY, raster.cellSize], [grid.cols, grid.rows, grid.origin_x, grid.origin_y, grid.cell_size], `${feature}: grid`);
      const npy = fs.readFileSync(path.join(reference, `${feature}.npy`));
      const expected = new Float32Array(npy.buffer.slice(npy.byteOffset + npy.length - grid.rows * grid.cols * 4, npy.byteOffset + npy.length));
      let compared = 0;
      for (let i = 0; i < expected.length; i++) {
        const [got, want] = [raster.values[i]!, expected[i]!];
        if (Number.isNaN(want)) {
          assert.ok(Number.isNaN(got), `${feature}: cell ${i} should be empty, got ${got}`);
          continue;
        }
        assert.equal(got, want, `${feature}: cell ${i} (row ${Math.floor(i / grid.cols)}, col ${i % grid.cols})`);
        compared += 1;
      }
      assert.ok(compared > 1000, `${feature}: only ${compared} cells with values`);
    }
  });

  it("gives the same GeoTIFFs from a LAS file and its LAZ twin", () => {
    for (const name of ["autzen_trim", "simple"]) {
      const las = path.join(scratch.dir, `${name}-las`);
      const laz = path.join(scratch.dir, `${name}-laz`);
      run(lidarFile(`${name}.las`), las, cache);
      run(lidarFile(`${name}.laz`), laz, cache);
      assertSameRasters(las, laz, `${name}.las vs ${name}.laz`);
    }
  });

  it("gives the same GeoTIFFs for tiles of 50 m and 500 m, and for 1 and 2 workers", () => {
    const input = lidarFile("C_43FN1_1.LAZ");
    const big = path.join(scratch.dir, "tiles-500");
    const small = path.join(scratch.dir, "tiles-50");
    const oneWorker = path.join(scratch.dir, "tiles-50-w1");
    run(input, big, cache, ["--set", "tile_size=500", "--workers", "2"]);
    const many = run(input, small, cache, ["--set", "tile_size=50", "--workers", "2"]);
    assert.match(many.stdout, /: (1[89]|2\d) tiles/, "50 m tiles over 892 m x 34 m");
    // A fresh cache, so the single worker computes everything itself.
    run(input, oneWorker, path.join(scratch.dir, "cache-w1"), ["--set", "tile_size=50", "--workers", "1"]);
    assertSameRasters(big, small, "tile_size 500 vs 50");
    assertSameRasters(small, oneWorker, "2 workers vs 1");
  });

  it("resumes a killed run from the cache, with the same result as an uninterrupted run", async () => {
    const input = lidarFile("AHN3.laz");
    const killedCache = path.join(scratch.dir, "cache-killed");
    const out = path.join(scratch.dir, "resumed");
    const child: ChildProcess = spawn(process.execPath, [NAAW, "run", "workflows/lidar.yaml", "--set", `input=${input}`, "--set", "tile_size=50", "--out", out, "--workers", "2", "--cache-dir", killedCache], { cwd: ROOT, stdio: "ignore" });
    const finishedSteps = (): number => {
      let count = 0;
      const walk = (dir: string): void => {
        if (!fs.existsSync(dir)) return;
        for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
          if (entry.name === "staging") continue;
          if (entry.isDirectory()) walk(path.join(dir, entry.name));
          else if (entry.name === "manifest.json") count += 1;
        }
      };
      walk(killedCache);
      return count;
    };
    try {
      await waitFor(() => finishedSteps() >= 20, 120, "20 finished steps");
    } finally {
      child.kill("SIGKILL");
    }
    await new Promise((resolve) => child.once("exit", resolve));
    // The services notice that naaw is gone (their stdin closes) and stop by themselves.
    await waitFor(() => servicesUnder(scratch.dir).length === 0, 10, "the services of the killed run to stop");
    assert.ok(!fs.existsSync(path.join(out, "point_density.tif")), "the killed run did not get to merge");

    const resumed = run(input, out, killedCache, ["--set", "tile_size=50", "--workers", "2"]);
    const fromCache = Number(/steps: \d+ run, (\d+) from the cache/.exec(resumed.stdout)?.[1]);
    assert.ok(fromCache >= 20, `only ${fromCache} steps came from the cache:\n${resumed.stdout}`);
    const uninterrupted = path.join(scratch.dir, "uninterrupted");
    run(input, uninterrupted, path.join(scratch.dir, "cache-uninterrupted"), ["--set", "tile_size=50", "--workers", "2"]);
    assertSameRasters(out, uninterrupted, "resumed vs uninterrupted");
  });

  describe("bad input: one line naming the file, a non-zero exit, earlier results untouched", () => {
    let out: string;
    let earlier: Map<string, Buffer>;
    let bad: string;

    before(() => {
      out = path.join(scratch.dir, "kept");
      run(lidarFile("simple.las"), out, cache);
      earlier = tiffBytes(out);
      bad = path.join(scratch.dir, "bad");
      fs.mkdirSync(bad);
    });

    function expectOneLineError(args: readonly string[], pattern: RegExp): void {
      const result = naaw(["run", "workflows/lidar.yaml", "--out", out, ...args], path.join(scratch.dir, "cache-bad"));
      assert.notEqual(result.status, 0, "exit status");
      const lines = result.stderr.trim().split("\n").filter((l) => l.startsWith("naaw:"));
      assert.equal(lines.length, 1, result.stderr);
      assert.match(lines[0]!, pattern);
      assert.doesNotMatch(result.stderr, /\n\s+at /, "no stack trace");
      const after = tiffBytes(out);
      for (const feature of FEATURES) assert.ok(after.get(feature)!.equals(earlier.get(feature)!), `${feature}.tif changed`);
    }

    it("a truncated LAS file", () => {
      const file = path.join(bad, "truncated.las");
      const bytes = fs.readFileSync(lidarFile("simple.las"));
      fs.writeFileSync(file, bytes.subarray(0, bytes.length - 1000));
      expectOneLineError(["--set", `input=${file}`], /truncated\.las: truncated/);
    });

    it("a file that is not LAS", () => {
      const file = path.join(bad, "notes.las");
      fs.writeFileSync(file, "x,y,z\n1,2,3\n".repeat(50));
      expectOneLineError(["--set", `input=${file}`], /notes\.las: not a LAS file/);
    });

    it("an empty file", () => {
      const file = path.join(bad, "empty.las");
      fs.writeFileSync(file, "");
      expectOneLineError(["--set", `input=${file}`], /empty\.las: .*empty/);
    });

    it("an unsupported LAZ compressor", () => {
      const file = path.join(bad, "pointwise.laz");
      const bytes = Buffer.from(fs.readFileSync(lidarFile("simple.laz")));
      // The laszip VLR's payload starts with the compressor (uint16): 1 is LASzip's old pointwise coder.
      const vlrHeader = bytes.indexOf(Buffer.from("laszip encoded"));
      assert.ok(vlrHeader > 0);
      bytes.writeUInt16LE(1, vlrHeader - 2 + 54);
      fs.writeFileSync(file, bytes);
      expectOneLineError(["--set", `input=${file}`], /pointwise\.laz: unsupported LAZ compressor 1/);
    });

    it("a missing input path", () => {
      expectOneLineError(["--set", `input=${path.join(bad, "nowhere")}`], /nowhere: no such file or directory/);
    });

    it("a workflow param of the wrong type", () => {
      expectOneLineError(["--set", `input=${lidarFile("simple.las")}`, "--set", "tile_size=big"], /--set tile_size=big: param 'tile_size' is a float, but 'big' is a str/);
    });
  });
});
