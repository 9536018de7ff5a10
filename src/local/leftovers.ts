import * as fs from "fs";
import * as path from "path";

/**
 * Whether a process is running. EPERM means it exists under another user: alive. A pid the kernel
 * has given to a new process also counts as alive, so a leftover may outlive its run for a while,
 * but a live run's files are never removed.
 */
export function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * The temporary names runs write, each with the pid of the run that writes it, so another run can
 * tell a leftover of a killed run (its process is gone) from the work of a live one.
 */
export const LEFTOVER_NAMES = {
  /** `<cache>/staging/<key16>-<pid>-<hex>[.old]`: a step's outputs before they are published, or a replaced entry. */
  staging: /^[0-9a-f]+-(\d+)-[0-9a-f]+(?:\.old)?$/,
  /** `<cache>/fingerprints/<sha>.<pid>.tmp`: a fingerprint being remembered. */
  fingerprint: /^[0-9a-f]{64}\.(\d+)\.tmp$/,
  /** `<cache parent>/run-<pid>-<random>`: the private cache of a `--no-cache` run. */
  scratch: /^run-(\d+)-[A-Za-z0-9]+$/,
  /** `<out>/<feature>.tif.<pid>-<hex>.tmp`, `<out>/report.html.<pid>-<hex>.tmp`: files being written (merge, report). */
  output: /^.+\.(?:tiff?|html)\.(\d+)(?:-[0-9a-f]+)?\.tmp$/i,
} as const;

/** A name for a run's private `--no-cache` directory in `parent` (its pid in the name, see LEFTOVER_NAMES.scratch). */
export function scratchPrefix(parent: string): string {
  return path.join(parent, `run-${process.pid}-`);
}

/** Removes the entries of `dir` named by `pattern` whose process (the pattern's first group) is gone; returns them. */
export function sweepDead(dir: string, pattern: RegExp): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const pid = Number(pattern.exec(name)?.[1]);
    if (!Number.isInteger(pid) || pid <= 0 || isAlive(pid)) continue;
    fs.rmSync(path.join(dir, name), { recursive: true, force: true });
    removed.push(path.join(dir, name));
  }
  return removed;
}

export interface LeftoverPlaces {
  /** The step cache's root. */
  readonly cacheRoot?: string;
  /** Where `--no-cache` runs make their private caches (beside the cache). */
  readonly scratchParent?: string;
  /** The run's output directory. */
  readonly outDir?: string;
}

/** What killed runs left in the places a run is about to use; returns the paths removed. */
export function sweepLeftovers(places: LeftoverPlaces): string[] {
  const removed: string[] = [];
  if (places.cacheRoot) {
    removed.push(...sweepDead(path.join(places.cacheRoot, "staging"), LEFTOVER_NAMES.staging));
    removed.push(...sweepDead(path.join(places.cacheRoot, "fingerprints"), LEFTOVER_NAMES.fingerprint));
  }
  if (places.scratchParent) removed.push(...sweepDead(places.scratchParent, LEFTOVER_NAMES.scratch));
  if (places.outDir) removed.push(...sweepDead(places.outDir, LEFTOVER_NAMES.output));
  return removed;
}
