import { sortedByName } from "../../emitter";
import { GraphStep } from "../../validate";
import { ArgoContext } from "../context";
import { ArgoArtifact, ArgoParameter, ArgoTask, ArgoTemplate } from "../model";
import { INPUTS_DIR, OUTPUTS_DIR, STEP_PARAM } from "../layout";
import { paramBinding } from "../params";
import { containerCommon, retryStrategyOf } from "../templates";
import { ABSENT_KEY, PIECES_DIR, SLOTS_DIR, piecesKey, templateNames } from "./layout";

/*
 * The split over batches of input files, four tasks where the workflow has one `split`:
 *   <split>-list     a data template: the keys under the input prefix (Argo lists the artifact
 *                    repository; nothing is downloaded), the LAS/LAZ ones kept;
 *   <split>-plan     builtin/plan_inputs: those keys in batches of `perBatch`, one object a batch;
 *   <split>          builtin/split_batch over the batches: Argo downloads a batch's files into
 *                    slots (optional artifacts: a short last batch's empty slots name a key that
 *                    is never there) and the pod files its pieces under their tiles' buckets;
 *   <split>-buckets  builtin/plan_buckets: the buckets that hold pieces, and the input's CRS.
 * No parameter grows with the tiles: the bucket list has at most `buckets` short ids.
 */

export interface SplitBatching {
  readonly perBatch: number;
  readonly buckets: number;
  /** The most split pods the node budget leaves room for (plan_inputs refuses more). */
  readonly maxBatches: number;
}

const SPLIT_PARAMS = ["tile_size", "cell_size", "norm_cell_size", "crs"] as const;

/** The value the workflow gives a param of the split step (its default when unbound). */
function splitParam(ctx: ArgoContext, split: GraphStep, name: string): string | undefined {
  const binding = split.bindings.find((b) => b.slot === "param" && b.name === name);
  if (binding) return paramBinding(ctx, split, binding, undefined);
  const declared = split.component.params.find((p) => p.name === name);
  return declared?.default === undefined ? undefined : String(declared.default);
}

const labelled = (step: string) => ({ labels: { "naaw.dev/step": step } });

function container(ctx: ArgoContext, builtin: string, args: string[], step: GraphStep): ArgoTemplate["container"] {
  return { image: ctx.builtinsImage, command: ["naaw", "builtin", builtin], args: ["--inputs", INPUTS_DIR, "--outputs", OUTPUTS_DIR, ...args], ...containerCommon(step) };
}

/** The four tasks of the main DAG that stand for the split step. */
export function splitTasks(ctx: ArgoContext, split: GraphStep, batching: SplitBatching): ArgoTask[] {
  const names = templateNames(split.id, "");
  const input = splitParam(ctx, split, "input") ?? "";
  const params: ArgoParameter[] = [];
  for (const name of SPLIT_PARAMS) {
    const value = splitParam(ctx, split, name);
    if (value !== undefined) params.push({ name, value });
  }
  const slots: ArgoArtifact[] = Array.from({ length: batching.perBatch }, (_, i) => ({ name: `in-${i}`, s3: { key: `{{item.k${i}}}` } }));
  const dependencies = split.dependencies.length > 0 ? { dependencies: [...split.dependencies] } : {};
  return [
    { name: names.list, template: names.list, ...dependencies, arguments: { parameters: [{ name: "input", value: input }] } },
    {
      name: names.plan,
      template: names.plan,
      dependencies: [names.list],
      arguments: { parameters: [{ name: "input", value: input }], artifacts: [{ name: "listing", raw: { data: `{{tasks.${names.list}.outputs.result}}` } }] },
    },
    {
      name: split.id,
      template: names.split,
      dependencies: [names.plan],
      withParam: `{{tasks.${names.plan}.outputs.parameters.batches}}`,
      arguments: { parameters: sortedByName([{ name: "batch", value: "{{item}}" }, { name: STEP_PARAM, value: split.id }, ...params]), artifacts: slots },
    },
    {
      name: names.buckets,
      template: names.buckets,
      dependencies: [split.id],
      arguments: {
        parameters: params.filter((p) => p.name === "crs"),
        artifacts: [
          { name: "buckets", s3: { key: `{{workflow.name}}/${split.id}/buckets` } },
          { name: "crs_values", s3: { key: `{{workflow.name}}/${split.id}/crs` } },
        ],
      },
    },
  ];
}

/** The templates of those tasks. */
export function splitTemplates(ctx: ArgoContext, split: GraphStep, batching: SplitBatching): ArgoTemplate[] {
  const names = templateNames(split.id, "");
  const list: ArgoTemplate = {
    name: names.list,
    metadata: labelled(split.id),
    inputs: { parameters: [{ name: "input", description: "the key (a LAS/LAZ object, or the prefix of a folder of them) in the artifact repository" }] },
    data: {
      source: { artifactPaths: { name: "input", s3: { key: "{{inputs.parameters.input}}" } } },
      // plan_inputs keeps only the objects directly under the prefix, as a local directory would.
      transformation: [{ expression: "filter(data, {lower(#) endsWith '.las' || lower(#) endsWith '.laz'})" }],
    },
  };
  const plan: ArgoTemplate = {
    name: names.plan,
    metadata: labelled(split.id),
    inputs: { parameters: [{ name: "input" }], artifacts: [{ name: "listing", path: `${INPUTS_DIR}/listing.json` }] },
    outputs: { parameters: [{ name: "batches", valueFrom: { path: `${OUTPUTS_DIR}/batches.json` } }] },
    container: container(ctx, "plan_inputs", [
      "--param", "input={{inputs.parameters.input}}",
      "--param", `per_batch=${batching.perBatch}`,
      "--param", `absent=${ABSENT_KEY}`,
      "--param", `max_batches=${batching.maxBatches}`,
    ], split),
  };
  const own = (output: string, ext: string): ArgoArtifact => ({
    name: output,
    path: `${OUTPUTS_DIR}/${output}.${ext}`,
    archive: { none: {} },
    s3: { key: `{{workflow.name}}/{{inputs.parameters.${STEP_PARAM}}}/${output}/{{pod.name}}.${ext}` },
  });
  const retryStrategy = retryStrategyOf(split);
  const batch: ArgoTemplate = {
    name: names.split,
    metadata: labelled(split.id),
    inputs: {
      parameters: [{ name: STEP_PARAM, description: "the step id: names the keys of the outputs" }, { name: "batch", description: "one batch of plan_inputs: its id, index and slot keys" }, ...SPLIT_PARAMS.map((name) => ({ name }))],
      artifacts: Array.from({ length: batching.perBatch }, (_, i) => ({ name: `in-${i}`, path: `${SLOTS_DIR}/${i}`, optional: true })),
    },
    outputs: {
      artifacts: [
        own("buckets", "json"),
        own("crs", "json"),
        { name: "pieces", path: PIECES_DIR, archive: { none: {} }, s3: { key: piecesKey(split.id) } },
      ],
    },
    container: container(ctx, "split_batch", [
      "--param", "batch={{inputs.parameters.batch}}",
      "--param", `input=${SLOTS_DIR}`,
      "--param", `pieces=${PIECES_DIR}`,
      "--param", `per_batch=${batching.perBatch}`,
      "--param", `absent=${ABSENT_KEY}`,
      "--param", `buckets=${batching.buckets}`,
      ...SPLIT_PARAMS.flatMap((name) => ["--param", `${name}={{inputs.parameters.${name}}}`]),
    ], split),
    ...(retryStrategy ? { retryStrategy } : {}),
  };
  const buckets: ArgoTemplate = {
    name: names.buckets,
    metadata: labelled(split.id),
    inputs: {
      parameters: [{ name: "crs", default: "" }],
      artifacts: [
        { name: "buckets", path: `${INPUTS_DIR}/buckets` },
        { name: "crs_values", path: `${INPUTS_DIR}/crs_values` },
      ],
    },
    outputs: {
      parameters: [
        { name: "buckets", valueFrom: { path: `${OUTPUTS_DIR}/buckets.json` } },
        { name: "crs", valueFrom: { path: `${OUTPUTS_DIR}/crs.json` } },
      ],
    },
    container: container(ctx, "plan_buckets", ["--param", "crs={{inputs.parameters.crs}}"], split),
  };
  return [list, plan, batch, buckets];
}
