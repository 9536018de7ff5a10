import * as fs from "fs";
import { LidarInputError } from "../lidar/errors";
import { BuiltinInputError, BuiltinStep, checkRules, number, reportingInputErrors, text } from "./builtinStep";
import { filesOf, plainValue, StepValue } from "./values";

/*
 * The built-ins the Argo rendering lowers builtin/split into (src/workflow/argo/batched.ts), as
 * `naaw builtin` runs them in their pods: plan_inputs cuts the listing of the input prefix into
 * batches, split_batch splits one batch into pieces filed by tile bucket, plan_buckets gathers what
 * the split pods wrote. The logic is src/lidar/batches.ts; here are only the values in and out.
 */

function whole(params: Readonly<Record<string, unknown>>, name: string): number {
  const value = number(params, name);
  if (!Number.isInteger(value) || value < 0) throw new BuiltinInputError(`param '${name}' must be a whole number, got ${value}`);
  return value;
}

/** The JSON of every file of a fan-in (a list is flattened into its items). */
function fanInValues(value: StepValue | undefined, what: string): unknown[] {
  return (value ? filesOf(value) : []).flatMap((file) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(fs.readFileSync(file, "utf8"));
    } catch (error) {
      throw new BuiltinInputError(`${what}: ${file} is not JSON (${(error as Error).message})`);
    }
    return [parsed];
  });
}

function strings(values: unknown[], what: string): string[] {
  return values.flatMap((v) => (Array.isArray(v) ? v : [v])).map((v) => {
    if (typeof v !== "string") throw new BuiltinInputError(`${what}: expected text, got ${JSON.stringify(v)}`);
    return v;
  });
}

const planInputs: BuiltinStep = {
  cacheable: true,
  readFiles: () => [],
  async run({ params, inputs }) {
    const { inputKeys, planInputBatches } = await import("../lidar/batches");
    const listing = strings(fanInValues(inputs.listing, "listing"), "listing");
    const perBatch = whole(params, "per_batch");
    const keys = await reportingInputErrors([LidarInputError], async () => inputKeys(listing, text(params, "input")));
    const batches = planInputBatches(keys, perBatch, text(params, "absent"));
    const most = whole(params, "max_batches");
    if (most > 0 && batches.length > most) {
      throw new BuiltinInputError(`${keys.length} input files make ${batches.length} split pods of ${perBatch}, more than the ${most} one Workflow can hold: render with more files per split pod (ArgoOptions.batching.inputsPerSplit)`);
    }
    return { batches: plainValue(batches) };
  },
};

const splitBatch: BuiltinStep = {
  cacheable: true,
  readFiles: () => [],
  async run({ params, onProgress }) {
    checkRules("builtin/split", params);
    const { splitBatch: split } = await import("../lidar/batches");
    const batch = params.batch as Record<string, unknown> | undefined;
    if (!batch || typeof batch !== "object" || typeof batch.id !== "string" || !Number.isInteger(batch.index)) {
      throw new BuiltinInputError(`param 'batch' must be one batch of plan_inputs ({"id", "index", "k0", …}), got ${JSON.stringify(batch)}`);
    }
    const result = await reportingInputErrors([LidarInputError], () =>
      split({
        batch: batch as never,
        inputDir: text(params, "input"),
        absent: text(params, "absent"),
        perBatch: whole(params, "per_batch"),
        outDir: text(params, "pieces"),
        buckets: whole(params, "buckets"),
        tileSize: number(params, "tile_size"),
        cellSize: number(params, "cell_size"),
        onProgress,
      }),
    );
    return { buckets: plainValue(result.buckets), crs: plainValue(result.crs) };
  },
};

const planBucketsStep: BuiltinStep = {
  cacheable: true,
  readFiles: () => [],
  async run({ params, inputs }) {
    const { planBuckets } = await import("../lidar/batches");
    const lists = fanInValues(inputs.buckets, "buckets");
    const crs = fanInValues(inputs.crs_values, "crs_values");
    if (lists.length !== crs.length) throw new BuiltinInputError(`plan_buckets got ${lists.length} bucket lists but ${crs.length} CRS values; bind both to the split pods' outputs`);
    const perSplit = lists.map((list, i) => ({ key: `split pod ${i + 1}`, buckets: strings([list], "buckets"), crs: strings([crs[i]], "crs_values")[0] ?? "" }));
    const plan = await reportingInputErrors([LidarInputError], async () => planBuckets(perSplit, typeof params.crs === "string" ? params.crs : ""));
    return { buckets: plainValue(plan.buckets), crs: plainValue(plan.crs) };
  },
};

export const BATCH_SPLIT_STEPS: Readonly<Record<string, BuiltinStep>> = { plan_inputs: planInputs, split_batch: splitBatch, plan_buckets: planBucketsStep };
