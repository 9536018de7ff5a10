import { GraphForeach, GraphStep } from "../../validate";
import { ArgoContext } from "../context";

/*
 * Which part of a workflow the batched rendering lowers (docs/argo-scale.md): a top-level
 * `builtin/split` whose `tiles` one foreach iterates over, the foreach's steps all notebook
 * components. The split becomes a split over batches of input files, the foreach one pod per
 * bucket of tiles running its steps as a containerSet. The rest of the workflow renders as usual.
 */
export interface SplitPattern {
  readonly split: GraphStep;
  readonly group: GraphForeach;
  /** The group's steps, in the graph's dependency order. */
  readonly chain: readonly GraphStep[];
}

/** The pattern in the graph, or undefined when it has none; what stops a near match is reported. */
export function findSplitPattern(ctx: ArgoContext): SplitPattern | undefined {
  const splits = ctx.graph.steps.filter((s) => s.component.uses === "builtin/split" && s.foreach === undefined);
  if (splits.length !== 1) return undefined;
  const split = splits[0]!;
  const groups = ctx.graph.foreach.filter((g) => g.over.kind === "step" && g.over.step === split.id && g.over.output === "tiles");
  if (groups.length !== 1) return undefined;
  const group = groups[0]!;
  const chain = ctx.graph.steps.filter((s) => s.foreach === group.id);
  const builtin = chain.find((s) => s.component.builtin);
  if (builtin) {
    ctx.problem(builtin.spec.at, `step '${builtin.id}' (${builtin.component.uses}): a built-in inside foreach '${group.id}' cannot run in the tiles' batch pod; batching needs notebook components only (render with batching: false for one pod per step)`);
    return undefined;
  }
  const readers = ctx.graph.steps.filter((s) => s.foreach === undefined && s.id !== split.id && s.bindings.some((b) => b.binding.kind === "reference" && b.binding.reference.kind === "step" && b.binding.reference.step === split.id));
  for (const reader of readers) {
    ctx.problem(reader.spec.at, `step '${reader.id}' reads an output of '${split.id}' directly; in the batched rendering only foreach '${group.id}' reads the tiles`);
  }
  return readers.length > 0 ? undefined : { split, group, chain };
}
