import { ARGO_OBJECT_LIMITS } from "./scale";

/*
 * Sizes for the batched design of docs/argo-scale.md: a parallel split over batches of input files,
 * then one pod per batch of tiles (a containerSet of the component chain). The nodes of one run:
 *   main DAG 1 + plan-inputs 1 + split TaskGroup 1 + 2 per split batch (Retry + Pod)
 *   + plan-tiles 1 + tiles TaskGroup 1 + 7 per tile batch (Pod + 6 Container) + merge 1
 * = 6 + 2·S + 7·K (test/argo-scale.test.ts counts the same structure with argoScale). When K batches
 * do not fit one object, they go to child Workflows of at most `batchesPerChild` batches each
 * (a child: DAG 1 + TaskGroup 1 + 7 per batch), and the parent holds one resource node per child.
 */

/** Nodes per tile batch: the pod and one Container node per component of the chain. */
const NODES_PER_TILE_BATCH = 1 + 6;
/** Nodes per split batch: the Retry node and one attempt's pod. */
const NODES_PER_SPLIT_BATCH = 2;
/** main, plan-inputs, split's TaskGroup, plan-tiles, tiles' TaskGroup, merge. */
const FIXED_NODES = 6;

export interface BatchingInput {
  /** Input files. @example 1400 */
  readonly inputs: number;
  /** Tiles that hold data. @example 10000 */
  readonly tiles: number;
  /** Pods the cluster runs at once (the plan's nodes × pods a node): the tile batches wanted. @example 200 */
  readonly parallelism: number;
  /** Input files one split pod reads. @default 10 */
  readonly inputsPerSplit?: number;
}

export interface BatchPlan {
  readonly splitBatches: number;
  readonly inputsPerSplit: number;
  readonly tileBatches: number;
  readonly tilesPerBatch: number;
  /** 0 when every batch fits the one Workflow; else how many child Workflows hold them. */
  readonly childWorkflows: number;
  readonly batchesPerChild: number;
  /** Nodes of the largest Workflow object of the run (the parent, or a full child). */
  readonly nodes: number;
}

/** Batch sizes within `limits.nodes` that keep `parallelism` pods busy, each batch as even as the tiles allow. */
export function planBatches(input: BatchingInput, limits: { readonly nodes: number } = ARGO_OBJECT_LIMITS): BatchPlan {
  const inputsPerSplit = input.inputsPerSplit ?? 10;
  for (const [name, value] of [["inputs", input.inputs], ["tiles", input.tiles], ["parallelism", input.parallelism], ["inputsPerSplit", inputsPerSplit]] as const) {
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a whole number of at least 1, not ${value}`);
  }
  const splitBatches = Math.ceil(input.inputs / inputsPerSplit);
  const room = limits.nodes - FIXED_NODES - NODES_PER_SPLIT_BATCH * splitBatches;
  if (room < NODES_PER_TILE_BATCH) {
    const least = Math.ceil(input.inputs / Math.floor((limits.nodes - FIXED_NODES - NODES_PER_TILE_BATCH) / NODES_PER_SPLIT_BATCH));
    throw new RangeError(`${splitBatches} split batches leave no room for tile batches within ${limits.nodes} nodes: read at least ${least} inputs per split pod`);
  }
  const wanted = Math.min(input.tiles, input.parallelism);
  const tilesPerBatch = Math.ceil(input.tiles / wanted);
  const tileBatches = Math.ceil(input.tiles / tilesPerBatch);
  const inOne = FIXED_NODES + NODES_PER_SPLIT_BATCH * splitBatches + NODES_PER_TILE_BATCH * tileBatches;
  if (inOne <= limits.nodes) return { splitBatches, inputsPerSplit, tileBatches, tilesPerBatch, childWorkflows: 0, batchesPerChild: tileBatches, nodes: inOne };
  // Children: DAG + TaskGroup + 7 a batch each; the parent keeps one resource pod per child.
  const batchesPerChild = Math.floor((limits.nodes - 2) / NODES_PER_TILE_BATCH);
  const childWorkflows = Math.ceil(tileBatches / batchesPerChild);
  const parent = FIXED_NODES + NODES_PER_SPLIT_BATCH * splitBatches + childWorkflows;
  if (parent > limits.nodes) throw new RangeError(`${childWorkflows} child Workflows do not fit the parent within ${limits.nodes} nodes: use fewer, larger tile batches (lower parallelism)`);
  const child = 2 + NODES_PER_TILE_BATCH * Math.min(batchesPerChild, tileBatches);
  return { splitBatches, inputsPerSplit, tileBatches, tilesPerBatch, childWorkflows, batchesPerChild, nodes: Math.max(parent, child) };
}
