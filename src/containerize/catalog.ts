import * as fs from "fs";
import * as path from "path";
import { Diagnostic, DiagnosticError, hasErrors } from "../diagnostics";
import { analyzeNotebook, NotebookAnalysisResult, NotebookComponent } from "../notebook/analyzeNotebook";
import { readNotebook } from "../notebook/notebook";
import { BuildContext, contextHash, renderBuildContext } from "./context";
import { ComponentSpec, ImageOptions } from "./spec";
import { compareText } from "../textOrder";

/** One component of the catalog: its spec, its build context and the context's hash. */
export interface CatalogEntry {
  readonly spec: ComponentSpec;
  readonly component: NotebookComponent;
  readonly context: BuildContext;
  readonly hash: string;
}

export interface Catalog {
  readonly entries: readonly CatalogEntry[];
  /** Warnings (errors are thrown as a DiagnosticError). */
  readonly diagnostics: readonly Diagnostic[];
}

export const DEFAULT_NOTEBOOK_DIR = "notebooks";

/** Every notebook under `dir`, sorted, skipping Jupyter's checkpoints. */
export function findNotebooks(dir: string = DEFAULT_NOTEBOOK_DIR): string[] {
  if (!fs.existsSync(dir)) return [];
  const found: string[] = [];
  const walk = (current: string): void => {
    for (const entry of fs.readdirSync(current, { withFileTypes: true }).sort((a, b) => compareText(a.name, b.name))) {
      if (entry.name.startsWith(".")) continue;
      const full = path.join(current, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith(".ipynb")) found.push(full);
    }
  };
  walk(dir);
  return found;
}

/** A path as it appears in specs: relative to the working directory, `/`-separated, so hashes travel. */
export function displayPath(file: string): string {
  const relative = path.relative(process.cwd(), path.resolve(file));
  return (relative.startsWith("..") ? path.resolve(file) : relative).split(path.sep).join("/");
}

function entriesOf(analysis: NotebookAnalysisResult, options: ImageOptions): CatalogEntry[] {
  return analysis.components.map((component) => {
    const { context, spec } = renderBuildContext(analysis, component, options);
    return { spec, component, context, hash: contextHash(context) };
  });
}

/**
 * Analyzes notebooks into a catalog. Every problem in every notebook is collected before failing,
 * and a component name may appear once: it names the image repository.
 */
export function loadCatalog(notebooks: readonly string[], options: ImageOptions = {}): Catalog {
  const diagnostics: Diagnostic[] = [];
  const entries: CatalogEntry[] = [];
  for (const file of notebooks) {
    try {
      const analysis = analyzeNotebook(readNotebook(displayPath(file)));
      diagnostics.push(...analysis.diagnostics);
      if (!hasErrors(analysis.diagnostics)) entries.push(...entriesOf(analysis, options));
    } catch (error) {
      if (!(error instanceof DiagnosticError)) throw error;
      diagnostics.push(...error.diagnostics);
    }
  }
  const seen = new Map<string, string>();
  for (const entry of entries) {
    const other = seen.get(entry.spec.name);
    if (other !== undefined) {
      diagnostics.push({
        severity: "error",
        file: entry.spec.notebook,
        cell: entry.spec.cells[0],
        message: `component '${entry.spec.name}' is also defined in ${other}; component names name images, so rename one`,
      });
    }
    seen.set(entry.spec.name, entry.spec.notebook);
  }
  if (hasErrors(diagnostics)) throw new DiagnosticError(diagnostics);
  return { entries, diagnostics };
}

/** Finds components by name, or all when no name is given; unknown names fail listing the known ones. */
export function selectEntries(catalog: Catalog, names: readonly string[]): CatalogEntry[] {
  if (names.length === 0) return [...catalog.entries];
  const known = catalog.entries.map((e) => e.spec.name);
  const unknown = names.filter((n) => !known.includes(n));
  if (unknown.length > 0) {
    throw new DiagnosticError(
      unknown.map((n) => ({
        severity: "error" as const,
        file: "catalog",
        message: `no component named '${n}'; the catalog has: ${known.join(", ") || "(none)"}`,
      })),
    );
  }
  return catalog.entries.filter((e) => names.includes(e.spec.name));
}
