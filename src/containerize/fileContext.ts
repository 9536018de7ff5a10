import { contextHash, writeBuildContext } from "./context";

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

/** sha256 over every path and content, as for the text contexts: the image's tag. */
export const fileContextHash: (context: FileContext) => string = contextHash;

/** The total size of a context's files, in bytes. */
export function fileContextBytes(context: FileContext): number {
  let bytes = 0;
  for (const content of context.values()) bytes += content.length;
  return bytes;
}

/** Writes a context to `dir`, replacing what was there only once the new one is complete (writeBuildContext). */
export const writeFileContext: (dir: string, context: FileContext) => void = writeBuildContext;
