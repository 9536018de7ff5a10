import * as fs from "fs";
import * as path from "path";
import { StepCache } from "./cache";
import { MANIFEST } from "./entryFiles";
import { readRunLogs, RunRecord } from "./runLog";

/** One entry of a step cache as `naaw cache` shows it. */
export interface CacheEntryInfo {
  readonly key: string;
  /** The step (and item) that wrote it, or "?" when its manifest cannot be read. */
  readonly step: string;
  readonly bytes: number;
  /** The last run that used it, or when it was written. */
  readonly lastUsed: number;
}

export interface CacheContents {
  readonly entries: readonly CacheEntryInfo[];
  /** Bytes of everything else: fingerprints, run logs, staging. */
  readonly otherBytes: number;
  readonly runs: readonly RunRecord[];
}

/** Bytes of the regular files under a path. */
function bytesUnder(target: string): number {
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(target);
  } catch {
    return 0;
  }
  if (!stat.isDirectory()) return stat.isFile() ? stat.size : 0;
  return fs.readdirSync(target).reduce((sum, name) => sum + bytesUnder(path.join(target, name)), 0);
}

function stepOf(dir: string): { step: string; written: number } {
  const manifest = path.join(dir, MANIFEST);
  try {
    const { step, item } = JSON.parse(fs.readFileSync(manifest, "utf8")) as { step?: unknown; item?: unknown };
    const written = fs.statSync(manifest).mtimeMs;
    if (typeof step === "string") return { step: typeof item === "string" ? `${step} on ${item}` : step, written };
  } catch {
    // a damaged entry: still listed, so prune can remove it
  }
  return { step: "?", written: fs.statSync(dir).mtimeMs };
}

/** The entries of a cache root (`<root>/<2 hex>/<key>/`), most recently used first. */
export function cacheContents(root: string): CacheContents {
  const runs = readRunLogs(root);
  const lastUse = new Map<string, number>();
  for (const run of runs) for (const [key, time] of run.used) lastUse.set(key, Math.max(time, lastUse.get(key) ?? 0));
  const entries: CacheEntryInfo[] = [];
  let otherBytes = 0;
  for (const name of fs.existsSync(root) ? fs.readdirSync(root) : []) {
    const shard = path.join(root, name);
    if (!/^[0-9a-f]{2}$/.test(name)) {
      otherBytes += bytesUnder(shard);
      continue;
    }
    for (const key of fs.readdirSync(shard)) {
      const dir = path.join(shard, key);
      if (!/^[0-9a-f]{64}$/.test(key) || !key.startsWith(name)) {
        otherBytes += bytesUnder(dir);
        continue;
      }
      const { step, written } = stepOf(dir);
      entries.push({ key, step, bytes: bytesUnder(dir), lastUsed: Math.max(written, lastUse.get(key) ?? 0) });
    }
  }
  entries.sort((a, b) => b.lastUsed - a.lastUsed || (a.key < b.key ? -1 : 1));
  return { entries, otherBytes, runs };
}

export interface PruneOptions {
  /** Keep what a run used within this many milliseconds before `now`. */
  readonly olderThanMs?: number;
  /** Keep what the last N runs used, however long ago. */
  readonly keepLastRuns?: number;
  readonly now?: number;
}

export interface PruneResult {
  readonly removed: readonly CacheEntryInfo[];
  readonly kept: number;
  readonly bytesFreed: number;
  readonly runLogsRemoved: number;
}

/** A prune while a run uses the cache could take an entry that run is about to read. */
export class CacheInUseError extends Error {}

export const DEFAULT_PRUNE_AGE_MS = 30 * 24 * 3600 * 1000;

/**
 * Removes the entries no recent run used: an entry stays if a run used it within `olderThanMs`
 * (30 days when neither option is given) or if one of the last `keepLastRuns` runs used it.
 * Run logs of runs that no longer count are removed with them; so are fingerprints not refreshed
 * within the age (they are remade by hashing the file once more).
 */
export function pruneCache(root: string, options: PruneOptions): PruneResult {
  const now = options.now ?? Date.now();
  const olderThanMs = options.olderThanMs ?? (options.keepLastRuns === undefined ? DEFAULT_PRUNE_AGE_MS : undefined);
  const cache = new StepCache(root);
  cache.sweepStaging();
  const { entries, runs } = cacheContents(root);
  const live = runs.find((r) => r.live);
  if (live) throw new CacheInUseError(`a run (pid ${live.pid}) is using the cache ${root}; prune it when that run has finished`);
  const recentRuns = new Set<RunRecord>();
  if (options.keepLastRuns !== undefined) for (const run of runs.slice(Math.max(0, runs.length - options.keepLastRuns))) recentRuns.add(run);
  if (olderThanMs !== undefined) for (const run of runs) if (run.last >= now - olderThanMs) recentRuns.add(run);
  const keep = new Set<string>();
  for (const run of recentRuns) for (const key of run.used.keys()) keep.add(key);
  const removed: CacheEntryInfo[] = [];
  for (const entry of entries) {
    const recent = olderThanMs !== undefined && entry.lastUsed >= now - olderThanMs;
    if (recent || keep.has(entry.key)) continue;
    cache.remove(entry.key);
    removed.push(entry);
  }
  let runLogsRemoved = 0;
  for (const run of runs) {
    if (recentRuns.has(run)) continue;
    fs.rmSync(run.file, { force: true });
    runLogsRemoved += 1;
  }
  if (olderThanMs !== undefined) {
    const fingerprints = path.join(root, "fingerprints");
    for (const name of fs.existsSync(fingerprints) ? fs.readdirSync(fingerprints) : []) {
      const file = path.join(fingerprints, name);
      if (fs.statSync(file).mtimeMs < now - olderThanMs) fs.rmSync(file, { force: true });
    }
  }
  for (const name of fs.existsSync(root) ? fs.readdirSync(root) : []) {
    // Shards emptied by the removals.
    if (/^[0-9a-f]{2}$/.test(name) && fs.readdirSync(path.join(root, name)).length === 0) fs.rmdirSync(path.join(root, name));
  }
  return { removed, kept: entries.length - removed.length, bytesFreed: removed.reduce((sum, e) => sum + e.bytes, 0), runLogsRemoved };
}
