import { randomBytes } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { Worker } from "worker_threads";

/**
 * The pod chain's shared disk (docs/pod-chain.md): the TypeScript twin of
 * runtime/python/naaw_runtime/chain.py, which the notebook components' containers run. Every step of
 * a tile chain is a container of one pod, all started at once; they agree on the items (the sorted
 * subdirectories of --items-from) and meet in the work directory:
 *
 *   WORK/<item>/<step>/outputs/<output>.npy|.json   a step's result, renamed from outputs.partial when whole
 *   WORK/<item>/<step>/.done | .failed              finished | the failure's message
 *   WORK/.abort                                     the first failure, one line; every container stops on it
 *   WORK/.alive/<step>                              touched every second while the container lives
 *   WORK/.trash/                                    an item's directory is renamed here, then removed
 */

export const POLL_MS = 50;
const HEARTBEAT_MS = 1000;
/** A producer whose heartbeat is this old was killed (OOM); NAAW_CHAIN_STALE_SECONDS shortens it in tests. */
const DEFAULT_STALE_SECONDS = 30;

/** Bad arguments or a missing items directory: exit 2, as a built-in's bad input. */
export class ChainInputError extends Error {}

/** This container stops because another one failed or died; the message says which step and item. */
export class ChainStopped extends Error {}

export function staleSeconds(env: NodeJS.ProcessEnv = process.env): number {
  const value = Number(env.NAAW_CHAIN_STALE_SECONDS);
  return Number.isFinite(value) && value > 0 ? value : DEFAULT_STALE_SECONDS;
}

/** Sorted by UTF-8 bytes, as the Python twin sorts them, so every container walks the same order. */
function byUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

/** The items: the names of the subdirectories of `itemsFrom` (dot names are not items). */
export function listItems(itemsFrom: string): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(itemsFrom, { withFileTypes: true });
  } catch (error) {
    throw new ChainInputError(`--items-from ${itemsFrom}: cannot list the items (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  return entries.filter((e) => e.isDirectory() && !e.name.startsWith(".")).map((e) => e.name).sort(byUtf8);
}

function exists(file: string): boolean {
  return fs.existsSync(file);
}

/** The shared work directory of one pod. */
export class ChainWork {
  constructor(
    readonly root: string,
    readonly chain: readonly string[],
    readonly items: readonly string[],
  ) {}

  stepDir(item: string, step: string): string {
    return path.join(this.root, item, step);
  }

  outputsDir(item: string, step: string): string {
    return path.join(this.stepDir(item, step), "outputs");
  }

  isDone(item: string, step: string): boolean {
    return exists(path.join(this.stepDir(item, step), ".done"));
  }

  aliveFile(step: string): string {
    return path.join(this.root, ".alive", step);
  }

  abortLine(): string | undefined {
    try {
      return fs.readFileSync(path.join(this.root, ".abort"), "utf8").trim() || "(no reason given)";
    } catch {
      return undefined;
    }
  }

  /** WORK/.abort, whole or not at all, and only if absent: the first failure is the one every container reports. */
  writeAbort(line: string): void {
    // Written aside, then hard-linked into place: a link never replaces a file, and a reader never sees it half written.
    // (Not named by pid: each container of a pod may be pid 1 in its own namespace.)
    const temporary = path.join(this.root, `.abort.${randomBytes(8).toString("hex")}.tmp`);
    try {
      fs.writeFileSync(temporary, line.split("\n").join(" ") + "\n");
      fs.linkSync(temporary, path.join(this.root, ".abort"));
    } catch {
      // another container was first (EEXIST), or the disk refuses: either way the others stop
    } finally {
      fs.rmSync(temporary, { force: true });
    }
  }

  /** The index of the item an abort names (items before it still finish); 0 when it names none. */
  abortedIndex(line: string): number {
    let found = -1;
    this.items.forEach((item, i) => {
      const named = line.includes(` failed on ${item}: `) || line.includes(` without finishing ${item} (`);
      if (named && (found < 0 || item.length > this.items[found]!.length)) found = i;
    });
    return Math.max(found, 0);
  }

  /** The failure of `step` on `item`: its .failed marker and the abort line everyone stops on. */
  fail(item: string | undefined, step: string, message: string): string {
    const line = item === undefined ? `${step} cannot start: ${message}` : `${step} failed on ${item}: ${message}`;
    try {
      if (item !== undefined) {
        fs.mkdirSync(this.stepDir(item, step), { recursive: true });
        fs.writeFileSync(path.join(this.stepDir(item, step), ".failed"), message + "\n");
      }
    } catch {
      // the abort below still stops the others
    }
    this.writeAbort(line);
    return line;
  }

  /** The .done marker; then, if every step of the chain is done with the item, its directory goes. */
  finish(item: string, step: string): void {
    fs.writeFileSync(path.join(this.stepDir(item, step), ".done"), "");
    if (this.chain.every((s) => this.isDone(item, s))) this.removeItem(item, step);
  }

  private removeItem(item: string, step: string): void {
    // Claimed by a rename first, so two containers finishing together never both delete it.
    const trash = path.join(this.root, ".trash");
    fs.mkdirSync(trash, { recursive: true });
    const claimed = path.join(trash, `${item}-${step}`);
    try {
      fs.renameSync(path.join(this.root, item), claimed);
    } catch {
      return; // ENOENT: another container claimed it
    }
    fs.rmSync(claimed, { recursive: true, force: true });
  }
}

/**
 * Touches WORK/.alive/<step> every second from a worker thread, so that a long synchronous join on
 * the main thread does not make this container look dead. Returns the function that stops it.
 */
export function startHeartbeat(work: ChainWork, step: string): () => Promise<void> {
  const file = work.aliveFile(step);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, "");
  const source = `
    const fs = require("fs");
    const { workerData } = require("worker_threads");
    setInterval(() => {
      try { const now = new Date(); fs.utimesSync(workerData.file, now, now); } catch { /* waiters then see it as stale */ }
    }, workerData.every);`;
  const worker = new Worker(source, { eval: true, workerData: { file, every: HEARTBEAT_MS } });
  worker.unref();
  return async () => {
    await worker.terminate();
  };
}

/** Polls the shared disk, stopping on an abort for this item or an earlier one, or when a step it waits on died. */
export class ChainWaiter {
  private readonly started = Date.now();
  private readonly staleMs = staleSeconds() * 1000;

  constructor(
    private readonly work: ChainWork,
    private readonly step: string,
  ) {}

  checkAbort(index: number): void {
    const line = this.work.abortLine();
    if (line !== undefined && index >= this.work.abortedIndex(line)) throw new ChainStopped(`stopped: ${line}`);
  }

  /** Waits until `ready()` before item `index`; `watched()` names the steps that have yet to finish `item`, whose heartbeats are checked. */
  async until(ready: () => boolean, index: number, item: string, watched: () => readonly string[]): Promise<void> {
    while (!ready()) {
      this.checkAbort(index);
      for (const step of watched()) {
        if (!this.dead(step)) continue;
        const line = `step ${step} stopped without finishing ${item} (killed? see its container's log)`;
        this.work.writeAbort(line);
        throw new ChainStopped(`stopped: ${this.work.abortLine() ?? line}`);
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  private dead(step: string): boolean {
    if (step === this.step) return false;
    let beat: number;
    try {
      beat = fs.statSync(this.work.aliveFile(step)).mtimeMs;
    } catch {
      return Date.now() - this.started > 2 * this.staleMs; // never started
    }
    return Date.now() - beat > this.staleMs;
  }
}

/** DIR/<item>.<ext>: a hard link to the output (a copy across file systems), written then renamed. */
export function exportFile(source: string, dir: string, item: string): void {
  fs.mkdirSync(dir, { recursive: true });
  const ext = path.extname(source);
  const target = path.join(dir, `${item}${ext}`);
  const temporary = path.join(dir, `.${item}${ext}.${randomBytes(8).toString("hex")}.tmp`);
  fs.rmSync(temporary, { force: true });
  try {
    fs.linkSync(source, temporary);
  } catch {
    fs.copyFileSync(source, temporary);
  }
  fs.renameSync(temporary, target);
}
