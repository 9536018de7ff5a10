import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { LocalRunError, localRunInputs } from "../src/local/localRun";
import { projectProvider } from "./projectProvider";

export interface LocalRunArgs {
  /** The workflow file, absolute or relative to `workdir`. @example "workflows/lidar.yaml" */
  readonly workflow: string;
  /**
   * Workflow params (`naaw:params`); the others take their defaults. A string is read as
   * `naaw run --set NAME=VALUE` reads it (`"10"` is an int for an int param).
   * @example { input: "data/lidar", tile_size: 250 }
   */
  readonly params?: Readonly<Record<string, unknown>>;
  /** Receives `<feature>.tif` and report.html. @default the workflow's `out` param, else "out" */
  readonly outDir?: string;
  /** Steps in flight at once. @default os.availableParallelism() */
  readonly workers?: number;
  /** false: every step runs again, nothing kept (`naaw run --no-cache`). @default true */
  readonly cache?: boolean;
  /** The step cache, shared with `naaw run` started in `workdir`. @default "<workdir>/.naaw/cache" */
  readonly cacheDir?: string;
  /** Where `uses: <notebook>/<component>` finds <notebook>.ipynb. @default notebooks/ beside workflows/ */
  readonly notebooks?: string;
  /** Where relative paths (here and in params) are read from. @default the program's directory (process.cwd()) */
  readonly workdir?: string;
}

/** The implementation the dynamic provider runs, in the engine's plain Node host. */
const provider = projectProvider(path.resolve(__dirname, "..", "src", "local", "localRunResource.ts"), "localRunResource");

/**
 * The local target: the workflow run with the embedded runner on this machine, as `naaw run` runs
 * it, during `pulumi up` (no Docker, no cluster). The run's identity (workflow, notebook components,
 * params, output directory) is computed here, so an unchanged `pulumi up` does nothing and a changed
 * notebook, workflow or param makes one new run (the runner's cache redoes only what changed).
 * The workflow and params are checked before anything exists: bad input fails the preview.
 */
export class LocalRun extends pulumi.dynamic.Resource {
  /** Feature name → absolute path of its GeoTIFF. */
  public declare readonly rasters: pulumi.Output<Record<string, string>>;
  /** The run report (report.html). */
  public declare readonly report: pulumi.Output<string>;
  /** The absolute output directory. */
  public declare readonly outDir: pulumi.Output<string>;
  /** sha256 of what decides the results. */
  public declare readonly identity: pulumi.Output<string>;
  /** Steps that succeeded (one per step and tile), those from the cache included. */
  public declare readonly succeededSteps: pulumi.Output<number>;
  /** Of those, the ones that came from the cache. */
  public declare readonly cachedSteps: pulumi.Output<number>;

  constructor(name: string, args: LocalRunArgs, opts?: pulumi.CustomResourceOptions) {
    let inputs;
    try {
      inputs = localRunInputs({
        workflow: args.workflow,
        params: args.params,
        outDir: args.outDir,
        workers: args.workers,
        useCache: args.cache,
        cacheDir: args.cacheDir,
        notebooks: args.notebooks,
        workdir: args.workdir,
      });
    } catch (error) {
      // What `naaw run` would print, without a stack trace.
      if (error instanceof LocalRunError) throw new pulumi.RunError(`LocalRun '${name}': ${error.message}`);
      throw error;
    }
    // The outputs the run fills in are declared as undefined inputs, so the resource exposes them.
    super(provider, name, { ...inputs, rasters: undefined, report: undefined, succeededSteps: undefined, cachedSteps: undefined }, opts, undefined, "LocalRun");
  }
}
