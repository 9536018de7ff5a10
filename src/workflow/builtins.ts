import { CrsError, epsgCode } from "../lidar/crs";
import { ComponentInterface } from "./catalog";

/**
 * The built-in steps: data plumbing written in TypeScript (issue: embedded workflow bus), typed here
 * so that workflows using them are checked like any other.
 */
export const BUILTINS: Readonly<Record<string, ComponentInterface>> = {
  "builtin/split": {
    uses: "builtin/split",
    name: "split",
    builtin: true,
    description: "Cut LAS/LAZ point clouds into tiles aligned to the feature grid, one structured .npy (+ .json sidecar) per tile",
    inputs: [],
    params: [
      { name: "input", type: "str", required: true },
      { name: "tile_size", type: "float", required: false, default: 500.0 },
      { name: "cell_size", type: "float", required: false, default: 10.0 },
      { name: "crs", type: "str", required: false, default: "" },
      // Only checked (BUILTIN_RULES): the height normalization's grid, whose cells tiles must not cut; 0: none.
      { name: "norm_cell_size", type: "float", required: false, default: 0.0 },
    ],
    outputs: [{ name: "tiles", type: "list[str]" }],
    files: { fetch: ["input"], fileLists: { tiles: [".npy", ".json"] } },
  },
  // The split in parallel (issue 12; src/lidar/pieces.ts): inputs → split_pieces per input file →
  // plan_tiles over all pieces → join as each tile's first step. Not yet carried by the Argo and CWL
  // emitters (no `files` layout): the local runner runs them.
  "builtin/inputs": {
    uses: "builtin/inputs",
    name: "inputs",
    builtin: true,
    description: "List the LAS/LAZ files an input names (a file, directory or glob), sorted, reading only their headers to check them, and the CRS they agree on",
    inputs: [],
    params: [
      { name: "input", type: "str", required: true },
      { name: "crs", type: "str", required: false, default: "" },
    ],
    outputs: [
      { name: "files", type: "list[str]" },
      { name: "crs", type: "str" },
    ],
  },
  "builtin/split_pieces": {
    uses: "builtin/split_pieces",
    name: "split_pieces",
    builtin: true,
    description: "Cut ONE LAS/LAZ file into pieces keyed by the tile they fall in, one structured .npy (+ .json sidecar) per piece",
    inputs: [],
    params: [
      { name: "input", type: "str", required: true },
      { name: "tile_size", type: "float", required: false, default: 500.0 },
      { name: "cell_size", type: "float", required: false, default: 10.0 },
      { name: "norm_cell_size", type: "float", required: false, default: 0.0 },
    ],
    outputs: [{ name: "pieces", type: "list[str]" }],
  },
  "builtin/plan_tiles": {
    uses: "builtin/plan_tiles",
    name: "plan_tiles",
    builtin: true,
    description: "Group the pieces of every input by tile: one plan per tile, its pieces in input order",
    inputs: [{ name: "pieces", type: "list" }],
    params: [],
    outputs: [{ name: "tiles", type: "list[str]" }],
  },
  "builtin/join": {
    uses: "builtin/join",
    name: "join",
    builtin: true,
    description: "Concatenate a tile's pieces in input order into the tile's structured .npy and .json sidecar, as one split of all inputs writes them",
    inputs: [],
    params: [
      { name: "plan", type: "str", required: true },
      { name: "crs", type: "str", required: false, default: "" },
    ],
    outputs: [{ name: "tile", type: "str" }],
  },
  // What the Argo rendering makes of builtin/split at country scale (src/workflow/argo/batched.ts,
  // src/lidar/batches.ts): not for workflows, which say builtin/split; `naaw builtin` runs them in the pods.
  "builtin/plan_inputs": {
    uses: "builtin/plan_inputs",
    name: "plan_inputs",
    builtin: true,
    description: "Cut the listing of the input prefix into batches of LAS/LAZ keys, one per split pod",
    inputs: [{ name: "listing", type: "list[str]" }],
    params: [
      { name: "input", type: "str", required: true },
      { name: "per_batch", type: "int", required: true },
      { name: "absent", type: "str", required: true },
      { name: "max_batches", type: "int", required: false, default: 0 },
    ],
    outputs: [{ name: "batches", type: "list[dict]" }],
  },
  "builtin/split_batch": {
    uses: "builtin/split_batch",
    name: "split_batch",
    builtin: true,
    description: "Cut a batch of LAS/LAZ files into pieces filed by tile under the tile's bucket",
    inputs: [],
    params: [
      { name: "batch", type: "dict", required: true },
      { name: "input", type: "str", required: true },
      { name: "pieces", type: "str", required: true },
      { name: "per_batch", type: "int", required: true },
      { name: "absent", type: "str", required: true },
      { name: "buckets", type: "int", required: true },
      { name: "tile_size", type: "float", required: false, default: 500.0 },
      { name: "cell_size", type: "float", required: false, default: 10.0 },
      { name: "norm_cell_size", type: "float", required: false, default: 0.0 },
      { name: "crs", type: "str", required: false, default: "" },
    ],
    outputs: [
      { name: "buckets", type: "list[str]" },
      { name: "crs", type: "str" },
    ],
    files: { fetch: ["input"], store: ["pieces"] },
  },
  "builtin/plan_buckets": {
    uses: "builtin/plan_buckets",
    name: "plan_buckets",
    builtin: true,
    description: "The fan-in of the split pods: the buckets that hold pieces, and the CRS the whole input agrees on",
    inputs: [
      { name: "buckets", type: "list[list]" },
      { name: "crs_values", type: "list[str]" },
    ],
    params: [{ name: "crs", type: "str", required: false, default: "" }],
    outputs: [
      { name: "buckets", type: "list[str]" },
      { name: "crs", type: "str" },
    ],
  },
  "builtin/merge": {
    uses: "builtin/merge",
    name: "merge",
    builtin: true,
    description: "Mosaic per-tile rasters into one Float32 GeoTIFF per feature, NaN for empty cells",
    inputs: [
      { name: "rasters", type: "list[ndarray]" },
      { name: "raster_infos", type: "list[dict]" },
    ],
    params: [
      { name: "out", type: "str", required: true },
      { name: "crs", type: "str", required: false, default: "" },
    ],
    outputs: [{ name: "files", type: "list[str]" }],
    files: { store: ["out"] },
  },
};

/**
 * Built-ins that only the local runner runs so far: the Argo and CWL emitters report a step using one
 * (docs/argo-scale.md, "Where it stands"), rather than render a pod or tool that could not find its files.
 */
/** The built-ins the Argo rendering lowers builtin/split into; a workflow cannot use them. */
export const ARGO_LOWERING_BUILTINS: ReadonlySet<string> = new Set(["builtin/plan_inputs", "builtin/split_batch", "builtin/plan_buckets"]);

export const LOCAL_ONLY_BUILTINS: ReadonlySet<string> = new Set(["builtin/inputs", "builtin/split_pieces", "builtin/plan_tiles", "builtin/join"]);

/** A problem a built-in's rule finds: which of its params it is about, and the message. */
export interface RuleProblem {
  readonly param: string;
  readonly message: string;
}

/**
 * A built-in's own check of its param values, run before anything computes (by `naaw validate` on
 * the defaults, by `naaw run` on the values of the run, and by the step itself): what JSON Schema
 * cannot say of one param, such as that one is a multiple of another. `values` holds the params
 * whose value is known (a literal, a workflow param, the built-in's default); `label` names a param
 * as the user wrote it (`param 'tile_size'`).
 */
export type BuiltinRule = (values: ReadonlyMap<string, unknown>, label: (param: string) => string) => RuleProblem[];

/** `whole` / `part` is a whole number, tolerating the rounding of decimal sizes such as 0.3 / 0.1 (as split does). */
function divides(part: number, whole: number): boolean {
  const ratio = whole / part;
  const count = Math.round(ratio);
  return count >= 1 && Math.abs(ratio - count) <= 1e-9 * count;
}

function positive(values: ReadonlyMap<string, unknown>, label: (param: string) => string, param: string, what: string): RuleProblem[] {
  const value = values.get(param);
  if (value === undefined || (typeof value === "number" && Number.isFinite(value) && value > 0)) return [];
  return [{ param, message: `${label(param)} = ${JSON.stringify(value)} is not a positive number: ${what}; give a size in metres greater than 0` }];
}

function crsParses(values: ReadonlyMap<string, unknown>, label: (param: string) => string): RuleProblem[] {
  const crs = values.get("crs");
  if (typeof crs !== "string" || crs.trim() === "") return [];
  try {
    epsgCode(crs);
    return [];
  } catch (error) {
    if (!(error instanceof CrsError)) throw error;
    return [{ param: "crs", message: `${label("crs")} = '${crs}' is not a CRS the rasters can carry: expected EPSG:<code> (1 to 65535), e.g. EPSG:28992` }];
  }
}

export const BUILTIN_RULES: Readonly<Record<string, BuiltinRule>> = {
  "builtin/split": (values, label) => {
    const sizes = [
      ...positive(values, label, "cell_size", "it is the raster's cell edge"),
      ...positive(values, label, "tile_size", "it is a tile's edge"),
    ];
    const tile = values.get("tile_size");
    const cell = values.get("cell_size");
    const norm = values.get("norm_cell_size");
    if (norm !== undefined && !(typeof norm === "number" && Number.isFinite(norm) && norm >= 0)) {
      sizes.push({ param: "norm_cell_size", message: `${label("norm_cell_size")} = ${JSON.stringify(norm)} is not a size: give the normalization's cell edge in metres (0: no normalization grid)` });
    }
    const problems = [...sizes, ...crsParses(values, label)];
    // The relations only mean something between sizes that are sizes.
    if (sizes.length > 0 || typeof tile !== "number" || typeof cell !== "number") return problems;
    // Tiles are whole numbers of cells, aligned to absolute multiples of the tile edge: any other
    // edge would cut cells in two, and each half would be computed from part of its points.
    if (!divides(cell, tile)) {
      problems.push({ param: "tile_size", message: `${label("tile_size")} = ${tile} is not a multiple of ${label("cell_size")} = ${cell}: tiling would change the rasters; use a multiple of ${cell}` });
    }
    // The same holds for the normalization grid: a normalization cell cut by a tile edge would take
    // its lowest point from one side only.
    if (typeof norm === "number" && norm > 0 && !divides(norm, tile)) {
      problems.push({ param: "norm_cell_size", message: `${label("norm_cell_size")} = ${norm} does not divide ${label("tile_size")} = ${tile}: normalization cells would straddle tile edges, so tiling would change the rasters; use a norm_cell_size that divides ${tile}` });
    }
    return problems;
  },
  "builtin/merge": (values, label) => crsParses(values, label),
  "builtin/inputs": (values, label) => crsParses(values, label),
  // The sizes' rule of split: the pieces are tiles of one file.
  "builtin/split_pieces": (values, label) => BUILTIN_RULES["builtin/split"]!(values, label),
  "builtin/join": (values, label) => crsParses(values, label),
};
