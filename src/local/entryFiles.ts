import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { FileIdentity, hashFile, identityOf, sameIdentity } from "./fingerprint";

/** One file of a cache entry as it was published: its size, its sha256 and the identity it had then. */
export interface EntryFile extends FileIdentity {
  readonly sha256: string;
}

/** An entry's files by path relative to the entry directory ("/"-separated), manifest.json excepted. */
export type EntryFiles = Readonly<Record<string, EntryFile>>;

export const MANIFEST = "manifest.json";

/** Every regular file under `dir`, as sorted relative "/" paths. */
export function listFiles(dir: string, prefix = ""): string[] {
  const found: string[] = [];
  for (const entry of fs.readdirSync(path.join(dir, prefix), { withFileTypes: true })) {
    const relative = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) found.push(...listFiles(dir, relative));
    else if (entry.isFile() && relative !== MANIFEST) found.push(relative);
  }
  return found.sort();
}

/**
 * The files of a staged entry, each hashed once (what a step wrote is still in the page cache, so
 * this costs about a millisecond per megabyte), for `verifyFiles` to check on every later hit.
 */
export async function describeFiles(dir: string, signal?: AbortSignal): Promise<EntryFiles> {
  const files: Record<string, EntryFile> = {};
  for (const relative of listFiles(dir)) {
    const file = path.join(dir, ...relative.split("/"));
    const { digest, identity } = hashSmallFileSync(file) ?? (await hashFile(file, signal));
    files[relative] = { ...identity, sha256: digest };
  }
  return files;
}

/** Files up to this size are hashed in one synchronous read: four trips to the thread pool cost more. */
const SYNC_HASH_BYTES = 1 << 20;

/** sha256 and identity of a small regular file read at once, or undefined for a larger (or changing) one. */
function hashSmallFileSync(file: string): { digest: string; identity: FileIdentity } | undefined {
  const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile() || stat.size > SYNC_HASH_BYTES) return undefined;
    const buffer = Buffer.allocUnsafe(stat.size);
    let read = 0;
    while (read < stat.size) {
      const n = fs.readSync(fd, buffer, read, stat.size - read, read);
      if (n === 0) return undefined;
      read += n;
    }
    const identity = identityOf(stat);
    // Bytes beyond the size, or a changed identity: the file is being written; hashFile reports that.
    if (fs.readSync(fd, Buffer.allocUnsafe(1), 0, 1, read) !== 0 || !sameIdentity(identity, identityOf(fs.fstatSync(fd)))) return undefined;
    return { digest: createHash("sha256").update(buffer).digest("hex"), identity };
  } finally {
    fs.closeSync(fd);
  }
}

/** Whether a parsed manifest's file list has the shape `describeFiles` writes. */
export function isEntryFiles(value: unknown): value is EntryFiles {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
  return Object.entries(value as Record<string, unknown>).every(([name, file]) => {
    const f = file as Partial<EntryFile> | null;
    return (
      name !== "" &&
      !name.split("/").includes("..") &&
      f !== null &&
      typeof f === "object" &&
      typeof f.sha256 === "string" &&
      /^[0-9a-f]{64}$/.test(f.sha256) &&
      [f.size, f.mtimeMs, f.ctimeMs, f.ino, f.dev].every((n) => typeof n === "number" && Number.isFinite(n))
    );
  });
}

export type FilesCheck = { readonly ok: true; readonly refreshed?: EntryFiles } | { readonly ok: false; readonly problem: string };

/**
 * Checks an entry's files against its manifest. The cheap path, taken on every hit, is one lstat
 * per file: the same size and identity means the published bytes (entries are never written after
 * they are published). A file whose identity moved (copied with `cp -a`, touched, chmod'ed, or
 * altered) is hashed again: the same sha256 keeps the entry and returns the refreshed identities so
 * the next hit is cheap again; another sha256, a size that differs or a missing file is damage.
 */
export async function verifyFiles(dir: string, files: EntryFiles, signal?: AbortSignal): Promise<FilesCheck> {
  let refreshed: Record<string, EntryFile> | undefined;
  for (const [relative, expected] of Object.entries(files)) {
    const file = path.join(dir, ...relative.split("/"));
    let stat: fs.Stats;
    try {
      stat = fs.lstatSync(file);
    } catch {
      return { ok: false, problem: `${relative} is missing` };
    }
    if (!stat.isFile()) return { ok: false, problem: `${relative} is not a regular file` };
    if (stat.size !== expected.size) return { ok: false, problem: `${relative} has ${stat.size} bytes, not ${expected.size}` };
    if (sameIdentity(identityOf(stat), expected)) continue;
    let hashed;
    try {
      hashed = await hashFile(file, signal);
    } catch (error) {
      if (signal?.aborted) throw error;
      return { ok: false, problem: `${relative} cannot be read (${(error as Error).message})` };
    }
    const { digest, identity } = hashed;
    if (digest !== expected.sha256) return { ok: false, problem: `${relative} was altered (its sha256 differs)` };
    refreshed ??= { ...files };
    refreshed[relative] = { ...identity, sha256: digest };
  }
  return refreshed ? { ok: true, refreshed } : { ok: true };
}
