import { Diagnostic, DiagnosticSink } from "../diagnostics";
import { WorkflowCatalog } from "./catalog";
import { readWorkflow } from "./parse";
import { WorkflowGraph, WorkflowValidator } from "./validate";

export interface CompiledWorkflow {
  readonly graph?: WorkflowGraph;
  readonly diagnostics: readonly Diagnostic[];
}

/** parse → typed spec → checks → typed DAG: what `validate`, `render` and `run` all start from. */
export function compileWorkflow(file: string, catalog: WorkflowCatalog = WorkflowCatalog.forWorkflow(file)): CompiledWorkflow {
  const sink = new DiagnosticSink(file);
  const spec = readWorkflow(file, sink);
  if (!spec) return { diagnostics: sink.diagnostics };
  const graph = new WorkflowValidator(spec, catalog, sink).validate();
  return { graph, diagnostics: sink.diagnostics };
}
