// The local target's resource: a workflow run on this machine, as Pulumi's dynamic provider
// (components/LocalRun.ts, through components/projectProvider.ts) asks for it. Each method is one
// step of `pulumi up`; the run itself is src/local/localRun.ts, the same as `naaw run`.
import { randomBytes } from "crypto";
import * as fs from "fs";
import { ResourceImplementation } from "../resourceImplementation";
import { executeLocalRun, LocalRunInputs, LocalRunOutputs, requestProblems } from "./localRun";

/** Whether every file the run produced is still where it wrote it. */
function resultsPresent(outputs: LocalRunOutputs): boolean {
  const files = [...Object.values(outputs.rasters ?? {}), outputs.report];
  return files.every((file) => typeof file === "string" && fs.existsSync(file));
}

export const localRunResource: ResourceImplementation<LocalRunInputs, LocalRunOutputs> = {
  async check(_olds, news) {
    const problems = requestProblems(news);
    if (typeof news.identity !== "string" || !/^[0-9a-f]{64}$/.test(news.identity)) problems.push("identity must be the sha256 the program computed (localRunInputs)");
    return { inputs: news, failures: problems.map((reason) => ({ property: reason.split(" ")[0]!, reason })) };
  },

  /**
   * A new identity (the workflow, a notebook component, a param or the output directory changed)
   * is a new run: replace. Results removed from disk since the last run: run again in place.
   * Anything else (workers, the cache directory) changes no result: nothing to do.
   */
  async diff(_id, olds, news) {
    if (olds.identity !== news.identity) return { changes: true, replaces: ["identity"], deleteBeforeReplace: false };
    return { changes: !resultsPresent(olds) };
  },

  async create(inputs) {
    const outs = await executeLocalRun(inputs);
    // The id names this run; a replacement (a new identity) gets a new one.
    return { id: `${outs.identity.slice(0, 16)}-${randomBytes(4).toString("hex")}`, outs };
  },

  async update(_id, _olds, news) {
    // The runner's cache holds every step that is still valid: only what is missing is computed.
    return { outs: await executeLocalRun(news) };
  },

  /** A refresh drops a run whose results were removed, so the next `pulumi up` makes them again. */
  async read(id, props) {
    return resultsPresent(props) ? { id, props } : { id: "" };
  },

  async delete() {
    // The rasters and the report are the user's results: deleting the resource (a replaced run,
    // `pulumi destroy`) leaves them on disk, and the step cache too (`naaw cache prune` trims it).
  },
};
