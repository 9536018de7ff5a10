import { Command } from "commander";
import type { Catalog } from "../containerize/catalog";
import { DEFAULT_BASE_IMAGE } from "../containerize/spec";
import { printDiagnostics, UsageError } from "./output";

export interface CatalogOptions {
  readonly notebook?: string[];
  readonly baseImage: string;
}

/**
 * `--notebook` and `--base-image`, shared by the verbs that read the catalog. (The help names
 * containerize/catalog's DEFAULT_NOTEBOOK_DIR as text, as the other verbs' help does: that module
 * brings the notebook analyzer, which a start of naaw does not load.)
 */
export function addCatalogOptions(command: Command): Command {
  return command
    .option("-n, --notebook <path...>", "notebooks to read (default: every notebook under notebooks/)")
    .option("--base-image <image>", "Python base image of the component images (pin it by digest for reproducible builds)", DEFAULT_BASE_IMAGE);
}

/** Loads the catalog of the given notebooks (default: all under notebooks/), printing warnings unless `quiet`. */
export async function catalogFor(notebooks: readonly string[] | undefined, baseImage: string, { quiet = false } = {}): Promise<Catalog> {
  const { DEFAULT_NOTEBOOK_DIR, findNotebooks, loadCatalog } = await import("../containerize/catalog");
  const paths = notebooks && notebooks.length > 0 ? notebooks : findNotebooks();
  if (paths.length === 0) {
    throw new UsageError(`no notebooks given and none found under ${DEFAULT_NOTEBOOK_DIR}/; pass a path, e.g. naaw components notebooks/lidar.ipynb`);
  }
  const catalog = loadCatalog(paths, { baseImage });
  if (!quiet) printDiagnostics(catalog.diagnostics);
  return catalog;
}
