import { createHash, randomBytes } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { describeFiles, EntryFiles, isEntryFiles, MANIFEST, verifyFiles } from "./entryFiles";
import { LEFTOVER_NAMES, sweepDead } from "./leftovers";
import { stringifyExactJson } from "../notebook/exactJson";
import { SHARED_PATH } from "./values";

/** Where `naaw run` keeps step results between runs. */
export const DEFAULT_CACHE_DIR = path.join(".naaw", "cache");

/**
 * Bump when the layout of an entry changes: older entries are then simply not found (and `naaw
 * cache prune` removes them). 2: manifests list their files with sizes and sha256.
 */
const LAYOUT_VERSION = 2;

/** A JSON value in canonical form (sorted keys), so equal values hash equally. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
  }
  return stringifyExactJson(value, 0);
}

/** sha256 of a value's canonical JSON: a step's cache key from what determines its result. */
export function cacheKey(parts: unknown): string {
  return createHash("sha256").update(canonical({ layout: LAYOUT_VERSION, ...(parts as object) })).digest("hex");
}

/** What a step records about its result; the cache adds the list of files. */
export interface StepRecord {
  readonly step: string;
  readonly item?: string;
  /** Output values: files are paths relative to the entry directory. */
  readonly outputs: Readonly<Record<string, unknown>>;
  readonly seconds: number;
}

/** A finished step's record, stored beside its outputs. */
export interface CacheManifest extends StepRecord {
  /** Every file of the entry, checked on each hit. */
  readonly files: EntryFiles;
}

export type Lookup =
  | { readonly kind: "hit"; readonly dir: string; readonly manifest: CacheManifest }
  | { readonly kind: "miss" }
  /** An entry is there but not whole: it is recomputed (and replaced), never handed to a step. */
  | { readonly kind: "damaged"; readonly problem: string };

/** Every `cached` path an output value names (they must all be in the entry's file list). */
function cachedPaths(stored: unknown): string[] {
  const record = stored as { list?: unknown[]; cached?: unknown } | null;
  if (record === null || typeof record !== "object") return [];
  if (Array.isArray(record.list)) return record.list.flatMap(cachedPaths);
  return typeof record.cached === "string" ? [record.cached] : [];
}

/** Every `shared` path an output value names: files of other entries, which must exist on a hit. */
function sharedPaths(stored: unknown): string[] {
  const record = stored as { list?: unknown[]; shared?: unknown } | null;
  if (record === null || typeof record !== "object") return [];
  if (Array.isArray(record.list)) return record.list.flatMap(sharedPaths);
  return typeof record.shared === "string" ? [record.shared] : [];
}

function parseManifest(text: string): CacheManifest | string {
  let value: Partial<CacheManifest>;
  try {
    value = JSON.parse(text) as Partial<CacheManifest>;
  } catch {
    return "its manifest is not JSON";
  }
  if (value === null || typeof value !== "object" || typeof value.step !== "string" || typeof value.outputs !== "object" || value.outputs === null) return "its manifest is incomplete";
  if (!isEntryFiles(value.files)) return "its manifest has no valid file list";
  const files = value.files;
  const unlisted = Object.values(value.outputs).flatMap(cachedPaths).find((p) => !(p in files));
  if (unlisted !== undefined) return `its manifest names ${unlisted}, which is not among its files`;
  const foreign = Object.values(value.outputs).flatMap(sharedPaths).find((p) => !SHARED_PATH.test(p));
  if (foreign !== undefined) return `its manifest names ${foreign}, which is no file of a cache entry`;
  return value as CacheManifest;
}

function isFile(file: string): boolean {
  try {
    return fs.lstatSync(file).isFile();
  } catch {
    return false;
  }
}

/**
 * Finished step results by content key: `<root>/<key[0:2]>/<key>/` holds the step's output files and
 * `manifest.json`, which lists every file with its size and sha256. An entry appears by one rename of
 * a complete directory, so a run killed at any moment leaves either a whole entry or none; several
 * runs may share a root (the first to publish a key wins, the others use its entry).
 */
export class StepCache {
  private readonly shardsMade = new Set<string>();

  constructor(readonly root: string) {}

  entryDir(key: string): string {
    return path.join(this.root, key.slice(0, 2), key);
  }

  private stagingName(key: string): string {
    return path.join(this.root, "staging", `${key.slice(0, 16)}-${process.pid}-${randomBytes(4).toString("hex")}`);
  }

  /** The entry of `key`, checked: its manifest parses and its files are those it lists. */
  async lookup(key: string, signal?: AbortSignal): Promise<Lookup> {
    const dir = this.entryDir(key);
    let text: string;
    try {
      text = fs.readFileSync(path.join(dir, MANIFEST), "utf8");
    } catch {
      return fs.existsSync(dir) ? { kind: "damaged", problem: "it has no manifest" } : { kind: "miss" };
    }
    const manifest = parseManifest(text);
    if (typeof manifest === "string") return { kind: "damaged", problem: manifest };
    const check = await verifyFiles(dir, manifest.files, signal);
    if (!check.ok) return { kind: "damaged", problem: check.problem };
    // A shared file is another entry's, checked when that entry was looked up: every step that passed one
    // on had it as an input, from the step that wrote it, earlier in the same run. Here it must still be there.
    const gone = Object.values(manifest.outputs).flatMap(sharedPaths).find((p) => !isFile(path.join(this.root, ...p.split("/"))));
    if (gone !== undefined) return { kind: "damaged", problem: `${gone}, which it passed on from another entry, is gone` };
    if (check.refreshed) this.rewriteManifest(key, { ...manifest, files: check.refreshed });
    return { kind: "hit", dir, manifest };
  }

  /** Best effort (a read-only cache stays as it is): the next hit checks the new identities cheaply. */
  private rewriteManifest(key: string, manifest: CacheManifest): void {
    // Written under staging, not in the entry: a run killed half way leaves a leftover that is swept.
    const temp = this.stagingName(key);
    try {
      fs.mkdirSync(path.dirname(temp), { recursive: true });
      fs.writeFileSync(temp, JSON.stringify(manifest, null, 1));
      fs.renameSync(temp, path.join(this.entryDir(key), MANIFEST));
    } catch {
      fs.rmSync(temp, { force: true });
    }
  }

  /** The name of a fresh private directory, not made: for a writer that makes it (with its parents). */
  stagingPath(key: string): string {
    return this.stagingName(key);
  }

  /** A fresh private directory for a step to write its outputs into before `commit`. */
  stage(key: string): string {
    const staging = this.stagingName(key);
    try {
      fs.mkdirSync(staging); // one mkdir, not one per ancestor: this runs before every step
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      fs.mkdirSync(staging, { recursive: true });
    }
    return staging;
  }

  /**
   * Publishes a staged directory as the entry of `key`. When another run published the key first
   * (rename fails with ENOTEMPTY or EEXIST), its entry is checked and used, and the staged one
   * dropped: `ours` is false and `manifest` is the other run's. A damaged entry in the way is
   * moved aside and replaced.
   */
  async commit(key: string, staging: string, record: StepRecord, signal?: AbortSignal): Promise<{ dir: string; manifest: CacheManifest; ours: boolean }> {
    const manifest: CacheManifest = { ...record, files: await describeFiles(staging, signal) };
    fs.writeFileSync(path.join(staging, MANIFEST), JSON.stringify(manifest, null, 1));
    const dir = this.entryDir(key);
    // A shard made once is not made again (a prune that removes it meanwhile is handled below).
    if (!this.shardsMade.has(path.dirname(dir))) {
      fs.mkdirSync(path.dirname(dir), { recursive: true });
      this.shardsMade.add(path.dirname(dir));
    }
    for (let attempt = 0; attempt < 10; attempt++) {
      try {
        fs.renameSync(staging, dir);
        return { dir, manifest, ours: true };
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === "ENOENT" && fs.existsSync(staging)) {
          // The shard was removed meanwhile (a prune of its last entry): make it again.
          fs.mkdirSync(path.dirname(dir), { recursive: true });
          continue;
        }
        if (code !== "ENOTEMPTY" && code !== "EEXIST") throw error;
      }
      const existing = await this.lookup(key, signal);
      if (existing.kind === "hit") {
        this.discard(staging);
        return { dir, manifest: existing.manifest, ours: false };
      }
      this.remove(key);
    }
    throw new Error(`could not publish the cache entry ${dir}: another process keeps replacing it`);
  }

  /** Takes an entry out of the cache: one rename (a reader sees all of it or nothing), then delete. */
  remove(key: string): void {
    const aside = `${this.stagingName(key)}.old`;
    try {
      fs.mkdirSync(path.dirname(aside), { recursive: true });
      fs.renameSync(this.entryDir(key), aside);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
      throw error;
    }
    fs.rmSync(aside, { recursive: true, force: true });
  }

  /** Drop a staged directory of a step that failed. */
  discard(staging: string): void {
    fs.rmSync(staging, { recursive: true, force: true });
  }

  /** Remove staging directories and fingerprint temporaries of runs that were killed (never a live run's). */
  sweepStaging(): string[] {
    return [...sweepDead(path.join(this.root, "staging"), LEFTOVER_NAMES.staging), ...sweepDead(path.join(this.root, "fingerprints"), LEFTOVER_NAMES.fingerprint)];
  }
}
