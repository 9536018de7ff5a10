import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";

/**
 * A build context whose files may be binary (a vendored package's WASM, say): relative path (always
 * `/`-separated, sorted) → bytes. The notebook components' contexts are text (context.ts's
 * BuildContext); this one is hashed and written the same way.
 */
export type FileContext = ReadonlyMap<string, Buffer>;

/** A problem with what goes into a build context that the user can fix; the message says how. */
export class BuildContextError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BuildContextError";
  }
}

/** The same context with its paths in sorted order, so that equal contents hash equally. */
export function sortedContext(files: ReadonlyMap<string, Buffer>): FileContext {
  return new Map([...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** sha256 over every path and content, as contextHash does for text contexts: the image's tag. */
export function fileContextHash(context: FileContext): string {
  const hash = createHash("sha256");
  for (const [file, content] of context) {
    hash.update(`${file}\0${content.length}\0`);
    hash.update(content);
  }
  return hash.digest("hex");
}

/** The total size of a context's files, in bytes. */
export function fileContextBytes(context: FileContext): number {
  let bytes = 0;
  for (const content of context.values()) bytes += content.length;
  return bytes;
}

/**
 * Writes a context to `dir`, replacing what was there only once the new one is complete (a failure
 * half way leaves the previous context intact), as writeBuildContext does for text contexts.
 */
export function writeFileContext(dir: string, context: FileContext): void {
  const parent = path.dirname(path.resolve(dir));
  fs.mkdirSync(parent, { recursive: true });
  const staging = fs.mkdtempSync(path.join(parent, `.${path.basename(dir)}.tmp-`));
  try {
    for (const [file, content] of context) {
      const target = path.join(staging, ...file.split("/"));
      fs.mkdirSync(path.dirname(target), { recursive: true, mode: 0o755 });
      fs.writeFileSync(target, content, { mode: 0o644 });
    }
    fs.chmodSync(staging, 0o755);
    const previous = `${staging}.old`;
    const hadPrevious = fs.existsSync(dir);
    if (hadPrevious) fs.renameSync(dir, previous);
    fs.renameSync(staging, dir);
    if (hadPrevious) fs.rmSync(previous, { recursive: true, force: true });
  } catch (error) {
    fs.rmSync(staging, { recursive: true, force: true });
    throw error;
  }
}
