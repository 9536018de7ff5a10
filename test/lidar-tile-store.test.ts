// The split's TileStore under a small memory budget: it writes buffered records out whenever the
// budget is reached and reuses the buffers it wrote for the tiles that fill again. However often it
// does, the tiles must be the bytes of a split that never had to.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { readLasHeader } from "../src/lidar/lasHeader";
import { readLasRecords } from "../src/lidar/lasRecords";
import { cellsPerTileOf } from "../src/lidar/split";
import { PointTiler } from "../src/lidar/tiler";
import { TileStore } from "../src/lidar/tileStore";
import { tempDir } from "./helpers/notebooks";
import { lidarFile } from "./helpers/testData";

async function tileWith(dir: string, budget: number): Promise<Map<string, Buffer>> {
  fs.mkdirSync(dir);
  const header = readLasHeader(lidarFile("autzen_trim.las"));
  const store = new TileStore(dir, budget);
  const tiler = new PointTiler(store, 10, cellsPerTileOf(100, 10));
  tiler.startFile(header, 0);
  await readLasRecords(header, (records, count) => tiler.add(records, count));
  const tiles = store.finish();
  assert.ok(tiles.length > 20, `${tiles.length} tiles: too few to fill the budget many times`);
  return new Map(tiles.map((tile) => [tile.id, fs.readFileSync(path.join(dir, `${tile.id}.npy`))]));
}

describe("split: the tile store under a memory budget", function () {
  this.timeout(60_000);
  let scratch: { dir: string; cleanup: () => void };
  before(() => (scratch = tempDir("naaw-tile-store-")));
  after(() => scratch.cleanup());

  it("writes the same tiles with a budget of a few buffers as with room for all of them", async () => {
    const roomy = await tileWith(path.join(scratch.dir, "roomy"), 1 << 30);
    // 300 kB: the smallest buffers of about 30 tiles: the store writes out about 20 times and takes a
    // buffer it wrote out again some 300 times.
    const tight = await tileWith(path.join(scratch.dir, "tight"), 300_000);
    assert.deepEqual([...tight.keys()], [...roomy.keys()]);
    for (const [id, bytes] of roomy) assert.ok(tight.get(id)!.equals(bytes), `${id} differs`);
  });
});
