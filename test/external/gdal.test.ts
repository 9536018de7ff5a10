// The merged GeoTIFFs (src/lidar/merge.ts) as GDAL reads them: size, geotransform, band type, NaN
// nodata, CRS and pixel values, for a mosaic of synthetic tile rasters.
// Needs GDAL's command-line tools (`apt-get install gdal-bin`; CI installs it).
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { MergeTile, mergeRasters } from "../../src/lidar/merge";
import { npyBytes } from "../../src/lidar/npy";
import { tempDir } from "../helpers/notebooks";

const FEATURES = ["perc_95_normalized_height", "point_density"];
const CELL = 10;

function run(command: string, args: readonly string[], input?: string): string {
  const result = spawnSync(command, args, { encoding: "utf8", input, timeout: 60_000 });
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
