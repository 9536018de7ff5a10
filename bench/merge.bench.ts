/**
 * The country-sized merge (issue 12): `npm run bench:merge`, and the last part of `npm run bench`.
 *   ts-node --transpile-only bench/merge.bench.ts [--features N] [--quick] [--keep]
 *
 * A mosaic the size of the Netherlands at 10 m: 28,000 x 32,000 cells, cut into the 2 km tiles
 * (200 x 200 cells) that Laserfarm writes, keeping those inside a diamond that touches all four
 * edges (about half of them, as about 10,000 of AHN3's tiles hold data). The tiles' raster.npy and
 * raster_info.json are generated one at a time, straight to disk (bench/.merge-data/, removed
 * afterwards), with N features (5 unless given; AHN3's workflow computes five); the merge then runs
 * in a child process, as the built-in step does, which reports its wall time and peak RSS
 * (process.resourceUsage().maxRSS, from the kernel). Target: under 1 GB.
 * Afterwards a few hundred cells of each GeoTIFF, read back with geotiff.js, are checked against the
 * generator, and the COG's structure (tile size, overview count) is printed.
 *
 * --quick: a tenth of the size each way (2,800 x 3,200 cells), to try the bench itself.
 * --keep: keep the generated tiles and the GeoTIFFs.
 * Disk: the tiles take 160 kB per feature per tile (about 1.8 GB per feature at full size), each
 * GeoTIFF about as much again, and the merge needs one feature's tiles again while it writes it.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { fromFile } from "geotiff";
import { MergeResult, mergeRasters } from "../src/lidar/merge";
import { npyBytes } from "../src/lidar/npy";

const ROOT = path.resolve(__dirname, "..");
const DATA = path.join(ROOT, "bench", ".merge-data");
const FEATURE_NAMES = ["perc_95_normalized_height", "max_normalized_height", "mean_normalized_height", "pulse_penetration_ratio", "point_density"];
const CELL = 10;
const TILE_CELLS = 200;
const WEST = 0;
const NORTH = 625_000;
const TARGET_PEAK_BYTES = 1 << 30;
const SAMPLES = 300;

interface Scene {
  readonly rows: number;
  readonly cols: number;
  readonly features: readonly string[];
}

/**
 * Whether the tile with north-west cell (top, left) is kept: its centre inside the diamond widened by
 * half a tile, so that the tiles at the middle of each edge are in and the mosaic spans the scene.
 */
function kept(scene: Scene, top: number, left: number): boolean {
  const y = (top + TILE_CELLS / 2) / scene.rows - 0.5;
  const x = (left + TILE_CELLS / 2) / scene.cols - 0.5;
  return Math.abs(x) + Math.abs(y) <= 0.5 + TILE_CELLS / 2 / Math.min(scene.rows, scene.cols);
}

/**
 * Feature f's value at global cell (row, col): a smooth surface with cell-scale noise, as LiDAR
 * features are (the noise is what DEFLATE cannot squeeze). A few cells stay empty (water, no points).
 */
function value(f: number, row: number, col: number): number {
  let h = Math.imul(row, 73_856_093) ^ Math.imul(col, 19_349_663) ^ Math.imul(f + 1, 83_492_791);
  h = Math.imul(h ^ (h >>> 13), 0x5bd1e995);
  const noise = ((h ^ (h >>> 15)) >>> 0) / 0xffffffff;
  if (noise < 0.02) return NaN;
  return Math.fround(f * 10 + 15 + 12 * Math.sin(row / 300) * Math.cos(col / 450) + 3 * noise);
}

/** Writes the scene's tiles one by one; returns their paths. */
function generate(scene: Scene): { raster: string; info: string }[] {
  fs.rmSync(DATA, { recursive: true, force: true });
  fs.mkdirSync(DATA, { recursive: true });
  const tiles: { raster: string; info: string }[] = [];
  const data = new Float32Array(scene.features.length * TILE_CELLS * TILE_CELLS);
  for (let top = 0; top < scene.rows; top += TILE_CELLS) {
    for (let left = 0; left < scene.cols; left += TILE_CELLS) {
      if (!kept(scene, top, left)) continue;
      for (let f = 0; f < scene.features.length; f++) {
        for (let r = 0; r < TILE_CELLS; r++) for (let c = 0; c < TILE_CELLS; c++) data[(f * TILE_CELLS + r) * TILE_CELLS + c] = value(f, top + r, left + c);
      }
      const name = `tile_${top / TILE_CELLS}_${left / TILE_CELLS}`;
      const raster = path.join(DATA, `${name}.npy`);
      const info = path.join(DATA, `${name}.json`);
      fs.writeFileSync(raster, npyBytes("<f4", [scene.features.length, TILE_CELLS, TILE_CELLS], new Uint8Array(data.buffer)));
      const json = { feature_names: scene.features, origin_x: WEST + left * CELL, origin_y: NORTH - top * CELL, cell_size: CELL, rows: TILE_CELLS, cols: TILE_CELLS, crs: "EPSG:28992" };
      fs.writeFileSync(info, JSON.stringify(json));
      tiles.push({ raster, info });
    }
  }
  return tiles;
}

/** The child: merges the tiles listed in a file and prints its figures as one JSON line. */
async function child(listFile: string, outDir: string): Promise<void> {
  const tiles = JSON.parse(fs.readFileSync(listFile, "utf8")) as { raster: string; info: string }[];
  const start = process.hrtime.bigint();
  const result = await mergeRasters({ tiles, outDir, crs: "EPSG:28992" });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const usage = process.resourceUsage();
  console.log(JSON.stringify({ result, seconds, peakRssBytes: usage.maxRSS * 1024, cpuSeconds: (usage.userCPUTime + usage.systemCPUTime) / 1e6 }));
}

/** Samples cells of each GeoTIFF with geotiff.js and compares them with the generator. */
async function check(result: MergeResult, scene: Scene): Promise<string[]> {
  const problems: string[] = [];
  const structure: string[] = [];
  for (const [f, file] of result.files.entries()) {
    const tiff = await fromFile(file);
    const image = await tiff.getImage();
    structure.push(`${path.basename(file)}: ${image.getTileWidth()}x${image.getTileHeight()} tiles, ${(await tiff.getImageCount()) - 1} overviews, ${(fs.statSync(file).size / 1e9).toFixed(2)} GB`);
    let seed = 7 + f;
    for (let i = 0; i < SAMPLES; i++) {
      seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0;
      const row = seed % scene.rows;
      seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0;
      const col = seed % scene.cols;
      const [band] = await image.readRasters({ window: [col, row, col + 1, row + 1] });
      const got = (band as Float32Array)[0]!;
      const inside = kept(scene, row - (row % TILE_CELLS), col - (col % TILE_CELLS));
      const want = inside ? value(f, row, col) : NaN;
      if (!(Number.isNaN(want) ? Number.isNaN(got) : got === want)) problems.push(`${path.basename(file)} (${col}, ${row}): ${got}, expected ${want}`);
    }
    await tiff.close();
  }
  structure.forEach((line) => console.log(`  ${line}`));
  return problems;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === "--child") return child(args[1]!, args[2]!);
  const quick = args.includes("--quick");
  const keep = args.includes("--keep");
  const at = args.indexOf("--features");
  const count = at >= 0 ? Number(args[at + 1]) : FEATURE_NAMES.length;
  if (!Number.isInteger(count) || count < 1 || count > FEATURE_NAMES.length) throw new Error(`--features takes 1 to ${FEATURE_NAMES.length}`);
  const scale = quick ? 10 : 1;
  const scene: Scene = { rows: 32_000 / scale, cols: 28_000 / scale, features: FEATURE_NAMES.slice(0, count) };
  console.log(`merge bench: ${scene.cols} x ${scene.rows} cells at ${CELL} m, ${count} feature(s)`);
  try {
    let start = Date.now();
    const tiles = generate(scene);
    console.log(`  generated ${tiles.length} tiles of ${TILE_CELLS} x ${TILE_CELLS} cells in ${((Date.now() - start) / 1000).toFixed(0)} s`);
    const listFile = path.join(DATA, "tiles.json");
    fs.writeFileSync(listFile, JSON.stringify(tiles));
    const outDir = path.join(DATA, "out");
    start = Date.now();
    const run = spawnSync(process.execPath, [...process.execArgv, "-r", "ts-node/register/transpile-only", __filename, "--child", listFile, outDir], {
      cwd: ROOT,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "true" },
    });
    if (run.status !== 0) throw new Error(`the merge failed (exit ${run.status ?? run.signal})`);
    const figures = JSON.parse(run.stdout.trim().split("\n").pop()!) as { result: MergeResult; seconds: number; peakRssBytes: number; cpuSeconds: number };
    if (figures.result.width !== scene.cols || figures.result.height !== scene.rows) {
      throw new Error(`the mosaic is ${figures.result.width} x ${figures.result.height} cells, not the scene's ${scene.cols} x ${scene.rows}`);
    }
    const cells = figures.result.width * figures.result.height;
    console.log(`  mosaic ${figures.result.width} x ${figures.result.height} = ${(cells / 1e6).toFixed(0)} M cells per feature`);
    console.log(`  merge: ${figures.seconds.toFixed(1)} s wall (${(figures.seconds / count).toFixed(1)} s per feature), ${figures.cpuSeconds.toFixed(1)} s CPU`);
    const peakMb = figures.peakRssBytes / 2 ** 20;
    console.log(`  peak RSS: ${peakMb.toFixed(0)} MiB (target < ${TARGET_PEAK_BYTES / 2 ** 20} MiB): ${figures.peakRssBytes < TARGET_PEAK_BYTES ? "ok" : "MISSED"}`);
    const problems = await check(figures.result, scene);
    console.log(`  ${SAMPLES} cells per GeoTIFF checked against the generator: ${problems.length === 0 ? "all equal" : problems.slice(0, 5).join("; ")}`);
    if (problems.length > 0 || figures.peakRssBytes >= TARGET_PEAK_BYTES) process.exitCode = 1;
  } finally {
    if (!keep) fs.rmSync(DATA, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(`merge bench: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
