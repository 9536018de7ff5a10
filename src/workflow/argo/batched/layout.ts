/*
 * Names and paths of the batched rendering. The pieces of every split pod go under one prefix,
 * filed by bucket (src/lidar/batches.ts); a bucket pod downloads only its own folder.
 */
export const PIECES_DIR = "/tmp/naaw/files/pieces";
export const SLOTS_DIR = "/tmp/naaw/files/input";
/** The pod's shared work directory of the chain (docs/pod-chain.md). */
export const WORK_DIR = "/tmp/naaw/work";
/** Where a chain container puts the outputs that leave the pod: `<dir>/<step>/<output>/<tile>.<ext>`. */
export const EXPORTS_DIR = "/tmp/naaw/outputs";
/** The key of an optional slot artifact that is never there: the slots a short last batch leaves empty. */
export const ABSENT_KEY = "{{workflow.name}}/naaw-absent-input";
/** Tiles a chain container may have in flight at once (its own and its upstreams' intermediates on the volume). */
export const CHAIN_WINDOW = 2;

export const templateNames = (split: string, group: string) => ({
  list: `${split}-list`,
  plan: `${split}-plan`,
  split: `${split}-batch`,
  buckets: `${split}-buckets`,
  chain: group,
});

export const piecesKey = (split: string): string => `{{workflow.name}}/${split}/pieces`;
