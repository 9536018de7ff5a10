import { ARGO_OBJECT_LIMITS } from "./scale";

/*
 * Sizes for the batched rendering (./batched/, docs/argo-scale.md): a split over batches of input
 * files, then one pod per bucket of tiles (a containerSet of the join and the component chain). The
 * nodes of one run of workflows/lidar.yaml, as test/argo-batched.test.ts counts them with argoScale:
 *   main DAG 1 + list 1 + plan 1 + split TaskGroup 1 + 1 Pod per split batch
 *   + buckets 1 + tiles TaskGroup 1 + 9 per tile batch (Retry + Pod + 7 Container) + merge 1
 * = 7 + S + 9·K. When K batches do not fit one object, they would go to child Workflows of at most
 * `batchesPerChild` batches each (a child: DAG 1 + TaskGroup 1 + 9 per batch), the parent holding
 * one resource node per child; the rendering does not make children yet (it refuses such a K).
 */

/** Nodes per tile batch: Retry, the pod, and one Container node for the join and each of the six components. */
const NODES_PER_TILE_BATCH = 1 + 1 + 7;
/** Nodes per split batch: its pod (the demo's split has no retry). */
const NODES_PER_SPLIT_BATCH = 1;
/** main, list, plan, split's TaskGroup, buckets, tiles' TaskGroup, merge. */
const FIXED_NODES = 7;
/** The most tile batches a rendering asks for: 250 × 9 nodes leave room for 743 split pods (7,430 inputs at 10 a pod). */
export const MAX_TILE_BATCHES = 250;

/** The batching a stack's plan asks for: one tile batch per pod the cluster runs at once, within MAX_TILE_BATCHES. */
export function batchingForParallelism(parallelism: number | undefined): { inputsPerSplit: number; tileBatches: number } {
  const wanted = parallelism !== undefined && Number.isInteger(parallelism) && parallelism >= 1 ? parallelism : 16;
  return { inputsPerSplit: 10, tileBatches: Math.min(wanted, MAX_TILE_BATCHES) };
}

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
  // Children: DAG + TaskGroup + 9 a batch each; the parent keeps one resource pod per child.
  const batchesPerChild = Math.floor((limits.nodes - 2) / NODES_PER_TILE_BATCH);
  const childWorkflows = Math.ceil(tileBatches / batchesPerChild);
  const parent = FIXED_NODES + NODES_PER_SPLIT_BATCH * splitBatches + childWorkflows;
  if (parent > limits.nodes) throw new RangeError(`${childWorkflows} child Workflows do not fit the parent within ${limits.nodes} nodes: use fewer, larger tile batches (lower parallelism)`);
  const child = 2 + NODES_PER_TILE_BATCH * Math.min(batchesPerChild, tileBatches);
  return { splitBatches, inputsPerSplit, tileBatches, tilesPerBatch, childWorkflows, batchesPerChild, nodes: Math.max(parent, child) };
}
