// builtin/split on several input files with several workers (issue 12, "Split in parallel", on this
// machine): each file is split in its own thread and the tiles joined from the pieces; the tiles are
// byte for byte those of one split of all files, so the cache key need not know the workers.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { BUILTIN_STEPS } from "../src/local/builtinSteps";
import { filesOf } from "../src/local/values";
import { cutLas } from "./helpers/cutLas";
import { tempDir } from "./helpers/notebooks";
import { lidarFile } from "./helpers/testData";

describe("builtin/split with several files and workers", function () {
  this.timeout(120_000);
  let scratch: { dir: string; cleanup: () => void };
  before(() => (scratch = tempDir("naaw-split-workers-")));
  after(() => scratch.cleanup());

  it("gives the tiles of one split, byte for byte, with every point counted in its progress", async () => {
    const nine = path.join(scratch.dir, "nine");
    cutLas(lidarFile("autzen_trim.las"), nine, 9);
    const params = { input: nine, tile_size: 250, cell_size: 10, crs: "EPSG:2992", norm_cell_size: 1 };
    const tiles: Record<number, string[]> = {};
    let reported = { done: 0, total: 0 };
    for (const workers of [1, 2]) {
      const staging = path.join(scratch.dir, `staging-${workers}`);
      fs.mkdirSync(staging);
      const out = await BUILTIN_STEPS.split!.run({ params, inputs: {}, staging, workers, onProgress: (done, total) => (reported = { done, total }) });
      tiles[workers] = filesOf(out.tiles!);
      assert.deepEqual(fs.readdirSync(path.join(staging, "tiles")).filter((f) => f.startsWith(".")), [], "no scratch left beside the tiles");
    }
    assert.ok(tiles[1]!.length > 1, "the points fall in several tiles");
    assert.deepEqual(tiles[2]!.map((f) => path.basename(f)), tiles[1]!.map((f) => path.basename(f)));
    for (let i = 0; i < tiles[1]!.length; i++) {
      for (const ext of [".npy", ".json"]) {
        const a = tiles[1]![i]!.replace(/\.npy$/, ext);
        const b = tiles[2]![i]!.replace(/\.npy$/, ext);
        assert.ok(fs.readFileSync(a).equals(fs.readFileSync(b)), `${path.basename(a)} differs between 1 and 2 workers`);
      }
    }
    assert.equal(reported.done, reported.total);
    assert.equal(reported.total, 110_000);
  });
});
