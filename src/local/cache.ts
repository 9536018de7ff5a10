import { createHash, randomBytes } from "crypto";
import * as fs from "fs";
import * as path from "path";

/** Where `naaw run` keeps step results between runs. */
export const DEFAULT_CACHE_DIR = path.join(".naaw", "cache");

/** Bump when the layout of an entry changes: older entries are then simply not found. */
const LAYOUT_VERSION = 1;

/** A JSON value in canonical form (sorted keys), so equal values hash equally. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** sha256 of a value's canonical JSON: a step's cache key from what determines its result. */
export function cacheKey(parts: unknown): string {
  return createHash("sha256").update(canonical({ layout: LAYOUT_VERSION, ...(parts as object) })).digest("hex");
}

/** A finished step's record, stored beside its outputs. */
export interface CacheManifest {
  readonly step: string;
  readonly item?: string;
  /** Output values: files are paths relative to the entry directory. */
  readonly outputs: Readonly<Record<string, unknown>>;
  readonly seconds: number;
}

/**
 * Finished step results by content key: `<root>/<key[0:2]>/<key>/` holds the step's output files and
 * `manifest.json`. An entry appears by one rename of a complete directory, so a run killed at any
 * moment leaves either a whole entry or none; the next run reuses what is whole.
 */
export class StepCache {
  constructor(readonly root: string) {}

  private entryDir(key: string): string {
    return path.join(this.root, key.slice(0, 2), key);
  }

  /** The entry's directory and manifest, or undefined when the step has not finished before. */
  lookup(key: string): { dir: string; manifest: CacheManifest } | undefined {
    const dir = this.entryDir(key);
    try {
      return { dir, manifest: JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8")) as CacheManifest };
    } catch {
      return undefined;
    }
  }

  /** A fresh private directory for a step to write its outputs into before `commit`. */
  stage(key: string): string {
    const staging = path.join(this.root, "staging", `${key.slice(0, 16)}-${process.pid}-${randomBytes(4).toString("hex")}`);
    fs.mkdirSync(staging, { recursive: true });
    return staging;
  }

  /** Publish a staged directory as the entry of `key` (replacing an older one); returns the entry's directory. */
  commit(key: string, staging: string, manifest: CacheManifest): string {
    fs.writeFileSync(path.join(staging, "manifest.json"), JSON.stringify(manifest, null, 1));
    const dir = this.entryDir(key);
    fs.mkdirSync(path.dirname(dir), { recursive: true });
    if (fs.existsSync(dir)) {
      const old = `${staging}.old`;
      fs.renameSync(dir, old);
      fs.renameSync(staging, dir);
      fs.rmSync(old, { recursive: true, force: true });
    } else {
      fs.renameSync(staging, dir);
    }
    return dir;
  }

  /** Drop a staged directory of a step that failed. */
  discard(staging: string): void {
    fs.rmSync(staging, { recursive: true, force: true });
  }

  /** Remove staging directories left by runs that were killed (none of them can still be running). */
  sweepStaging(): void {
    const staging = path.join(this.root, "staging");
    if (!fs.existsSync(staging)) return;
    for (const name of fs.readdirSync(staging)) {
      const pid = Number(/-(\d+)-[0-9a-f]+(\.old)?$/.exec(name)?.[1]);
      if (pid && pid !== process.pid && isAlive(pid)) continue;
      if (pid !== process.pid) fs.rmSync(path.join(staging, name), { recursive: true, force: true });
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * A file's content fingerprint: sha256 of its bytes, remembered under the cache root by path, size,
 * mtime and inode, so large unchanged inputs are hashed once.
 */
export function fileFingerprint(cacheRoot: string, file: string): string {
  const stat = fs.statSync(file);
  const memoDir = path.join(cacheRoot, "fingerprints");
  const memoKey = createHash("sha256").update(`${path.resolve(file)}\0${stat.size}\0${stat.mtimeMs}\0${stat.ino}`).digest("hex");
  const memo = path.join(memoDir, memoKey);
  try {
    return fs.readFileSync(memo, "utf8");
  } catch {
    // not hashed before
  }
  const hash = createHash("sha256");
  const fd = fs.openSync(file, "r");
  try {
    const buffer = Buffer.allocUnsafe(4 << 20);
    for (let n = fs.readSync(fd, buffer); n > 0; n = fs.readSync(fd, buffer)) hash.update(buffer.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  const digest = hash.digest("hex");
  fs.mkdirSync(memoDir, { recursive: true });
  const temp = `${memo}.${process.pid}.tmp`;
  fs.writeFileSync(temp, digest);
  fs.renameSync(temp, memo);
  return digest;
}
