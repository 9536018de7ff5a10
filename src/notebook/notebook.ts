import * as fs from "fs";
import { Diagnostic, DiagnosticError } from "../diagnostics";
import { jsonErrorOffset } from "./jsonPosition";

export type CellKind = "code" | "markdown" | "raw";

export interface Cell {
  /** Position in the notebook, counting every cell from 0 as Jupyter does. */
  readonly index: number;
  readonly kind: CellKind;
  readonly source: string;
  readonly tags: readonly string[];
}

export interface Notebook {
  readonly path: string;
  readonly cells: readonly Cell[];
}

function fail(file: string, message: string, line?: number): never {
  const d: Diagnostic = { severity: "error", file, message, ...(line !== undefined ? { line } : {}) };
  throw new DiagnosticError([d]);
}

function lineOfOffset(text: string, offset: number): number {
  return text.slice(0, offset).split("\n").length;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function joinSource(source: unknown): string | undefined {
  if (typeof source === "string") return source;
  if (Array.isArray(source) && source.every((s) => typeof s === "string")) return source.join("");
  return undefined;
}

/** A cell's tags: absent is none; anything but a list of strings is undefined (an error). */
function cellTags(tags: unknown): readonly string[] | undefined {
  if (tags === undefined) return [];
  return Array.isArray(tags) && tags.every((t) => typeof t === "string") ? tags : undefined;
}

/** A JSON value for a message: short ones as written, long ones by their kind. */
function describeJson(value: unknown): string {
  const text = JSON.stringify(value);
  if (text.length <= 40) return text;
  return Array.isArray(value) ? `a list of ${value.length} items` : typeof value === "object" && value !== null ? "an object" : `a ${typeof value}`;
}

/** Reads an nbformat 4 notebook; anything else fails with one line naming the file and the problem. */
export function parseNotebook(path: string, text: string): Notebook {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    const e = error as Error;
    fail(path, `not a notebook: invalid JSON (${e.message.split("\n")[0]})`, lineOfOffset(text, jsonErrorOffset(text)));
  }
  if (!isRecord(raw)) fail(path, "not a notebook: the top level must be a JSON object with `cells`");
  if (raw.nbformat !== 4) {
    const found = raw.nbformat === undefined ? "no nbformat field" : `nbformat ${JSON.stringify(raw.nbformat)}`;
    fail(path, `${found}; NaaW reads nbformat 4 notebooks (re-save it with Jupyter, or \`jupyter nbconvert --to notebook\`)`);
  }
  const metadata = isRecord(raw.metadata) ? raw.metadata : {};
  const kernelspec = isRecord(metadata.kernelspec) ? metadata.kernelspec : {};
  const languageInfo = isRecord(metadata.language_info) ? metadata.language_info : {};
  const language = kernelspec.language ?? languageInfo.name;
  if (typeof language === "string" && language.toLowerCase() !== "python") {
    fail(path, `the notebook's kernel is ${language}; NaaW components are Python (choose a Python 3 kernel)`);
  }
  if (!Array.isArray(raw.cells)) fail(path, "not a notebook: `cells` is missing or not a list");
  if (raw.cells.length === 0) fail(path, "the notebook has no cells");
  const tagProblems: Diagnostic[] = [];
  const cells = raw.cells.map((entry: unknown, index: number): Cell => {
    if (!isRecord(entry)) fail(path, `cell ${index} is not a JSON object`);
    const kind = entry.cell_type;
    if (kind !== "code" && kind !== "markdown" && kind !== "raw") {
      fail(path, `cell ${index} has cell_type ${JSON.stringify(kind)}; expected code, markdown or raw`);
    }
    const source = joinSource(entry.source);
    if (source === undefined) fail(path, `cell ${index} has no source (expected a string or a list of strings)`);
    const cellMetadata = isRecord(entry.metadata) ? entry.metadata : {};
    const tags = cellTags(cellMetadata.tags);
    if (tags === undefined) {
      // Silently dropping a malformed tag would silently drop a component or the parameters cell.
      tagProblems.push({
        severity: "error",
        file: path,
        cell: index,
        message: `the cell's metadata.tags is ${describeJson(cellMetadata.tags)}, not a list of strings; write it as Jupyter does, e.g. "tags": ["component:load"]`,
      });
    }
    return { index, kind, source, tags: tags ?? [] };
  });
  if (tagProblems.length > 0) throw new DiagnosticError(tagProblems);
  return { path, cells };
}

export function readNotebook(path: string): Notebook {
  let text: string;
  try {
    text = fs.readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    fail(path, code === "ENOENT" ? "no such notebook" : `cannot read the notebook (${code ?? (error as Error).message})`);
  }
  return parseNotebook(path, text);
}
