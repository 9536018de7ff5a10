import { DiagnosticSink, formatDiagnostic } from "../diagnostics";
import { ParamValueError, resolveParams } from "../local/params";
import { stringifyExactJson } from "../notebook/exactJson";
import { checkBuiltinRules } from "../workflow/paramRules";
import { WorkflowGraph } from "../workflow/validate";

/** Why the stack's params cannot start a run: one line each, naming the config key. */
export class StackParamsError extends Error {
  constructor(readonly lines: readonly string[]) {
    super(lines.join("\n"));
  }
}

/**
 * The run's Argo parameters from the stack's `naaw:params` (an object, name → value), checked as
 * `naaw run --set` checks them (types, the declarations' constraints, the built-ins' own rules) before
 * anything is deployed. Every declared param is given, defaults included, so the run's identity
 * names all its values. A str is passed verbatim, anything else as JSON (what the runtime parses).
 */
export function argoRunParameters(graph: WorkflowGraph, stackParams: Readonly<Record<string, unknown>>, workflow: string): Record<string, string> {
  const settings = Object.entries(stackParams).map(([name, value]) => `${name}=${typeof value === "string" ? value : stringifyExactJson(value, 0)}`);
  let values: Record<string, unknown>;
  try {
    values = resolveParams(graph.params, settings, workflow);
  } catch (error) {
    if (error instanceof ParamValueError) throw new StackParamsError([`naaw:params: ${error.message.replace(/^--set /, "")}`]);
    throw error;
  }
  const sink = new DiagnosticSink(workflow);
  checkBuiltinRules(graph.steps, graph.params, { value: (name) => values[name], fromCommandLine: new Map(Object.keys(stackParams).map((k) => [k, "naaw:params"])) }, sink);
  if (sink.diagnostics.length > 0) throw new StackParamsError(sink.diagnostics.map(formatDiagnostic));
  const types = new Map(graph.params.map((p) => [p.name, p.type]));
  return Object.fromEntries(
    Object.entries(values).map(([name, value]) => [name, types.get(name) === "str" && typeof value === "string" ? value : stringifyExactJson(value ?? null, 0)]),
  );
}
