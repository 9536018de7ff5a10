// builtin/split on several LAZ files with several workers (issue 12, "Split in parallel", on this
// machine): each file is split in its own thread and the tiles joined from the pieces; the tiles are
// byte for byte those of one split of all files, so the cache key need not know the workers. LAS
// files are not split per file (pieces would write every point twice): they are split in ranges
// (test/lidar-split-ranges.test.ts).
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { splitsInParallel } from "../src/lidar/parallelSplit";
import { BUILTIN_STEPS } from "../src/local/builtinSteps";
import { filesOf } from "../src/local/values";
import { tempDir } from "./helpers/notebooks";
import { lidarFile } from "./helpers/testData";

// Four real AHN LAZ files (RD New), 878,567 points.
const LAZ = ["AHN3.laz", "C_43FN1_1.LAZ", "C_43FN1_1_1.LAZ", "C_43FN1_1_2.LAZ"];

describe("builtin/split with several files and workers", function () {
  this.timeout(120_000);
  let scratch: { dir: string; cleanup: () => void };
  before(() => (scratch = tempDir("naaw-split-workers-")));
  after(() => scratch.cleanup());

  it("splits LAZ files in parallel only: several files, several workers", () => {
    assert.equal(splitsInParallel(["a.laz", "b.LAZ"], 2), true);
    assert.equal(splitsInParallel(["a.las", "b.las"], 2), false, "LAS: in ranges instead");
    assert.equal(splitsInParallel(["a.laz"], 2), false, "one file");
    assert.equal(splitsInParallel(["a.laz", "b.laz"], 1), false, "one worker");
  });

  it("gives the tiles of one split, byte for byte, with every point counted in its progress", async () => {
    const input = path.join(scratch.dir, "laz");
    fs.mkdirSync(input);
    for (const name of LAZ) fs.copyFileSync(lidarFile(name), path.join(input, name));
    const params = { input, tile_size: 50, cell_size: 10, crs: "", norm_cell_size: 1 };
    const tiles: Record<number, string[]> = {};
    let reported = { done: 0, total: 0 };
    for (const workers of [1, 2]) {
      const staging = path.join(scratch.dir, `staging-${workers}`);
      fs.mkdirSync(staging);
      const out = await BUILTIN_STEPS.split!.run({ params, inputs: {}, staging, workers, onProgress: (done, total) => (reported = { done, total }) });
      tiles[workers] = filesOf(out.tiles!);
      assert.deepEqual(fs.readdirSync(path.join(staging, "tiles")).filter((f) => f.startsWith(".")), [], "no scratch left beside the tiles");
    }
    assert.ok(tiles[1]!.length > 10, "the points fall in many tiles");
    const joined = tiles[2]!.filter((f) => (JSON.parse(fs.readFileSync(f.replace(/\.npy$/, ".json"), "utf8")) as { source_files: string[] }).source_files.length > 1);
    assert.ok(joined.length > 0, "some tiles are joined from the pieces of several files");
    assert.deepEqual(tiles[2]!.map((f) => path.basename(f)), tiles[1]!.map((f) => path.basename(f)));
    for (let i = 0; i < tiles[1]!.length; i++) {
      for (const ext of [".npy", ".json"]) {
        const a = tiles[1]![i]!.replace(/\.npy$/, ext);
        const b = tiles[2]![i]!.replace(/\.npy$/, ext);
        assert.ok(fs.readFileSync(a).equals(fs.readFileSync(b)), `${path.basename(a)} differs between 1 and 2 workers`);
      }
    }
    assert.equal(reported.done, reported.total);
    assert.equal(reported.total, 878_567);
  });
});
