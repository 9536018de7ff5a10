/**
 * The LiDAR benchmark: `npm run bench` (ts-node --transpile-only bench/lidar.bench.ts).
 *
 * On a generated synthetic forest of 20 million points (bench/.data/, made once by
 * scripts/synthetic_forest.py and reused), it measures
 *   (a) the split alone: `naaw builtin split` points/s and peak RSS;
 *   (b) the whole workflow: `naaw run workflows/lidar.yaml --no-cache` with 1 and then 2 workers;
 *   (c) the baseline: bench/numpy_pipeline.py, the same maths as one plain numpy program;
 *   (d) memory flatness: the split's peak RSS on 10 and 20 million points;
 * prints a table and the ratios against the targets
 *   end-to-end points/s per worker >= 0.5 x numpy points/s;   split >= 2 M points/s per core;
 * and checks that the GeoTIFFs of every run equal the numpy rasters bit for bit.
 *
 * Peak RSS: the process tree (the command and all its descendants) is sampled from /proc every
 * 100 ms and the largest total is kept ("tree"); the largest single process's peak is exact, from the
 * kernel through /usr/bin/time ("largest"). CPU seconds (user + system, of the command and the
 * children it reaped) come from /usr/bin/time too. Wall time includes node's start-up.
 *
 * Options: --quick (a 4 M / 2 M point dataset, to try the bench itself), --keep (keep the outputs),
 * --strict (exit 1 when a target is missed, not only on errors and raster mismatches).
 * The exit code is 1 when a command fails or a raster differs.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { countPoints, mb, measure, Measured, mpps, runBench, table, warm } from "./measure";
import { compareRasters, FEATURES, readNumpyRasters } from "./rasters";

const ROOT = path.resolve(__dirname, "..");
const NAAW = path.join(ROOT, "bin", "naaw.js");
const WORKFLOW = path.join(ROOT, "workflows", "lidar.yaml");
const GENERATOR = path.join(ROOT, "scripts", "synthetic_forest.py");
const NUMPY_PIPELINE = path.join(ROOT, "bench", "numpy_pipeline.py");
const DATA = path.join(ROOT, "bench", ".data");
// 250 m tiles: 16 over the 1 km² dataset, enough for two workers to share evenly.
const TILE_SIZE = 250;
const CELL_SIZE = 10;
const TARGET_E2E_PER_WORKER = 0.5; // x numpy points/s
const TARGET_SPLIT_PER_CORE = 2e6; // points/s
const FLAT_TOLERANCE = 1.25; // split peak RSS on 2x the points may grow this much and still be "flat"

interface Dataset {
  readonly name: string;
  readonly dir: string;
  readonly args: readonly string[];
}

// --- data ------------------------------------------------------------------------------------------

async function ensureDataset(data: Dataset): Promise<number> {
  const m = await measure(`generate ${data.name}`, "python3", [GENERATOR, "--las-dir", data.dir, ...data.args], { quiet: true });
  process.stderr.write(m.stderr);
  return countPoints(data.dir);
}

async function checkCli(): Promise<void> {
  for (const verb of [["builtin", "split", "--help"], ["run", "--help"]]) {
    try {
      await measure(`naaw ${verb[0]}`, process.execPath, [NAAW, ...verb], { quiet: true });
    } catch (error) {
      throw new Error(`this benchmark needs \`naaw ${verb[0]}\` (the CLI contract: naaw builtin split --outputs DIR ` +
        `--param input=PATH --param tile_size=500 --param cell_size=10; naaw run WORKFLOW --set NAME=VALUE --out DIR ` +
        `--workers N --no-cache), and \`node bin/naaw.js ${verb.join(" ")}\` failed:\n${(error as Error).message}`);
    }
  }
}

async function main(argv: string[]): Promise<number> {
  const quick = argv.includes("--quick");
  const keep = argv.includes("--keep");
  const strict = argv.includes("--strict");
  const unknown = argv.filter((a) => !["--quick", "--keep", "--strict"].includes(a));
  if (unknown.length > 0) throw new Error(`unknown option(s) ${unknown.join(" ")} (known: --quick --keep --strict)`);

  await checkCli();

  const grid = ["--tiles", "5", "5", "--size", "200"];
  const big: Dataset = quick
    ? { name: "quick_4m", dir: path.join(DATA, "forest_4m"), args: [...grid, "--density", "4"] }
    : { name: "forest_20m", dir: path.join(DATA, "forest_20m"), args: [...grid, "--density", "20"] };
  const half: Dataset = quick
    ? { name: "quick_2m", dir: path.join(DATA, "forest_2m"), args: [...grid, "--density", "2"] }
    : { name: "forest_10m", dir: path.join(DATA, "forest_10m"), args: [...grid, "--density", "10"] };
  const points = await ensureDataset(big);
  const halfPoints = await ensureDataset(half);
  // Freshly generated files may still be being written back to disk: flush them now, so that no
  // measured step competes with that I/O.
  spawnSync("sync");
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "naaw-bench-"));
  process.stderr.write(`bench: ${points} points in ${big.dir}; ${halfPoints} in ${half.dir}; outputs in ${work}\n`);

  try {
    const node = process.execPath;
    const splitArgs = (dir: string, out: string): string[] =>
      [NAAW, "builtin", "split", "--outputs", out, "--param", `input=${dir}`,
        "--param", `tile_size=${TILE_SIZE}`, "--param", `cell_size=${CELL_SIZE}`];

    // (c) numpy baseline first: its rasters are the reference. The better of two runs, so that a
    // slow moment of the machine does not make the baseline (and so the target) easier.
    process.stderr.write("bench: numpy baseline (best of 2)\n");
    const numpyOut = path.join(work, "numpy");
    let numpy: Measured | null = null;
    let numpyJson: { points: number; seconds: number; points_per_second: number } | null = null;
    const numpyTimes: number[] = [];
    for (let attempt = 0; attempt < 2; attempt++) {
      warm(big.dir);
      const m = await measure("numpy", "python3", [NUMPY_PIPELINE, "--out", numpyOut, "--cell-size", String(CELL_SIZE), big.dir]);
      const json = JSON.parse(m.stdout.trim().split("\n").pop()!);
      numpyTimes.push(json.seconds);
      if (numpyJson === null || json.seconds < numpyJson.seconds) {
        numpy = m;
        numpyJson = json;
      }
    }
    if (numpy === null || numpyJson === null) throw new Error("numpy baseline: no run");
    if (numpyJson.points !== points) throw new Error(`numpy_pipeline read ${numpyJson.points} points, the headers say ${points}`);
    const reference = readNumpyRasters(numpyOut);

    // (a) + (d) the split alone, on both sizes.
    process.stderr.write("bench: split\n");
    warm(big.dir);
    const split = await measure("split", node, splitArgs(big.dir, path.join(work, "split")));
    fs.rmSync(path.join(work, "split"), { recursive: true, force: true });
    warm(half.dir);
    const splitHalf = await measure("split (half)", node, splitArgs(half.dir, path.join(work, "split_half")));
    fs.rmSync(path.join(work, "split_half"), { recursive: true, force: true });

    // (b) end to end.
    const runs: { workers: number; m: Measured; out: string }[] = [];
    for (const workers of [1, 2]) {
      process.stderr.write(`bench: naaw run, ${workers} worker(s)\n`);
      const out = path.join(work, `run_w${workers}`);
      warm(big.dir);
      const m = await measure(`run (${workers} worker${workers > 1 ? "s" : ""})`, node,
        [NAAW, "run", WORKFLOW, "--set", `input=${big.dir}`, "--set", `tile_size=${TILE_SIZE}`,
          "--set", `cell_size=${CELL_SIZE}`, "--out", out, "--workers", String(workers), "--no-cache"]);
      runs.push({ workers, m, out });
    }

    // Results.
    const numpyPps = numpyJson.points_per_second as number;
    const rows: string[][] = [["step", "points", "wall s", "points/s", "CPU s", "cores", "points/CPU s", "peak RSS tree", "largest proc"]];
    const row = (m: Measured, n: number, pps = n / m.seconds, seconds = m.seconds): string[] => [
      m.label, String(n), seconds.toFixed(2), mpps(pps),
      m.cpuSeconds === null ? "-" : m.cpuSeconds.toFixed(1),
      m.cpuSeconds === null ? "-" : (m.cpuSeconds / m.seconds).toFixed(2),
      m.cpuSeconds === null ? "-" : mpps(n / m.cpuSeconds),
      mb(m.peakTreeBytes), mb(m.largestBytes),
    ];
    rows.push(row(numpy, points, numpyPps, numpyJson.seconds));
    rows.push(row(split, points));
    rows.push(row(splitHalf, halfPoints));
    for (const r of runs) rows.push(row(r.m, points));
    process.stdout.write(`\nLiDAR benchmark: ${points} points (${big.dir}), tile_size ${TILE_SIZE} m, cell_size ${CELL_SIZE} m, ` +
      `${os.cpus().length} CPUs\n` +
      `(numpy: its own timing, reading to writing, the better of ${numpyTimes.map((t) => `${t.toFixed(2)} s`).join(" and ")}; ` +
      `the others: wall time of the command, node start-up included; page cache warm for all)\n\n`);
    process.stdout.write(table(rows) + "\n\n");

    const targets: string[][] = [["target", "measured", "goal", "ratio", ""]];
    let missed = 0;
    const target = (name: string, measured: number, goal: number, fmt: (v: number) => string): void => {
      const ok = measured >= goal;
      if (!ok) missed++;
      targets.push([name, fmt(measured), fmt(goal), (measured / goal).toFixed(2), ok ? "PASS" : "MISS"]);
    };
    for (const r of runs) {
      target(`end-to-end, ${r.workers} worker(s): points/s per worker`, points / r.m.seconds / r.workers,
        TARGET_E2E_PER_WORKER * numpyPps, mpps);
    }
    // Per core: points per CPU second when /usr/bin/time gives it (node may use more than one core:
    // its GC and I/O threads), else per wall second of the one process.
    target(split.cpuSeconds === null ? "split: points/s per core (wall, 1 process)" : "split: points per CPU second",
      points / (split.cpuSeconds ?? split.seconds), TARGET_SPLIT_PER_CORE, mpps);
    const growth = split.peakTreeBytes / splitHalf.peakTreeBytes;
    const flatOk = growth <= FLAT_TOLERANCE;
    if (!flatOk) missed++;
    targets.push([`split memory flat: peak RSS ${points} vs ${halfPoints} points`,
      `${mb(split.peakTreeBytes)} / ${mb(splitHalf.peakTreeBytes)}`, `<= x${FLAT_TOLERANCE}`, `x${growth.toFixed(2)}`, flatOk ? "PASS" : "MISS"]);
    process.stdout.write(table(targets) + "\n\n");

    let mismatches = 0;
    for (const r of runs) {
      const problems = await compareRasters(r.out, reference);
      if (!fs.existsSync(path.join(r.out, "report.html"))) process.stdout.write(`note: ${r.m.label}: no report.html in ${r.out}\n`);
      if (problems.length === 0) {
        process.stdout.write(`rasters of ${r.m.label} == numpy rasters, bit for bit (${FEATURES.length} features)\n`);
      } else {
        mismatches++;
        process.stdout.write(`rasters of ${r.m.label} DIFFER from the numpy rasters:\n  ${problems.join("\n  ")}\n`);
      }
    }
    process.stdout.write(JSON.stringify({
      points, numpy_pps: numpyPps, split_pps: points / split.seconds, split_cpu_seconds: split.cpuSeconds,
      split_peak_rss: split.peakTreeBytes, split_half_peak_rss: splitHalf.peakTreeBytes,
      runs: runs.map((r) => ({ workers: r.workers, seconds: r.m.seconds, cpu_seconds: r.m.cpuSeconds, pps: points / r.m.seconds, peak_rss_tree: r.m.peakTreeBytes, largest_rss: r.m.largestBytes })),
      numpy_peak_rss: numpy.largestBytes, numpy_seconds: numpyTimes, rasters_equal: mismatches === 0, targets_missed: missed,
    }) + "\n");
    return mismatches > 0 || (strict && missed > 0) ? 1 : 0;
  } finally {
    if (keep) process.stderr.write(`bench: outputs kept in ${work}\n`);
    else fs.rmSync(work, { recursive: true, force: true });
  }
}

runBench(main);
