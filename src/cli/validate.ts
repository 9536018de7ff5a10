import { Command } from "commander";
import type { CompiledWorkflow } from "../workflow/compile";
import { printDiagnostics, runAction } from "./output";

// Each verb's module imports at its top only what defines the verb (its options and help): every
// start of `naaw`, `--help` included, loads every verb's definition. What a verb's action needs
// (the workflow compiler, the runner, the Kubernetes client, ...) is imported when the action runs
// (test/cli-startup.test.ts checks what a start loads).

interface ValidateOptions {
  readonly notebooks?: string;
}

/**
 * Compiles a workflow and prints its diagnostics; no graph (and exit code 1) when it has errors.
 * The catalog it reads: `--notebooks DIR`, else the `notebooks/` beside `workflows/`.
 */
export async function compileOrReport(workflow: string, notebooks: string | undefined): Promise<CompiledWorkflow> {
  const { conventionalNotebooksDir, prefetchNotebookAnalyses } = await import("../workflow/prefetchAnalysis");
  const notebooksDir = notebooks ?? conventionalNotebooksDir(workflow);
  // Python's analysis of the notebooks starts first and runs while the compiler's modules load.
  const prefetched = prefetchNotebookAnalyses(workflow, notebooksDir);
  const { compileWorkflow } = await import("../workflow/compile");
  const { WorkflowCatalog } = await import("../workflow/catalog");
  const catalog = new WorkflowCatalog(notebooksDir);
  await prefetched;
  const compiled = compileWorkflow(workflow, catalog);
  printDiagnostics(compiled.diagnostics);
  if (!compiled.graph) process.exitCode = 1;
  return compiled;
}

export function validateCommand(): Command {
  return new Command("validate")
    .description("check a workflow: schema, components, bindings, references, types and cycles, every problem at once")
    .argument("<workflow>", "the workflow YAML file")
    .option("--notebooks <dir>", "where `uses: <notebook>/<component>` finds <notebook>.ipynb (default: notebooks/ beside workflows/)")
    .addHelpText("after", "\nExample:\n  npx naaw validate workflows/lidar.yaml")
    .action((workflow: string, options: ValidateOptions) =>
      runAction(async () => {
        const { graph, diagnostics } = await compileOrReport(workflow, options.notebooks);
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
