/**
 * Previews of GeoTIFFs this process wrote: the merge colours each raster's picture as it writes the
 * next (src/local/builtinSteps.ts), and the run report takes them instead of reading back and
 * decoding what was just written. Kept by absolute path with the identity of the file they were made
 * of: a file replaced or rewritten since is decoded as any other. Each is used once, and only the
 * latest few are kept.
 */
import * as fs from "fs";
import * as path from "path";
import type { RasterPreview } from "./preview";

const madePreviews = new Map<string, { readonly identity: string; readonly preview: RasterPreview }>();
const MAX_MADE_PREVIEWS = 32;

function fileIdentity(file: string): string | undefined {
  try {
    const stat = fs.statSync(file, { bigint: true });
    return `${stat.dev}:${stat.ino}:${stat.size}:${stat.mtimeNs}:${stat.ctimeNs}`;
  } catch {
    return undefined;
  }
}

/** Remembers the preview of `file` as it is now, for this process's report. */
export function rememberPreview(file: string, preview: RasterPreview): void {
  const identity = fileIdentity(file);
  if (identity === undefined) return;
  const key = path.resolve(file);
  madePreviews.delete(key);
  madePreviews.set(key, { identity, preview });
  while (madePreviews.size > MAX_MADE_PREVIEWS) madePreviews.delete(madePreviews.keys().next().value as string);
}

/** The preview remembered for `file`, if the file is still the one it was made of; forgotten either way. */
export function takeMadePreview(file: string): RasterPreview | undefined {
  const key = path.resolve(file);
  const made = madePreviews.get(key);
  if (!made) return undefined;
  madePreviews.delete(key);
  return fileIdentity(file) === made.identity ? made.preview : undefined;
}
