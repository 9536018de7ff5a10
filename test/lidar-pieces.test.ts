// The split in parallel at the level of files (src/lidar/pieces.ts): one input cut into 9 LAS files,
// split file by file into pieces and joined per tile, gives byte for byte the tiles that today's
// single-process split writes for the 9 files, and the same point records as the one file.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { LidarInputError } from "../src/lidar/errors";
import { checkInputSet, joinTile, planTiles, splitFileIntoPieces } from "../src/lidar/pieces";
import { splitPointClouds } from "../src/lidar/split";
import { splitFileInWorker } from "../src/lidar/splitWorker";
import { cutLas } from "./helpers/cutLas";
import { tempDir } from "./helpers/notebooks";
import { lidarFile } from "./helpers/testData";

function records(npy: string): Buffer {
  const bytes = fs.readFileSync(npy);
  return bytes.subarray(bytes.readUInt16LE(8) + 10);
}

describe("split in parallel: pieces per input, joined per tile", function () {
  this.timeout(120_000);
  let scratch: { dir: string; cleanup: () => void };
  let parts: string[];
  before(() => {
    scratch = tempDir("naaw-pieces-");
    parts = cutLas(lidarFile("autzen_trim.las"), path.join(scratch.dir, "parts"), 9);
  });
  after(() => scratch.cleanup());

  async function joined(files: readonly string[], crs: string, outDir: string, inWorker = false): Promise<string[]> {
    const pieces: string[] = [];
    for (const [i, file] of files.entries()) {
      const options = { file, outDir: path.join(outDir, "pieces", String(i)), tileSize: 250, cellSize: 10 };
      const result = inWorker ? await splitFileInWorker(options) : await splitFileIntoPieces(options);
      pieces.push(...result.tiles.map((t) => t.npy));
    }
    const plans = planTiles(pieces, path.join(outDir, "plans"));
    return plans.map((plan) => joinTile({ plan, outDir: path.join(outDir, "tiles"), crs }).npy);
  }

  for (const inWorker of [false, true]) {
    it(`writes the tiles of today's split byte for byte (${inWorker ? "pieces in worker threads" : "in process"})`, async () => {
      const set = checkInputSet(path.join(scratch.dir, "parts"), "EPSG:28992");
      assert.deepEqual(set.files, parts);
      assert.equal(set.pointCount, 110_000);
      const today = await splitPointClouds({ input: path.join(scratch.dir, "parts"), outDir: path.join(scratch.dir, `today-${inWorker}`), tileSize: 250, cellSize: 10, crs: "EPSG:28992" });
      assert.equal(set.crs, today.crs);
      const tiles = await joined(set.files, set.crs, path.join(scratch.dir, `joined-${inWorker}`), inWorker);
      assert.deepEqual(tiles.map((t) => path.basename(t)), today.tiles.map((t) => path.basename(t.npy)));
      let shared = 0;
      for (const [i, tile] of today.tiles.entries()) {
        assert.ok(fs.readFileSync(tiles[i]!).equals(fs.readFileSync(tile.npy)), `${tile.id}.npy differs`);
        const sidecar = fs.readFileSync(tiles[i]!.replace(/\.npy$/, ".json"), "utf8");
        assert.equal(sidecar, fs.readFileSync(tile.json, "utf8"), `${tile.id}.json differs`);
        if ((JSON.parse(sidecar) as { source_files: string[] }).source_files.length > 1) shared++;
      }
      assert.ok(shared > 0, "some tile takes points from several of the 9 files");
      // And the points of each tile are those of the uncut file, in the same order.
      const whole = await splitPointClouds({ input: lidarFile("autzen_trim.las"), outDir: path.join(scratch.dir, `whole-${inWorker}`), tileSize: 250, cellSize: 10 });
      assert.deepEqual(whole.tiles.map((t) => t.id), today.tiles.map((t) => t.id));
      for (const [i, tile] of whole.tiles.entries()) assert.ok(records(tile.npy).equals(records(tiles[i]!)), `${tile.id}: records differ from the uncut file's`);
    });
  }

  it("refuses a directory where one file is expected, and pieces of two tilings", async () => {
    await assert.rejects(splitFileIntoPieces({ file: path.join(scratch.dir, "parts"), outDir: path.join(scratch.dir, "bad"), tileSize: 250, cellSize: 10 }), (e: unknown) => e instanceof LidarInputError && /reads one LAS\/LAZ file/.test(e.message));
    const a = await splitFileIntoPieces({ file: parts[0]!, outDir: path.join(scratch.dir, "t250"), tileSize: 250, cellSize: 10 });
    const b = await splitFileIntoPieces({ file: parts[1]!, outDir: path.join(scratch.dir, "t500"), tileSize: 500, cellSize: 10 });
    assert.throws(() => planTiles([a.tiles[0]!.npy, b.tiles[0]!.npy], path.join(scratch.dir, "plans-bad")), (e: unknown) => e instanceof LidarInputError && /differ from/.test(e.message));
  });

  it("a stopped split ends with the signal's reason, and the next one still runs", async () => {
    const controller = new AbortController();
    const reason = new Error("the run was stopped");
    const stopped = splitFileInWorker({ file: lidarFile("C_43FN1_1.LAZ"), outDir: path.join(scratch.dir, "w-stop"), tileSize: 250, cellSize: 10, signal: controller.signal });
    controller.abort(reason);
    await assert.rejects(stopped, (e: unknown) => e === reason);
    const next = await splitFileInWorker({ file: parts[2]!, outDir: path.join(scratch.dir, "w-next"), tileSize: 250, cellSize: 10 });
    assert.ok(next.pointCount > 0);
  });

  it("fails in the main thread with the worker's input error", async () => {
    const bad = path.join(scratch.dir, "notes.las");
    fs.writeFileSync(bad, "x,y,z\n".repeat(100));
    await assert.rejects(splitFileInWorker({ file: bad, outDir: path.join(scratch.dir, "w-bad"), tileSize: 250, cellSize: 10 }), (e: unknown) => e instanceof LidarInputError && /notes\.las: not a LAS file/.test(e.message));
  });
});
