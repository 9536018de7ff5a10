/**
 * How fast `naaw` starts (issue 13): part of `npm run bench`, alone by
 *   ts-node --transpile-only bench/cli-startup.bench.ts [--runs N]
 *
 * Runs `node -e 0` (Node's own start, the baseline) and each command below in turn, round after
 * round (A B C D A B C D ...), so that a machine whose speed drifts slows all of them alike, and
 * prints each one's median and max wall time, and its median minus the baseline's. Target: every
 * command within 0.25 s of `node -e 0` on an idle machine. On a busy machine wall time is mostly
 * waiting for a core, so the CPU time of each run (the process and its children, e.g. validate's
 * Python analyzer; from /proc/self/stat's cutime + cstime, Linux only) is printed beside it. The CLI measured is the compiled one
 * (dist/, built first when it is missing or older than src/); a round in which it went stale (an
 * edit under src/ meanwhile) is measured again after a rebuild, so the figures never mix in the
 * slower source path (bin/register.js).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

const ROOT = path.resolve(__dirname, "..");
const CLI = path.join(ROOT, "bin", "naaw.js");
const TARGET_SECONDS = 0.25;

interface CompiledCli {
  isCurrent(): boolean;
  build(): void;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const dist = require("../bin/dist.js") as CompiledCli;

interface Subject {
  readonly name: string;
  readonly args: readonly string[];
}

const BASELINE: Subject = { name: "node -e 0", args: ["-e", "0"] };
const COMMANDS: readonly Subject[] = [
  { name: "naaw --help", args: [CLI, "--help"] },
  { name: "naaw components --help", args: [CLI, "components", "--help"] },
  { name: "naaw validate workflows/lidar.yaml", args: [CLI, "validate", "workflows/lidar.yaml"] },
];

function runsArg(): number {
  const at = process.argv.indexOf("--runs");
  const runs = at >= 0 ? Number(process.argv[at + 1]) : 15;
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs takes a whole number above 0, got '${process.argv[at + 1]}'`);
  return runs;
}

/** Linux's USER_HZ: the unit of /proc's CPU times (100 on every architecture Linux runs on today). */
const CLOCK_TICKS_PER_SECOND = 100;

/** CPU seconds of this process's finished (waited-for) children and theirs, or undefined off Linux. */
function childrenCpuSeconds(): number | undefined {
  let stat: string;
  try {
    stat = fs.readFileSync("/proc/self/stat", "utf8");
  } catch {
    return undefined;
  }
  // Fields after the command name in parentheses: state is field 3, cutime 16, cstime 17.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS_PER_SECOND;
}

interface Sample {
  readonly wall: number;
  readonly cpu: number | undefined;
}

/** One run, from spawn to exit; a failing command stops the bench. */
function measure(subject: Subject): Sample {
  const cpuBefore = childrenCpuSeconds();
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, subject.args, { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  const wall = Number(process.hrtime.bigint() - started) / 1e9;
  const cpuAfter = childrenCpuSeconds();
  if (result.status !== 0) throw new Error(`${subject.name} exited ${result.status}: ${result.stderr}`);
  return { wall, cpu: cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function ensureBuilt(): void {
  if (!dist.isCurrent()) dist.build();
}

function main(): void {
  const runs = runsArg();
  const subjects = [BASELINE, ...COMMANDS];
  const samples = new Map<Subject, Sample[]>(subjects.map((s) => [s, []]));
  ensureBuilt();
  for (const subject of subjects) measure(subject); // warm-up: the page cache, not counted
  let repeated = 0;
  for (let round = 0; round < runs; ) {
    ensureBuilt();
    const measured = subjects.map((subject) => measure(subject));
    if (!dist.isCurrent()) {
      repeated += 1;
      if (repeated > 3 * runs) throw new Error("src/ keeps changing while the bench runs: the compiled CLI cannot be measured");
      continue;
    }
    subjects.forEach((subject, i) => samples.get(subject)!.push(measured[i]!));
    round += 1;
  }

  const stats = (subject: Subject) => {
    const of = samples.get(subject)!;
    const cpus = of.map((s) => s.cpu).filter((c): c is number => c !== undefined);
    return { wall: median(of.map((s) => s.wall)), maxWall: Math.max(...of.map((s) => s.wall)), cpu: cpus.length ? median(cpus) : undefined };
  };
  const base = stats(BASELINE);
  const ms = (x: number): number => Math.round(x * 1000) / 1000;
  const rows = subjects.map((subject) => {
    const { wall, maxWall, cpu } = stats(subject);
    const isBaseline = subject === BASELINE;
    return {
      command: subject.name,
      medianWallSeconds: ms(wall),
      maxWallSeconds: ms(maxWall),
      wallOverBaselineSeconds: isBaseline ? 0 : ms(wall - base.wall),
      medianCpuSeconds: cpu === undefined ? null : ms(cpu),
      cpuOverBaselineSeconds: isBaseline || cpu === undefined || base.cpu === undefined ? null : ms(cpu - base.cpu),
      meetsTarget: isBaseline ? null : wall - base.wall <= TARGET_SECONDS,
    };
  });
  const width = Math.max(...rows.map((r) => r.command.length));
  const signed = (x: number): string => `${x >= 0 ? "+" : ""}${x.toFixed(3)}`;
  process.stdout.write(`CLI start, ${runs} interleaved runs each (seconds; target: median wall within ${TARGET_SECONDS} s of node -e 0 on an idle machine)\n`);
  process.stdout.write(`${"command".padEnd(width)}  wall median    max  - node -e 0  |  CPU median  - node -e 0\n`);
  for (const r of rows) {
    const wallOver = r.meetsTarget === null ? "".padEnd(10) : `${signed(r.wallOverBaselineSeconds).padStart(10)}`;
    const verdict = r.meetsTarget === null ? "       " : r.meetsTarget ? " (met) " : " (NOT) ";
    const cpu = r.medianCpuSeconds === null ? "         -" : r.medianCpuSeconds.toFixed(3).padStart(10);
    const cpuOver = r.cpuOverBaselineSeconds === null ? "" : signed(r.cpuOverBaselineSeconds).padStart(11);
    process.stdout.write(`${r.command.padEnd(width)}  ${r.medianWallSeconds.toFixed(3).padStart(11)}  ${r.maxWallSeconds.toFixed(3)}  ${wallOver}${verdict}|  ${cpu}  ${cpuOver}\n`);
  }
  if (repeated > 0) process.stdout.write(`(${repeated} round${repeated === 1 ? "" : "s"} measured again: src/ changed during them)\n`);
  process.stdout.write(JSON.stringify({ bench: "cli-startup", runs, rows }) + "\n");
}

main();
