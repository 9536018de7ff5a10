import * as fs from "fs";
import * as path from "path";
import { isAlive } from "./leftovers";

/**
 * Which cache entries each run used, for `naaw cache` (last used) and `naaw cache prune`. One file a
 * run, `<cache>/runs/<started ms>-<pid>.log`: a JSON header line, then `<ms> <key>` for every entry
 * the run took from the cache or published, then `end <ms>`. Lines are appended as the run goes, so
 * a killed run's log still says what it used; the pid tells a live run from one that was killed.
 */
export class RunLog {
  private constructor(
    readonly file: string,
    private fd: number | undefined,
  ) {}

  static start(cacheRoot: string, workflow: string): RunLog {
    const dir = path.join(cacheRoot, "runs");
    fs.mkdirSync(dir, { recursive: true });
    const started = Date.now();
    const file = path.join(dir, `${started}-${process.pid}.log`);
    const fd = fs.openSync(file, "a");
    fs.writeSync(fd, JSON.stringify({ pid: process.pid, started, workflow }) + "\n");
    return new RunLog(file, fd);
  }

  used(key: string): void {
    if (this.fd !== undefined) fs.writeSync(this.fd, `${Date.now()} ${key}\n`);
  }

  finish(): void {
    if (this.fd === undefined) return;
    fs.writeSync(this.fd, `end ${Date.now()}\n`);
    fs.closeSync(this.fd);
    this.fd = undefined;
  }
}

export interface RunRecord {
  readonly file: string;
  readonly pid: number;
  readonly started: number;
  /** When it ended, or (killed, or still running) its last line's time. */
  readonly last: number;
  readonly finished: boolean;
  /** Still running: its process is alive and it has not ended. */
  readonly live: boolean;
  /** Entry keys it used, with the last time. */
  readonly used: ReadonlyMap<string, number>;
}

/** Every run log under a cache root, oldest first; unreadable lines are skipped. */
export function readRunLogs(cacheRoot: string): RunRecord[] {
  const dir = path.join(cacheRoot, "runs");
  let names: string[];
  try {
    names = fs.readdirSync(dir).filter((n) => /^\d+-\d+\.log$/.test(n));
  } catch {
    return [];
  }
  const records: RunRecord[] = [];
  for (const name of names) {
    const file = path.join(dir, name);
    let text: string;
    try {
      text = fs.readFileSync(file, "utf8");
    } catch {
      continue;
    }
    const [startedText, pidText] = name.replace(/\.log$/, "").split("-");
    const started = Number(startedText);
    const pid = Number(pidText);
    const used = new Map<string, number>();
    let last = started;
    let finished = false;
    for (const line of text.split("\n")) {
      const entry = /^(\d+) ([0-9a-f]{64})$/.exec(line);
      if (entry) {
        last = Math.max(last, Number(entry[1]));
        used.set(entry[2]!, Number(entry[1]));
        continue;
      }
      const end = /^end (\d+)$/.exec(line);
      if (end) {
        finished = true;
        last = Math.max(last, Number(end[1]));
      }
    }
    records.push({ file, pid, started, last, finished, live: !finished && isAlive(pid), used });
  }
  return records.sort((a, b) => a.started - b.started);
}
