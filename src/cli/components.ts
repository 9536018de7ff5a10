import { Command } from "commander";
import type { CatalogEntry } from "../containerize/catalog";
import type { Diagnostic } from "../diagnostics";
import { DEFAULT_BASE_IMAGE } from "../containerize/spec";
import { catalogFor } from "./catalogOptions";
import { formatTable, runAction } from "./output";

interface ComponentsOptions {
  readonly json?: boolean;
  readonly baseImage: string;
}

/**
 * The `--json` shape other tools rely on (the JupyterLab panel among them): each spec without its
 * source map, plus the image hash, and every diagnostic (warnings; with errors, no components and
 * exit code 1), each with its file, cell and line.
 */
export function catalogJson(entries: readonly CatalogEntry[], diagnostics: readonly Diagnostic[] = []): unknown {
  return {
    components: entries.map(({ spec, hash }) => {
      const { sourceMap: _sourceMap, ...shown } = spec;
      return { ...shown, hash };
    }),
    diagnostics,
  };
}

/** One table per notebook: a component a row. */
async function catalogTable(entries: readonly CatalogEntry[]): Promise<string> {
  const { pythonLiteral } = await import("../containerize/componentModule");
  const values = (list: readonly { name: string; type: string }[]): string => list.map((v) => `${v.name}: ${v.type}`).join(", ") || "-";
  const notebooks = [...new Set(entries.map((e) => e.spec.notebook))];
  return notebooks
    .map((notebook) => {
      const rows = entries
        .filter((e) => e.spec.notebook === notebook)
        .map(({ spec, hash }) => [
          spec.name,
          spec.cells.join(","),
          values(spec.inputs),
          values(spec.outputs),
          spec.params.map((p) => `${p.name}: ${p.type} = ${pythonLiteral(p.default, p.type)}`).join(", ") || "-",
          spec.requirements.join(", "),
          hash.slice(0, 12),
        ]);
      return `${notebook}\n` + formatTable(["COMPONENT", "CELLS", "INPUTS", "OUTPUTS", "PARAMS", "REQUIREMENTS", "HASH"], rows);
    })
    .join("\n");
}

export function componentsCommand(): Command {
  return new Command("components")
    .description("list the components of tagged notebooks: inputs, outputs, params, requirements and image hash")
    .argument("[notebook...]", "notebooks to read (default: every notebook under notebooks/)")
    .option("--json", "print the catalog as JSON on stdout")
    .option("--base-image <image>", "Python base image (part of each component's hash)", DEFAULT_BASE_IMAGE)
    .addHelpText("after", "\nExamples:\n  npx naaw components\n  npx naaw components notebooks/lidar.ipynb --json")
    .action((notebooks: string[], options: ComponentsOptions) =>
      runAction(
        async () => {
          const catalog = await catalogFor(notebooks, options.baseImage, { quiet: options.json });
          const { stringifyExactJson } = await import("../notebook/exactJson");
          process.stdout.write(
            options.json ? stringifyExactJson(catalogJson(catalog.entries, catalog.diagnostics), 2) + "\n" : await catalogTable(catalog.entries),
          );
        },
        options.json ? { onDiagnostics: (diagnostics) => catalogJson([], diagnostics) } : undefined,
      ),
    );
}
