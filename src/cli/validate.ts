import { Command } from "commander";
import type { CompiledWorkflow } from "../workflow/compile";
import { compareText } from "../textOrder";
import { printDiagnostics, runAction } from "./output";

// Each verb's module imports at its top only what defines the verb (its options and help): every
// start of `naaw`, `--help` included, loads every verb's definition. What a verb's action needs
// (the workflow compiler, the runner, the Kubernetes client, ...) is imported when the action runs
// (test/cli-startup.test.ts checks what a start loads).

interface ValidateOptions {
  readonly notebooks?: string;
  readonly json?: boolean;
}

/**
 * `naaw validate --json`: whether the workflow is valid, its size, every diagnostic with its file
 * and line (or notebook cell), and the components each step uses, so a tool (the JupyterLab panel)
 * can tell which workflows use a notebook.
 */
function validationJson(workflow: string, compiled: CompiledWorkflow): unknown {
  const { graph, diagnostics } = compiled;
  return {
    workflow,
    valid: graph !== undefined,
    ...(graph
      ? {
          steps: graph.steps.length,
          foreach: graph.foreach.length,
          params: graph.params.length,
          uses: [...new Set(graph.steps.map((step) => step.spec.uses))].sort(compareText),
        }
      : {}),
    diagnostics,
  };
}

/**
 * Compiles a workflow and prints its diagnostics; no graph (and exit code 1) when it has errors.
 * The catalog it reads: `--notebooks DIR`, else the `notebooks/` beside `workflows/`.
 */
export async function compileOrReport(workflow: string, notebooks: string | undefined, { quiet = false } = {}): Promise<CompiledWorkflow> {
  const { conventionalNotebooksDir, prefetchNotebookAnalyses } = await import("../workflow/prefetchAnalysis");
  const notebooksDir = notebooks ?? conventionalNotebooksDir(workflow);
  // Python's analysis of the notebooks starts first and runs while the compiler's modules load.
  const prefetched = prefetchNotebookAnalyses(workflow, notebooksDir);
  const { compileWorkflow } = await import("../workflow/compile");
  const { WorkflowCatalog } = await import("../workflow/catalog");
  const catalog = new WorkflowCatalog(notebooksDir);
  await prefetched;
  const compiled = compileWorkflow(workflow, catalog);
  if (!quiet) printDiagnostics(compiled.diagnostics);
  if (!compiled.graph) process.exitCode = 1;
  return compiled;
}

export function validateCommand(): Command {
  return new Command("validate")
    .description("check a workflow: schema, components, bindings, references, types and cycles, every problem at once")
    .argument("<workflow>", "the workflow YAML file")
    .option("--notebooks <dir>", "where `uses: <notebook>/<component>` finds <notebook>.ipynb (default: notebooks/ beside workflows/)")
    .option("--json", "the result as JSON on stdout: valid, sizes, the components used, every diagnostic")
    .addHelpText("after", "\nExamples:\n  npx naaw validate workflows/lidar.yaml\n  npx naaw validate workflows/lidar.yaml --json")
    .action((workflow: string, options: ValidateOptions) =>
      runAction(async () => {
        const compiled = await compileOrReport(workflow, options.notebooks, { quiet: options.json });
        if (options.json) {
          process.stdout.write(JSON.stringify(validationJson(workflow, compiled), null, 2) + "\n");
          return;
        }
        const { graph, diagnostics } = compiled;
        if (!graph) return;
        const warnings = diagnostics.filter((d) => d.severity === "warning").length;
        const fanOut = graph.foreach.length;
        process.stdout.write(
          `${workflow}: valid: ${graph.steps.length} steps, ${fanOut} foreach, ${graph.params.length} params` +
            (warnings ? `, ${warnings} warning${warnings > 1 ? "s" : ""}` : "") +
            "\n",
        );
      }),
    );
}
