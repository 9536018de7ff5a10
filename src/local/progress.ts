import { SingleBar } from "cli-progress";
import { RunEvents, TaskInfo } from "./runner";

/** 1234567 → "1.23 M"; below ten thousand as is. */
export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)} k`;
  return String(Math.round(n));
}

export function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  const m = Math.floor(seconds / 60);
  return `${m} min ${Math.round(seconds - m * 60)} s`;
}

interface Counts {
  items: number;
  itemsDone: number;
  points: number;
  pointsDone: number;
  started: number;
}

/**
 * Progress of a run on stderr: on a terminal a bar (tiles done/total, points per second, ETA); in a
 * log (not a terminal) a plain line per finished tile at most once a second, and the last one always.
 */
export class RunProgress implements RunEvents {
  private readonly counts: Counts = { items: 0, itemsDone: 0, points: 0, pointsDone: 0, started: 0 };
  private bar?: SingleBar;
  private lastLine = 0;
  private lastSplitLine = 0;

  constructor(
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly interactive: boolean = Boolean(process.stderr.isTTY),
  ) {}

  private rate(): number {
    const seconds = (performance.now() - this.counts.started) / 1000;
    return seconds > 0 ? this.counts.pointsDone / seconds : 0;
  }

  private eta(): number {
    const c = this.counts;
    const seconds = (performance.now() - c.started) / 1000;
    if (c.pointsDone > 0 && c.points > 0) return ((c.points - c.pointsDone) * seconds) / c.pointsDone;
    if (c.itemsDone > 0) return ((c.items - c.itemsDone) * seconds) / c.itemsDone;
    return Number.NaN;
  }

  private payload(): Record<string, string> {
    return { tiles: `${this.counts.itemsDone}/${this.counts.items}`, pps: formatCount(this.rate()), etaText: formatSeconds(this.eta()) };
  }

  builtinProgress(step: string, done: number, total: number): void {
    const now = performance.now();
    if (this.interactive) {
      this.stream.write(`\r${step}: ${formatCount(done)} of ${formatCount(total)} points read`);
      if (done >= total) this.stream.write("\n");
    } else if (now - this.lastSplitLine >= 1000 || done >= total) {
      this.lastSplitLine = now;
      this.stream.write(`${step}: ${formatCount(done)} of ${formatCount(total)} points read\n`);
    }
  }

  itemsKnown(group: string, items: number, points: number): void {
    Object.assign(this.counts, { items: this.counts.items + items, points: this.counts.points + points });
    if (this.counts.started === 0) this.counts.started = performance.now();
    const what = `${group}: ${items} item${items === 1 ? "" : "s"}${points ? `, ${formatCount(points)} points` : ""}`;
    if (this.interactive) {
      this.stream.write(`${what}\n`);
      this.bar = new SingleBar(
        { stream: this.stream, format: "{bar} tiles {tiles} | {pps} points/s | ETA {etaText}", barsize: 30, hideCursor: true, clearOnComplete: true, fps: 5 },
        { barCompleteChar: "█", barIncompleteChar: "░" } as never,
      );
      this.bar.start(Math.max(1, this.counts.items), 0, this.payload());
    } else {
      this.stream.write(`${what}\n`);
    }
  }

  itemFinished(_group: string, _item: number, points: number): void {
    this.counts.itemsDone += 1;
    this.counts.pointsDone += points;
    if (this.bar) {
      this.bar.update(this.counts.itemsDone, this.payload());
      if (this.counts.itemsDone >= this.counts.items) this.stopBar();
      return;
    }
    const now = performance.now();
    if (now - this.lastLine >= 1000 || this.counts.itemsDone >= this.counts.items) {
      this.lastLine = now;
      const p = this.payload();
      this.stream.write(`tiles ${p.tiles} | ${p.pps} points/s | ETA ${p.etaText}\n`);
    }
  }

  retrying(task: TaskInfo, attempt: number, delaySeconds: number, error: string): void {
    this.writeLine(`step '${task.step}'${task.itemName ? ` on ${task.itemName}` : ""} failed (attempt ${attempt}): ${error}; retrying in ${delaySeconds} s`);
  }

  cacheDamaged(_task: TaskInfo, problem: string): void {
    this.writeLine(`warning: ${problem}`);
  }

  /** A line that does not tear the bar. */
  writeLine(text: string): void {
    if (this.bar) {
      this.stream.write("\r\x1b[2K");
      this.stream.write(`${text}\n`);
      this.bar.update(this.counts.itemsDone, this.payload());
    } else {
      this.stream.write(`${text}\n`);
    }
  }

  stopBar(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}
