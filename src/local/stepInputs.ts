import * as fs from "fs";
import * as path from "path";
import { fileFingerprint, Fingerprint, identityChange, identityOf, InputChangedError, NotAFileError, sameIdentity } from "./fingerprint";
import { filesOf, StepValue } from "./values";

/** Whether a path lies under a directory. */
export function isUnder(file: string, dir: string): boolean {
  const relative = path.relative(dir, file);
  return relative !== "" && !relative.startsWith("..") && !path.isAbsolute(relative);
}

/** The files from outside the cache a step reads: its file inputs that no earlier step wrote, and what a built-in reads through its params. */
export function outsideFiles(inputs: Readonly<Record<string, StepValue>>, reads: readonly string[], cacheRoot: string): string[] {
  const files = [...Object.values(inputs).flatMap(filesOf), ...reads].map((f) => path.resolve(f));
  return [...new Set(files.filter((f) => !isUnder(f, cacheRoot)))];
}

/**
 * The run's view of the files it reads from outside the cache. Each is fingerprinted once per run
 * (a content hash with the cache, just its identity without); after a step, every file it read is
 * checked against the identity it was fingerprinted under, so a file that changed while the step
 * read it fails the step instead of leaving a result under the other content's key.
 */
export class OutsideFiles {
  private readonly known = new Map<string, Promise<Fingerprint>>();

  constructor(
    private readonly cacheRoot: string,
    /** Hash contents (for cache keys); false: identities only (`--no-cache` looks nothing up). */
    private readonly hash: boolean,
    private readonly signal: AbortSignal,
  ) {}

  /** Fingerprints of `files` (absolute paths), hashing concurrently requested files once. */
  async fingerprints(files: readonly string[]): Promise<Map<string, Fingerprint>> {
    const result = new Map<string, Fingerprint>();
    for (const file of files) {
      let pending = this.known.get(file);
      if (!pending) {
        pending = this.hash ? fileFingerprint(this.cacheRoot, file, this.signal) : identityOnly(file);
        this.known.set(file, pending);
        // A failed fingerprint is not remembered: the run fails with it, and nothing may reuse it.
        pending.catch(() => this.known.delete(file));
      }
      result.set(file, await pending);
    }
    return result;
  }

  /** Throws InputChangedError naming the first file whose identity moved since it was fingerprinted. */
  checkUnchanged(prints: ReadonlyMap<string, Fingerprint>, step: string): void {
    for (const [file, print] of prints) {
      let change: string;
      try {
        const now = identityOf(fs.statSync(file));
        if (sameIdentity(now, print.identity)) continue;
        change = identityChange(print.identity, now);
      } catch {
        change = "it was removed";
      }
      throw new InputChangedError(`${file} changed while step '${step}' read it (${change}); nothing was cached: run again when it no longer changes`);
    }
  }
}

async function identityOnly(file: string): Promise<Fingerprint> {
  const stat = await fs.promises.stat(file);
  if (!stat.isFile()) throw new NotAFileError(`${file}: not a regular file`);
  return { digest: file, identity: identityOf(stat) };
}
