import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";

/**
 * What says a file is still the one that was read: size, modification and change times, inode and
 * device. ctime is included because no tool can set it back (`touch -r` restores mtime, not ctime).
 */
export interface FileIdentity {
  readonly size: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
  readonly ino: number;
  readonly dev: number;
}

export function identityOf(stat: fs.Stats): FileIdentity {
  return { size: stat.size, mtimeMs: stat.mtimeMs, ctimeMs: stat.ctimeMs, ino: stat.ino, dev: stat.dev };
}

export function sameIdentity(a: FileIdentity, b: FileIdentity): boolean {
  return a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs && a.ino === b.ino && a.dev === b.dev;
}

/** How an identity differs from another, for messages ("size 10 → 12"). */
export function identityChange(before: FileIdentity, after: FileIdentity): string {
  if (before.size !== after.size) return `its size went from ${before.size} to ${after.size} bytes`;
  if (before.ino !== after.ino || before.dev !== after.dev) return "it was replaced by another file";
  return "it was modified";
}

/** A file that changed while it was read: its result would be kept under the other content's key. */
export class InputChangedError extends Error {}

/** A path that cannot be an input: not a regular file (a device, a FIFO, a socket, a directory). */
export class NotAFileError extends Error {}

/** The error an aborted read throws (the run was stopped). */
export function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error("the run was stopped");
}

const READ_BYTES = 4 << 20;

/**
 * sha256 of a file's bytes and the identity they were read under, 4 MiB at a time through the
 * event loop: a signal is handled between reads (a synchronous loop would hold a stop for as long
 * as a big file takes), and `signal` ends the read. The file is fstat'ed before and after: if it
 * changed meanwhile the hash is of no single content, so this throws InputChangedError.
 */
export async function hashFile(file: string, signal?: AbortSignal): Promise<{ digest: string; identity: FileIdentity }> {
  const handle = await fs.promises.open(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  try {
    // O_NONBLOCK: opening a FIFO does not wait for a writer, so it gets here and is refused.
    const stat = await handle.stat();
    if (!stat.isFile()) throw new NotAFileError(`${file}: not a regular file`);
    const before = identityOf(stat);
    const hash = createHash("sha256");
    const buffer = Buffer.allocUnsafe(Math.min(READ_BYTES, Math.max(1, before.size)));
    const changed = async (): Promise<void> => {
      const now = identityOf(await handle.stat());
      if (!sameIdentity(before, now)) throw new InputChangedError(`${file} changed while it was being hashed (${identityChange(before, now)}); run again when it no longer changes`);
    };
    for (let chunk = 1; ; chunk++) {
      if (signal?.aborted) throw abortError(signal);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
      // Every 64 MiB: a big file that is being rewritten fails now, not after hashing all of it.
      if (chunk % 16 === 0) await changed();
    }
    await changed();
    return { digest: hash.digest("hex"), identity: before };
  } finally {
    await handle.close();
  }
}

/**
 * A timestamp this close to the hashing may be followed by a write in the same clock tick that
 * leaves the identity unchanged (file systems keep coarse times: a few ms on Linux, 2 s on FAT),
 * so such a hash is used in this run but not remembered for the next one (git's "racy clean" rule).
 */
const RACY_MS = 2000;

/** An outside file's content fingerprint and the identity it was taken under. */
export interface Fingerprint {
  readonly digest: string;
  readonly identity: FileIdentity;
}

/**
 * A file's content fingerprint: sha256 of its bytes, remembered under the cache root by path and
 * identity, so a large unchanged input is hashed once. Only regular files: opening a FIFO would
 * wait for a writer, and /dev/zero never ends.
 */
export async function fileFingerprint(cacheRoot: string, file: string, signal?: AbortSignal): Promise<Fingerprint> {
  // The remembered case is synchronous: a stat and a 64-byte read cost less than a trip to the thread pool.
  const stat = fs.statSync(file);
  if (!stat.isFile()) throw new NotAFileError(`${file}: not a regular file`);
  const identity = identityOf(stat);
  const memoDir = path.join(cacheRoot, "fingerprints");
  const memoKey = createHash("sha256")
    .update([path.resolve(file), identity.size, identity.mtimeMs, identity.ctimeMs, identity.ino, identity.dev].join("\0"))
    .digest("hex");
  const memo = path.join(memoDir, memoKey);
  try {
    const digest = fs.readFileSync(memo, "utf8");
    if (/^[0-9a-f]{64}$/.test(digest)) return { digest, identity };
  } catch {
    // not hashed before
  }
  const started = Date.now();
  const hashed = await hashFile(file, signal);
  if (!sameIdentity(identity, hashed.identity)) throw new InputChangedError(`${file} changed while it was being hashed (${identityChange(identity, hashed.identity)}); run again when it no longer changes`);
  if (started - Math.max(identity.mtimeMs, identity.ctimeMs) > RACY_MS) {
    await fs.promises.mkdir(memoDir, { recursive: true });
    const temp = `${memo}.${process.pid}.tmp`;
    await fs.promises.writeFile(temp, hashed.digest);
    await fs.promises.rename(temp, memo);
  }
  return hashed;
}
