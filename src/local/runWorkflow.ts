// One run of a checked workflow on this machine, as `naaw run` makes it: leftovers of killed runs
// swept, the embedded runner over the step cache (or a private one for a run without cache), the
// merged rasters found, the run report written. Shared by the CLI and the local target's Pulumi
// resource (src/local/localRunResource.ts), so both run a workflow the same way.
import * as fs from "fs";
import * as path from "path";
import { WorkflowGraph } from "../workflow/validate";
import { scratchPrefix, sweepLeftovers } from "./leftovers";
import { writeReport } from "./report";
import { LocalRunner, RunEvents, RunResult } from "./runner";
import { filesOf } from "./values";

export interface WorkflowRunOptions {
  readonly graph: WorkflowGraph;
  /** The workflow file as the user named it (the run log and the report name it). */
  readonly workflow: string;
  /** Checked params (resolveRunParams). */
  readonly params: Record<string, unknown>;
  /** Where the report goes (and the results, for a workflow whose `out` param names it). */
  readonly outDir: string;
  /** Steps in flight at once. */
  readonly workers: number;
  /** The step cache; a run without cache gets a private one beside it, removed afterwards. */
  readonly cacheDir: string;
  readonly useCache: boolean;
  /** An item's notebook steps in one request (LocalRunner's `fuseItems`, default true). */
  readonly fuseItems?: boolean;
  readonly events?: RunEvents;
  /**
   * Told the runner and the cache directory it uses once they exist: the CLI aborts the runner on
   * a signal and removes a private cache if the process must exit before the run unwinds.
   */
  readonly onStart?: (runner: LocalRunner, cacheDir: string) => void;
}

/** A raster a merge step wrote: `<out>/<feature>.tif`. */
export interface RunRaster {
  readonly feature: string;
  readonly path: string;
}

export interface WorkflowRun {
  readonly result: RunResult;
  readonly rasters: readonly RunRaster[];
  /** The run report (report.html in the out directory). */
  readonly report: string;
}

/** The GeoTIFFs the run's merge steps wrote, by feature name. */
export function rastersOf(graph: WorkflowGraph, result: RunResult): RunRaster[] {
  return graph.steps
    .filter((s) => s.component.uses === "builtin/merge")
    .flatMap((s) => {
      const files = result.outputs.get(s.id)?.files;
      if (!files) return [];
      const paths = files.kind === "value" && Array.isArray(files.value) ? (files.value as string[]) : filesOf(files);
      return paths.map((p) => ({ feature: path.basename(p).replace(/\.tiff?$/i, ""), path: p }));
    });
}

/**
 * Runs the workflow and writes its report. A step that fails for good rejects with the runner's
 * StepFailure (its message names the step, the item and the cause); a stopped run with RunStoppedError.
 */
export async function runWorkflow(options: WorkflowRunOptions): Promise<WorkflowRun> {
  const { graph, params, outDir, workers } = options;
  // A run without cache: a private cache for this run only, beside the real one (same file system: results move by rename).
  const scratchParent = path.dirname(path.resolve(options.cacheDir));
  // What killed runs left here (their pid is gone): staging, private caches, half-written outputs.
  sweepLeftovers({ cacheRoot: path.resolve(options.cacheDir), scratchParent, outDir });
  if (!options.useCache) fs.mkdirSync(scratchParent, { recursive: true });
  const cacheDir = options.useCache ? options.cacheDir : fs.mkdtempSync(scratchPrefix(scratchParent));
  let result: RunResult;
  try {
    const runner = new LocalRunner(graph, { workers, cacheDir, useCache: options.useCache, fuseItems: options.fuseItems, params, workflow: options.workflow, events: options.events });
    options.onStart?.(runner, cacheDir);
    result = await runner.run();
  } catch (error) {
    if (!options.useCache) fs.rmSync(cacheDir, { recursive: true, force: true });
    throw error;
  }
  // The private cache (the split's tiles: about 40 bytes a point) is removed while the report is
  // written, on libuv's threads; the run is over once both are done.
  const removal = options.useCache ? Promise.resolve() : fs.promises.rm(cacheDir, { recursive: true, force: true });
  const rasters = rastersOf(graph, result);
  const report = path.join(outDir, "report.html");
  try {
    fs.mkdirSync(outDir, { recursive: true });
    await writeReport(report, {
      workflow: graph.spec.name,
      graph,
      rasters,
      steps: result.timings,
      summary: {
        // The points this run computed: a rate over points that came from the cache would mean nothing.
        points: result.pointsComputed,
        tiles: result.items,
        seconds: result.seconds,
        workers,
        cachedSteps: result.timings.filter((t) => t.cached).length,
        ranSteps: result.timings.filter((t) => !t.cached).length,
        params,
      },
    });
  } finally {
    await removal;
  }
  return { result, rasters, report };
}
