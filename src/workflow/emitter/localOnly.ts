import { LOCAL_ONLY_BUILTINS } from "../builtins";
import { Position } from "../spec";
import { WorkflowGraph } from "../validate";

/** The steps using a built-in that only the local runner runs (LOCAL_ONLY_BUILTINS), as problems of an engine's rendering. */
export function localOnlySteps(graph: WorkflowGraph, engine: string): { readonly at: Position; readonly message: string }[] {
  return graph.steps
    .filter((step) => LOCAL_ONLY_BUILTINS.has(step.component.uses))
    .map((step) => ({
      at: step.spec.at,
      message: `step '${step.id}' (${step.component.uses}): this built-in runs only on the local runner so far (naaw run); the ${engine} rendering does not carry its files yet: use builtin/split for ${engine}`,
    }));
}
