import * as fs from "fs";
import * as path from "path";
import { stringifyExactJson } from "../notebook/exactJson";

/**
 * A value flowing between steps of a local run: a file a step wrote (`.npy`, `.json`, a tile), a
 * plain JSON value (params, literals), or a list of either (a foreach's fan-in, split's tiles).
 */
export type StepValue =
  | { readonly kind: "file"; readonly path: string }
  | { readonly kind: "value"; readonly value: unknown }
  | { readonly kind: "list"; readonly items: readonly StepValue[] };

export const fileValue = (file: string): StepValue => ({ kind: "file", path: path.resolve(file) });
export const plainValue = (value: unknown): StepValue => ({ kind: "value", value });
export const listValue = (items: readonly StepValue[]): StepValue => ({ kind: "list", items });

/** A problem with a value that the step it is bound to cannot take; the caller names the step. */
export class ValueBindingError extends Error {}

/**
 * The value as a component param receives it: a `str` param gets a file's path, any other type the
 * content of a `.json` file; lists convert element by element.
 */
export function asParam(value: StepValue, type: string, what: string): unknown {
  switch (value.kind) {
    case "value":
      return value.value;
    case "list":
      return value.items.map((item) => asParam(item, type.replace(/^list\[(.*)\]$/, "$1"), what));
    case "file":
      if (type === "str") return value.path;
      if (value.path.endsWith(".json")) return JSON.parse(fs.readFileSync(value.path, "utf8")) as unknown;
      throw new ValueBindingError(`${what} is a ${type} param, but it is bound to the array file ${value.path}`);
  }
}

/** The file a component input reads; a plain value is written as `<dir>/<name>.json` first. */
export function asInputFile(value: StepValue, name: string, dir: string, what: string): string {
  switch (value.kind) {
    case "file":
      return value.path;
    case "value": {
      fs.mkdirSync(dir, { recursive: true });
      const file = path.join(dir, `${name}.json`);
      fs.writeFileSync(file, stringifyExactJson(value.value, 0));
      return file;
    }
    case "list":
      throw new ValueBindingError(`${what} takes one file, but it is bound to a list of ${value.items.length}`);
  }
}

/** Every file of a value, in order. */
export function filesOf(value: StepValue): string[] {
  if (value.kind === "file") return [value.path];
  if (value.kind === "list") return value.items.flatMap(filesOf);
  return [];
}

/**
 * What a value contributes to a cache key. A file under `cacheRoot` is named by its path there, which
 * already holds the content key of the step that wrote it; any other file by `fingerprint` (its content).
 */
export function valueIdentity(value: StepValue, cacheRoot: string, fingerprint: (file: string) => string): unknown {
  switch (value.kind) {
    case "value":
      return { value: value.value };
    case "list":
      return { list: value.items.map((item) => valueIdentity(item, cacheRoot, fingerprint)) };
    case "file": {
      const relative = path.relative(cacheRoot, value.path);
      const inside = !relative.startsWith("..") && !path.isAbsolute(relative);
      return inside ? { cached: relative.split(path.sep).join("/") } : { file: fingerprint(value.path) };
    }
  }
}

/** A path relative to a directory, "/"-separated, or undefined when it is not under it. */
function relativeUnder(dir: string, file: string): string | undefined {
  const relative = path.relative(dir, file);
  return relative === "" || relative.startsWith("..") || path.isAbsolute(relative) ? undefined : relative.split(path.sep).join("/");
}

/** `<2 hex>/<64 hex>/<file>`: a file of a published entry, relative to the cache root. */
export const SHARED_PATH = /^([0-9a-f]{2})\/\1[0-9a-f]{62}\/(?!(?:.*\/)?\.\.(?:\/|$)).+$/;

/**
 * A value for a cache manifest: a file of the entry by its path in the entry (`cached`); a file of
 * another entry, which a step passed on unchanged, by its path in the cache (`shared`); any other file
 * by its absolute path.
 */
export function storeValue(value: StepValue, entryDir: string, cacheRoot: string): unknown {
  switch (value.kind) {
    case "value":
      return { value: value.value };
    case "list":
      return { list: value.items.map((item) => storeValue(item, entryDir, cacheRoot)) };
    case "file": {
      const cached = relativeUnder(entryDir, value.path);
      if (cached !== undefined) return { cached };
      const shared = relativeUnder(cacheRoot, value.path);
      return shared !== undefined && SHARED_PATH.test(shared) ? { shared } : { file: value.path };
    }
  }
}

/** The inverse of `storeValue` for the entry now at `entryDir`. */
export function loadValue(stored: unknown, entryDir: string, cacheRoot: string): StepValue {
  const record = stored as { value?: unknown; list?: unknown[]; file?: string; cached?: string; shared?: string };
  if (record.list) return listValue(record.list.map((item) => loadValue(item, entryDir, cacheRoot)));
  if (record.cached !== undefined) return fileValue(path.join(entryDir, ...record.cached.split("/")));
  if (record.shared !== undefined) return fileValue(path.join(cacheRoot, ...record.shared.split("/")));
  if (record.file !== undefined) return fileValue(record.file);
  return plainValue(record.value);
}

/** A short name of a value for messages: a file's base name, or the value itself. */
export function describeValue(value: StepValue): string {
  if (value.kind === "file") return path.basename(value.path);
  if (value.kind === "list") return `a list of ${value.items.length}`;
  if (typeof value.value === "string" && value.value.includes("/")) return path.basename(value.value);
  const text = value.value === undefined ? String(value.value) : stringifyExactJson(value.value, 0);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}
