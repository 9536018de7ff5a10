/**
 * What the benchmarks share: running a command while measuring it, counting LAS points, warming the
 * page cache, printing tables.
 *
 * Peak RSS: the process tree (the command and all its descendants) is sampled from /proc every
 * 100 ms and the largest total is kept ("tree"); the largest single process's peak is exact, from the
 * kernel through /usr/bin/time ("largest"; without /usr/bin/time, the largest VmHWM seen while
 * sampling). CPU seconds (user + system, of the command and the children it reaped) come from
 * /usr/bin/time too. Wall time includes the command's start-up.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export const ROOT = path.resolve(__dirname, "..");
const SAMPLE_MS = 100;

export interface Measured {
  readonly label: string;
  readonly seconds: number;
  /** User + system CPU seconds of the command and its reaped children (null without /usr/bin/time). */
  readonly cpuSeconds: number | null;
  readonly peakTreeBytes: number;
  readonly largestBytes: number;
  /** The processes of the tree with the highest peak RSS seen while sampling (VmHWM), highest first (at most 3). */
  readonly topProcesses: readonly ProcessPeak[];
  readonly stdout: string;
  readonly stderr: string;
}

export interface ProcessPeak {
  readonly pid: number;
  /** Its command line, shortened (the repository's path left out). */
  readonly command: string;
  readonly peakBytes: number;
}

export interface MeasureOptions {
  /** Do not echo the command's stderr while it runs. */
  readonly quiet?: boolean;
  /** Working directory (default: the repository root). */
  readonly cwd?: string;
  /** Called at every sample (every 100 ms) while the command runs, e.g. to watch free disk space. */
  readonly onSample?: () => void;
}

// --- process tree sampling -------------------------------------------------------------------------

export function readText(file: string): string | null {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return null; // the process (or file) is gone
  }
}

/** pid → parent pid for every process visible in /proc. */
function parentMap(): Map<number, number> {
  const parents = new Map<number, number>();
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readText(`/proc/${entry}/stat`);
    if (stat === null) continue;
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    parents.set(Number(entry), Number(fields[1]));
  }
  return parents;
}

/** A process's command line, its arguments joined by spaces ("" once it is gone). */
function commandLine(pid: number): string {
  const raw = readText(`/proc/${pid}/cmdline`) ?? "";
  return raw.split("\0").filter((a) => a !== "").join(" ").split(ROOT + path.sep).join("");
}

/**
 * The current total resident set size of `root` and its descendants; records each one's VmHWM in
 * `hwm` and its latest command line in `commands`.
 */
export function sampleTree(root: number, hwm: Map<number, number>, commands?: Map<number, string>): number {
  const parents = parentMap();
  const children = new Map<number, number[]>();
  for (const [pid, ppid] of parents) {
    const list = children.get(ppid);
    if (list) list.push(pid);
    else children.set(ppid, [pid]);
  }
  let total = 0;
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    const status = readText(`/proc/${pid}/status`);
    if (status !== null) {
      const rss = /^VmRSS:\s+(\d+) kB/m.exec(status);
      const peak = /^VmHWM:\s+(\d+) kB/m.exec(status);
      if (rss) total += Number(rss[1]) * 1024;
      if (peak) hwm.set(pid, Math.max(hwm.get(pid) ?? 0, Number(peak[1]) * 1024));
      // Read again at every sample: a wrapper (pyenv's bash shim) execs the real program under the same pid.
      if (commands) {
        const command = commandLine(pid);
        if (command !== "") commands.set(pid, command);
      }
    }
    stack.push(...(children.get(pid) ?? []));
  }
  return total;
}

let haveGnuTime: boolean | null = null;
function gnuTime(): boolean {
  if (haveGnuTime === null) haveGnuTime = fs.existsSync("/usr/bin/time");
  return haveGnuTime;
}

/** Runs a command, sampling its process tree; rejects (with the end of its output) when it fails. */
export function measure(label: string, command: string, args: readonly string[], opts: MeasureOptions = {}): Promise<Measured> {
  const timeFile = path.join(os.tmpdir(), `naaw-bench-time-${process.pid}-${Date.now()}`);
  const [cmd, argv] = gnuTime()
    ? ["/usr/bin/time", ["-f", "%e %U %S %M", "-o", timeFile, command, ...args]]
    : [command, [...args]];
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(cmd, argv, { cwd: opts.cwd ?? ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
      if (!opts.quiet) process.stderr.write(chunk);
    });
    const hwm = new Map<number, number>();
    const commands = new Map<number, string>();
    let peakTree = 0;
    const sample = (): void => {
      if (child.pid !== undefined) peakTree = Math.max(peakTree, sampleTree(child.pid, hwm, commands));
      opts.onSample?.();
    };
    const timer = setInterval(sample, SAMPLE_MS);
    sample();
    child.on("error", (error) => {
      clearInterval(timer);
      reject(new Error(`${label}: cannot start ${command}: ${error.message}`));
    });
    child.on("close", (code, signal) => {
      clearInterval(timer);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      let cpuSeconds: number | null = null;
      let largest = Math.max(0, ...hwm.values());
      const timed = readText(timeFile);
      fs.rmSync(timeFile, { force: true });
      if (timed !== null) {
        // The last line: GNU time prints "Command exited with non-zero status N" before it on failure.
        const last = timed.trim().split("\n").pop() ?? "";
        const [, user, system, maxKb] = last.split(" ").map(Number);
        if (Number.isFinite(user) && Number.isFinite(system)) cpuSeconds = user! + system!;
        if (Number.isFinite(maxKb)) largest = Math.max(largest, maxKb! * 1024);
      }
      if (code !== 0) {
        reject(new Error(`${label} failed (${signal ?? `exit code ${code}`}): ${command} ${args.join(" ")}\n` +
          `--- stdout\n${stdout.slice(-4000)}\n--- stderr\n${stderr.slice(-4000)}`));
        return;
      }
      const topProcesses = [...hwm.entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 3)
        .map(([pid, peakBytes]) => ({ pid, peakBytes, command: (commands.get(pid) ?? "").slice(0, 160) }));
      resolve({ label, seconds, cpuSeconds, peakTreeBytes: peakTree, largestBytes: largest, topProcesses, stdout, stderr });
    });
  });
}

// --- data ------------------------------------------------------------------------------------------

/** Points in the LAS files of a directory, from their headers. */
export function countPoints(dir: string): number {
  let total = 0;
  for (const name of fs.readdirSync(dir)) {
    if (!name.toLowerCase().endsWith(".las")) continue;
    const fd = fs.openSync(path.join(dir, name), "r");
    const head = Buffer.alloc(375);
    const n = fs.readSync(fd, head, 0, 375, 0);
    fs.closeSync(fd);
    if (n < 227 || head.toString("latin1", 0, 4) !== "LASF") throw new Error(`${name}: not a LAS file`);
    let count = head.readUInt32LE(107);
    if (head[25]! >= 4 && n >= 255) {
      const count64 = Number(head.readBigUInt64LE(247));
      if (count === 0 || count64 !== 0) count = count64;
    }
    total += count;
  }
  return total;
}

/** Reads every file of a directory once, so that each measured step starts with a warm page cache
 * (and none of them pays for the first read alone). */
export function warm(dir: string): void {
  const buf = Buffer.alloc(8 << 20);
  for (const name of fs.readdirSync(dir)) {
    const fd = fs.openSync(path.join(dir, name), "r");
    try {
      while (fs.readSync(fd, buf, 0, buf.length, null) > 0) {
        // just reading
      }
    } finally {
      fs.closeSync(fd);
    }
  }
}

// --- report ----------------------------------------------------------------------------------------

export const mb = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
export const mpps = (pps: number): string => `${(pps / 1e6).toFixed(2)} M/s`;

/** A plain-text table: the first row is the header; the first column left-aligned, the others right. */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows
    .map((r, k) => {
      const line = r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  ");
      return k === 0 ? `${line}\n${widths.map((w) => "-".repeat(w)).join("  ")}` : line;
    })
    .join("\n");
}

/** Runs a bench's `main` on the command line's arguments: its code is the exit code; an error is one line and exit 1. */
export function runBench(main: (argv: string[]) => Promise<number>): void {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: Error) => {
      process.stderr.write(`bench: ${error.message}\n`);
      process.exitCode = 1;
    },
  );
}
