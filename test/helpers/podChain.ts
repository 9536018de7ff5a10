// A batched tile pod's /tmp laid out on this machine (docs/pod-chain.md): the batch's pieces as Argo
// delivers them, each component's directory as its image holds it, and every container's command
// line, wired as workflows/lidar.yaml's tiles group (with the parallel split's join first).
// Shared by test/pod-chain.test.ts and bench/podChain.ts.
import * as fs from "fs";
import * as path from "path";
import { findNotebooks, loadCatalog } from "../../src/containerize/catalog";
import { writeBuildContext } from "../../src/containerize/context";
import { splitFileIntoPieces } from "../../src/lidar/pieces";
import { pythonExecutable } from "../../src/python/interpreter";

const ROOT = path.resolve(__dirname, "..", "..");
const NAAW = path.join(ROOT, "bin", "naaw.js");

export const CHAIN = ["join", "load", "normalize", "filter", "neighbors", "features", "export"];

/** The wiring of lidar.yaml's tiles group, as each component container's arguments (the params at their defaults). */
const WIRING: Record<string, string[]> = {
  load: ["--param-from", "tile=join/tile", "--param", "cell_size=10.0"],
  normalize: ["--input", "points=load/points", "--param", "norm_cell_size=1.0"],
  filter: ["--input", "points=load/points", "--param", "height_classes=[1, 3, 4, 5]"],
  neighbors: ["--input", "points=load/points", "--input", "bounds=load/bounds", "--param", "cell_size=10.0"],
  features: ["--input", "points=load/points", "--input", "normalized_height=normalize/normalized_height", "--input", "height_mask=filter/height_mask", "--input", "cell_index=neighbors/cell_index", "--input", "grid=neighbors/grid"],
  export: ["--input", "feature_stack=features/feature_stack", "--input", "feature_names=features/feature_names", "--input", "grid=neighbors/grid", "--input", "crs=load/crs", "--input", "point_count=load/point_count"],
};

/** Splits each LAS file into pieces and files them as a tile pod receives them: `<dir>/<tile>/<input>.npy` + `.json`. */
export async function layOutPieces(files: readonly string[], scratch: string, dir: string, tileSize: number): Promise<string> {
  for (const file of files) {
    const name = path.basename(file, path.extname(file));
    const split = await splitFileIntoPieces({ file, outDir: path.join(scratch, name), tileSize, cellSize: 10 });
    for (const tile of split.tiles) {
      fs.mkdirSync(path.join(dir, tile.id), { recursive: true });
      for (const from of [tile.npy, tile.json]) fs.linkSync(from, path.join(dir, tile.id, name + path.extname(from)));
    }
  }
  return dir;
}

/** Each lidar component's directory as its image holds it (the build context `naaw build` writes), under `dir/<component>`. */
export function writeComponentDirs(dir: string): string {
  for (const entry of loadCatalog(findNotebooks(path.join(ROOT, "notebooks"))).entries) writeBuildContext(path.join(dir, entry.spec.name), entry.context);
  return dir;
}

export interface PodCommand {
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd: string;
}

/**
 * Every container's command line, as the emitter renders them, with the pod's /tmp at `pod`. A
 * component runs as its image runs it: `python3 -m naaw_runtime` from its directory, whose runtime it carries.
 */
export function podCommands(options: { pod: string; itemsFrom: string; components: string; crs: string; window: number }): Record<string, PodCommand> {
  const { pod } = options;
  const common = ["--work", path.join(pod, "work"), "--items-from", options.itemsFrom, "--chain", CHAIN.join(","), "--window", String(options.window)];
  const all: Record<string, PodCommand> = {
    join: { command: process.execPath, args: [NAAW, "builtin-chain", "join", ...common, "--param", `crs=${options.crs}`], cwd: pod },
  };
  for (const step of CHAIN.slice(1)) {
    const exports = step === "export" ? ["--export", `raster=${path.join(pod, "out", "raster")}`, "--export", `raster_info=${path.join(pod, "out", "raster_info")}`] : [];
    const dir = path.join(options.components, step);
    all[step] = { command: pythonExecutable(), args: ["-m", "naaw_runtime", "chain", "--component", dir, "--step", step, ...common, ...WIRING[step]!, ...exports], cwd: dir };
  }
  return all;
}
