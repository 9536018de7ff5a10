import * as fs from "fs";
import * as path from "path";
import { LidarInputError } from "./errors";
import { expandInputs } from "./inputs";
import type { PointSource } from "./pointSource";
import { openPointSource } from "./pointSource";
import { PointTiler } from "./tiler";
import type { Tile } from "./tileStore";
import { TileStore } from "./tileStore";

export interface SplitOptions {
  /** A LAS/LAZ file, a directory (its *.las/*.laz), or a pattern such as `data/*.laz`. */
  readonly input: string;
  /** Created if missing; receives `<id>.npy` and `<id>.json` per tile. */
  readonly outDir: string;
  /** Metres; a positive multiple of `cellSize`. */
  readonly tileSize: number;
  readonly cellSize: number;
  /** Used when the files carry no CRS; "" = none given. */
  readonly crs?: string;
  readonly onProgress?: (pointsRead: number, pointsTotal: number) => void;
  /** Ends the split at the next batch of points (the run was stopped): it throws the signal's reason. */
  readonly signal?: AbortSignal;
}

export interface SplitTile {
  readonly id: string;
  readonly npy: string;
  readonly json: string;
  readonly pointCount: number;
  readonly bounds: readonly [number, number, number, number];
}

export interface SplitResult {
  readonly tiles: readonly SplitTile[];
  readonly files: readonly string[];
  readonly pointCount: number;
  readonly crs: string;
}

/**
 * Cuts LAS/LAZ point clouds into square tiles aligned to the feature grid, streaming: one `.npy`
 * (structured records, see TILE_DTYPE) and one JSON sidecar per tile that holds points.
 */
export async function splitPointClouds(options: SplitOptions): Promise<SplitResult> {
  cellsPerTileOf(options.tileSize, options.cellSize);
  const files = expandInputs(options.input);
  return splitOpenedPointClouds(options, files, files.map(openPointSource));
}

/** `splitPointClouds` of inputs already listed and opened (their headers, and LAZ chunk tables, read). */
export async function splitOpenedPointClouds(options: SplitOptions, files: readonly string[], sources: readonly PointSource[]): Promise<SplitResult> {
  const cellsPerTile = cellsPerTileOf(options.tileSize, options.cellSize);
  const crs = agreedCrs(sources) || (options.crs ?? "");
  const pointsTotal = sources.reduce((sum, s) => sum + s.header.pointCount, 0);

  fs.mkdirSync(options.outDir, { recursive: true });
  // Tiles are written here and moved into outDir only once all are complete.
  const workDir = fs.mkdtempSync(path.join(options.outDir, ".split-"));
  const store = new TileStore(workDir);
  try {
    const tiler = new PointTiler(store, options.cellSize, cellsPerTile);
    let pointsRead = 0;
    options.onProgress?.(0, pointsTotal);
    for (const [index, source] of sources.entries()) {
      tiler.startFile(source.header, index);
      // The readers yield to the event loop between batches, so a signal is seen here within one batch.
      await source.read((records, count) => {
        if (options.signal?.aborted) throw stopped(options.signal);
        tiler.add(records, count);
        pointsRead += count;
        options.onProgress?.(pointsRead, pointsTotal);
      });
    }
    const tiles = store.finish().map((tile) => writeSidecar(tile, workDir, { crs, files, tileSize: options.tileSize, cellSize: options.cellSize }));
    const placed = tiles.map((tile) => moveInto(tile, options.outDir));
    fs.rmSync(workDir, { recursive: true, force: true });
    return { tiles: placed, files, pointCount: pointsRead, crs };
  } catch (error) {
    store.abandon();
    fs.rmSync(workDir, { recursive: true, force: true });
    throw error;
  }
}

function stopped(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error("the split was stopped");
}

/** tileSize / cellSize, which must be a whole number. */
export function cellsPerTileOf(tileSize: number, cellSize: number): number {
  if (!(Number.isFinite(cellSize) && cellSize > 0)) throw new LidarInputError(`cell_size must be a positive number of metres, got ${cellSize}`);
  const ratio = tileSize / cellSize;
  const cells = Math.round(ratio);
  // Tolerate the rounding of decimal sizes such as 0.3 / 0.1.
  if (!(Number.isFinite(tileSize) && tileSize > 0 && cells >= 1 && Math.abs(ratio - cells) <= 1e-9 * cells)) {
    throw new LidarInputError(`tile_size ${tileSize} must be a positive multiple of cell_size ${cellSize}`);
  }
  return cells;
}

/** The one CRS the files name ("" if none names one); files that name none are taken to share it. */
export function agreedCrs(sources: readonly Pick<PointSource, "crs" | "header">[]): string {
  const first = sources.find((s) => s.crs !== "");
  const other = first && sources.find((s) => s.crs !== "" && s.crs !== first.crs);
  if (first && other) {
    throw new LidarInputError(`${other.header.file}: its CRS ${other.crs} differs from ${first.crs} of ${first.header.file}; split files of one CRS together`);
  }
  return first?.crs ?? "";
}

export interface SidecarContext {
  readonly crs: string;
  readonly files: readonly string[];
  readonly tileSize: number;
  readonly cellSize: number;
}

/** Writes the tile's sidecar beside its records, in `dir`. */
export function writeSidecar(tile: Tile, dir: string, context: SidecarContext): SplitTile {
  const cs = context.cellSize;
  const bounds = [tile.minCx * cs, tile.minCy * cs, (tile.maxCx + 1) * cs, (tile.maxCy + 1) * cs] as const;
  const json = path.join(dir, `${tile.id}.json`);
  const sidecar = {
    tile: tile.id,
    bounds,
    point_count: tile.pointCount,
    crs: context.crs,
    source_files: tile.sources.map((i) => context.files[i]),
    tile_size: context.tileSize,
    cell_size: cs,
  };
  fs.writeFileSync(json, JSON.stringify(sidecar, null, 2) + "\n");
  return { id: tile.id, npy: tile.npyPath, json, pointCount: tile.pointCount, bounds };
}

/** Moves a finished tile (records and sidecar) into the split's output directory. */
export function moveInto(tile: SplitTile, outDir: string): SplitTile {
  const npy = path.join(outDir, path.basename(tile.npy));
  const json = path.join(outDir, path.basename(tile.json));
  fs.renameSync(tile.npy, npy);
  fs.renameSync(tile.json, json);
  return { ...tile, npy, json };
}
