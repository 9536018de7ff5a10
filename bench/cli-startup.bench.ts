/**
 * How fast `naaw` starts (issue 13): part of `npm run bench`, alone by
 *   ts-node --transpile-only bench/cli-startup.bench.ts [--runs N]
 *
 * Runs `node -e 0` (Node's own start, the baseline) and each command below in turn, round after
 * round (A B C D A B C D ...), so that a machine whose speed drifts slows all of them alike, and
 * prints each one's median and max wall time, and its median minus the baseline's. Target: every
 * command within 0.25 s of `node -e 0` on an idle machine. The CLI measured is the compiled one
 * (dist/, built first when it is missing or older than src/); a round in which it went stale (an
 * edit under src/ meanwhile) is measured again after a rebuild, so the figures never mix in the
 * slower source path (bin/register.js).
 */
import { spawnSync } from "child_process";
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

/** Wall seconds of one run, from spawn to exit; a failing command stops the bench. */
function wallSeconds(subject: Subject): number {
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, subject.args, { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (result.status !== 0) throw new Error(`${subject.name} exited ${result.status}: ${result.stderr}`);
  return seconds;
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
  const times = new Map<Subject, number[]>(subjects.map((s) => [s, []]));
  ensureBuilt();
  for (const subject of subjects) wallSeconds(subject); // warm-up: the page cache, not counted
  let rebuilt = 0;
  for (let round = 0; round < runs; ) {
    ensureBuilt();
    const measured = subjects.map((subject) => wallSeconds(subject));
    if (!dist.isCurrent()) {
      rebuilt += 1;
      if (rebuilt > 3 * runs) throw new Error("src/ keeps changing while the bench runs: the compiled CLI cannot be measured");
      continue;
    }
    subjects.forEach((subject, i) => times.get(subject)!.push(measured[i]!));
    round += 1;
  }

  const base = median(times.get(BASELINE)!);
  const rows = subjects.map((subject) => {
    const values = times.get(subject)!;
    const overhead = median(values) - base;
    return {
      command: subject.name,
      medianSeconds: median(values),
      maxSeconds: Math.max(...values),
      overMedianBaselineSeconds: subject === BASELINE ? 0 : overhead,
      meetsTarget: subject === BASELINE ? null : overhead <= TARGET_SECONDS,
    };
  });
  const width = Math.max(...rows.map((r) => r.command.length));
  process.stdout.write(`CLI start, ${runs} interleaved runs each (wall seconds; target: within ${TARGET_SECONDS} s of node -e 0)\n`);
  process.stdout.write(`${"command".padEnd(width)}  median    max  median - node -e 0\n`);
  for (const r of rows) {
    const overhead = r.meetsTarget === null ? "" : `${r.overMedianBaselineSeconds >= 0 ? "+" : ""}${r.overMedianBaselineSeconds.toFixed(3)} ${r.meetsTarget ? "(met)" : "(NOT met)"}`;
    process.stdout.write(`${r.command.padEnd(width)}  ${r.medianSeconds.toFixed(3)}  ${r.maxSeconds.toFixed(3)}  ${overhead}\n`);
  }
  if (rebuilt > 0) process.stdout.write(`(${rebuilt} round${rebuilt === 1 ? "" : "s"} measured again: src/ changed during them)\n`);
  process.stdout.write(JSON.stringify({ bench: "cli-startup", runs, rows }) + "\n");
}

main();
