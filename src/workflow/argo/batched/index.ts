import { ArgoContext } from "../context";
import { groupTask, groupTemplate, stepTask } from "../dag";
import { ArgoTask, ArgoTemplate } from "../model";
import { ARGO_OBJECT_LIMITS } from "../scale";
import { chainTask, chainTemplate } from "./chainTemplate";
import { findSplitPattern, SplitPattern } from "./pattern";
import { splitTasks, splitTemplates } from "./splitTemplates";
import { groupDigits } from "../../../digitGroups";

/*
 * The batched rendering of docs/argo-scale.md, for country-sized input: builtin/split becomes a
 * split over batches of input files (splitTemplates.ts) and the foreach over its tiles one pod per
 * bucket of tiles (chainTemplate.ts). The nodes of a run, whatever the number of tiles:
 *   main 1 + list 1 + plan 1 + the split's TaskGroup 1 + (Retry +) Pod per split batch
 *   + buckets 1 + the chain's TaskGroup 1 + per bucket (Retry +) Pod + one Container per step and the join
 *   + the workflow's other steps.
 */

export interface BatchingOptions {
  /** Input files one split pod downloads and splits. @default 10 */
  readonly inputsPerSplit?: number;
  /**
   * Buckets the tiles are hashed into: one pod each. The plan's parallelism is a good value
   * (planBatches). @default 16
   */
  readonly tileBatches?: number;
}

export interface BatchedParts {
  readonly main: ArgoTemplate;
  readonly templates: readonly ArgoTemplate[];
  /** The steps the batched templates run: no container template of their own. */
  readonly lowered: ReadonlySet<string>;
}

/** Nodes a run holds per bucket (Retry, Pod, a Container per step and the join) and the fixed ones. */
export function chainNodes(pattern: SplitPattern): { perBucket: number; perSplitBatch: number } {
  const retried = pattern.chain.some((s) => s.spec.retry) ? 1 : 0;
  return { perBucket: retried + 1 + 1 + pattern.chain.length, perSplitBatch: (pattern.split.spec.retry ? 1 : 0) + 1 };
}

/** The main DAG and the batched templates, or undefined when the workflow has no split to batch. */
export function renderBatched(ctx: ArgoContext, options: BatchingOptions): BatchedParts | undefined {
  const pattern = findSplitPattern(ctx);
  if (!pattern) return undefined;
  const perBatch = options.inputsPerSplit ?? 10;
  const buckets = options.tileBatches ?? 16;
  // Sizes are the renderer's options, not the workflow's: a bad one is reported at the split step.
  for (const [name, value] of [["inputsPerSplit", perBatch], ["tileBatches", buckets]] as const) {
    if (!Number.isInteger(value) || value < 1) {
      ctx.problem(pattern.split.spec.at, `batching.${name} must be a whole number of at least 1, not ${value}`);
      return undefined;
    }
  }
  const { perBucket, perSplitBatch } = chainNodes(pattern);
  const others = ctx.graph.steps.filter((s) => s.foreach === undefined && s.id !== pattern.split.id).length;
  const fixed = 6 + others;
  const maxBatches = Math.floor((ARGO_OBJECT_LIMITS.nodes - fixed - perBucket * buckets) / perSplitBatch);
  if (maxBatches < 1) {
    ctx.problem(pattern.split.spec.at, `${buckets} tile batches of ${perBucket} nodes leave no room for step '${pattern.split.id}' within the ${groupDigits(ARGO_OBJECT_LIMITS.nodes)} nodes one Workflow object holds: use fewer tile batches (at most ${Math.floor((ARGO_OBJECT_LIMITS.nodes - fixed - perSplitBatch) / perBucket)})`);
    return undefined;
  }

  const tasks: ArgoTask[] = [];
  const emitted = new Set<string>();
  for (const step of ctx.graph.steps) {
    if (step.id === pattern.split.id) {
      tasks.push(...splitTasks(ctx, step, { perBatch, buckets, maxBatches }));
    } else if (step.foreach === undefined) {
      tasks.push(stepTask(ctx, step, undefined));
    } else if (!emitted.has(step.foreach)) {
      emitted.add(step.foreach);
      tasks.push(step.foreach === pattern.group.id ? chainTask(pattern) : groupTask(ctx, ctx.groups.get(step.foreach)!));
    }
  }
  const main: ArgoTemplate = { name: "main", dag: { tasks } };
  const otherGroups = ctx.graph.foreach.filter((g) => g.id !== pattern.group.id).map((g) => groupTemplate(ctx, g));
  const templates = [...otherGroups, chainTemplate(ctx, pattern), ...splitTemplates(ctx, pattern.split, { perBatch, buckets, maxBatches })];
  return { main, templates, lowered: new Set([pattern.split.id, ...pattern.chain.map((s) => s.id)]) };
}
