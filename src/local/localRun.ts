// A workflow run as a resource (the local target of `pulumi up`): the request checked the way
// `naaw run` checks its command line, the run's identity, and the run itself through runWorkflow,
// which is what `naaw run` uses. Pure of Pulumi: components/LocalRun.ts and the dynamic provider
// (src/local/localRunResource.ts) both call this.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { formatDiagnostic } from "../diagnostics";
import { WorkflowCatalog } from "../workflow/catalog";
import { compileWorkflow } from "../workflow/compile";
import { WorkflowGraph } from "../workflow/validate";
import { BUILTINS_REVISION } from "./builtinSteps";
import { cacheKey, DEFAULT_CACHE_DIR } from "./cache";
import { resolveRunParams, RunParamsError } from "./params";
import { StepFailure } from "./runner";
import { runWorkflow } from "./runWorkflow";

/** A param value as stack config gives it (a string is read as `--set NAME=VALUE` reads it). */
export type LocalRunParam = string | number | boolean | null | readonly LocalRunParam[] | { readonly [key: string]: LocalRunParam };

/** What a local run is asked to do; every path absolute. */
export interface LocalRunRequest {
  /** The workflow file. @example "/home/me/naaw/workflows/lidar.yaml" */
  readonly workflow: string;
  /** Workflow params; the others take their defaults. @example { "input": "data/lidar", "cell_size": 10 } */
  readonly params: Readonly<Record<string, LocalRunParam>>;
  /** Receives `<feature>.tif` and report.html (the workflow's `out` param, when it has one). */
  readonly outDir: string;
  /** Where the run starts, as `naaw run` does in its working directory: relative param paths are read from here. */
  readonly workdir: string;
  /** The step cache, shared with `naaw run` when it is the same directory. */
  readonly cacheDir: string;
  /** False: every step runs again, in a private cache removed afterwards (`naaw run --no-cache`). */
  readonly useCache: boolean;
  /** Steps in flight at once. */
  readonly workers: number;
  /** Where `uses: <notebook>/<component>` finds <notebook>.ipynb; default notebooks/ beside workflows/. */
  readonly notebooks?: string;
}

/** The inputs of the local run resource: the request and the identity the program computed for it. */
export interface LocalRunInputs extends LocalRunRequest {
  readonly identity: string;
}

/** The resource's state: its inputs and what the run produced. */
export interface LocalRunOutputs extends LocalRunInputs {
  /** Feature name → absolute path of its GeoTIFF. */
  readonly rasters: Readonly<Record<string, string>>;
  /** The run report (report.html). */
  readonly report: string;
  /** Steps that succeeded, counting those that came from the cache (one per step and foreach item). */
  readonly succeededSteps: number;
  /** Of those, the ones that came from the cache. */
  readonly cachedSteps: number;
  /** Foreach items (tiles). */
  readonly items: number;
  readonly points: number;
  readonly seconds: number;
}

/** A request the run cannot start with, or a run that failed: lines to show as they are, no stack trace. */
export class LocalRunError extends Error {
  constructor(readonly lines: readonly string[]) {
    super(lines.join("\n"));
    this.name = "LocalRunError";
  }
}

/** Optional parts of a request, as a program gives them. */
export interface LocalRunSettings {
  readonly workflow: string;
  /** Checked to be LocalRunParam values (stack config gives `unknown`). */
  readonly params?: Readonly<Record<string, unknown>>;
  /** @default the workflow's `out` param (its value or default), else "out" */
  readonly outDir?: string;
  /** @default the current directory */
  readonly workdir?: string;
  /** @default "<workdir>/.naaw/cache", the cache `naaw run` uses there */
  readonly cacheDir?: string;
  /** @default true */
  readonly useCache?: boolean;
  /** @default os.availableParallelism() */
  readonly workers?: number;
  readonly notebooks?: string;
}

/** A request whose output directory may still be the workflow's choice. */
export type PreparedRequest = Omit<LocalRunRequest, "outDir"> & { readonly outDir?: string };

/** A checked run, ready to start. */
export interface PreparedRun {
  readonly graph: WorkflowGraph;
  readonly params: Record<string, unknown>;
  readonly outDir: string;
  /** The workflow as the run log and messages name it (relative to the workdir when inside it). */
  readonly shownWorkflow: string;
  readonly identity: string;
}

/**
 * The identity of a run: sha256 over what decides its results (the workflow's text, the code of
 * each step's component, the params with defaults filled in, where it reads and writes). Changed
 * notebook cells change their component's hash, so they change it; workers and the cache do not.
 * The input data are not hashed (a country's LiDAR would take hours): the runner's cache sees
 * changed files, a changed input path is a changed param.
 */
export function localRunIdentity(parts: {
  readonly workflowText: string;
  readonly components: readonly { readonly step: string; readonly uses: string; readonly code: string }[];
  readonly params: Readonly<Record<string, unknown>>;
  readonly outDir: string;
  readonly workdir: string;
}): string {
  return cacheKey({ kind: "naaw-local-run", ...parts });
}

/** The code each step runs: a notebook component's hash, or the built-ins' revision. */
function componentCodes(graph: WorkflowGraph): { step: string; uses: string; code: string }[] {
  return graph.steps.map((s) => ({ step: s.id, uses: s.component.uses, code: s.component.builtin ? `builtin:${BUILTINS_REVISION}` : s.component.entry!.hash }));
}

/** Whether a value is plain JSON (what the engine can keep in the state). */
function isJsonValue(value: unknown): value is LocalRunParam {
  if (value === null || typeof value === "string" || typeof value === "boolean") return true;
  if (typeof value === "number") return Number.isFinite(value);
  if (Array.isArray(value)) return value.every(isJsonValue);
  if (typeof value === "object") return Object.getPrototypeOf(value) === Object.prototype && Object.values(value as object).every(isJsonValue);
  return false;
}

/** `NAME=VALUE` as `naaw run --set` takes it: a string as it is, anything else as JSON (which is YAML). */
export function paramSettings(params: Readonly<Record<string, LocalRunParam>>): string[] {
  return Object.entries(params).map(([name, value]) => `${name}=${typeof value === "string" ? value : JSON.stringify(value)}`);
}

function problemIfNotAbsolute(what: string, value: unknown): string | undefined {
  if (typeof value !== "string" || value === "") return `${what} must be a path, got ${JSON.stringify(value)}`;
  return path.isAbsolute(value) ? undefined : `${what} must be an absolute path, got '${value}'`;
}

/** What is wrong with a request's shape (before anything reads a file), one line each. */
export function requestProblems(request: Partial<PreparedRequest>): string[] {
  const problems = [
    problemIfNotAbsolute("workflow", request.workflow),
    request.outDir === undefined ? undefined : problemIfNotAbsolute("outDir", request.outDir),
    problemIfNotAbsolute("workdir", request.workdir),
    problemIfNotAbsolute("cacheDir", request.cacheDir),
    request.notebooks === undefined ? undefined : problemIfNotAbsolute("notebooks", request.notebooks),
    Number.isInteger(request.workers) && request.workers! >= 1 && request.workers! <= 256 ? undefined : `workers must be a whole number from 1 to 256, got ${JSON.stringify(request.workers)}`,
    typeof request.useCache === "boolean" ? undefined : `useCache must be true or false, got ${JSON.stringify(request.useCache)}`,
    request.params !== null && typeof request.params === "object" && !Array.isArray(request.params) ? undefined : `params must be a map of param names to values, got ${JSON.stringify(request.params)}`,
    ...Object.entries(request.params ?? {})
      .filter(([, value]) => !isJsonValue(value))
      .map(([name]) => `params.${name} must be a string, a finite number, true/false, null, a list or a map of those`),
  ];
  return problems.filter((p): p is string => p !== undefined);
}

/** Runs `work` with the process in `dir`, synchronously (nothing else runs meanwhile). */
function inDirectory<T>(dir: string, work: () => T): T {
  const before = process.cwd();
  try {
    process.chdir(dir);
  } catch (error) {
    throw new LocalRunError([`naaw: the run's working directory ${dir} cannot be entered: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`]);
  }
  try {
    return work();
  } finally {
    process.chdir(before);
  }
}

function shownPath(file: string, workdir: string): string {
  const relative = path.relative(workdir, file);
  return relative && !relative.startsWith("..") && !path.isAbsolute(relative) ? relative : file;
}

/**
 * Compiles the workflow and checks the params exactly as `naaw run` does (types, constraints, the
 * built-ins' rules, the output directory), from the request's working directory. Throws
 * LocalRunError with every line `naaw run` would print.
 */
export function prepareLocalRun(request: PreparedRequest): PreparedRun {
  const problems = requestProblems(request);
  if (problems.length > 0) throw new LocalRunError(problems.map((p) => `naaw: local run: ${p}`));
  return inDirectory(request.workdir, () => {
    const shownWorkflow = shownPath(request.workflow, request.workdir);
    const catalog = request.notebooks ? new WorkflowCatalog(request.notebooks) : WorkflowCatalog.forWorkflow(shownWorkflow);
    const { graph, diagnostics } = compileWorkflow(shownWorkflow, catalog);
    if (!graph) throw new LocalRunError(diagnostics.map(formatDiagnostic));
    let checked;
    try {
      checked = resolveRunParams(graph, paramSettings(request.params), request.outDir, shownWorkflow);
    } catch (error) {
      if (error instanceof RunParamsError) throw new LocalRunError(error.lines);
      throw error;
    }
    const identity = localRunIdentity({
      workflowText: fs.readFileSync(request.workflow, "utf8"),
      components: componentCodes(graph),
      params: checked.params,
      outDir: checked.outDir,
      workdir: path.resolve(request.workdir),
    });
    return { graph, params: checked.params, outDir: checked.outDir, shownWorkflow, identity };
  });
}

/**
 * A request from what a program gives: paths resolved against the working directory, defaults
 * filled in, the output directory as `naaw run` picks it. Checks the request (prepareLocalRun) and
 * returns it with its identity.
 */
export function localRunInputs(settings: LocalRunSettings): LocalRunInputs {
  const workdir = path.resolve(settings.workdir ?? process.cwd());
  const request: PreparedRequest = {
    workflow: path.resolve(workdir, settings.workflow),
    params: (settings.params ?? {}) as Readonly<Record<string, LocalRunParam>>,
    // Without one, the run's check picks it as `naaw run` does: the `out` param's value or default, else "out".
    outDir: settings.outDir === undefined ? undefined : path.resolve(workdir, settings.outDir),
    workdir,
    cacheDir: path.resolve(workdir, settings.cacheDir ?? DEFAULT_CACHE_DIR),
    useCache: settings.useCache ?? true,
    workers: settings.workers ?? os.availableParallelism(),
    ...(settings.notebooks !== undefined ? { notebooks: path.resolve(workdir, settings.notebooks) } : {}),
  };
  const prepared = prepareLocalRun(request);
  return { ...request, outDir: prepared.outDir, identity: prepared.identity };
}

/** One run at a time in this process: a run works in its working directory (process.chdir). */
let queue: Promise<unknown> = Promise.resolve();

/**
 * Runs the request with the embedded runner as `naaw run` does and returns the resource's state.
 * A failed step rejects with LocalRunError naming the step, the item and the component's message.
 */
export function executeLocalRun(inputs: LocalRunInputs): Promise<LocalRunOutputs> {
  const run = queue.then(async () => {
    const before = process.cwd();
    const prepared = prepareLocalRun(inputs);
    // The runner reads relative param paths from the working directory (and its services start there).
    process.chdir(inputs.workdir);
    try {
      const { result, rasters, report } = await runWorkflow({
        graph: prepared.graph,
        workflow: prepared.shownWorkflow,
        params: prepared.params,
        outDir: prepared.outDir,
        workers: inputs.workers,
        cacheDir: inputs.cacheDir,
        useCache: inputs.useCache,
      });
      const cachedSteps = result.timings.filter((t) => t.cached).length;
      // Named one by one: what the engine passes holds more (the serialized provider) than the state needs twice.
      return {
        workflow: inputs.workflow,
        params: inputs.params,
        workdir: inputs.workdir,
        cacheDir: inputs.cacheDir,
        useCache: inputs.useCache,
        workers: inputs.workers,
        ...(inputs.notebooks !== undefined ? { notebooks: inputs.notebooks } : {}),
        outDir: prepared.outDir,
        identity: prepared.identity,
        rasters: Object.fromEntries(rasters.map((r) => [r.feature, path.resolve(r.path)])),
        report: path.resolve(report),
        succeededSteps: result.timings.length,
        cachedSteps,
        items: result.items,
        points: result.points,
        seconds: Math.round(result.seconds * 1000) / 1000,
      };
    } catch (error) {
      if (error instanceof StepFailure) {
        const kept = inputs.useCache && !error.badInput ? "; finished steps are kept in the cache: run again to resume" : "";
        throw new LocalRunError([`naaw: ${prepared.shownWorkflow}: ${error.message}${kept}`]);
      }
      throw error;
    } finally {
      process.chdir(before);
    }
  });
  queue = run.catch(() => undefined);
  return run;
}
