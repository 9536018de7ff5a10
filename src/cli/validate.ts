import { Command } from "commander";
import { WorkflowCatalog } from "../workflow/catalog";
import { CompiledWorkflow, compileWorkflow } from "../workflow/compile";
import { printDiagnostics, runAction } from "./output";

interface ValidateOptions {
  readonly notebooks?: string;
}

/** The catalog a workflow reads: `--notebooks DIR`, else the `notebooks/` beside `workflows/`. */
export function workflowCatalog(workflow: string, notebooks: string | undefined): WorkflowCatalog {
  return notebooks ? new WorkflowCatalog(notebooks) : WorkflowCatalog.forWorkflow(workflow);
}

/** Compiles a workflow and prints its diagnostics; no graph (and exit code 1) when it has errors. */
export function compileOrReport(workflow: string, notebooks: string | undefined): CompiledWorkflow {
  const compiled = compileWorkflow(workflow, workflowCatalog(workflow, notebooks));
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
      runAction(() => {
        const { graph, diagnostics } = compileOrReport(workflow, options.notebooks);
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
