import { Diagnostic, DiagnosticSink } from "../diagnostics";
import { WorkflowCatalog } from "./catalog";
import { readWorkflow } from "./parse";
import { WorkflowGraph, WorkflowValidator } from "./validate";

export interface CompiledWorkflow {
  readonly graph?: WorkflowGraph;
  readonly diagnostics: readonly Diagnostic[];
}

/** Diagnostics in file order, as a reader fixes them (the sort is stable for one position). */
function byPosition(diagnostics: readonly Diagnostic[]): Diagnostic[] {
  return [...diagnostics].sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
}

/** parse → typed spec → checks → typed DAG: what `validate`, `render` and `run` all start from. */
export function compileWorkflow(file: string, catalog: WorkflowCatalog = WorkflowCatalog.forWorkflow(file)): CompiledWorkflow {
  const sink = new DiagnosticSink(file);
  const spec = readWorkflow(file, sink);
  if (!spec) return { diagnostics: byPosition(sink.diagnostics) };
  const graph = new WorkflowValidator(spec, catalog, sink).validate();
  return { graph, diagnostics: byPosition(sink.diagnostics) };
}
