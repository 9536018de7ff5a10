import { Command } from "commander";
import type { WorkflowCatalog } from "../workflow/catalog";
import type { CompiledWorkflow } from "../workflow/compile";
import { printDiagnostics, runAction } from "./output";

// Each verb's module imports at its top only what defines the verb (its options and help): every
// start of `naaw`, `--help` included, loads every verb's definition. What a verb's action needs
// (the workflow compiler, the runner, the Kubernetes client, ...) is imported when the action runs
// (test/cli-startup.test.ts checks what a start loads).

interface ValidateOptions {
  readonly notebooks?: string;
}

/** The catalog a workflow reads: `--notebooks DIR`, else the `notebooks/` beside `workflows/`. */
async function workflowCatalog(workflow: string, notebooks: string | undefined): Promise<WorkflowCatalog> {
  const { WorkflowCatalog } = await import("../workflow/catalog");
  return notebooks ? new WorkflowCatalog(notebooks) : WorkflowCatalog.forWorkflow(workflow);
}

/** Compiles a workflow and prints its diagnostics; no graph (and exit code 1) when it has errors. */
export async function compileOrReport(workflow: string, notebooks: string | undefined): Promise<CompiledWorkflow> {
  const { compileWorkflow } = await import("../workflow/compile");
  const compiled = compileWorkflow(workflow, await workflowCatalog(workflow, notebooks));
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
