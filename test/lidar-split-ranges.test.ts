// builtin/split of uncompressed LAS on several workers (issue 13): the points cut into one range per
// worker, each range counted and then written straight into its tiles by its own thread. The tiles
// must be byte for byte those of the one-thread split, whatever the ranges (within a file, across
// files), a bad point must fail as the one-thread split fails, and nothing may be left behind.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { readLasHeader } from "../src/lidar/lasHeader";
import { MIN_POINTS_PER_RANGE, planRanges, rangeCount, splitPointCloudsInRanges } from "../src/lidar/rangeSplit";
import { splitPointClouds } from "../src/lidar/split";
import { BUILTIN_STEPS } from "../src/local/builtinSteps";
import { filesOf } from "../src/local/values";
import { replicateLas } from "../bench/replicateLas";
import { cutLas } from "./helpers/cutLas";
import { tempDir } from "./helpers/notebooks";
import { lidarFile } from "./helpers/testData";

/** Every file under `dir` (relative path) with its bytes. */
function contents(dir: string): Map<string, Buffer> {
  return new Map(fs.readdirSync(dir).sort().map((name) => [name, fs.readFileSync(path.join(dir, name))]));
}

function assertSameTiles(actual: string, expected: string): void {
  const [a, e] = [contents(actual), contents(expected)];
  assert.deepEqual([...a.keys()], [...e.keys()], "the same tiles");
  for (const [name, bytes] of e) assert.ok(a.get(name)!.equals(bytes), `${name} differs from the one-thread split's`);
}

describe("split in ranges (uncompressed LAS, several workers)", function () {
  this.timeout(120_000);
  let scratch: { dir: string; cleanup: () => void };
  before(() => (scratch = tempDir("naaw-split-ranges-")));
  after(() => scratch.cleanup());

  it("cuts the records of all files into ranges of equal size, in read order, across file ends", () => {
    const headers = [{ file: "a.las", pointCount: 5 }, { file: "b.las", pointCount: 0 }, { file: "c.las", pointCount: 7 }].map((h) => ({ ...readLasHeader(lidarFile("simple.las")), ...h }));
    const ranges = planRanges(headers, 3);
    assert.deepEqual(ranges, [
      [{ file: "a.las", fileIndex: 0, first: 0, count: 4 }],
      [{ file: "a.las", fileIndex: 0, first: 4, count: 1 }, { file: "c.las", fileIndex: 2, first: 0, count: 3 }],
      [{ file: "c.las", fileIndex: 2, first: 3, count: 4 }],
    ]);
    assert.equal(rangeCount(headers, 4, 3), 4, "as many ranges as workers when each gets enough points");
    assert.equal(rangeCount(headers, 4, 5), 2, "fewer when the points are few");
    assert.equal(rangeCount(headers, 2), 1, `one range below ${MIN_POINTS_PER_RANGE} points a range`);
    assert.equal(rangeCount([{ ...headers[0]!, compressed: true, pointCount: 1e9 }], 4), 1, "LAZ is never split in ranges");
  });

  it("writes the tiles of the one-thread split, byte for byte, for ranges within and across files", async () => {
    // autzen_trim (110,000 points) cut into three LAS files of the same records: ranges start inside files and span their ends.
    const input = path.join(scratch.dir, "parts");
    cutLas(lidarFile("autzen_trim.las"), input, 3);
    const expected = path.join(scratch.dir, "one-thread");
    const one = await splitPointClouds({ input, outDir: expected, tileSize: 100, cellSize: 10 });
    assert.ok(one.tiles.length > 20, "many tiles");
    assert.ok(one.tiles.some((t) => JSON.parse(fs.readFileSync(t.json, "utf8")).source_files.length > 1), "tiles with points of several files");
    const cwdBefore = fs.readdirSync(process.cwd()).sort();
    for (const workers of [2, 5]) {
      const out = path.join(scratch.dir, `ranges-${workers}`);
      let progress = { done: 0, total: 0 };
      const result = await splitPointCloudsInRanges({ input, outDir: out, tileSize: 100, cellSize: 10, workers, minPointsPerRange: 1000, onProgress: (done, total) => (progress = { done, total }) });
      assertSameTiles(out, expected);
      assert.deepEqual(result, { ...one, tiles: one.tiles.map((t) => ({ ...t, npy: path.join(out, path.basename(t.npy)), json: path.join(out, path.basename(t.json)) })) });
      assert.deepEqual(progress, { done: one.pointCount, total: one.pointCount }, "progress ends at every point");
    }
    assert.deepEqual(fs.readdirSync(process.cwd()).sort(), cwdBefore, "nothing written outside the output directory");
  });

  it("is what builtin/split does on 2.2 M points with 2 workers: the bytes of 1 worker", async () => {
    // 20 copies of autzen_trim side by side: enough points for two ranges of MIN_POINTS_PER_RANGE.
    const input = path.join(scratch.dir, "autzen_5x4.las");
    const points = replicateLas({ source: lidarFile("autzen_trim.las"), target: input, columns: 5, rows: 4, stepX: 1180, stepY: 565 });
    assert.equal(rangeCount([readLasHeader(input)], 2), 2, "two ranges");
    assert.ok(points >= 2 * MIN_POINTS_PER_RANGE);
    const params = { input, tile_size: 500, cell_size: 10, crs: "" };
    const tiles: string[][] = [];
    for (const workers of [1, 2]) {
      const staging = path.join(scratch.dir, `builtin-${workers}`);
      fs.mkdirSync(staging);
      tiles.push(filesOf((await BUILTIN_STEPS.split!.run({ params, inputs: {}, staging, workers })).tiles!));
    }
    assertSameTiles(path.dirname(tiles[1]![0]!), path.dirname(tiles[0]![0]!));
  });

  it("fails on a point outside the header's box as the one-thread split does, leaving nothing", async () => {
    const bad = path.join(scratch.dir, "bad.las");
    const bytes = fs.readFileSync(lidarFile("autzen_trim.las"));
    const header = readLasHeader(lidarFile("autzen_trim.las"));
    // In the second half (the second range): X of record 80,000 set far east of the box.
    bytes.writeInt32LE(0x7ffffff0, header.offsetToPoints + 80_000 * header.recordLength);
    fs.writeFileSync(bad, bytes);
    const oneThread = await splitPointClouds({ input: bad, outDir: path.join(scratch.dir, "bad-one"), tileSize: 250, cellSize: 10 }).then(
      () => assert.fail("the one-thread split accepted a point outside the box"),
      (error: Error) => error.message,
    );
    assert.match(oneThread, /point 80001 of 110000 at .* is outside the header's bounding box/);
    const out = path.join(scratch.dir, "bad-ranges");
    await assert.rejects(splitPointCloudsInRanges({ input: bad, outDir: out, tileSize: 250, cellSize: 10, workers: 2, minPointsPerRange: 1000 }), (error: Error) => error.message === oneThread);
    assert.deepEqual(fs.readdirSync(out), [], "no tiles and no scratch left");
  });

  it("stops at once when the run is stopped, leaving nothing", async () => {
    const out = path.join(scratch.dir, "stopped");
    const controller = new AbortController();
    const split = splitPointCloudsInRanges({
      input: lidarFile("autzen_trim.las"), outDir: out, tileSize: 100, cellSize: 10, workers: 2, minPointsPerRange: 1000, signal: controller.signal,
      onProgress: (done) => done > 0 && controller.abort(new Error("stopped by the user")),
    });
    await assert.rejects(split, /stopped by the user/);
    assert.deepEqual(fs.readdirSync(out), []);
  });
});
