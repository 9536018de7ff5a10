import * as path from "path";
import { LidarInputError } from "../lidar/errors";
import { expandInputs } from "../lidar/inputs";
import { BuiltinInputError, BuiltinStep, checkRules, number, reportingInputErrors, text, unwritableDirectory } from "./builtinStep";
import { BATCH_SPLIT_STEPS } from "./batchSplitSteps";
import { PARALLEL_SPLIT_STEPS } from "./parallelSplitSteps";
import { fileValue, filesOf, listValue, plainValue, ValueBindingError } from "./values";

export { BuiltinInputError, unwritableDirectory };
export type { BuiltinCall, BuiltinStep } from "./builtinStep";

/**
 * Bump when a built-in's results change for the same inputs: it is part of their cache keys, as a
 * component's content hash is of its own.
 */
export const BUILTINS_REVISION = "1";

/** The files a step's `input` names, its errors as bad input. */
function reportingFileErrors(list: () => string[]): string[] {
  try {
    return list();
  } catch (error) {
    if (error instanceof LidarInputError || error instanceof ValueBindingError) throw new BuiltinInputError(error.message);
    throw error;
  }
}

const split: BuiltinStep = {
  cacheable: true,
  readFiles: (params) => reportingFileErrors(() => expandInputs(text(params, "input"))),
  async run({ params, staging, onProgress, signal, workers }) {
    checkRules("builtin/split", params);
    const files = reportingFileErrors(() => expandInputs(text(params, "input")));
    const options = {
      input: text(params, "input"),
      outDir: path.join(staging, "tiles"),
      tileSize: number(params, "tile_size"),
      cellSize: number(params, "cell_size"),
      crs: typeof params.crs === "string" ? params.crs : "",
      onProgress,
      signal,
    };
    // Several LAZ files on several workers: each file in its own thread, then the tiles joined (the same bytes).
    const { splitsInParallel, splitInParallel } = await import("../lidar/parallelSplit");
    if (splitsInParallel(files, workers ?? 1)) {
      const tiles = await reportingInputErrors([LidarInputError], () => splitInParallel({ ...options, workers: workers ?? 1 }));
      return { tiles: listValue(tiles.map((npy) => fileValue(npy))) };
    }
    // Uncompressed LAS on several workers: the points cut into one range per worker, each split in its own thread (the same bytes).
    const { splitPointCloudsInRanges } = await import("../lidar/rangeSplit");
    const result = await reportingInputErrors([LidarInputError], () => splitPointCloudsInRanges({ ...options, workers: workers ?? 1 }));
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
    const { PictureSampler, rememberPicture } = await import("./picture");
    const rasters = inputs.rasters ? filesOf(inputs.rasters) : [];
    const infos = inputs.raster_infos ? filesOf(inputs.raster_infos) : [];
    if (rasters.length !== infos.length) {
      throw new BuiltinInputError(`merge got ${rasters.length} rasters but ${infos.length} raster_infos; bind both to the same foreach step`);
    }
    // The report's pictures of the rasters, made from the rows as they are written: the report
    // then need not read back and decode what was just written.
    const samplers = new Map<string, InstanceType<typeof PictureSampler>>();
    const result = await reportingInputErrors([MergeInputError], () =>
      mergeRasters({
        tiles: rasters.map((raster, i) => ({ raster, info: infos[i]! })),
        outDir: text(params, "out"),
        crs: typeof params.crs === "string" ? params.crs : "",
        observe: (feature, width, height) => {
          const sampler = new PictureSampler(width, height);
          samplers.set(feature, sampler);
          return (band, rowCount) => sampler.addRows(band, rowCount);
        },
      }),
    );
    result.features.forEach((feature, i) => rememberPicture(result.files[i]!, samplers.get(feature)!.finish()));
    return { files: plainValue(result.files.map((file) => path.resolve(file))) };
  },
};

export const BUILTIN_STEPS: Readonly<Record<string, BuiltinStep>> = { split, merge, ...PARALLEL_SPLIT_STEPS, ...BATCH_SPLIT_STEPS };
