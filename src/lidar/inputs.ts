import * as fs from "fs";
import * as path from "path";
import { LidarInputError } from "./errors";
import { notRegular, specialFileKind } from "./lasHeader";

const POINT_CLOUD_FILE = /\.la[sz]$/i;
const WILDCARD = /[*?]/;

/**
 * The LAS/LAZ files an input names: the file itself; a directory's `*.las`/`*.laz` (any case, not
 * recursive); or the files matching a pattern whose segments may hold `*` and `?`. Sorted, no duplicates.
 */
export function expandInputs(input: string): string[] {
  if (input === "") throw new LidarInputError("split: no input given");
  return WILDCARD.test(input) ? expandPattern(input) : expandPath(input);
}

function expandPath(input: string): string[] {
  const stat = statOrUndefined(input);
  if (!stat) throw new LidarInputError(`${input}: no such file or directory`);
  if (!stat.isDirectory()) {
    const kind = specialFileKind(stat);
    if (kind) throw notRegular(input, kind);
    return [input];
  }
  // Sorted before the checks, so that of several bad entries the same one is named every time.
  const files = fs
    .readdirSync(input)
    .sort()
    .map((name) => path.join(input, name))
    .filter((file) => POINT_CLOUD_FILE.test(file) && isFile(file));
  if (files.length === 0) throw new LidarInputError(`${input}: no LAS/LAZ files (*.las, *.laz) in this directory`);
  return files;
}

function expandPattern(pattern: string): string[] {
  const segments = pattern.split(/[\\/]/);
  const firstWild = segments.findIndex((s) => WILDCARD.test(s));
  const literal = segments.slice(0, firstWild);
  // A leading "" segment means the pattern is absolute.
  let bases = [literal.length === 0 ? "." : literal.length === 1 && literal[0] === "" ? path.sep : literal.join(path.sep)];
  for (const segment of segments.slice(firstWild)) {
    if (segment === "") continue;
    const next: string[] = [];
    for (const base of bases) {
      if (!WILDCARD.test(segment)) {
        next.push(path.join(base, segment));
        continue;
      }
      const matcher = segmentMatcher(segment);
      for (const name of readdirOrEmpty(base)) {
        if (matcher(name)) next.push(path.join(base, name));
      }
    }
    bases = next;
  }
  const files = [...new Set(bases)].sort().filter((file) => POINT_CLOUD_FILE.test(file) && isFile(file));
  if (files.length === 0) throw new LidarInputError(`${pattern}: no LAS/LAZ files (*.las, *.laz) match this pattern`);
  return files;
}

/** A matcher for one path segment: `*` any run of characters, `?` one; names starting with `.` only when the pattern does. */
function segmentMatcher(segment: string): (name: string) => boolean {
  const source = segment.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  const regex = new RegExp(`^${source}$`);
  const allowHidden = segment.startsWith(".");
  return (name) => (allowHidden || !name.startsWith(".")) && regex.test(name);
}

function readdirOrEmpty(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

function statOrUndefined(file: string): fs.Stats | undefined {
  try {
    return fs.statSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT" || (error as NodeJS.ErrnoException).code === "ENOTDIR") return undefined;
    throw new LidarInputError(`${file}: ${(error as Error).message}`);
  }
}

/**
 * Whether a path a directory or a pattern gave is a file to read. A directory of that name is passed
 * over (expansion is not recursive), but a FIFO, socket or device named like a LAS/LAZ file is an error
 * now, before anything opens it: reading one would block or never end.
 */
function isFile(file: string): boolean {
  const stat = statOrUndefined(file);
  if (!stat || stat.isDirectory()) return false;
  const kind = specialFileKind(stat);
  if (kind) throw notRegular(file, kind);
  return true;
}
