// The `merge` built-in (src/lidar/merge.ts): synthetic tile rasters, as the notebook's `export` writes
// them, mosaicked into Float32 GeoTIFFs and read back with geotiff.js.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { fromArrayBuffer } from "geotiff";
import { decodeFloat32GeoTiff, Float32Raster } from "../src/lidar/geotiff";
import { MergeInputError, MergeTile, mergeRasters } from "../src/lidar/merge";
import { npyBytes } from "../src/lidar/npy";
import { tempDir } from "./helpers/notebooks";

const FEATURES = ["height", "density"];

interface TileSpec {
  /** North-west corner. */
  readonly originX: number;
  readonly originY: number;
  readonly rows: number;
  readonly cols: number;
  readonly cellSize?: number;
  readonly features?: readonly string[];
  readonly crs?: string;
  /** The value of feature f at a tile cell (NaN for an empty cell). */
  readonly value: (f: number, row: number, col: number) => number;
}

let tileCounter = 0;

/** Writes raster.npy and raster_info.json as the notebook's `export` component does. */
function writeTile(dir: string, spec: TileSpec): MergeTile {
  const features = spec.features ?? FEATURES;
  const data = new Float32Array(features.length * spec.rows * spec.cols);
  for (let f = 0; f < features.length; f++) {
    for (let r = 0; r < spec.rows; r++) for (let c = 0; c < spec.cols; c++) data[(f * spec.rows + r) * spec.cols + c] = spec.value(f, r, c);
  }
  const name = `tile${tileCounter++}`;
  const raster = path.join(dir, `${name}.npy`);
  const info = path.join(dir, `${name}.json`);
  fs.writeFileSync(raster, npyBytes("<f4", [features.length, spec.rows, spec.cols], new Uint8Array(data.buffer)));
  const cellSize = spec.cellSize ?? 10;
  fs.writeFileSync(
    info,
    JSON.stringify({ feature_names: features, origin_x: spec.originX, origin_y: spec.originY, cell_size: cellSize, rows: spec.rows, cols: spec.cols, crs: spec.crs ?? "", point_count: 1 }),
  );
  return { raster, info };
}

async function readTif(file: string): Promise<Float32Raster> {
  return decodeFloat32GeoTiff(fs.readFileSync(file));
}

async function geoKeysOf(file: string): Promise<Record<string, unknown>> {
  const bytes = fs.readFileSync(file);
  const image = await (await fromArrayBuffer(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer)).getImage();
  return image.getGeoKeys() ?? {};
}

async function rejectsWith(promise: Promise<unknown>, pattern: RegExp): Promise<MergeInputError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof MergeInputError, `expected a MergeInputError, got ${String(error)}`);
    assert.match(error.message, pattern);
    assert.ok(!error.message.includes("\n"), "the message is one line");
    return error;
  }
  assert.fail(`expected a rejection matching ${pattern}`);
}

/**
 * A scene defined on global cells (row 0 at y = 0, rows growing south): values in rows 3..40 and
 * columns 2..57 of a 500 m square at (120000, 487000), with holes.
 */
const SCENE = { west: 120000, north: 487000, rows: 50, cols: 60 };
function sceneValue(f: number, row: number, col: number): number {
  if (row < 3 || row > 40 || col < 2 || col > 57 || (row * 7 + col * 3) % 11 === 0) return NaN;
  return f * 1000 + row * 0.25 + col * 0.5;
}

/** The scene cut into square tiles of `tileCells` cells, each tile's grid `buffer` cells wider on each side. */
function tileScene(dir: string, tileCells: number, buffer = 0): MergeTile[] {
  const tiles: MergeTile[] = [];
  for (let top = 0; top < SCENE.rows; top += tileCells) {
    for (let left = 0; left < SCENE.cols; left += tileCells) {
      const rows = Math.min(tileCells, SCENE.rows - top) + 2 * buffer;
      const cols = Math.min(tileCells, SCENE.cols - left) + 2 * buffer;
      tiles.push(
        writeTile(dir, {
          originX: SCENE.west + (left - buffer) * 10,
          originY: SCENE.north - (top - buffer) * 10,
          rows,
          cols,
          value: (f, r, c) => {
            const [row, col] = [top - buffer + r, left - buffer + c];
            const own = row >= top && row < top + tileCells && col >= left && col < left + tileCells;
            // The buffer belongs to the neighbouring tiles: empty here, as the notebook leaves it.
            return own && row >= 0 && col >= 0 ? sceneValue(f, row, col) : NaN;
          },
        }),
      );
    }
  }
  return tiles;
}

describe("merge: tile rasters to one GeoTIFF per feature", function () {
  this.timeout(15_000);
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir("naaw-merge-")));
  afterEach(() => cleanup());

  it("places every tile's values at their cells, NaN between them, one file per feature", async () => {
    const west = writeTile(dir, { originX: 1000, originY: 2000, rows: 2, cols: 3, value: (f, r, c) => f * 100 + r * 10 + c });
    // Two cells east of the first tile, one row lower, with one empty cell.
    const east = writeTile(dir, { originX: 1050, originY: 1990, rows: 2, cols: 2, value: (f, r, c) => (r === 1 && c === 0 ? NaN : f * 100 + 50 + r * 10 + c) });
    const out = path.join(dir, "out");
    const result = await mergeRasters({ tiles: [west, east], outDir: out });
    assert.deepEqual(result.features, FEATURES);
    assert.deepEqual(result.files, FEATURES.map((f) => path.join(out, `${f}.tif`)));
    assert.deepEqual([result.width, result.height, result.originX, result.originY, result.cellSize, result.crs], [7, 3, 1000, 2000, 10, ""]);
    const density = await readTif(path.join(out, "density.tif"));
    assert.deepEqual([density.width, density.height, density.originX, density.originY, density.cellSize], [7, 3, 1000, 2000, 10]);
    assert.ok(Number.isNaN(density.noData!), "GDAL_NODATA is nan");
    const N = NaN;
    // prettier-ignore
    assert.deepEqual([...density.values], [
      100, 101, 102, N, N, N, N,
      110, 111, 112, N, N, 150, 151,
      N, N, N, N, N, N, 161,
    ]);
    const height = await readTif(path.join(out, "height.tif"));
    assert.equal(height.values[12], 50);
  });

  it("covers exactly the cells that hold a value, whatever the tiles' grids", async () => {
    // A 10 x 10 tile whose values are in rows 4..5, columns 6..8 only (feature 1 only for one cell).
    const tile = writeTile(dir, {
      originX: 5000,
      originY: 9000,
      rows: 10,
      cols: 10,
      value: (f, r, c) => (r >= 4 && r <= 5 && c >= 7 && c <= 8 && f === 0 ? 1 : r === 5 && c === 6 && f === 1 ? 2 : NaN),
    });
    const result = await mergeRasters({ tiles: [tile], outDir: dir });
    assert.deepEqual([result.width, result.height, result.originX, result.originY], [3, 2, 5060, 8960]);
    const density = await readTif(result.files[1]!);
    assert.deepEqual([...density.values].map((v) => (Number.isNaN(v) ? null : v)), [null, null, null, 2, null, null]);
  });

  it("gives byte-identical GeoTIFFs for tiles of 50 m, 500 m and buffered 200 m", async () => {
    const outputs = [];
    for (const [name, tiles] of [
      ["50m", tileScene(dir, 5)],
      ["500m", tileScene(dir, 50)],
      ["200m-buffered", tileScene(dir, 20, 2)],
    ] as const) {
      const result = await mergeRasters({ tiles, outDir: path.join(dir, name), crs: "EPSG:28992" });
      outputs.push(result.files.map((f) => fs.readFileSync(f)));
      assert.deepEqual([result.width, result.height, result.originX, result.originY], [56, 38, SCENE.west + 20, SCENE.north - 30], name);
    }
    for (let f = 0; f < FEATURES.length; f++) {
      assert.ok(outputs[0]![f]!.equals(outputs[1]![f]!), `${FEATURES[f]}.tif differs between 50 m and 500 m tiles`);
      assert.ok(outputs[0]![f]!.equals(outputs[2]![f]!), `${FEATURES[f]}.tif differs between 50 m and buffered 200 m tiles`);
    }
    const raster = await decodeFloat32GeoTiff(outputs[0]![1]!);
    for (const [row, col] of [[3, 2], [10, 33], [40, 57], [17, 21]] as const) {
      const value = raster.values[(row - 3) * raster.width + (col - 2)]!;
      const expected = sceneValue(1, row, col);
      assert.ok(Number.isNaN(expected) ? Number.isNaN(value) : value === Math.fround(expected), `cell (${row}, ${col}): ${value} != ${expected}`);
    }
  });

  it("rejects tiles with values in the same cell", async () => {
    const a = writeTile(dir, { originX: 0, originY: 100, rows: 3, cols: 3, value: () => 1 });
    const b = writeTile(dir, { originX: 20, originY: 80, rows: 3, cols: 3, value: (_, r, c) => (r === 0 && c === 0 ? 2 : NaN) });
    const error = await rejectsWith(mergeRasters({ tiles: [a, b], outDir: dir }), /tiles overlap/);
    assert.ok(error.message.includes(a.info) && error.message.includes(b.info), error.message);
    assert.match(error.message, /\(20, 80\)/);
    // Overlapping grids are fine when only one of them has values there.
    const c = writeTile(dir, { originX: 20, originY: 80, rows: 3, cols: 3, value: (_, r, c) => (r === 0 && c === 0 ? NaN : 3) });
    await mergeRasters({ tiles: [a, c], outDir: path.join(dir, "ok") });
  });

  it("rejects an origin off the cell grid, naming the tile", async () => {
    const a = writeTile(dir, { originX: 0, originY: 100, rows: 2, cols: 2, value: () => 1 });
    const b = writeTile(dir, { originX: 1003, originY: 100, rows: 2, cols: 2, value: () => 1 });
    const error = await rejectsWith(mergeRasters({ tiles: [a, b], outDir: dir }), /origin_x 1003 is not a multiple of cell_size 10/);
    assert.ok(error.message.startsWith(b.info));
    // Float noise well under a millionth of a cell is not misalignment.
    const c = writeTile(dir, { originX: 1000 + 1e-9, originY: 100, rows: 2, cols: 2, value: () => 1 });
    const result = await mergeRasters({ tiles: [a, c], outDir: dir });
    assert.equal(result.width, 102);
  });

  it("rejects tiles that disagree on features or cell size, naming the tile's info file", async () => {
    const a = writeTile(dir, { originX: 0, originY: 100, rows: 2, cols: 2, value: () => 1 });
    const b = writeTile(dir, { originX: 20, originY: 100, rows: 2, cols: 2, features: ["height", "cover"], value: () => 1 });
    const error = await rejectsWith(mergeRasters({ tiles: [a, b], outDir: dir }), /feature_names \[height, cover\] differ from \[height, density\]/);
    assert.ok(error.message.startsWith(b.info));
    const c = writeTile(dir, { originX: 20, originY: 100, rows: 2, cols: 2, cellSize: 5, value: () => 1 });
    await rejectsWith(mergeRasters({ tiles: [a, c], outDir: dir }), /cell_size 5 differs from 10/);
  });

  it("rejects a raster whose shape does not match its info, and a broken info file", async () => {
    const a = writeTile(dir, { originX: 0, originY: 100, rows: 2, cols: 2, value: () => 1 });
    const info = JSON.parse(fs.readFileSync(a.info, "utf8"));
    fs.writeFileSync(a.info, JSON.stringify({ ...info, rows: 3 }));
    await rejectsWith(mergeRasters({ tiles: [a], outDir: dir }), /shape \(2, 2, 2\) does not match/);
    fs.writeFileSync(a.info, "{ not json");
    await rejectsWith(mergeRasters({ tiles: [a], outDir: dir }), /cannot read the tile's raster info/);
  });

  it("reads a raster whose .npy header is longer than the first read (4 kB), in version 1 and 2", async () => {
    const spec = { originX: 0, originY: 100, rows: 2, cols: 3, value: (f: number, r: number, c: number) => f * 10 + r * 3 + c };
    const plain = writeTile(dir, spec);
    const expected = await mergeRasters({ tiles: [plain], outDir: path.join(dir, "plain") });
    const bytes = fs.readFileSync(plain.raster);
    const headerLength = bytes.readUInt16LE(8);
    const dict = bytes.toString("latin1", 10, 10 + headerLength).trimEnd();
    for (const version of [1, 2]) {
      // numpy pads the header with spaces to a multiple of 64 and ends it with a newline.
      const start = version === 1 ? 10 : 12;
      const text = dict + " ".repeat(Math.ceil((start + dict.length + 6000) / 64) * 64 - start - dict.length - 1) + "\n";
      const head = Buffer.alloc(start);
      bytes.copy(head, 0, 0, 6);
      head[6] = version;
      if (version === 1) head.writeUInt16LE(text.length, 8);
      else head.writeUInt32LE(text.length, 8);
      const long = writeTile(dir, spec);
      fs.writeFileSync(long.raster, Buffer.concat([head, Buffer.from(text, "latin1"), bytes.subarray(10 + headerLength)]));
      const out = path.join(dir, `v${version}`);
      await mergeRasters({ tiles: [long], outDir: out });
      for (const file of expected.files) assert.deepEqual(fs.readFileSync(path.join(out, path.basename(file))), fs.readFileSync(file), `version ${version}: ${file}`);
      // The same header over a file cut short inside it.
      fs.writeFileSync(long.raster, Buffer.concat([head, Buffer.from(text.slice(0, 5000), "latin1")]));
      await rejectsWith(mergeRasters({ tiles: [long], outDir: out }), /header is cut short/);
    }
  });

  it("fails with 'no points in any tile' for no tiles or only empty cells", async () => {
    await rejectsWith(mergeRasters({ tiles: [], outDir: dir }), /no points in any tile/);
    const empty = writeTile(dir, { originX: 0, originY: 100, rows: 2, cols: 2, value: () => NaN });
    await rejectsWith(mergeRasters({ tiles: [empty], outDir: dir }), /no points in any tile/);
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.endsWith(".tif")), []);
  });

  it("takes the CRS from the tiles, else from the parameter, else writes none", async () => {
    const rd = writeTile(dir, { originX: 0, originY: 100, rows: 1, cols: 1, crs: "EPSG:28992", value: () => 1 });
    const unnamed = writeTile(dir, { originX: 10, originY: 100, rows: 1, cols: 1, value: () => 1 });
    const fromTiles = await mergeRasters({ tiles: [unnamed, rd], outDir: path.join(dir, "tiles"), crs: "EPSG:4326" });
    assert.equal(fromTiles.crs, "EPSG:28992");
    assert.deepEqual(await geoKeysOf(fromTiles.files[0]!), { GTModelTypeGeoKey: 1, GTRasterTypeGeoKey: 1, ProjectedCSTypeGeoKey: 28992 });

    const fromParam = await mergeRasters({ tiles: [unnamed], outDir: path.join(dir, "param"), crs: "EPSG:4326" });
    assert.equal(fromParam.crs, "EPSG:4326");
    assert.deepEqual(await geoKeysOf(fromParam.files[0]!), { GTModelTypeGeoKey: 2, GTRasterTypeGeoKey: 1, GeographicTypeGeoKey: 4326 });

    const none = await mergeRasters({ tiles: [unnamed], outDir: path.join(dir, "none") });
    assert.equal(none.crs, "");
    assert.deepEqual(await geoKeysOf(none.files[0]!), {}, "no GeoKeys: GDAL would make up a CRS from any");
    const raster = await readTif(none.files[0]!);
    assert.deepEqual([raster.originX, raster.originY, raster.cellSize], [10, 100, 10], "the transform is there without a CRS");

    const wgs = writeTile(dir, { originX: 20, originY: 100, rows: 1, cols: 1, crs: "EPSG:4326", value: () => 1 });
    await rejectsWith(mergeRasters({ tiles: [rd, wgs], outDir: dir }), /crs 'EPSG:4326' differs from 'EPSG:28992'/);
    await rejectsWith(mergeRasters({ tiles: [unnamed], outDir: dir, crs: "+proj=longlat" }), /crs parameter: unsupported CRS/);
  });

  it("writes under a temporary name, so a failed merge leaves earlier results as they were", async () => {
    const out = path.join(dir, "out");
    const a = writeTile(dir, { originX: 0, originY: 100, rows: 2, cols: 2, value: () => 1 });
    const first = await mergeRasters({ tiles: [a], outDir: out });
    const before = first.files.map((f) => fs.readFileSync(f));

    // An input error: nothing is written.
    const overlapping = writeTile(dir, { originX: 0, originY: 100, rows: 1, cols: 1, value: () => 9 });
    await rejectsWith(mergeRasters({ tiles: [a, overlapping], outDir: out }), /overlap/);

    // A failure while writing the second feature: the first is not renamed into place either.
    const b = writeTile(dir, { originX: 100, originY: 100, rows: 2, cols: 2, value: () => 7 });
    const writeFile = fs.promises.writeFile;
    let writes = 0;
    fs.promises.writeFile = (async (...args: Parameters<typeof writeFile>) => {
      if (++writes === 2) throw new Error("disk full");
      return writeFile(...args);
    }) as typeof writeFile;
    try {
      await assert.rejects(mergeRasters({ tiles: [a, b], outDir: out }), /disk full/);
    } finally {
      fs.promises.writeFile = writeFile;
    }
    assert.equal(writes, 2);
    first.files.forEach((f, i) => assert.ok(fs.readFileSync(f).equals(before[i]!), `${f} changed`));
    assert.deepEqual(fs.readdirSync(out).sort(), ["density.tif", "height.tif"], "no temporary files are left");

    const second = await mergeRasters({ tiles: [a, b], outDir: out });
    assert.equal(second.width, 12);
  });
});
