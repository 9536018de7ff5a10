import { Command, InvalidArgumentError } from "commander";
import * as fs from "fs";
import * as path from "path";
import { DEFAULT_CACHE_DIR } from "../local/cache";
import { formatTable, runAction, UsageError } from "./output";

const UNITS_MS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `30d`, `12h`, `90m`, `45s`, `2w` in milliseconds. */
export function parseAge(value: string): number {
  const match = /^(\d+(?:\.\d+)?)(s|m|h|d|w)$/.exec(value.trim());
  if (!match) throw new InvalidArgumentError("expected an age such as 30d, 12h, 90m, 45s or 2w");
  return Number(match[1]) * UNITS_MS[match[2]!]!;
}

function parseRuns(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError("expected a whole number of runs (0 or more)");
  return n;
}

/** 1234567 → "1.2 MB" (powers of 1000, as `du --si`). */
export function formatBytes(bytes: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

function formatTime(ms: number, now: number): string {
  const date = new Date(ms);
  const pad = (n: number): string => String(n).padStart(2, "0");
  const stamp = `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}`;
  const ago = Math.max(0, now - ms) / 1000;
  const relative = ago < 60 ? "just now" : ago < 3600 ? `${Math.floor(ago / 60)} min ago` : ago < 86400 ? `${Math.floor(ago / 3600)} h ago` : `${Math.floor(ago / 86400)} d ago`;
  return `${stamp} (${relative})`;
}

function existingRoot(dir: string): string {
  const root = path.resolve(dir);
  if (!fs.existsSync(root)) throw new UsageError(`${dir}: no cache here (no such directory)`, 2);
  if (!fs.statSync(root).isDirectory()) throw new UsageError(`${dir}: not a directory`, 2);
  return root;
}

async function showCache(dir: string): Promise<void> {
  const { cacheContents } = await import("../local/cacheStore");
  const root = existingRoot(dir);
  const { entries, otherBytes, runs } = cacheContents(root);
  const now = Date.now();
  const rows = entries.map((e) => [e.key.slice(0, 12), e.step, formatBytes(e.bytes), formatTime(e.lastUsed, now)]);
  if (rows.length > 0) process.stdout.write(formatTable(["KEY", "STEP", "SIZE", "LAST USED"], rows));
  const total = entries.reduce((sum, e) => sum + e.bytes, 0);
  const other = otherBytes > 0 ? ` (and ${formatBytes(otherBytes)} of fingerprints, run logs and staging)` : "";
  process.stdout.write(`${dir}: ${entries.length} entr${entries.length === 1 ? "y" : "ies"}, ${formatBytes(total)}${other}; ${runs.length} run${runs.length === 1 ? "" : "s"} logged\n`);
}

export function cacheCommand(): Command {
  const prune = new Command("prune")
    .description("remove the cache entries that no recent run used (default: none in the last 30 days)")
    // --dir is the `cache` command's, so it may come before or after `prune`.
    .configureHelp({ showGlobalOptions: true })
    .option("--older-than <age>", "remove what no run used within this age: 30d, 12h, 90m, 45s, 2w", parseAge)
    .option("--keep-last-runs <n>", "keep what the last N runs used, however old (alone: remove everything else)", parseRuns)
    .addHelpText("after", "\nExamples:\n  npx naaw cache prune\n  npx naaw cache prune --older-than 7d --keep-last-runs 3")
    .action((_options: unknown, command: Command) =>
      runAction(async () => {
        const { CacheInUseError, pruneCache } = await import("../local/cacheStore");
        const options = command.optsWithGlobals<{ dir: string; olderThan?: number; keepLastRuns?: number }>();
        const root = existingRoot(options.dir);
        try {
          const result = pruneCache(root, { olderThanMs: options.olderThan, keepLastRuns: options.keepLastRuns });
          process.stdout.write(
            `${options.dir}: removed ${result.removed.length} entr${result.removed.length === 1 ? "y" : "ies"} (${formatBytes(result.bytesFreed)}) and ${result.runLogsRemoved} run log${result.runLogsRemoved === 1 ? "" : "s"}; ${result.kept} kept\n`,
          );
        } catch (error) {
          if (error instanceof CacheInUseError) throw new UsageError(error.message, 1);
          throw error;
        }
      }),
    );
  return new Command("cache")
    .description("show the step cache of `naaw run`: its entries, their size and when a run last used them")
    .option("--dir <dir>", "the cache directory", DEFAULT_CACHE_DIR)
    .addHelpText("after", "\nExamples:\n  npx naaw cache\n  npx naaw cache --dir /scratch/naaw-cache\n  npx naaw cache prune --older-than 30d --keep-last-runs 5")
    .action((options: { dir: string }) => runAction(() => showCache(options.dir)))
    .addCommand(prune);
}
