// The `split` built-in against the real LAS/LAZ test files (test/helpers/testData.ts: facts in lidar.manifest.json),
// plus patched copies of them for the bad-input cases.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { epsgFromGeoKeys, epsgFromWkt } from "../src/lidar/crs";
import { LidarInputError } from "../src/lidar/errors";
import { parseNpyHeader } from "../src/lidar/npy";
import { TILE_RECORD_BYTES } from "../src/lidar/pointRecords";
import type { SplitOptions, SplitResult } from "../src/lidar/split";
import { splitPointClouds } from "../src/lidar/split";
import { tileId } from "../src/lidar/tileStore";
import { pythonExecutable } from "../src/python/interpreter";
import { LIDAR_DIR, LIDAR_MANIFEST, lidarFile } from "./helpers/testData";

const data = lidarFile;
const MANIFEST = LIDAR_MANIFEST;

const DTYPE_TEXT =
  "[('x', '<f8'), ('y', '<f8'), ('z', '<f8'), ('intensity', '<u2'), ('return_number', '|u1'), ('number_of_returns', '|u1'), ('classification', '|u1'), ('gps_time', '<f8')]";

/** A tile's records, straight from its .npy. */
function tileRecords(npy: string): Buffer {
  const bytes = fs.readFileSync(npy);
  const header = parseNpyHeader(bytes);
  const records = bytes.subarray(header.dataOffset);
  assert.equal(records.length, header.shape[0]! * TILE_RECORD_BYTES, `${npy}: data length matches its shape`);
  return records;
}

function allRecords(result: SplitResult): Buffer {
  return Buffer.concat(result.tiles.map((t) => tileRecords(t.npy)));
}

function histogram(records: Buffer, fieldOffset: number): Record<string, number> {
  const counts: Record<string, number> = {};
  for (let o = fieldOffset; o < records.length; o += TILE_RECORD_BYTES) counts[records[o]!] = (counts[records[o]!] ?? 0) + 1;
  return counts;
}

/** The records as a sorted list, so two tilings can be compared as multisets. */
function sortedRecords(records: Buffer): string[] {
  const list: string[] = [];
  for (let o = 0; o < records.length; o += TILE_RECORD_BYTES) list.push(records.toString("hex", o, o + TILE_RECORD_BYTES));
  return list.sort();
}

let scratch: string;
let runs = 0;

async function split(input: string, overrides: Partial<SplitOptions> = {}): Promise<SplitResult> {
  return splitPointClouds({ input, outDir: path.join(scratch, `out${++runs}`), tileSize: 500, cellSize: 10, ...overrides });
}

/** A copy of a data file in the scratch directory, patched in place by `edit` (or replaced by the Buffer it returns). */
function patchedCopy(file: string, name: string, edit: (bytes: Buffer) => unknown): string {
  const bytes = fs.readFileSync(data(file));
  const edited = edit(bytes);
  const target = path.join(scratch, name);
  fs.writeFileSync(target, Buffer.isBuffer(edited) ? edited : bytes);
  return target;
}

async function splitError(input: string, overrides: Partial<SplitOptions> = {}): Promise<string> {
  try {
    await split(input, overrides);
  } catch (error) {
    assert.ok(error instanceof LidarInputError, `expected a LidarInputError, got ${String(error)}`);
    assert.ok(!error.message.includes("\n"), "the message is one line");
    return error.message;
  }
  assert.fail(`splitting ${input} should have failed`);
}

describe("lidar split", function () {
  this.timeout(60000);
  const results = new Map<string, SplitResult>();

  before(async () => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), "naaw-split-"));
    for (const entry of MANIFEST) results.set(entry.file, await split(data(entry.file)));
  });

  after(() => fs.rmSync(scratch, { recursive: true, force: true }));

  describe("the real files", () => {
    it("gives each file's point count, class and return-number histograms (manifest.json)", () => {
      for (const entry of MANIFEST) {
        const result = results.get(entry.file)!;
        const records = allRecords(result);
        assert.equal(result.pointCount, entry.point_count, entry.file);
        assert.equal(records.length / TILE_RECORD_BYTES, entry.point_count, entry.file);
        assert.equal(result.tiles.reduce((sum, t) => sum + t.pointCount, 0), entry.point_count, entry.file);
        assert.deepEqual(histogram(records, 28), entry.class_hist, `${entry.file} classes`);
        assert.deepEqual(histogram(records, 26), entry.return_number_hist, `${entry.file} return numbers`);
      }
    });

    it("decodes LAZ to tiles byte-identical to the LAS twin's", () => {
      for (const name of ["simple", "autzen_trim", "1_4_w_evlr"]) {
        const las = results.get(`${name}.las`)!;
        const laz = results.get(`${name}.laz`)!;
        assert.deepEqual(laz.tiles.map((t) => t.id), las.tiles.map((t) => t.id), name);
        for (const [i, tile] of las.tiles.entries()) assert.ok(fs.readFileSync(tile.npy).equals(fs.readFileSync(laz.tiles[i]!.npy)), `${name}: ${tile.id}`);
      }
    });

    it("reads point format 7 (autzen_trim_7.las) to the same points as format 3", () => {
      const pf3 = results.get("autzen_trim.las")!;
      const pf7 = results.get("autzen_trim_7.las")!;
      assert.deepEqual(pf7.tiles.map((t) => t.id), pf3.tiles.map((t) => t.id));
      for (const [i, tile] of pf3.tiles.entries()) {
        const a = tileRecords(tile.npy);
        const b = tileRecords(pf7.tiles[i]!.npy);
        assert.equal(a.length, b.length);
        for (let o = 0; o < a.length; o += TILE_RECORD_BYTES) {
          // x, y, z (bytes 0-23) and classification (byte 28)
          if (a.compare(b, o, o + 24, o, o + 24) !== 0 || a[o + 28] !== b[o + 28]) assert.fail(`${tile.id}: record ${o / TILE_RECORD_BYTES} differs`);
        }
      }
    });

    it("reads LAS 1.4 with a legacy point count of 0 and an EVLR, and its CRS from the WKT VLR", () => {
      const result = results.get("1_4_w_evlr.las")!;
      assert.equal(result.pointCount, 1000);
      assert.equal(result.crs, "EPSG:2903");
      assert.equal(results.get("1_4_w_evlr.laz")!.crs, "EPSG:2903");
    });

    it("takes the class from the low 5 bits for formats 0-5 (warsaw_small: raw bytes 34-37 are classes 2-5)", () => {
      assert.deepEqual(histogram(allRecords(results.get("warsaw_small.las")!), 28), { 0: 433, 2: 1381, 3: 257, 4: 27, 5: 902 });
    });

    it("takes the whole classification byte for formats 6-10", async () => {
      const file = patchedCopy("1_4_w_evlr.las", "class65.las", (bytes) => {
        const start = bytes.readUInt32LE(96);
        for (let i = 0; i < 1000; i += 2) bytes[start + i * 30 + 16] = 65;
      });
      assert.deepEqual(histogram(allRecords(await split(file)), 28), { 2: 500, 65: 500 });
    });

    it("writes .npy files numpy loads with the agreed dtype, and sidecars that describe them", () => {
      const result = results.get("autzen_trim.laz")!;
      const script =
        "import json, sys, numpy as np\n" +
        "out = []\n" +
        "for p in sys.argv[1:]:\n" +
        "    a = np.load(p, allow_pickle=False)\n" +
        "    out.append([str(a.dtype.descr), a.dtype.itemsize, a.shape[0], int(np.count_nonzero(a['classification'] == 2))])\n" +
        "print(json.dumps(out))\n";
      const loaded: [string, number, number, number][] = JSON.parse(execFileSync(pythonExecutable(), ["-c", script, ...result.tiles.map((t) => t.npy)], { encoding: "utf8" }));
      assert.equal(loaded.length, result.tiles.length);
      for (const [i, [descr, itemsize, count]] of loaded.entries()) {
        assert.equal(descr, DTYPE_TEXT);
        assert.equal(itemsize, 37);
        assert.equal(count, result.tiles[i]!.pointCount);
      }
      assert.equal(loaded.reduce((sum, row) => sum + row[3], 0), 26107);

      const tile = result.tiles[0]!;
      assert.deepEqual(JSON.parse(fs.readFileSync(tile.json, "utf8")), {
        tile: tile.id,
        bounds: [...tile.bounds],
        point_count: tile.pointCount,
        crs: "",
        source_files: [data("autzen_trim.laz")],
        tile_size: 500,
        cell_size: 10,
      });
      assert.deepEqual(fs.readdirSync(path.dirname(tile.npy)).sort(), result.tiles.flatMap((t) => [`${t.id}.json`, `${t.id}.npy`]).sort(), "only finished tiles in outDir");
    });
  });

  describe("tiling", () => {
    it("puts each point in the tile of its cell, floor(floor(x / cell) / k), with bounds = its cells' extent", () => {
      for (const file of ["autzen_trim.las", "AHN3.laz", "simple.las"]) {
        for (const tile of results.get(file)!.tiles) {
          const records = tileRecords(tile.npy);
          let [minCx, minCy, maxCx, maxCy] = [Infinity, Infinity, -Infinity, -Infinity];
          for (let o = 0; o < records.length; o += TILE_RECORD_BYTES) {
            const cx = Math.floor(records.readDoubleLE(o) / 10);
            const cy = Math.floor(records.readDoubleLE(o + 8) / 10);
            if (tileId(Math.floor(cx / 50), Math.floor(cy / 50)) !== tile.id) assert.fail(`${file}: a point of ${tile.id} belongs elsewhere`);
            [minCx, minCy, maxCx, maxCy] = [Math.min(minCx, cx), Math.min(minCy, cy), Math.max(maxCx, cx), Math.max(maxCy, cy)];
          }
          assert.deepEqual(tile.bounds, [minCx * 10, minCy * 10, (maxCx + 1) * 10, (maxCy + 1) * 10], `${file} ${tile.id}`);
        }
      }
    });

    it("holds the same multiset of points whatever the tile size (50 m and 500 m, cell 10 m)", async () => {
      for (const file of ["autzen_trim.las", "simple.laz"]) {
        const small = await split(data(file), { tileSize: 50 });
        assert.ok(small.tiles.length > results.get(file)!.tiles.length, `${file}: 50 m tiles are more`);
        assert.deepEqual(sortedRecords(allRecords(small)), sortedRecords(allRecords(results.get(file)!)), file);
        for (const tile of small.tiles) {
          const records = tileRecords(tile.npy);
          for (let o = 0; o < records.length; o += TILE_RECORD_BYTES) {
            const tx = Math.floor(Math.floor(records.readDoubleLE(o) / 10) / 5);
            const ty = Math.floor(Math.floor(records.readDoubleLE(o + 8) / 10) / 5);
            if (tileId(tx, ty) !== tile.id) assert.fail(`${file}: a point of ${tile.id} belongs to ${tileId(tx, ty)}`);
          }
        }
      }
    });

    it("names tiles of negative indices with m and floors across zero", async () => {
      assert.equal(tileId(-3, 12), "tile_m3_12");
      // simple.las shifted so its x straddles 0 (its header's x offset, and its box's max and min x).
      const file = patchedCopy("simple.las", "shifted.las", (bytes) => {
        bytes.writeDoubleLE(-637000, 155);
        for (const at of [179, 187]) bytes.writeDoubleLE(bytes.readDoubleLE(at) - 637000, at);
      });
      const result = await split(file, { tileSize: 100 });
      const ids = result.tiles.map((t) => t.id);
      assert.deepEqual(ids, [...ids].sort());
      assert.ok(ids.some((id) => id.startsWith("tile_m1_")), ids.join(" "));
      for (const tile of result.tiles) {
        const records = tileRecords(tile.npy);
        for (let o = 0; o < records.length; o += TILE_RECORD_BYTES) {
          const x = records.readDoubleLE(o);
          const y = records.readDoubleLE(o + 8);
          if (tileId(Math.floor(Math.floor(x / 10) / 10), Math.floor(Math.floor(y / 10) / 10)) !== tile.id) assert.fail(`x ${x} is not in ${tile.id}`);
        }
      }
      assert.equal(result.pointCount, 1065);
    });

    it("rejects a tile size that is not a multiple of the cell size", async () => {
      assert.match(await splitError(data("simple.las"), { tileSize: 55 }), /^tile_size 55 must be a positive multiple of cell_size 10$/);
      assert.match(await splitError(data("simple.las"), { tileSize: 0 }), /tile_size/);
      assert.equal((await split(data("simple.las"), { tileSize: 0.3, cellSize: 0.1 })).pointCount, 1065);
    });

    it("reports progress up to the total", async () => {
      const calls: [number, number][] = [];
      await split(data("autzen_trim.las"), { onProgress: (read, total) => calls.push([read, total]) });
      assert.deepEqual(calls[0], [0, 110000]);
      assert.deepEqual(calls.at(-1), [110000, 110000]);
    });
  });

  describe("inputs and CRS", () => {
    it("reads a directory's *.las/*.laz (any case, sorted) and a glob", async () => {
      const dir = path.join(scratch, "dir");
      fs.mkdirSync(dir);
      fs.copyFileSync(data("warsaw_small.las"), path.join(dir, "b.las"));
      fs.copyFileSync(data("simple.las"), path.join(dir, "A.LAS"));
      fs.copyFileSync(data("C_43FN1_1_2.LAZ"), path.join(dir, "c.LaZ"));
      fs.writeFileSync(path.join(dir, "notes.txt"), "not a point cloud");
      fs.mkdirSync(path.join(dir, "sub.las"));
      const fromDir = await split(dir);
      assert.deepEqual(fromDir.files, ["A.LAS", "b.las", "c.LaZ"].map((f) => path.join(dir, f)));
      assert.equal(fromDir.pointCount, 1065 + 3000 + 1210);

      data("C_43FN1_1_1.LAZ"); // present, or say how to get the files, before globbing their directory
      const fromGlob = await split(path.join(LIDAR_DIR, "C_43FN1_1_?.LAZ"));
      assert.deepEqual(fromGlob.files, [data("C_43FN1_1_1.LAZ"), data("C_43FN1_1_2.LAZ")]);
      assert.equal(fromGlob.pointCount, 308880, "the two retiled children hold the parent's points");
      const sources = fromGlob.tiles.map((t) => JSON.parse(fs.readFileSync(t.json, "utf8")).source_files);
      assert.ok(sources.some((s) => s.length === 2), "a tile fed by both files lists both");
      assert.deepEqual((await split(path.join(scratch, "d*", "*.las"))).files, [path.join(dir, "b.las")]);
    });

    it("takes the CRS from the files, else the crs option, and rejects files that disagree", async () => {
      assert.equal((await split(data("simple.las"), { crs: "EPSG:28992" })).crs, "EPSG:28992");
      assert.equal((await split(data("1_4_w_evlr.las"), { crs: "EPSG:28992" })).crs, "EPSG:2903");
      // autzen: GeoKeys say user-defined (32767) and the WKT has no EPSG code of its own.
      assert.equal((await split(data("autzen_trim.las"), { crs: "EPSG:2994" })).crs, "EPSG:2994");

      const dir = path.join(scratch, "mixed");
      fs.mkdirSync(dir);
      fs.copyFileSync(data("1_4_w_evlr.las"), path.join(dir, "a.las"));
      fs.copyFileSync(data("simple.las"), path.join(dir, "b.las"));
      const rd = patchedCopy("autzen_trim.las", "rd.las", (bytes) => {
        // ProjectedCSTypeGeoKey (3072), stored inline, from 32767 to 28992.
        const keys = bytes.indexOf(Buffer.from([0x00, 0x0c, 0, 0, 1, 0, 0xff, 0x7f]));
        bytes.writeUInt16LE(28992, keys + 6);
      });
      assert.equal((await split(rd)).crs, "EPSG:28992");
      fs.renameSync(rd, path.join(dir, "c.las"));
      assert.equal(
        await splitError(dir),
        `${path.join(dir, "c.las")}: its CRS EPSG:28992 differs from EPSG:2903 of ${path.join(dir, "a.las")}; split files of one CRS together`,
      );
    });

    it("finds the EPSG code of the outermost CRS in WKT and GeoKeys", () => {
      const horizontal = 'PROJCS["RD New",GEOGCS["Amersfoort",AUTHORITY["EPSG","4289"]],UNIT["metre",1,AUTHORITY["EPSG","9001"]],AUTHORITY["EPSG","28992"]]';
      assert.equal(epsgFromWkt(horizontal), 28992);
      assert.equal(epsgFromWkt(`COMPD_CS["RD + NAP",${horizontal},VERT_CS["NAP",AUTHORITY["EPSG","5709"]]]`), 28992);
      assert.equal(epsgFromWkt(`COMPD_CS["RD + NAP",${horizontal},VERT_CS["NAP"],AUTHORITY["EPSG","7415"]]`), 7415);
      assert.equal(epsgFromWkt('PROJCRS["ETRS89 / UTM 31N",BASEGEOGCRS["ETRS89",ID["EPSG",4258]],ID["EPSG",25831]]'), 25831);
      assert.equal(epsgFromWkt('GEOGCS["x",UNIT["degree",0.01,AUTHORITY["EPSG","9122"]]]'), undefined);
      assert.equal(epsgFromWkt("''"), undefined);
      const keys = Buffer.alloc(24);
      [1, 1, 0, 2, 2048, 0, 1, 4326, 3072, 0, 1, 28992].forEach((v, i) => keys.writeUInt16LE(v, i * 2));
      assert.equal(epsgFromGeoKeys(keys), 28992);
      keys.writeUInt16LE(32767, 22);
      assert.equal(epsgFromGeoKeys(keys), 4326);
    });
  });

  describe("bad input", () => {
    it("names the file and the problem in one line", async () => {
      const empty = path.join(scratch, "empty.las");
      fs.writeFileSync(empty, "");
      assert.equal(await splitError(empty), `${empty}: empty file`);

      const notLas = patchedCopy("simple.las", "notlas.las", (bytes) => bytes.write("XXXX", 0, "latin1"));
      assert.equal(await splitError(notLas), `${notLas}: not a LAS file (no LASF signature at the start)`);

      const truncated = patchedCopy("simple.las", "truncated.las", (bytes) => bytes.subarray(0, 20000));
      assert.equal(await splitError(truncated), `${truncated}: truncated: the header says 1065 points of 34 bytes from byte 227, but the file ends at byte 20000`);

      const shortHeader = patchedCopy("simple.las", "short.las", (bytes) => bytes.subarray(0, 100));
      assert.equal(await splitError(shortHeader), `${shortHeader}: truncated: the file ends at byte 100, inside the 227-byte LAS header`);

      const shortVlrs = patchedCopy("autzen_trim.las", "shortvlr.las", (bytes) => bytes.subarray(0, 600));
      assert.equal(await splitError(shortVlrs), `${shortVlrs}: truncated: VLR 3 of 5 starts at byte 591, but the file ends at byte 600`);

      const version = patchedCopy("simple.las", "v15.las", (bytes) => (bytes[25] = 5));
      assert.equal(await splitError(version), `${version}: unsupported LAS version 1.5 (1.0 to 1.4 are supported)`);

      const format = patchedCopy("simple.las", "pf11.las", (bytes) => (bytes[104] = 11));
      assert.equal(await splitError(format), `${format}: unsupported point format 11 (0 to 10 are supported)`);

      const compressor = patchedCopy("simple.laz", "compressor1.laz", (bytes) => {
        const vlr = bytes.indexOf("laszip encoded", 0, "latin1") - 2;
        bytes.writeUInt16LE(1, vlr + 54);
      });
      assert.equal(
        await splitError(compressor),
        `${compressor}: unsupported LAZ compressor 1 (pointwise (not chunked)): laz-perf reads compressor 2 (pointwise-chunked) and 3 (layered-chunked)`,
      );

      const truncatedLaz = patchedCopy("simple.laz", "truncated.laz", (bytes) => bytes.subarray(0, 9000));
      assert.equal(await splitError(truncatedLaz), `${truncatedLaz}: truncated: the LAZ chunk table should start at byte 18203, but the file ends at byte 9000`);

      const missing = path.join(scratch, "nothing-here.laz");
      assert.equal(await splitError(missing), `${missing}: no such file or directory`);

      const emptyDir = path.join(scratch, "emptydir");
      fs.mkdirSync(emptyDir);
      assert.equal(await splitError(emptyDir), `${emptyDir}: no LAS/LAZ files (*.las, *.laz) in this directory`);
      assert.equal(await splitError(path.join(emptyDir, "*.laz")), `${path.join(emptyDir, "*.laz")}: no LAS/LAZ files (*.las, *.laz) match this pattern`);
    });

    it("leaves no half-written tiles when a split fails midway", async () => {
      const outDir = path.join(scratch, "failed");
      let partial: string[] = [];
      await assert.rejects(
        splitPointClouds({
          input: data("C_43FN1_1.LAZ"),
          outDir,
          tileSize: 2000,
          cellSize: 10,
          onProgress: (read) => {
            if (read < 200000) return;
            // By now the fullest tile has passed its buffer and been written in part.
            partial = fs.readdirSync(outDir).flatMap((d) => fs.readdirSync(path.join(outDir, d)));
            throw new Error("stop");
          },
        }),
        /stop/,
      );
      assert.ok(partial.some((f) => f.endsWith(".npy")), `partial tiles were on disk: ${partial.join(" ")}`);
      assert.deepEqual(fs.readdirSync(outDir), []);
    });
  });
});
