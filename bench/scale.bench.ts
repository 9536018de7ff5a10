/**
 * The scale series (issue 12): `npm run bench:scale`, and part of `npm run bench`.
 *   ts-node --transpile-only bench/scale.bench.ts [--quick] [--keep] [--strict]
 *
 * For 20 M, 80 M and 200 M generated points it runs the LiDAR workflow end to end
 * (`naaw run workflows/lidar.yaml --no-cache --workers 2`, 250 m tiles, 10 m cells) and shows whether
 * the cost per point stays constant and the memory flat as the area grows. The density stays at 20
 * points per m² and the area grows with N (1 x 1 km, 2 x 2 km, 5 x 2 km of 200 m LAS files), so the
 * number of tiles grows (16, 64, 160) while each tile holds the same 1.25 M points.
 *
 * Each size in turn: scripts/synthetic_forest.py writes the LAS files one file at a time (its peak
 * memory is one 200 m file's points per worker, whatever N) into one directory, where each size's
 * grid holds the smaller one's (the same origin; a file depends on the seed and its own origin
 * only, and the generator leaves files that are already there and up to date alone), so the series
 * generates 250 files, not 375; then the run is measured (wall, CPU,
 * peak RSS of the process tree and of its largest process, see measure.ts; the free disk space is
 * watched for the run's own peak use), its GeoTIFFs are checked (five features, the expected
 * extent, every cell has points, point_density x cell area sums to N; gdalinfo says LAYOUT=COG when
 * GDAL is installed), and the outputs and the run's private cache (`--cache-dir` under the size's
 * directory: its `--no-cache` scratch lives beside it) are deleted before the next size, so the disk
 * holds one size's data at a time (about 7 GB of LAS and as much again of intermediates at 200 M);
 * the LAS files go at the end (unless --keep).
 *
 * Checks: wall and CPU seconds per million points of each size, less the fixed cost of a run (a
 * one-tile run measured in the same bench), within 15 % of the 20 M one; the largest process's peak
 * RSS within 25 % of the 20 M one (see FLAT_TOLERANCE for why 25 %).
 * Options: --quick (2 M, 8 M, 20 M points: the same areas and tiles at 2 points per m², to try the
 * bench itself), --keep (keep each size's outputs and the LAS files),
 * --strict (exit 1 when a check misses, not only when a command fails or a raster is wrong).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { countPoints, mb, measure, Measured, ROOT, runBench, table, warm } from "./measure";
import { FEATURES, readGeoTiff } from "./rasters";

const NAAW = path.join(ROOT, "bin", "naaw.js");
const WORKFLOW = path.join(ROOT, "workflows", "lidar.yaml");
const GENERATOR = path.join(ROOT, "scripts", "synthetic_forest.py");
const DATA = path.join(ROOT, "bench", ".data", "scale");
/** The LAS files, shared by the sizes (see above); files left by an interrupted run are checked and reused. */
const LAS = path.join(DATA, "las");
const ORIGIN = [120000, 480000] as const; // the generator's default south-west corner
const FILE_SIZE = 200; // m, one LAS file
const TILE_SIZE = 250; // m, the workflow's tiles
const CELL_SIZE = 10;
const WORKERS = 2;
/** Seconds per point may differ this much from the smallest size's (the target). */
const TIME_TOLERANCE = 0.15;
/**
 * The largest process's peak RSS may grow this much over the smallest size's and still be "flat".
 * Every tile holds the same 1.25 M points, so a process that works tile by tile should peak at the
 * same size; what varies without growing is the tile's content (trees, returns per pulse: a few %)
 * and when V8's and Python's allocators give memory back (tens of MiB on a ~250 MiB process).
 * 25 % is well above that noise and well below what one mosaic- or list-sized structure would add
 * at 10 times the points. The same tolerance as lidar.bench.ts's split check.
 */
const FLAT_TOLERANCE = 0.25;
/** Disk per point needed by one size: LAS (32 B on average) and the run's intermediates; checked before generating. */
const DISK_BYTES_PER_POINT = 150;

interface Size {
  readonly label: string;
  readonly files: readonly [number, number]; // LAS files east, north
  readonly density: number;
}

interface Result {
  readonly size: Size;
  readonly points: number;
  readonly tiles: number;
  readonly generate: Measured;
  readonly run: Measured;
  /** `naaw builtin split` alone on the same files: the runner process's share that is the split's. */
  readonly split: Measured;
  readonly diskPeakBytes: number;
  readonly load: readonly [number, number]; // 1-minute load average: lowest, highest during the run
  readonly steps: Map<string, number>; // step id → seconds summed over its runs, from the run report
  readonly problems: readonly string[];
}

function sizes(quick: boolean): Size[] {
  const density = quick ? 2 : 20;
  const m = quick ? [2, 8, 20] : [20, 80, 200];
  return [
    { label: `${m[0]} M`, files: [5, 5], density },
    { label: `${m[1]} M`, files: [10, 10], density },
    { label: `${m[2]} M`, files: [25, 10], density },
  ];
}

const tileCount = (s: Size): number =>
  Math.ceil((s.files[0] * FILE_SIZE) / TILE_SIZE) * Math.ceil((s.files[1] * FILE_SIZE) / TILE_SIZE);

function freeBytes(dir: string): number {
  const st = fs.statfsSync(dir);
  return st.bavail * st.bsize;
}

/** Seconds per step id, summed over runs, from the "Step timings" table of the run's report.html. */
function stepSeconds(report: string): Map<string, number> {
  const steps = new Map<string, number>();
  const html = fs.existsSync(report) ? fs.readFileSync(report, "utf8") : "";
  const row = /<tr data-step="([^"]+)"><th>[^<]*<\/th><td>\d+<\/td><td>\d+<\/td><td>([\d.]+)<\/td>/g;
  for (let m = row.exec(html); m !== null; m = row.exec(html)) steps.set(m[1]!, Number(m[2]));
  return steps;
}

/** What is wrong with a run's GeoTIFFs (nothing: an empty list). */
async function checkRasters(out: string, s: Size, points: number): Promise<string[]> {
  const cols = (s.files[0] * FILE_SIZE) / CELL_SIZE;
  const rows = (s.files[1] * FILE_SIZE) / CELL_SIZE;
  const north = ORIGIN[1] + s.files[1] * FILE_SIZE;
  const problems: string[] = [];
  for (const feature of FEATURES) {
    const file = path.join(out, `${feature}.tif`);
    if (!fs.existsSync(file)) {
      problems.push(`${feature}.tif missing`);
      continue;
    }
    const raster = await readGeoTiff(file);
    if (raster.cols !== cols || raster.rows !== rows || raster.originX !== ORIGIN[0] || raster.originY !== north || raster.cellSize !== CELL_SIZE) {
      problems.push(`${feature}.tif: ${raster.cols} x ${raster.rows} cells of ${raster.cellSize} m at (${raster.originX}, ${raster.originY}), ` +
        `expected ${cols} x ${rows} of ${CELL_SIZE} m at (${ORIGIN[0]}, ${north})`);
      continue;
    }
    const values = raster.values;
    let empty = 0;
    let sum = 0;
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (Number.isNaN(v)) empty++;
      else sum += v;
    }
    // The forest is sampled uniformly, so every 10 m cell holds points: point_density and
    // pulse_penetration_ratio (over all points) are never NaN. The height features count vegetation
    // classes only, and a cell of open field may have none (at 2 points/m², --quick, it happens).
    const allPoints = feature === "point_density" || feature === "pulse_penetration_ratio";
    if (allPoints ? empty > 0 : empty > rows * cols * 0.01) problems.push(`${feature}.tif: ${empty} of ${rows * cols} cells are empty`);
    if (feature === "point_density") {
      const counted = sum * CELL_SIZE * CELL_SIZE;
      if (Math.abs(counted - points) > points * 1e-5) problems.push(`point_density.tif sums to ${counted.toFixed(0)} points, the LAS files hold ${points}`);
    }
    const gdal = spawnSync("gdalinfo", [file], { encoding: "utf8" });
    if (gdal.error === undefined && gdal.status === 0 && !/LAYOUT=COG/.test(gdal.stdout)) problems.push(`${feature}.tif: gdalinfo does not report LAYOUT=COG`);
    if (gdal.error === undefined && gdal.status !== 0) problems.push(`${feature}.tif: gdalinfo failed: ${gdal.stderr.trim()}`);
  }
  return problems;
}

async function runSize(s: Size, keep: boolean): Promise<Result> {
  const dir = path.join(DATA, s.label.replace(" ", ""));
  const las = LAS;
  const out = path.join(dir, "out");
  const cache = path.join(dir, "cache"); // the run's --no-cache scratch goes beside it, in dir
  fs.mkdirSync(dir, { recursive: true });
  fs.mkdirSync(las, { recursive: true });
  const expected = s.files[0] * s.files[1] * FILE_SIZE * FILE_SIZE * s.density;
  const free = freeBytes(dir);
  if (free < expected * DISK_BYTES_PER_POINT) {
    throw new Error(`${s.label} points need about ${mb(expected * DISK_BYTES_PER_POINT)} of disk under ${DATA}, ` +
      `${mb(free)} free: free some space (or try --quick)`);
  }
  process.stderr.write(`bench: ${s.label}: generating ${s.files[0]} x ${s.files[1]} LAS files of ${FILE_SIZE} m at ${s.density} points/m²\n`);
  const generate = await measure(`generate ${s.label}`, "python3",
    [GENERATOR, "--las-dir", las, "--tiles", String(s.files[0]), String(s.files[1]), "--size", String(FILE_SIZE),
      "--density", String(s.density), "--jobs", String(WORKERS)], { quiet: true });
  process.stderr.write(generate.stderr);
  const points = countPoints(las);
  spawnSync("sync"); // no write-back of the fresh files during the measured run
  warm(las);

  process.stderr.write(`bench: ${s.label}: naaw run, ${WORKERS} workers, ${tileCount(s)} tiles\n`);
  const freeBefore = freeBytes(dir);
  let freeLeast = freeBefore;
  let load: [number, number] = [os.loadavg()[0]!, os.loadavg()[0]!];
  let samples = 0;
  const run = await measure(`run ${s.label}`, process.execPath,
    [NAAW, "run", WORKFLOW, "--no-cache", "--workers", String(WORKERS), "--cache-dir", cache, "--out", out,
      "--set", `input=${las}`, "--set", `tile_size=${TILE_SIZE}`, "--set", `cell_size=${CELL_SIZE}`],
    {
      quiet: true,
      onSample: () => {
        // statfs every 100 ms is cheap; the load average moves slowly, so once a second is enough.
        freeLeast = Math.min(freeLeast, freeBytes(dir));
        if (samples++ % 10 === 0) {
          const l = os.loadavg()[0]!;
          load = [Math.min(load[0], l), Math.max(load[1], l)];
        }
      },
    });
  const problems = await checkRasters(out, s, points);
  const steps = stepSeconds(path.join(out, "report.html"));
  process.stderr.write(`bench: ${s.label}: naaw builtin split alone\n`);
  const splitOut = path.join(dir, "split");
  const split = await measure(`split ${s.label}`, process.execPath,
    [NAAW, "builtin", "split", "--outputs", splitOut, "--param", `input=${las}`, "--param", `tile_size=${TILE_SIZE}`,
      "--param", `cell_size=${CELL_SIZE}`], { quiet: true });
  fs.rmSync(splitOut, { recursive: true, force: true });
  if (!keep) fs.rmSync(dir, { recursive: true, force: true });
  return { size: s, points, tiles: tileCount(s), generate, run, split, diskPeakBytes: freeBefore - freeLeast, load, steps, problems };
}

/**
 * A run's cost that does not grow with the points: node's and the CLI's start-up, the component
 * services' start and stop, the report. Measured as a run over one 200 m file at 1 point per m²
 * (40,000 points, one tile), whose own work is a small fraction of a second.
 */
async function fixedCost(): Promise<Measured> {
  const dir = path.join(DATA, "fixed");
  const las = path.join(dir, "las");
  await measure("generate fixed", "python3", [GENERATOR, "--las-dir", las, "--size", String(FILE_SIZE), "--density", "1"], { quiet: true });
  process.stderr.write("bench: the fixed cost: naaw run over 40,000 points, one tile\n");
  const run = await measure("run fixed", process.execPath,
    [NAAW, "run", WORKFLOW, "--no-cache", "--workers", String(WORKERS), "--cache-dir", path.join(dir, "cache"), "--out", path.join(dir, "out"),
      "--set", `input=${las}`, "--set", `tile_size=${TILE_SIZE}`, "--set", `cell_size=${CELL_SIZE}`], { quiet: true });
  fs.rmSync(dir, { recursive: true, force: true });
  return run;
}

async function checkCli(): Promise<void> {
  const help = await measure("naaw run --help", process.execPath, [NAAW, "run", "--help"], { quiet: true });
  const missing = ["--no-cache", "--workers", "--cache-dir", "--set", "--out"].filter((flag) => !help.stdout.includes(flag));
  if (missing.length > 0) throw new Error(`this benchmark needs \`naaw run\` to take ${missing.join(", ")}; its --help:\n${help.stdout}`);
}

const perM = (seconds: number, points: number): number => seconds / (points / 1e6);

function report(results: readonly Result[], fixed: Measured): number {
  const base = results[0]!;
  const rows: string[][] = [["points", "LAS files", "tiles", "area km²", "wall s", "s per M", "net s per M", "CPU s", "CPU s per M",
    "largest proc", "tree", "split alone RSS", "disk (run)", "load avg", "generate s", "generator RSS"]];
  for (const r of results) {
    const cpu = r.run.cpuSeconds;
    rows.push([String(r.points), String(r.size.files[0] * r.size.files[1]), String(r.tiles),
      String((r.size.files[0] * r.size.files[1] * FILE_SIZE * FILE_SIZE) / 1e6), r.run.seconds.toFixed(1),
      perM(r.run.seconds, r.points).toFixed(3), perM(r.run.seconds - fixed.seconds, r.points).toFixed(3), cpu === null ? "-" : cpu.toFixed(1), cpu === null ? "-" : perM(cpu, r.points).toFixed(3),
      mb(r.run.largestBytes), mb(r.run.peakTreeBytes), mb(r.split.largestBytes), mb(Math.max(0, r.diskPeakBytes)),
      `${r.load[0].toFixed(1)}-${r.load[1].toFixed(1)}`, r.generate.seconds.toFixed(1), mb(r.generate.largestBytes)]);
  }
  process.stdout.write(`\nScale series: naaw run ${path.relative(ROOT, WORKFLOW)} --no-cache --workers ${WORKERS}, tile_size ${TILE_SIZE} m, ` +
    `cell_size ${CELL_SIZE} m, ${results[0]!.size.density} points/m²; ${os.cpus().length} CPUs, ${mb(os.totalmem())} RAM, ` +
    `shared (load avg: the 1-minute load during each run)\n` +
    `(wall and CPU of the run, node start-up included; peak RSS of its largest process (kernel) and of its process tree ` +
    `(sampled); disk (run): the most the free space fell during the run, other users' writes included)\n\n`);
  process.stdout.write(table(rows) + "\n");
  process.stdout.write(`net s per M: less the fixed cost of a run (start-up, services, report), ${fixed.seconds.toFixed(1)} s wall and ` +
    `${fixed.cpuSeconds === null ? "-" : fixed.cpuSeconds.toFixed(1)} CPU s for a one-tile run of 40,000 points\n\n`);
  for (const r of results) {
    process.stdout.write(`${r.size.label}, highest peaks (VmHWM, sampled): ` +
      r.run.topProcesses.map((p) => `${mb(p.peakBytes)} ${p.command}`).join("; ") + "\n");
  }
  process.stdout.write("\n");

  // Where the time goes, per million points: does any step grow faster than the points?
  const stepIds = [...new Set(results.flatMap((r) => [...r.steps.keys()]))];
  if (stepIds.length > 0) {
    const steps: string[][] = [["step s per M points (summed over tiles)", ...results.map((r) => r.size.label)]];
    for (const id of stepIds) steps.push([id, ...results.map((r) => (r.steps.has(id) ? perM(r.steps.get(id)!, r.points).toFixed(3) : "-"))]);
    process.stdout.write(table(steps) + "\n\n");
  }

  const checks: string[][] = [["check", "measured", "goal", ""]];
  let missed = 0;
  const check = (name: string, ratio: number, tolerance: number, two_sided: boolean): void => {
    const ok = two_sided ? Math.abs(ratio - 1) <= tolerance : ratio <= 1 + tolerance;
    if (!ok) missed++;
    checks.push([name, `x${ratio.toFixed(2)}`, two_sided ? `x${(1 - tolerance).toFixed(2)}-${(1 + tolerance).toFixed(2)}` : `<= x${(1 + tolerance).toFixed(2)}`, ok ? "PASS" : "MISS"]);
  };
  // Time per point is the run less its fixed cost (start-up, services, report: the one-tile run measured
  // above), which no number of points changes and which would otherwise favour the larger sizes.
  const net = (total: number, fixedPart: number, points: number): number => perM(total - fixedPart, points);
  for (const r of results.slice(1)) {
    check(`net wall s per M points, ${r.size.label} vs ${base.size.label}`, net(r.run.seconds, fixed.seconds, r.points) / net(base.run.seconds, fixed.seconds, base.points), TIME_TOLERANCE, true);
  }
  for (const r of results.slice(1)) {
    // CPU seconds move less than wall seconds when other users load the machine, and not with how busy both cores are.
    if (r.run.cpuSeconds !== null && base.run.cpuSeconds !== null && fixed.cpuSeconds !== null) {
      check(`net CPU s per M points, ${r.size.label} vs ${base.size.label}`, net(r.run.cpuSeconds, fixed.cpuSeconds, r.points) / net(base.run.cpuSeconds, fixed.cpuSeconds, base.points), TIME_TOLERANCE, true);
    }
  }
  for (const r of results.slice(1)) {
    // Informative, not counted: with the fixed cost in, a small run's time per point is higher.
    checks.push([`(gross wall s per M points, ${r.size.label} vs ${base.size.label})`, `x${(perM(r.run.seconds, r.points) / perM(base.run.seconds, base.points)).toFixed(2)}`, "", ""]);
  }
  for (const r of results.slice(1)) {
    check(`largest process peak RSS, ${r.size.label} vs ${base.size.label}`, r.run.largestBytes / base.run.largestBytes, FLAT_TOLERANCE, false);
  }
  for (const r of results.slice(1)) {
    // Informative, not counted: the tree's peak is sampled (100 ms) and moves with which steps overlap.
    checks.push([`(process tree peak RSS, ${r.size.label} vs ${base.size.label})`, `x${(r.run.peakTreeBytes / base.run.peakTreeBytes).toFixed(2)}`, "", ""]);
  }
  process.stdout.write(table(checks) + "\n\n");

  let invalid = 0;
  for (const r of results) {
    if (r.problems.length === 0) {
      process.stdout.write(`${r.size.label}: ${FEATURES.length} GeoTIFFs of ${(r.size.files[0] * FILE_SIZE) / CELL_SIZE} x ${(r.size.files[1] * FILE_SIZE) / CELL_SIZE} cells, ` +
        `the expected extent, cells filled, point_density sums to the ${r.points} points\n`);
    } else {
      invalid++;
      process.stdout.write(`${r.size.label}: the GeoTIFFs are WRONG:\n  ${r.problems.join("\n  ")}\n`);
    }
  }
  process.stdout.write(JSON.stringify({
    series: results.map((r) => ({
      points: r.points, tiles: r.tiles, seconds: r.run.seconds, cpu_seconds: r.run.cpuSeconds, largest_rss: r.run.largestBytes,
      peak_rss_tree: r.run.peakTreeBytes, split_seconds: r.split.seconds, split_largest_rss: r.split.largestBytes, disk_peak: r.diskPeakBytes, load: r.load, steps: Object.fromEntries(r.steps),
      top_processes: r.run.topProcesses, generate_seconds: r.generate.seconds, generate_largest_rss: r.generate.largestBytes, rasters_valid: r.problems.length === 0,
    })),
    fixed: { seconds: fixed.seconds, cpu_seconds: fixed.cpuSeconds, largest_rss: fixed.largestBytes }, checks_missed: missed,
  }) + "\n");
  return invalid > 0 ? 2 : missed > 0 ? 1 : 0;
}

async function main(argv: string[]): Promise<number> {
  const known = ["--quick", "--keep", "--strict"];
  const unknown = argv.filter((a) => !known.includes(a));
  if (unknown.length > 0) throw new Error(`unknown option(s) ${unknown.join(" ")} (known: ${known.join(" ")})`);
  const keep = argv.includes("--keep");
  await checkCli();
  fs.mkdirSync(DATA, { recursive: true });
  // Outputs and caches of an interrupted earlier run would add to the disk needed: start clean (its
  // LAS files are checked by the generator and reused).
  for (const entry of fs.readdirSync(DATA)) {
    if (path.join(DATA, entry) !== LAS) fs.rmSync(path.join(DATA, entry), { recursive: true, force: true });
  }
  const stop = (): void => {
    if (!keep) fs.rmSync(DATA, { recursive: true, force: true });
    process.exit(130);
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  const results: Result[] = [];
  let fixed: Measured;
  try {
    fixed = await fixedCost();
    for (const s of sizes(argv.includes("--quick"))) results.push(await runSize(s, keep));
  } finally {
    if (keep) process.stderr.write(`bench: data and outputs kept in ${DATA}\n`);
    else fs.rmSync(DATA, { recursive: true, force: true });
  }
  const outcome = report(results, fixed);
  return outcome === 2 || (outcome === 1 && argv.includes("--strict")) ? 1 : 0;
}

runBench(main);
