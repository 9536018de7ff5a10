/**
 * The speed benchmark of issue 13 (part of `npm run bench`: ts-node --transpile-only bench/speed.bench.ts).
 *
 * On real points, test/data/lidar/autzen_trim.las (`npm run test-data`) copied onto a 14 x 14 grid
 * (21.6 M points, one LAS file written under bench/.data/ and removed afterwards), it measures side by
 * side, in one run:
 *   - plain numpy in one process (bench/numpy_pipeline.py --fast): the reference, the fastest of five runs;
 *   - the notebook's own maths in one process (bench/numpy_pipeline.py: notebooks/lidar.ipynb's cells);
 *   - `naaw run workflows/lidar.yaml --no-cache` with 1000 ft tiles, 1 and 2 workers, and N workers
 *     where N, this machine's cores (or --workers N), is more than 2;
 *   - the same with 250 ft tiles and 1 worker (many more, smaller steps);
 *   - for reference, 1000 ft tiles and 1 worker with --no-fuse (a request a step, a service a component);
 * wall seconds (node's or python's start-up included) and CPU seconds (user + system of the command
 * and the children it reaped, from /usr/bin/time), and prints the ratios of the targets
 *   1 worker: CPU <= 1.5 x plain numpy's CPU;   2 workers: speed >= 1.4 x plain numpy's;
 * (each ratio is the fastest naaw run's against the fastest plain numpy run's, of 3 each, plain numpy,
 * 1 worker and 2 workers in turn, plus plain numpy's first 2: this shared machine only ever slows a
 * run down)
 *   fixed cost per step = (wall at 250 ft - wall at 1000 ft) / (the extra steps) <= 2 ms;
 * PASS or MISS each, and checks that the rasters of every run equal plain numpy's bit for bit.
 *
 * Options: --quick (a 4 x 4 grid, 1.8 M points, to try the bench itself), --keep (keep the data and
 * the outputs), --strict (exit 1 when a target is missed, not only on errors and raster mismatches),
 * --workers N (the N of the N-worker runs; this machine's cores by default). The N-worker ratio is
 * printed for reference: the issue's target is for 2 workers, the machine it was set on.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { measure, Measured, runBench, table, warm } from "./measure";
import { compareNumpyRasters, compareRasters, readNumpyRasters } from "./rasters";
import { replicateLas } from "./replicateLas";

const ROOT = path.resolve(__dirname, "..");
const NAAW = path.join(ROOT, "bin", "naaw.js");
const WORKFLOW = path.join(ROOT, "workflows", "lidar.yaml");
const NUMPY_PIPELINE = path.join(ROOT, "bench", "numpy_pipeline.py");
const SOURCE = path.join(ROOT, "test", "data", "lidar", "autzen_trim.las");
const DATA = path.join(ROOT, "bench", ".data");
// autzen_trim spans 1177.5 x 562.7 ft; copies every 1180 x 565 ft give 153 tiles of 1000 ft and
// 2,211 of 250 ft on the 14 x 14 grid.
const STEP_X = 1180;
const STEP_Y = 565;
const BIG_TILE = 1000;
const SMALL_TILE = 250;
const CELL_SIZE = 10;
const TARGET_CPU_1_WORKER = 1.5; // at most, x plain numpy's CPU seconds
const TARGET_SPEEDUP_2_WORKERS = 1.4; // at least, x plain numpy's speed
const TARGET_STEP_MS = 2; // at most, fixed wall milliseconds per step
const REPEATS = 3; // runs of plain numpy and of naaw with 1 and 2 workers, in turn, for the targets

interface Run {
  readonly label: string;
  readonly m: Measured;
  readonly out: string;
  readonly tiles: number | null;
  readonly steps: number | null;
}

/** `naaw run` prints "...: 153 tiles, ..." and "steps: 920 run, 0 from the cache; ...". */
function parseRunSummary(stdout: string): { tiles: number | null; steps: number | null } {
  const tiles = /(\d+) tiles?,/.exec(stdout);
  const steps = /steps: (\d+) run/.exec(stdout);
  return { tiles: tiles ? Number(tiles[1]) : null, steps: steps ? Number(steps[1]) : null };
}

async function naawRun(label: string, input: string, out: string, tileSize: number, workers: number, extra: string[] = []): Promise<Run> {
  process.stderr.write(`bench: ${label}\n`);
  warm(input);
  const m = await measure(label, process.execPath,
    [NAAW, "run", WORKFLOW, "--set", `input=${input}`, "--set", `tile_size=${tileSize}`, "--set", `cell_size=${CELL_SIZE}`,
      "--out", out, "--workers", String(workers), "--no-cache", ...extra], { quiet: true });
  return { label, m, out, ...parseRunSummary(m.stdout) };
}

async function numpyRun(label: string, input: string, out: string, fast: boolean): Promise<Run> {
  process.stderr.write(`bench: ${label}\n`);
  warm(input);
  const m = await measure(label, "python3",
    [NUMPY_PIPELINE, ...(fast ? ["--fast"] : []), "--out", out, "--cell-size", String(CELL_SIZE), input], { quiet: true });
  return { label, m, out, tiles: null, steps: null };
}

const seconds = (s: number | null): string => (s === null ? "-" : s.toFixed(1));

/** `--workers N` (removed from argv), else this machine's cores. */
function takeWorkers(argv: string[]): number {
  const at = argv.indexOf("--workers");
  if (at < 0) return os.availableParallelism();
  const [, value] = argv.splice(at, 2);
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--workers takes a whole number of workers of at least 1, got ${value ?? "nothing"}`);
  return n;
}

async function main(argv: string[]): Promise<number> {
  const known = ["--quick", "--keep", "--strict"];
  const cores = takeWorkers(argv);
  const unknown = argv.filter((a) => !known.includes(a));
  if (unknown.length > 0) throw new Error(`unknown option(s) ${unknown.join(" ")} (known: ${known.join(" ")}, --workers N)`);
  const quick = argv.includes("--quick");
  const keep = argv.includes("--keep");
  const strict = argv.includes("--strict");
  if (!fs.existsSync(SOURCE)) throw new Error(`${path.relative(ROOT, SOURCE)} is missing: run \`npm run test-data\` first`);

  const copies = quick ? 4 : 14;
  const input = path.join(DATA, `autzen_${copies}x${copies}`);
  fs.mkdirSync(input, { recursive: true });
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "naaw-speed-"));
  try {
    const points = replicateLas({ source: SOURCE, target: path.join(input, `autzen_${copies}x${copies}.las`),
      columns: copies, rows: copies, stepX: STEP_X, stepY: STEP_Y });
    process.stderr.write(`bench: ${points} points (autzen_trim on a ${copies} x ${copies} grid) in ${input}; outputs in ${work}\n`);

    // Plain numpy first, twice, and 3 more times below (a slow moment of the machine must not make
    // the targets easier); the fastest run's rasters are the reference.
    const plainRuns = [
      await numpyRun("plain numpy, one process (--fast)", input, path.join(work, "plain"), true),
      await numpyRun("plain numpy, one process (--fast)", input, path.join(work, "plain"), true),
    ];
    const notebook = await numpyRun("the notebook's maths, one process", input, path.join(work, "notebook"), false);
    // The targets from runs alternating with plain numpy's, the fastest of each: on this shared machine
    // a run only ever gets slower than the hardware allows (plain numpy's own time has ranged from 3.0
    // to 9.5 s within minutes, nearly all of it system time), so the minimum is the estimate of each
    // one's speed and CPU. One run of naaw against the fastest of plain numpy's would favour numpy.
    const w1Runs: Run[] = [];
    const w2Runs: Run[] = [];
    // N workers, one per core, when the machine has more than 2 (on 2 cores that is the 2-worker run).
    const wNRuns: Run[] = [];
    for (let i = 0; i < REPEATS; i++) {
      plainRuns.push(await numpyRun("plain numpy, one process (--fast)", input, path.join(work, `plain-${i}`), true));
      w1Runs.push(await naawRun(`naaw run, ${BIG_TILE} ft tiles, 1 worker`, input, path.join(work, `w1-${i}`), BIG_TILE, 1));
      w2Runs.push(await naawRun(`naaw run, ${BIG_TILE} ft tiles, 2 workers`, input, path.join(work, `w2-${i}`), BIG_TILE, 2));
      if (cores > 2) wNRuns.push(await naawRun(`naaw run, ${BIG_TILE} ft tiles, ${cores} workers`, input, path.join(work, `wN-${i}`), BIG_TILE, cores));
    }
    const fastest = (list: Run[]): Run => list.reduce((a, b) => (b.m.seconds < a.m.seconds ? b : a));
    const plain = fastest(plainRuns);
    const w1 = fastest(w1Runs);
    const w2 = fastest(w2Runs);
    const wN = cores > 2 ? fastest(wNRuns) : cores === 2 ? w2 : w1;
    const small = await naawRun(`naaw run, ${SMALL_TILE} ft tiles, 1 worker`, input, path.join(work, "small"), SMALL_TILE, 1);
    const perStep = await naawRun(`naaw run, ${BIG_TILE} ft tiles, 1 worker, --no-fuse`, input, path.join(work, "per-step"), BIG_TILE, 1, ["--no-fuse"]);
    const runs = [plain, notebook, w1, w2, ...(cores > 2 ? [wN] : []), small, perStep];

    const rows: string[][] = [["run", "tiles", "steps", "wall s", "CPU s", "M points/s", "wall / plain", "CPU / plain"]];
    for (const r of runs) {
      rows.push([r.label, r.tiles === null ? "-" : String(r.tiles), r.steps === null ? "-" : String(r.steps),
        r.m.seconds.toFixed(1), seconds(r.m.cpuSeconds), (points / r.m.seconds / 1e6).toFixed(2),
        (r.m.seconds / plain.m.seconds).toFixed(2),
        r.m.cpuSeconds === null || plain.m.cpuSeconds === null ? "-" : (r.m.cpuSeconds / plain.m.cpuSeconds).toFixed(2)]);
    }
    process.stdout.write(`\nSpeed benchmark: ${points} points (autzen_trim.las on a ${copies} x ${copies} grid), ` +
      `cell_size ${CELL_SIZE} ft, ${os.availableParallelism()} CPUs; plain numpy and naaw with ` +
      (cores > 2
        ? `1, 2 and ${cores} workers the fastest of ${plainRuns.length}, ${w1Runs.length}, ${w2Runs.length} and ${wNRuns.length} runs`
        : `1 and 2 workers the fastest of ${plainRuns.length}, ${w1Runs.length} and ${w2Runs.length} runs`) +
      `; page cache warm for all\n\n`);
    process.stdout.write(table(rows) + "\n\n");

    const targets: string[][] = [["target", "measured", "goal", ""]];
    let missed = 0;
    const target = (name: string, measured: number | null, goal: string, ok: boolean | null, show: (v: number) => string): void => {
      if (ok !== true) missed++;
      targets.push([name, measured === null ? "-" : show(measured), goal, ok === null ? "NOT MEASURED" : ok ? "PASS" : "MISS"]);
    };
    const x = (v: number): string => `x${v.toFixed(2)}`;
    const cpuRatio = w1.m.cpuSeconds === null || plain.m.cpuSeconds === null ? null : w1.m.cpuSeconds / plain.m.cpuSeconds;
    target(`1 worker: CPU s / plain numpy's (fastest of ${w1Runs.length} and of ${plainRuns.length})`, cpuRatio, `<= x${TARGET_CPU_1_WORKER}`,
      cpuRatio === null ? null : cpuRatio <= TARGET_CPU_1_WORKER, x);
    const speedup = plain.m.seconds / w2.m.seconds;
    target(`2 workers: speed / plain numpy's (fastest of ${w2Runs.length} and of ${plainRuns.length})`, speedup, `>= x${TARGET_SPEEDUP_2_WORKERS}`, speedup >= TARGET_SPEEDUP_2_WORKERS, x);
    const extraSteps = small.steps !== null && w1.steps !== null ? small.steps - w1.steps : null;
    const stepMs = extraSteps !== null && extraSteps > 0 ? ((small.m.seconds - w1.m.seconds) * 1000) / extraSteps : null;
    target(`fixed cost per step: (wall ${SMALL_TILE} ft - wall ${BIG_TILE} ft) / ${extraSteps ?? "?"} extra steps`, stepMs,
      `<= ${TARGET_STEP_MS} ms`, stepMs === null ? null : stepMs <= TARGET_STEP_MS, (v) => `${v.toFixed(2)} ms`);
    process.stdout.write(table(targets) + "\n");
    const cpuStepMs = extraSteps !== null && extraSteps > 0 && small.m.cpuSeconds !== null && w1.m.cpuSeconds !== null
      ? ((small.m.cpuSeconds - w1.m.cpuSeconds) * 1000) / extraSteps : null;
    const walls = (list: Run[]): string => list.map((r) => r.m.seconds.toFixed(1)).join(", ");
    process.stdout.write(`(wall s of every run: plain numpy ${walls(plainRuns)}; naaw, 1 worker ${walls(w1Runs)}; naaw, 2 workers ${walls(w2Runs)}` +
      `${cores > 2 ? `; naaw, ${cores} workers ${walls(wNRuns)}` : ""})\n`);
    const speedupN = plain.m.seconds / wN.m.seconds;
    process.stdout.write(`(${cores} worker${cores === 1 ? "" : "s"}, one per core${cores <= 2 ? `, the ${cores}-worker run above` : ""}: ` +
      `speed / plain numpy's x${speedupN.toFixed(2)}, / 1 worker's x${(w1.m.seconds / wN.m.seconds).toFixed(2)})\n`);
    process.stdout.write(`(for reference: 2 workers' speed / 1 worker's x${(w1.m.seconds / w2.m.seconds).toFixed(2)}; ` +
      `CPU per extra step ${cpuStepMs === null ? "-" : `${cpuStepMs.toFixed(2)} ms`}; ` +
      `the notebook's maths / plain numpy: wall x${(notebook.m.seconds / plain.m.seconds).toFixed(2)})\n\n`);

    const reference = readNumpyRasters(plain.out);
    let mismatches = 0;
    const report = (label: string, problems: string[]): void => {
      if (problems.length === 0) {
        process.stdout.write(`rasters of ${label} == plain numpy's, bit for bit\n`);
      } else {
        mismatches++;
        process.stdout.write(`rasters of ${label} DIFFER from plain numpy's:\n  ${problems.join("\n  ")}\n`);
      }
    };
    report(notebook.label, compareNumpyRasters(readNumpyRasters(notebook.out), reference));
    for (const r of [...w1Runs, ...w2Runs, ...wNRuns, small, perStep]) report(r.label, await compareRasters(r.out, reference));

    process.stdout.write(JSON.stringify({
      points, copies,
      runs: runs.map((r) => ({ label: r.label, wall_seconds: r.m.seconds, cpu_seconds: r.m.cpuSeconds, tiles: r.tiles, steps: r.steps })),
      plain_wall_seconds: plainRuns.map((r) => r.m.seconds),
      w1_wall_seconds: w1Runs.map((r) => r.m.seconds),
      w2_wall_seconds: w2Runs.map((r) => r.m.seconds),
      n_workers: cores, wn_wall_seconds: cores > 2 ? wNRuns.map((r) => r.m.seconds) : null, speed_n_workers_over_plain: speedupN,
      cpu_1_worker_over_plain: cpuRatio, speed_2_workers_over_plain: speedup, fixed_ms_per_step: stepMs, cpu_ms_per_step: cpuStepMs,
      rasters_equal: mismatches === 0, targets_missed: missed,
    }) + "\n");
    return mismatches > 0 || (strict && missed > 0) ? 1 : 0;
  } finally {
    if (keep) {
      process.stderr.write(`bench: data kept in ${input}, outputs in ${work}\n`);
    } else {
      fs.rmSync(input, { recursive: true, force: true });
      fs.rmSync(work, { recursive: true, force: true });
    }
  }
}

runBench(main);
