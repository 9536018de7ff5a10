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
    ],
    outputs: [{ name: "tiles", type: "list[str]" }],
    files: { fetch: ["input"], fileLists: { tiles: [".npy", ".json"] } },
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
