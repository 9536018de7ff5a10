import * as fs from "fs";
import * as path from "path";
import { BuiltinRule, BUILTIN_RULES } from "../workflow/builtins";
import { LidarInputError } from "../lidar/errors";
import { expandInputs } from "../lidar/inputs";
import { fileValue, filesOf, listValue, plainValue, StepValue, ValueBindingError } from "./values";

/**
 * Bump when a built-in's results change for the same inputs: it is part of their cache keys, as a
 * component's content hash is of its own.
 */
export const BUILTINS_REVISION = "1";

/** Bad input to a built-in (a broken LAS file, tiles that do not fit together): running again will not help. */
export class BuiltinInputError extends Error {}

/** Runs a built-in's work, turning its input errors (instances of `inputErrors`) into BuiltinInputError. */
async function reportingInputErrors<T>(inputErrors: readonly (abstract new (...args: never[]) => Error)[], work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof ValueBindingError || inputErrors.some((kind) => error instanceof kind)) throw new BuiltinInputError((error as Error).message);
    throw error;
  }
}

/** What a built-in step gets from the runner. */
export interface BuiltinCall {
  readonly params: Readonly<Record<string, unknown>>;
  readonly inputs: Readonly<Record<string, StepValue>>;
  /** A fresh directory for results that go into the cache. */
  readonly staging: string;
  /** Points read so far and in all, for a step that can tell. */
  readonly onProgress?: (done: number, total: number) => void;
  /** Aborted when the run is stopped: a long read ends at its next batch. */
  readonly signal?: AbortSignal;
}

export interface BuiltinStep {
  /**
   * Whether the results may come from the cache. A step that writes outside the cache (merge writes
   * the user's `out` directory) always runs, so its files exist after every run.
   */
  readonly cacheable: boolean;
  /** The files a step reads through its params, fingerprinted into its cache key. */
  readFiles(params: Readonly<Record<string, unknown>>): string[];
  /**
   * Checks of the param values against this machine (an `out` directory that can be written), for
   * `naaw run` to make before anything runs; the pure checks are BUILTIN_RULES.
   */
  readonly preflight?: BuiltinRule;
  run(call: BuiltinCall): Promise<Record<string, StepValue>>;
}

function text(params: Readonly<Record<string, unknown>>, name: string): string {
  const value = params[name];
  if (typeof value !== "string" || value === "") throw new ValueBindingError(`param '${name}' must be a non-empty path, got ${JSON.stringify(value)}`);
  return value;
}

function number(params: Readonly<Record<string, unknown>>, name: string): number {
  const value = params[name];
  if (typeof value !== "number" || !Number.isFinite(value)) throw new ValueBindingError(`param '${name}' must be a number, got ${JSON.stringify(value)}`);
  return value;
}

/**
 * Why `dir` cannot be the directory a step writes, or undefined when it can: it, or the nearest of
 * its ancestors that exists (mkdir -p creates the rest), must be a directory this process may write.
 */
export function unwritableDirectory(dir: string): string | undefined {
  const target = path.resolve(dir);
  for (let current = target; ; current = path.dirname(current)) {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(current);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if ((code === "ENOENT" || code === "ENOTDIR") && path.dirname(current) !== current) continue;
      return `${current} cannot be read (${code})`;
    }
    const made = current === target ? "" : `, so ${target} cannot be created`;
    if (!stat.isDirectory()) return `${current} is a file, not a directory${made}`;
    try {
      fs.accessSync(current, fs.constants.W_OK | fs.constants.X_OK);
    } catch (error) {
      return `${current} is not writable (${(error as NodeJS.ErrnoException).code})${made}`;
    }
    return undefined;
  }
}

/** BUILTIN_RULES of a built-in, run on the step's own params as a last line before it computes. */
function checkRules(uses: string, params: Readonly<Record<string, unknown>>): void {
  const problems = BUILTIN_RULES[uses]?.(new Map(Object.entries(params)), (param) => `'${param}'`) ?? [];
  if (problems.length > 0) throw new BuiltinInputError(`${uses}: ${problems.map((p) => p.message).join("; ")}`);
}

const split: BuiltinStep = {
  cacheable: true,
  readFiles: (params) => {
    try {
      return expandInputs(text(params, "input"));
    } catch (error) {
      if (error instanceof LidarInputError || error instanceof ValueBindingError) throw new BuiltinInputError(error.message);
      throw error;
    }
  },
  async run({ params, staging, onProgress, signal }) {
    checkRules("builtin/split", params);
    const { splitPointClouds } = await import("../lidar/split");
    const result = await reportingInputErrors([LidarInputError], () => splitPointClouds({
      input: text(params, "input"),
      outDir: path.join(staging, "tiles"),
      tileSize: number(params, "tile_size"),
      cellSize: number(params, "cell_size"),
      crs: typeof params.crs === "string" ? params.crs : "",
      onProgress,
      signal,
    }));
    return { tiles: listValue(result.tiles.map((tile) => fileValue(tile.npy))) };
  },
};

const merge: BuiltinStep = {
  cacheable: false,
  readFiles: () => [],
  preflight: (values, label) => {
    const out = values.get("out");
    const problem = typeof out === "string" && out !== "" ? unwritableDirectory(out) : undefined;
    return problem ? [{ param: "out", message: `${label("out")} = '${out}' cannot be the output directory: ${problem}; give a directory that can be written` }] : [];
  },
  async run({ params, inputs }) {
    checkRules("builtin/merge", params);
    // Loaded on first use, like split: geotiff is a large module that other commands need not load.
    const { mergeRasters, MergeInputError } = await import("../lidar/merge");
    const rasters = inputs.rasters ? filesOf(inputs.rasters) : [];
    const infos = inputs.raster_infos ? filesOf(inputs.raster_infos) : [];
    if (rasters.length !== infos.length) {
      throw new BuiltinInputError(`merge got ${rasters.length} rasters but ${infos.length} raster_infos; bind both to the same foreach step`);
    }
    const result = await reportingInputErrors([MergeInputError], () =>
      mergeRasters({
        tiles: rasters.map((raster, i) => ({ raster, info: infos[i]! })),
        outDir: text(params, "out"),
        crs: typeof params.crs === "string" ? params.crs : "",
      }),
    );
    return { files: plainValue(result.files.map((file) => path.resolve(file))) };
  },
};

export const BUILTIN_STEPS: Readonly<Record<string, BuiltinStep>> = { split, merge };
