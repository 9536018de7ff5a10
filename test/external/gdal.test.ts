// The merged GeoTIFFs (src/lidar/merge.ts) as GDAL reads them: size, geotransform, band type, NaN
// nodata, CRS and pixel values, for a mosaic of synthetic tile rasters; and that they are Cloud
// Optimized GeoTIFFs: LAYOUT=COG, DEFLATE, 512 x 512 blocks, overviews, GDAL's COG validator, and every
// pixel as the strip GeoTIFF the merge wrote before.
// Needs GDAL's command-line tools and its Python utilities (`apt-get install gdal-bin python3-gdal`;
// CI installs them).
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { halveRows } from "../../src/lidar/cog/overviews";
import { encodeFloat32GeoTiff } from "../../src/lidar/geotiff";
import { MergeTile, mergeRasters } from "../../src/lidar/merge";
import { npyBytes } from "../../src/lidar/npy";
import { tempDir } from "../helpers/notebooks";

const FEATURES = ["perc_95_normalized_height", "point_density"];
const CELL = 10;

function run(command: string, args: readonly string[], input?: string): string {
  const result = spawnSync(command, args, { encoding: "utf8", input, timeout: 120_000, maxBuffer: 1 << 30 });
  assert.ok(!result.error, `${command} could not run: ${result.error?.message} (GDAL's tools come with the gdal-bin package)`);
  assert.equal(result.status, 0, `${command} ${args.join(" ")} failed:\n${result.stderr}`);
  return result.stdout;
}

/** A tile whose value for feature f at global cell (row, col) is f * 1000 + row + col / 100, NaN on the diagonal. */
function writeTile(dir: string, name: string, top: number, left: number, rows: number, cols: number, crs = ""): MergeTile {
  const data = new Float32Array(FEATURES.length * rows * cols);
  for (let f = 0; f < FEATURES.length; f++) {
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) data[(f * rows + r) * cols + c] = expected(f, top + r, left + c);
  }
  const raster = path.join(dir, `${name}.npy`);
  const info = path.join(dir, `${name}.json`);
  fs.writeFileSync(raster, npyBytes("<f4", [FEATURES.length, rows, cols], new Uint8Array(data.buffer)));
  fs.writeFileSync(
    info,
    JSON.stringify({ feature_names: FEATURES, origin_x: WEST + left * CELL, origin_y: NORTH - top * CELL, cell_size: CELL, rows, cols, crs, point_count: rows * cols }),
  );
  return { raster, info };
}

const WEST = 120_000;
const NORTH = 487_000;

function expected(f: number, row: number, col: number): number {
  return row === col ? NaN : Math.fround(f * 1000 + row + col / 100);
}

/** Four tiles of 20 x 30 cells making a 40 x 60 mosaic. */
function tiles(dir: string, crs = ""): MergeTile[] {
  return [0, 20].flatMap((top) => [0, 30].map((left) => writeTile(dir, `tile_${top}_${left}`, top, left, 20, 30, crs)));
}

/** Seven tiles of 400 x 450 cells in a 1200 x 1350 mosaic: three blocks each way, two overviews, gaps. */
const LARGE = { rows: 1200, cols: 1350, tileRows: 400, tileCols: 450 };
function largeTiles(dir: string): MergeTile[] {
  const tiles: MergeTile[] = [];
  for (let top = 0; top < LARGE.rows; top += LARGE.tileRows) {
    for (let left = 0; left < LARGE.cols; left += LARGE.tileCols) {
      // Two tiles missing (the corners stay, so the extent is the whole grid).
      if ((top === 400 && left === 0) || (top === 0 && left === 450)) continue;
      tiles.push(writeTile(dir, `large_${top}_${left}`, top, left, LARGE.tileRows, LARGE.tileCols, "EPSG:28992"));
    }
  }
  return tiles;
}

/** The large mosaic's cell (row, col) of feature f, as the merge must place it. */
function largeExpected(f: number, row: number, col: number): number {
  const missing = (row >= 400 && row < 800 && col < 450) || (row < 400 && col >= 450 && col < 900);
  return missing ? NaN : expected(f, row, col);
}

/** A raster's values as GDAL reads them (gdal_translate -of XYZ, row by row), with GDAL's options. */
function gdalValues(file: string, dir: string, options: readonly string[] = []): Float64Array {
  const xyz = path.join(dir, `${path.basename(file)}.${options.length}.xyz`);
  run("gdal_translate", ["-q", ...options, "-of", "XYZ", file, xyz]);
  const lines = fs.readFileSync(xyz, "utf8").trim().split("\n");
  fs.rmSync(xyz);
  return Float64Array.from(lines, (line) => Number(line.trim().split(/\s+/)[2]));
}

/** GDAL's COG validator (python3-gdal's osgeo_utils), with the Python that has it. */
function cogValidator(): string[] {
  for (const python of [process.env.NAAW_GDAL_PYTHON, "python3", "/usr/bin/python3"]) {
    if (!python) continue;
    const probe = spawnSync(python, ["-c", "import osgeo_utils.samples.validate_cloud_optimized_geotiff"], { encoding: "utf8" });
    if (probe.status === 0) return [python, "-m", "osgeo_utils.samples.validate_cloud_optimized_geotiff"];
  }
  assert.fail("GDAL's COG validator is not installed: no python3 imports osgeo_utils (apt-get install python3-gdal, or set NAAW_GDAL_PYTHON)");
}

describe("GDAL reads the merged GeoTIFFs", function () {
  this.timeout(60_000);
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir("naaw-gdal-")));
  afterEach(() => cleanup());

  it("gdalinfo: size, geotransform, Float32, NaN nodata and EPSG:28992", async () => {
    const result = await mergeRasters({ tiles: tiles(dir), outDir: path.join(dir, "out"), crs: "EPSG:28992" });
    for (const file of result.files) {
      const info = JSON.parse(run("gdalinfo", ["-json", file]));
      assert.equal(info.driverShortName, "GTiff");
      assert.deepEqual(info.size, [60, 40]);
      assert.deepEqual(info.geoTransform, [WEST, CELL, 0, NORTH, 0, -CELL]);
      assert.equal(info.bands.length, 1);
      assert.equal(info.bands[0].type, "Float32");
      assert.equal(info.bands[0].noDataValue, "NaN");
      assert.equal(info.metadata[""].AREA_OR_POINT, "Area");
      assert.match(info.coordinateSystem.wkt, /^PROJCRS\["Amersfoort \/ RD New"/);
      assert.match(info.coordinateSystem.wkt, /ID\["EPSG",28992\]\]$/);
    }
  });

  it("gdallocationinfo: values at their cells, NaN where a cell is empty", async () => {
    const result = await mergeRasters({ tiles: tiles(dir), outDir: path.join(dir, "out"), crs: "EPSG:28992" });
    // Pixel (column, row) pairs across all four tiles, two of them on the empty diagonal.
    const cells = [[0, 1], [1, 0], [29, 19], [30, 19], [59, 39], [31, 20], [5, 5], [33, 33], [45, 12]] as const;
    const query = cells.map(([col, row]) => `${col} ${row}`).join("\n") + "\n";
    result.files.forEach((file, f) => {
      const values = run("gdallocationinfo", ["-valonly", file], query).trim().split("\n");
      assert.equal(values.length, cells.length);
      cells.forEach(([col, row], i) => {
        const want = expected(f, row, col);
        if (Number.isNaN(want)) assert.match(values[i]!, /^nan$/i, `${FEATURES[f]} (${col}, ${row})`);
        else assert.ok(Math.abs(Number(values[i]) - want) < 1e-9, `${FEATURES[f]} (${col}, ${row}): GDAL reads ${values[i]}, expected ${want}`);
      });
    });
  });

  it("gdal_translate -of XYZ: every cell centre at its coordinates with its value", async () => {
    const result = await mergeRasters({ tiles: tiles(dir, "EPSG:28992"), outDir: path.join(dir, "out") });
    const xyz = path.join(dir, "density.xyz");
    run("gdal_translate", ["-q", "-of", "XYZ", result.files[1]!, xyz]);
    const lines = fs.readFileSync(xyz, "utf8").trim().split("\n");
    assert.equal(lines.length, 60 * 40);
    for (const line of lines) {
      const [x, y, value] = line.trim().split(/\s+/);
      const col = (Number(x) - WEST - CELL / 2) / CELL;
      const row = (NORTH - CELL / 2 - Number(y)) / CELL;
      assert.ok(Number.isInteger(col) && Number.isInteger(row), `cell centre ${x} ${y}`);
      const want = expected(1, row, col);
      if (Number.isNaN(want)) assert.match(value!, /nan/i);
      else assert.ok(Math.abs(Number(value) - want) < 1e-3, `(${col}, ${row}): ${value} vs ${want}`);
    }
  });

  it("a geographic CRS (EPSG:4326) and no CRS at all", async () => {
    const wgs = await mergeRasters({ tiles: tiles(dir), outDir: path.join(dir, "wgs"), crs: "EPSG:4326" });
    const wgsInfo = JSON.parse(run("gdalinfo", ["-json", wgs.files[0]!]));
    assert.match(wgsInfo.coordinateSystem.wkt, /^GEOGCRS\["WGS 84"/);
    assert.match(wgsInfo.coordinateSystem.wkt, /ID\["EPSG",4326\]\]$/);

    const none = await mergeRasters({ tiles: tiles(dir), outDir: path.join(dir, "none") });
    const noneInfo = JSON.parse(run("gdalinfo", ["-json", none.files[0]!]));
    assert.equal(noneInfo.coordinateSystem?.wkt ?? "", "", "no CRS is made up");
    assert.deepEqual(noneInfo.geoTransform, [WEST, CELL, 0, NORTH, 0, -CELL]);
    assert.equal(noneInfo.bands[0].noDataValue, "NaN");
  });
});

describe("the merge writes Cloud Optimized GeoTIFFs that GDAL recognises", function () {
  this.timeout(300_000);
  let dir: string;
  let cleanup: () => void;
  let tiles: MergeTile[];
  let files: readonly string[];
  before(async () => {
    ({ dir, cleanup } = tempDir("naaw-gdal-cog-"));
    tiles = largeTiles(dir);
    files = (await mergeRasters({ tiles, outDir: path.join(dir, "out") })).files;
  });
  after(() => cleanup());

  it("gdalinfo: LAYOUT=COG, DEFLATE with the floating-point predictor, 512 x 512 blocks, two overviews", () => {
    for (const file of files) {
      const info = JSON.parse(run("gdalinfo", ["-json", file]));
      assert.deepEqual(info.metadata.IMAGE_STRUCTURE, { COMPRESSION: "DEFLATE", INTERLEAVE: "BAND", LAYOUT: "COG", PREDICTOR: "3" });
      assert.deepEqual(info.size, [LARGE.cols, LARGE.rows]);
      assert.deepEqual(info.geoTransform, [WEST, CELL, 0, NORTH, 0, -CELL]);
      const [band] = info.bands;
      assert.deepEqual(band.block, [512, 512]);
      assert.equal(band.type, "Float32");
      assert.equal(band.noDataValue, "NaN");
      assert.deepEqual(band.overviews.map((o: { size: number[] }) => o.size), [[675, 600], [338, 300]]);
      assert.match(info.coordinateSystem.wkt, /ID\["EPSG",28992\]\]$/);
    }
  });

  it("GDAL's validate_cloud_optimized_geotiff.py passes, with its full check of tile leaders and trailers", async () => {
    const validator = cogValidator();
    const big = await mergeRasters({ tiles, outDir: path.join(dir, "big"), forceBigTiff: true });
    for (const file of [...files, ...big.files]) {
      const result = spawnSync(validator[0]!, [...validator.slice(1), "--full-check=yes", file], { encoding: "utf8" });
      assert.equal(result.status, 0, `the validator rejects ${file}:\n${result.stdout}${result.stderr}`);
      assert.match(result.stdout, /is a valid cloud optimized GeoTIFF/);
      assert.doesNotMatch(result.stdout + result.stderr, /warning/i);
    }
  });

  it("every pixel equals the strip GeoTIFF the merge wrote before, as GDAL reads both", () => {
    files.forEach((file, f) => {
      const mosaic = new Float32Array(LARGE.rows * LARGE.cols);
      for (let r = 0; r < LARGE.rows; r++) for (let c = 0; c < LARGE.cols; c++) mosaic[r * LARGE.cols + c] = largeExpected(f, r, c);
      // encodeFloat32GeoTiff is what the merge wrote the mosaic with before it wrote COGs.
      const strip = path.join(dir, `strip-${f}.tif`);
      fs.writeFileSync(strip, encodeFloat32GeoTiff(mosaic, { width: LARGE.cols, height: LARGE.rows, originX: WEST, originY: NORTH, cellSize: CELL, crs: "EPSG:28992" }));
      const [cog, before] = [gdalValues(file, dir), gdalValues(strip, dir)];
      assert.equal(cog.length, LARGE.rows * LARGE.cols);
      for (let i = 0; i < before.length; i++) {
        if (!Object.is(cog[i], before[i]) && !(Number.isNaN(cog[i]) && Number.isNaN(before[i]))) {
          assert.fail(`${FEATURES[f]}: cell (${i % LARGE.cols}, ${Math.floor(i / LARGE.cols)}) is ${cog[i]}, the strip GeoTIFF has ${before[i]}`);
        }
      }
      const [cogInfo, stripInfo] = [file, strip].map((name) => JSON.parse(run("gdalinfo", ["-json", name])));
      assert.equal(cogInfo.coordinateSystem.wkt, stripInfo.coordinateSystem.wkt, "the same CRS");
      assert.deepEqual(cogInfo.geoTransform, stripInfo.geoTransform);
      assert.equal(cogInfo.metadata[""].AREA_OR_POINT, stripInfo.metadata[""].AREA_OR_POINT);
    });
  });

  it("GDAL reads each overview as the average of the cells below it, NaN only where all are NaN", () => {
    const full = gdalValues(files[0]!, dir);
    const first = gdalValues(files[0]!, dir, ["-oo", "OVERVIEW_LEVEL=0"]);
    const halved = new Float32Array(675 * 600);
    halveRows(Float32Array.from(full), LARGE.cols, LARGE.rows, halved);
    assert.equal(first.length, halved.length);
    let values = 0;
    for (let i = 0; i < halved.length; i++) {
      const [got, want] = [first[i]!, halved[i]!];
      if (Number.isNaN(want)) {
        assert.ok(Number.isNaN(got), `overview cell ${i}: ${got}, expected NaN`);
      } else {
        // XYZ prints Float32 values rounded to about 7 significant digits.
        assert.ok(Math.abs(got - want) <= 1e-5 * Math.max(1, Math.abs(want)), `overview cell ${i}: ${got}, expected ${want}`);
        values++;
      }
    }
    assert.ok(values > halved.length / 2, "most of the overview has values");
  });
});
