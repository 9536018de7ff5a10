import * as path from "path";
import { LidarInputError } from "../lidar/errors";
import { expandInputs } from "../lidar/inputs";
import { BuiltinInputError, BuiltinStep, checkRules, number, reportingInputErrors, text } from "./builtinStep";
import { fileValue, filesOf, listValue, plainValue, ValueBindingError } from "./values";

/**
 * The built-ins of the split in parallel (src/lidar/pieces.ts), as the local runner runs them:
 * `inputs` lists and checks the files, `split_pieces` cuts one of them into pieces per tile (in a
 * worker thread, so a foreach over the files uses every worker), `plan_tiles` groups all pieces by
 * tile, and `join` writes one tile as today's split would.
 */

function crsParam(params: Readonly<Record<string, unknown>>): string {
  return typeof params.crs === "string" ? params.crs : "";
}

/** The input files of a param that names them, as bad input when it names none. */
function expanded(params: Readonly<Record<string, unknown>>): string[] {
  try {
    return expandInputs(text(params, "input"));
  } catch (error) {
    if (error instanceof LidarInputError || error instanceof ValueBindingError) throw new BuiltinInputError(error.message);
    throw error;
  }
}

const inputs: BuiltinStep = {
  cacheable: true,
  readFiles: expanded,
  async run({ params }) {
    checkRules("builtin/inputs", params);
    const { checkInputSet } = await import("../lidar/pieces");
    const set = await reportingInputErrors([LidarInputError], async () => checkInputSet(text(params, "input"), crsParam(params)));
    return { files: plainValue(set.files), crs: plainValue(set.crs) };
  },
};

const splitPieces: BuiltinStep = {
  cacheable: true,
  readFiles: expanded,
  async run({ params, staging, onProgress, signal }) {
    checkRules("builtin/split_pieces", params);
    const { splitFileInWorker } = await import("../lidar/splitWorker");
    const result = await reportingInputErrors([LidarInputError], () =>
      splitFileInWorker({ file: text(params, "input"), outDir: path.join(staging, "pieces"), tileSize: number(params, "tile_size"), cellSize: number(params, "cell_size"), onProgress, signal }),
    );
    return { pieces: listValue(result.tiles.map((tile) => fileValue(tile.npy))) };
  },
};

const planTiles: BuiltinStep = {
  cacheable: true,
  readFiles: () => [],
  async run({ inputs: given, staging }) {
    const { planTiles: plan } = await import("../lidar/pieces");
    const pieces = given.pieces ? filesOf(given.pieces) : [];
    if (pieces.length === 0) throw new BuiltinInputError("plan_tiles got no pieces: the inputs hold no points, or 'pieces' is bound to nothing");
    const plans = await reportingInputErrors([LidarInputError], async () => plan(pieces, path.join(staging, "tiles")));
    return { tiles: listValue(plans.map((file) => fileValue(file))) };
  },
};

const join: BuiltinStep = {
  cacheable: true,
  readFiles: () => [],
  async run({ params, staging }) {
    checkRules("builtin/join", params);
    const { joinTile } = await import("../lidar/pieces");
    const tile = await reportingInputErrors([LidarInputError], async () => joinTile({ plan: text(params, "plan"), outDir: path.join(staging, "tile"), crs: crsParam(params) }));
    return { tile: fileValue(tile.npy) };
  },
};

export const PARALLEL_SPLIT_STEPS: Readonly<Record<string, BuiltinStep>> = { inputs, split_pieces: splitPieces, plan_tiles: planTiles, join };
