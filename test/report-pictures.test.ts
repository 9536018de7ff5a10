// The report's pictures of the merged rasters (src/local/picture.ts): the merge makes them from the
// rows it writes, so the report does not decode the GeoTIFFs it has just written. They must be the
// pictures decoding would give, and a file changed since must be decoded, not pictured from memory.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { decodeFloat32GeoTiff, encodeFloat32GeoTiff } from "../src/lidar/geotiff";
import { npyBytes } from "../src/lidar/npy";
import { BUILTIN_STEPS } from "../src/local/builtinSteps";
import { PictureSampler, pictureOf, takeMadePicture } from "../src/local/picture";
import { previewRaster, previewSummaries, renderPicture } from "../src/local/preview";
import { fileValue, listValue, StepValue } from "../src/local/values";
import { tempDir } from "./helpers/notebooks";

/** A raster with NaN holes, a gradient and a few outliers, so percentiles and extremes matter. */
function raster(width: number, height: number): Float32Array {
  return Float32Array.from({ length: width * height }, (_, i) => {
    const [row, col] = [Math.floor(i / width), i % width];
    if ((row * 7 + col * 3) % 13 === 0) return NaN;
    if (i % 997 === 0) return 1e6;
    return row * 0.5 - col * 0.25;
  });
}

/** Feeds `values` to a sampler in bands of `band` rows, the last one shorter. */
function sampledInBands(values: Float32Array, width: number, height: number, band: number) {
  const sampler = new PictureSampler(width, height);
  for (let top = 0; top < height; top += band) {
    const rows = Math.min(band, height - top);
    // A fresh copy per band, then clobbered: the sampler must not keep a reference to it.
    const copy = values.slice(top * width, (top + rows) * width);
    sampler.addRows(copy, rows);
    copy.fill(-7);
  }
  return sampler.finish();
}

describe("report pictures: made by the merge as it writes", function () {
  let scratch: ReturnType<typeof tempDir>;
  let dir: string;
  before(() => {
    scratch = tempDir("naaw-pictures-");
    dir = scratch.dir;
  });
  after(() => scratch.cleanup());

  for (const [width, height, band] of [
    [2000, 1500, 512], // shrunk to 1024 x 768
    [1300, 700, 512], // shrunk, a last band of 188 rows
    [5, 3, 2], // enlarged 51 times: every source row pictured many times
    [300, 1, 512],
  ] as const) {
    it(`pictures a ${width} x ${height} raster given in bands of ${band} rows as it pictures the whole`, () => {
      const values = raster(width, height);
      const whole = pictureOf(values, width, height);
      const banded = sampledInBands(values, width, height, band);
      assert.deepEqual([banded.width, banded.height, banded.min, banded.max], [whole.width, whole.height, whole.min, whole.max]);
      assert.ok(Buffer.from(banded.values.buffer).equals(Buffer.from(whole.values.buffer)), "the pictured cells differ");
    });
  }

  it("refuses more rows than the raster has, and a picture before its last row", () => {
    const sampler = new PictureSampler(4, 3);
    sampler.addRows(new Float32Array(8), 2);
    assert.throws(() => sampler.finish(), /got 2 of 3 rows/);
    assert.throws(() => sampler.addRows(new Float32Array(8), 2), /4 rows given of a raster of 3/);
  });

  it("gives the report of a merge the previews decoding its GeoTIFFs gives, and decodes a file changed since", async function () {
    this.timeout(60_000);
    // One tile of 1100 x 40 cells: the mosaic is written in three bands of rows.
    const [rows, cols, features] = [1100, 40, ["height", "density"]];
    const data = new Float32Array(features.length * rows * cols);
    features.forEach((_, f) => data.set(raster(cols, rows).map((v) => v + f * 100), f * rows * cols));
    const tileRaster = path.join(dir, "raster.npy");
    const tileInfo = path.join(dir, "raster_info.json");
    fs.writeFileSync(tileRaster, npyBytes("<f4", [features.length, rows, cols], new Uint8Array(data.buffer)));
    const info = { feature_names: features, origin_x: 1000, origin_y: 20000, cell_size: 10, rows, cols, crs: "EPSG:28992", point_count: 1 };
    fs.writeFileSync(tileInfo, JSON.stringify(info));
    const out = path.join(dir, "out");
    const staging = path.join(dir, "staging");
    fs.mkdirSync(staging);
    const merged = await BUILTIN_STEPS.merge.run({
      params: { out, crs: "" },
      inputs: { rasters: listValue([fileValue(tileRaster)]), raster_infos: listValue([fileValue(tileInfo)]) },
      staging,
    });
    const files = (merged.files as StepValue & { kind: "value" }).value as string[];
    assert.equal(files.length, 2);

    const decoded = await Promise.all(files.map(async (file) => decodeFloat32GeoTiff(fs.readFileSync(file))));
    // The merge remembered a picture of each file; the report's previews use them up.
    const second = takeMadePicture(files[1]!);
    assert.ok(second, "the merge made no picture");
    assert.ok(renderPicture(second).png.equals(previewRaster(decoded[1]!.values, decoded[1]!.width, decoded[1]!.height).png));
    const summaries = await previewSummaries(files, 2);
    for (const [i, summary] of summaries.entries()) {
      const { values, ...grid } = decoded[i]!;
      const expected = previewRaster(values, grid.width, grid.height);
      assert.deepEqual(summary.grid, grid);
      assert.ok(summary.preview.png.equals(expected.png), `${files[i]}: the preview differs from the decoded raster's`);
      assert.deepEqual({ ...summary.preview, png: null }, { ...expected, png: null });
    }
    // Each picture serves one report: the next one decodes the files.
    assert.equal(takeMadePicture(files[0]!), undefined);

    // A merge again, then one raster replaced by another before the report: that one is decoded.
    await BUILTIN_STEPS.merge.run({ params: { out, crs: "" }, inputs: { rasters: listValue([fileValue(tileRaster)]), raster_infos: listValue([fileValue(tileInfo)]) }, staging });
    const small = Float32Array.from([1, 2, NaN, 4, 5, 6]);
    fs.writeFileSync(files[0]!, encodeFloat32GeoTiff(small, { width: 3, height: 2, originX: 0, originY: 20, cellSize: 10, crs: "EPSG:28992" }));
    const [replaced, kept] = await previewSummaries(files, 1);
    assert.deepEqual([replaced!.grid.width, replaced!.grid.height, replaced!.preview.min, replaced!.preview.max], [3, 2, 1, 6]);
    assert.ok(kept!.preview.png.equals(summaries[1]!.preview.png));
  });
});
