// The Cloud Optimized GeoTIFF writer (src/lidar/cog/) and the merge that uses it: IFD bytes, GDAL's
// layout, rasters read back exactly by geotiff.js (NaN included), BigTIFF, overview sizes and values,
// and a mosaic of several bands of tiles equal to the one computed here cell by cell.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { fromArrayBuffer, GeoTIFF } from "geotiff";
import { encodeIfd, FieldType, ifdByteLength } from "../src/lidar/cog/ifd";
import { cogLayout, GHOST_HEADER, noDataTag } from "../src/lidar/cog/layout";
import { halveRows, levelSizes } from "../src/lidar/cog/overviews";
import { floatingPointPredictor } from "../src/lidar/cog/tiles";
import { CogWriter } from "../src/lidar/cog/writer";
import { decodeFloat32GeoTiff, encodeFloat32GeoTiff, georeferenceTags } from "../src/lidar/geotiff";
import { readFloat32Tiles } from "../src/lidar/cog/readTiles";
import { MergeTile, mergeRasters } from "../src/lidar/merge";
import { npyBytes } from "../src/lidar/npy";
import { tempDir } from "./helpers/notebooks";

async function openTiff(file: string): Promise<GeoTIFF> {
  const bytes = fs.readFileSync(file);
  return fromArrayBuffer(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer);
}

/** A raster's values: a smooth surface with NaN holes, so both values and nodata are exercised. */
function surface(width: number, height: number): Float32Array {
  const values = new Float32Array(width * height);
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) values[r * width + c] = (r * 3 + c * 5) % 17 === 0 ? NaN : Math.fround(Math.sin(r / 9) * 40 + c * 0.125 - 7);
  }
  return values;
}

/** Writes `values` with a CogWriter, a band of `blockSize` rows at a time. */
async function writeCog(file: string, values: Float32Array, width: number, height: number, blockSize: number, forceBigTiff = false) {
  const grid = { width, height, originX: 120_000, originY: 487_000, cellSize: 10, crs: "EPSG:28992" };
  const writer = await CogWriter.create(file, width, height, { blockSize, forceBigTiff, mainTags: georeferenceTags(grid) });
  for (let top = 0; top < height; top += blockSize) {
    const rows = Math.min(blockSize, height - top);
    // A fresh copy each time, overwritten after the call: the writer must not keep it.
    const band = values.slice(top * width, (top + rows) * width);
    await writer.writeRows(band, rows);
    band.fill(-1);
  }
  return writer.finish();
}

function sameValues(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const [a, e] = [actual[i]!, expected[i]!];
    if (!(Number.isNaN(e) ? Number.isNaN(a) : a === e)) assert.fail(`${what}: cell ${i} is ${a}, expected ${e}`);
  }
}

describe("COG writer", function () {
  this.timeout(60_000);
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir("naaw-cog-")));
  afterEach(() => cleanup());

  it("encodes IFD entries: inline values, out-of-line values after the IFD, classic and BigTIFF", () => {
    const tags = [
      { id: 258, type: FieldType.SHORT, values: [32] },
      { id: 256, type: FieldType.LONG, values: [70_000] },
      { id: 33550, type: FieldType.DOUBLE, values: [10, 10, 0] },
    ];
    const classic = encodeIfd(tags, 100, 0, false);
    assert.equal(classic.length, ifdByteLength(tags, false));
    assert.equal(classic.length, 2 + 3 * 12 + 4 + 24);
    assert.equal(classic.readUInt16LE(0), 3);
    // Sorted by tag id: 256 first, its LONG inline.
    assert.deepEqual([classic.readUInt16LE(2), classic.readUInt16LE(4), classic.readUInt32LE(6), classic.readUInt32LE(10)], [256, 4, 1, 70_000]);
    assert.deepEqual([classic.readUInt16LE(14), classic.readUInt16LE(16), classic.readUInt32LE(18), classic.readUInt16LE(22)], [258, 3, 1, 32]);
    // The doubles go right after the IFD (at file offset 100 + 42), the entry holding their offset.
    assert.deepEqual([classic.readUInt16LE(26), classic.readUInt16LE(28), classic.readUInt32LE(30), classic.readUInt32LE(34)], [33550, 12, 3, 142]);
    assert.deepEqual([classic.readDoubleLE(42), classic.readDoubleLE(50), classic.readDoubleLE(58)], [10, 10, 0]);
    assert.equal(classic.readUInt32LE(38), 0, "no next IFD");

    const big = encodeIfd(tags, 16, 1234, true);
    assert.equal(big.length, 8 + 3 * 20 + 8 + 24);
    assert.equal(big.readBigUInt64LE(0), 3n);
    assert.deepEqual([big.readUInt16LE(8), big.readUInt16LE(10), big.readBigUInt64LE(12), big.readUInt32LE(20)], [256, 4, 1n, 70_000]);
    assert.equal(big.readBigUInt64LE(8 + 2 * 20 + 12), BigInt(16 + 76), "doubles after the BigTIFF IFD");
    assert.equal(big.readBigUInt64LE(8 + 3 * 20), 1234n, "next IFD");
  });

  it("lays out GDAL's COG header: the ghost structural metadata right after the TIFF header", async () => {
    const file = path.join(dir, "a.tif");
    await writeCog(file, surface(40, 30), 40, 30, 16);
    const bytes = fs.readFileSync(file);
    // As GDAL 3.6 writes it (gdal_translate -of COG), byte for byte.
    const expected =
      "GDAL_STRUCTURAL_METADATA_SIZE=000140 bytes\nLAYOUT=IFDS_BEFORE_DATA\nBLOCK_ORDER=ROW_MAJOR\nBLOCK_LEADER=SIZE_AS_UINT4\n" +
      "BLOCK_TRAILER=LAST_4_BYTES_REPEATED\nKNOWN_INCOMPATIBLE_EDITION=NO\n ";
    assert.equal(GHOST_HEADER, expected);
    assert.equal(bytes.subarray(0, 4).toString("latin1"), "II*\0");
    assert.equal(bytes.subarray(8, 8 + expected.length).toString("latin1"), expected);
    assert.equal(bytes.readUInt32LE(4), 192, "the first IFD on the even byte after the ghost header");
  });

  it("round-trips a tiled raster through geotiff.js exactly, NaN kept as NaN and GDAL_NODATA nan", async () => {
    // 3 x 3 tiles of 16 cells, the last row and column of tiles partial.
    const [width, height] = [37, 45];
    const values = surface(width, height);
    const file = path.join(dir, "a.tif");
    const summary = await writeCog(file, values, width, height, 16);
    assert.equal(summary.bigTiff, false);
    const raster = await decodeFloat32GeoTiff(fs.readFileSync(file));
    assert.deepEqual([raster.width, raster.height, raster.originX, raster.originY, raster.cellSize, raster.epsg], [width, height, 120_000, 487_000, 10, 28992]);
    assert.ok(Number.isNaN(raster.noData!), "GDAL_NODATA is nan");
    sameValues(raster.values, values, "full resolution");
    const image = await (await openTiff(file)).getImage();
    assert.deepEqual([image.getTileWidth(), image.getTileHeight()], [16, 16]);
    assert.equal(await image.fileDirectory.loadValue("Compression"), 8, "DEFLATE");
    assert.equal(await image.fileDirectory.loadValue("Predictor"), 3, "floating-point predictor");
    // decodeFloat32GeoTiff reads these tiles with readTiles.ts; geotiff.js's own reader agrees.
    const [band] = await image.readRasters();
    sameValues(band as Float32Array, values, "geotiff.js's own reader");
  });

  it("reads back through geotiff.js what readTiles.ts does not read: a strip GeoTIFF", async () => {
    const [width, height] = [23, 9];
    const values = surface(width, height);
    const bytes = encodeFloat32GeoTiff(values, { width, height, originX: 5, originY: 60, cellSize: 2, crs: "EPSG:28992" });
    const image = await (await fromArrayBuffer(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer)).getImage();
    assert.equal(await readFloat32Tiles(image, bytes), undefined, "not tiled: left to geotiff.js");
    sameValues((await decodeFloat32GeoTiff(bytes)).values, values, "strip GeoTIFF");
  });

  it("makes overviews down to one tile, each the average of the cells below it without NaN", async () => {
    assert.deepEqual(levelSizes(1100, 700, 512), [{ width: 1100, height: 700 }, { width: 550, height: 350 }, { width: 275, height: 175 }]);
    assert.deepEqual(levelSizes(512, 512, 512), [{ width: 512, height: 512 }]);
    assert.deepEqual(levelSizes(28_000, 32_000, 512).map((l) => `${l.width}x${l.height}`), [
      "28000x32000", "14000x16000", "7000x8000", "3500x4000", "1750x2000", "875x1000", "438x500",
    ]);
    const [width, height] = [37, 45];
    const values = surface(width, height);
    const file = path.join(dir, "a.tif");
    const summary = await writeCog(file, values, width, height, 16);
    assert.deepEqual(summary.levels.map((l) => `${l.width}x${l.height}`), ["37x45", "19x23", "10x12"]);
    const tiff = await openTiff(file);
    assert.equal(await tiff.getImageCount(), 3);
    // Each overview as a plain halving of the level above: geotiff.js reads the same values.
    let above = values;
    let aboveWidth = width;
    let aboveHeight = height;
    for (let k = 1; k < 3; k++) {
      const image = await tiff.getImage(k);
      const [w, h] = [Math.ceil(aboveWidth / 2), Math.ceil(aboveHeight / 2)];
      assert.deepEqual([image.getWidth(), image.getHeight()], [w, h]);
      const expected = new Float32Array(w * h);
      halveRows(above, aboveWidth, aboveHeight, expected);
      const [band] = await image.readRasters();
      sameValues(band as Float32Array, expected, `overview ${k}`);
      [above, aboveWidth, aboveHeight] = [expected, w, h];
    }
    // One block by hand: (a + b + d) / 3 where c is NaN; an all-NaN block stays NaN.
    const halved = new Float32Array(2);
    halveRows(Float32Array.of(1, 2, NaN, NaN, NaN, 6, NaN, NaN), 4, 2, halved);
    assert.deepEqual([halved[0], halved[1]], [Math.fround(3), NaN]);
  });

  it("writes BigTIFF when asked (a file past 4 GiB gets it anyway), which geotiff.js reads the same", async () => {
    const [width, height] = [37, 45];
    const values = surface(width, height);
    const file = path.join(dir, "big.tif");
    const summary = await writeCog(file, values, width, height, 16, true);
    assert.equal(summary.bigTiff, true);
    const bytes = fs.readFileSync(file);
    assert.equal(bytes.subarray(0, 4).toString("latin1"), "II+\0");
    assert.deepEqual([bytes.readUInt16LE(4), bytes.readUInt16LE(6)], [8, 0], "8-byte offsets");
    assert.equal(bytes.readBigUInt64LE(8), BigInt(200), "the first IFD after the ghost header");
    assert.equal(bytes.subarray(16, 16 + GHOST_HEADER.length).toString("latin1"), GHOST_HEADER);
    sameValues((await decodeFloat32GeoTiff(bytes)).values, values, "BigTIFF");
  });

  it("switches to BigTIFF by itself when a classic TIFF's 32-bit offsets cannot reach the last tile", () => {
    const options = { blockSize: 512, mainTags: [], commonTags: [noDataTag()] };
    // Two tiles side by side: 2 GiB each is past 4 GiB with their leaders and the head.
    const large = cogLayout([{ width: 1024, height: 512, byteCounts: [2 ** 31, 2 ** 31] }], options);
    assert.equal(large.bigTiff, true);
    assert.equal(large.head.subarray(0, 4).toString("latin1"), "II+\0");
    assert.ok(large.size > 2 ** 32);
    const small = cogLayout([{ width: 1024, height: 512, byteCounts: [2 ** 31, 2 ** 30] }], options);
    assert.equal(small.bigTiff, false);
    assert.equal(small.head.subarray(0, 4).toString("latin1"), "II*\0");
  });

  it("predicts floats as TIFF's floating-point predictor: byte planes, most significant first, then differences", () => {
    // One row of two floats: 1.0 = 3f 80 00 00 and -2.0 = c0 00 00 00 (big-endian).
    const predicted = floatingPointPredictor(Float32Array.of(1, -2), 2);
    const planes = [0x3f, 0xc0, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00];
    const differences = planes.map((b, i) => (i === 0 ? b : (b - planes[i - 1]!) & 0xff));
    assert.deepEqual([...predicted], differences);
  });

  it("refuses rows that are not a whole band of tiles, and leaves no level file when aborted", async () => {
    const file = path.join(dir, "a.tif");
    const writer = await CogWriter.create(file, 40, 40, { blockSize: 16 });
    await assert.rejects(writer.writeRows(new Float32Array(40 * 10), 10), /expected 16 rows of 40 cells, got 10/);
    await writer.abort();
    assert.deepEqual(fs.readdirSync(dir), []);
  });
});

describe("merge writes COGs", function () {
  this.timeout(120_000);
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir("naaw-cog-merge-")));
  afterEach(() => cleanup());

  const FEATURES = ["height", "density"];
  /** Global value of feature f at (row, col); NaN in holes and in a band of empty rows. */
  const value = (f: number, row: number, col: number): number =>
    (row * 7 + col * 3) % 13 === 0 || (row >= 500 && row < 530) ? NaN : Math.fround(f * 1000 + Math.cos(row / 40) * 25 + col * 0.01);

  /** Tiles of 300 x 420 cells, each with an empty 2-cell buffer, covering 3 x 4 tiles minus one. */
  function writeTiles(): MergeTile[] {
    const tiles: MergeTile[] = [];
    const [tileRows, tileCols, buffer] = [300, 420, 2];
    for (let ty = 0; ty < 3; ty++) {
      for (let tx = 0; tx < 4; tx++) {
        if (tx === 3 && ty === 0) continue;
        const [rows, cols] = [tileRows + 2 * buffer, tileCols + 2 * buffer];
        const data = new Float32Array(FEATURES.length * rows * cols).fill(NaN);
        for (let f = 0; f < FEATURES.length; f++) {
          for (let r = buffer; r < rows - buffer; r++) {
            for (let c = buffer; c < cols - buffer; c++) data[(f * rows + r) * cols + c] = value(f, ty * tileRows + r - buffer, tx * tileCols + c - buffer);
          }
        }
        const name = `tile_${ty}_${tx}`;
        const raster = path.join(dir, `${name}.npy`);
        const info = path.join(dir, `${name}.json`);
        fs.writeFileSync(raster, npyBytes("<f4", [FEATURES.length, rows, cols], new Uint8Array(data.buffer)));
        const [originX, originY] = [120_000 + (tx * tileCols - buffer) * 10, 487_000 - (ty * tileRows - buffer) * 10];
        fs.writeFileSync(info, JSON.stringify({ feature_names: FEATURES, origin_x: originX, origin_y: originY, cell_size: 10, rows, cols, crs: "EPSG:28992" }));
        tiles.push({ raster, info });
      }
    }
    return tiles;
  }

  it("places every cell as before across bands of 512 rows, in tiled, compressed COGs with overviews", async () => {
    const result = await mergeRasters({ tiles: writeTiles(), outDir: path.join(dir, "out") });
    assert.deepEqual([result.width, result.height, result.originX, result.originY], [1680, 900, 120_000, 487_000]);
    for (let f = 0; f < FEATURES.length; f++) {
      const raster = await decodeFloat32GeoTiff(fs.readFileSync(result.files[f]!));
      const expected = new Float32Array(result.width * result.height);
      for (let r = 0; r < result.height; r++) {
        for (let c = 0; c < result.width; c++) expected[r * result.width + c] = c >= 1260 && r < 300 ? NaN : value(f, r, c);
      }
      sameValues(raster.values, expected, FEATURES[f]!);
      const tiff = await openTiff(result.files[f]!);
      const image = await tiff.getImage();
      assert.deepEqual([image.getTileWidth(), image.getTileHeight()], [512, 512]);
      assert.equal(await tiff.getImageCount(), 3, "full resolution and overviews of 840 x 450 and 420 x 225");
    }
    assert.deepEqual(fs.readdirSync(path.join(dir, "out")).sort(), ["density.tif", "height.tif"], "no level or temporary files left");
  });

  it("writes BigTIFF with forceBigTiff, the same pixels", async () => {
    const tiles = writeTiles();
    const classic = await mergeRasters({ tiles, outDir: path.join(dir, "classic") });
    const big = await mergeRasters({ tiles, outDir: path.join(dir, "big"), forceBigTiff: true });
    const [a, b] = [fs.readFileSync(classic.files[0]!), fs.readFileSync(big.files[0]!)];
    assert.equal(b.subarray(0, 4).toString("latin1"), "II+\0");
    sameValues((await decodeFloat32GeoTiff(b)).values, (await decodeFloat32GeoTiff(a)).values, "BigTIFF vs classic");
  });
});
