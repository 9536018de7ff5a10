import * as path from "path";
import { expandInputs } from "../lidar/inputs";
import { mergeRasters } from "../lidar/merge";
import { splitPointClouds } from "../lidar/split";
import { fileValue, filesOf, listValue, plainValue, StepValue, ValueBindingError } from "./values";

/**
 * Bump when a built-in's results change for the same inputs: it is part of their cache keys, as a
 * component's content hash is of its own.
 */
export const BUILTINS_REVISION = "1";

/** What a built-in step gets from the runner. */
export interface BuiltinCall {
  readonly params: Readonly<Record<string, unknown>>;
  readonly inputs: Readonly<Record<string, StepValue>>;
  /** A fresh directory for results that go into the cache. */
  readonly staging: string;
  /** Points read so far and in all, for a step that can tell. */
  readonly onProgress?: (done: number, total: number) => void;
}

export interface BuiltinStep {
  /**
   * Whether the results may come from the cache. A step that writes outside the cache (merge writes
   * the user's `out` directory) always runs, so its files exist after every run.
   */
  readonly cacheable: boolean;
  /** The files a step reads through its params, fingerprinted into its cache key. */
  readFiles(params: Readonly<Record<string, unknown>>): string[];
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

const split: BuiltinStep = {
  cacheable: true,
  readFiles: (params) => expandInputs(text(params, "input")),
  async run({ params, staging, onProgress }) {
    const result = await splitPointClouds({
      input: text(params, "input"),
      outDir: path.join(staging, "tiles"),
      tileSize: number(params, "tile_size"),
      cellSize: number(params, "cell_size"),
      crs: typeof params.crs === "string" ? params.crs : "",
      onProgress,
    });
    return { tiles: listValue(result.tiles.map((tile) => fileValue(tile.npy))) };
  },
};

const merge: BuiltinStep = {
  cacheable: false,
  readFiles: () => [],
  async run({ params, inputs }) {
    const rasters = inputs.rasters ? filesOf(inputs.rasters) : [];
    const infos = inputs.raster_infos ? filesOf(inputs.raster_infos) : [];
    if (rasters.length !== infos.length) {
      throw new ValueBindingError(`merge got ${rasters.length} rasters but ${infos.length} raster_infos; bind both to the same foreach step`);
    }
    const result = await mergeRasters({
      tiles: rasters.map((raster, i) => ({ raster, info: infos[i]! })),
      outDir: text(params, "out"),
      crs: typeof params.crs === "string" ? params.crs : "",
    });
    return { files: plainValue(result.files.map((file) => path.resolve(file))) };
  },
};

export const BUILTIN_STEPS: Readonly<Record<string, BuiltinStep>> = { split, merge };
