/**
 * The `merge` built-in: mosaics the tiles' rasters (each an `export` component's raster.npy, float32
 * (feature, row, col), and raster_info.json) into one Float32 Cloud Optimized GeoTIFF per feature,
 * NaN where no tile has a value. The mosaic covers exactly the cells that hold a value, so it does
 * not depend on how the points were tiled.
 *
 * It works a band of 512 rows at a time, reading from each tile only the rows that overlap the band,
 * so memory holds a band of the mosaic (and the writer's overview bands), never the mosaic itself.
 * Reading and placing the tiles: mergeTiles.ts; the overlap check: mergeOverlaps.ts; the COG: cog/.
 */
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { CrsError, crsGeoKeys } from "./crs";
import { CogWriter, DEFAULT_BLOCK_SIZE } from "./cog/writer";
import { georeferenceTags, RasterGrid } from "./geotiff";
import { checkOverlaps } from "./mergeOverlaps";
import { CellBox, extentOf, fail, MergeInputError, MergeTile, PlacedTile, placeTiles, readRows, withRaster } from "./mergeTiles";

export { MergeInputError } from "./mergeTiles";
export type { MergeTile } from "./mergeTiles";

export interface MergeOptions {
  readonly tiles: readonly MergeTile[];
  readonly outDir: string;
  /** The CRS ("EPSG:<code>") when the tiles do not name one. */
  readonly crs?: string;
  /** Write BigTIFF even when a file stays under 4 GiB (it is BigTIFF anyway when it does not). */
  readonly forceBigTiff?: boolean;
  /** Given each feature's mosaic as it is written (the report's previews are made so). */
  readonly observe?: (feature: string, width: number, height: number) => BandObserver;
}

/** Sees a mosaic a band of full-width rows at a time, north to south; `band` is reused once it returns. */
export type BandObserver = (band: Float32Array, rowCount: number) => void;

export interface MergeResult {
  readonly files: readonly string[];
  readonly features: readonly string[];
  readonly width: number;
  readonly height: number;
  readonly originX: number;
  readonly originY: number;
  readonly cellSize: number;
  readonly crs: string;
}

/**
 * An output that cannot be written (no space left, read-only or not writable): one line naming the
 * file. It is a MergeInputError so that it is reported like one, a message and exit 2, not retried:
 * running again fails the same way until the user frees space or picks another `out`.
 */
export class MergeOutputError extends MergeInputError {}

/** What the usual reasons a write fails mean to the user; anything else keeps the system's message. */
const WRITE_PROBLEMS: Readonly<Record<string, string>> = {
  ENOSPC: "no space left on the device",
  EDQUOT: "the disk quota is used up",
  EROFS: "the file system is read-only",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EFBIG: "the file is too large for the file system",
  ENOTDIR: "a parent of it is a file, not a directory",
};

function writeFailure(file: string, what: string, error: unknown): MergeOutputError {
  const { code, message } = error as NodeJS.ErrnoException;
  const problem = (code && WRITE_PROBLEMS[code]) ?? message;
  return new MergeOutputError(`${file}: cannot ${what}: ${problem}${code ? ` (${code})` : ""}`);
}

/**
 * A sanity bound, not a format limit: 2,000 km at 10 m, a band of 512 rows is then 400 MB. A mosaic
 * wider is tiles in different CRSs or grids.
 */
const MAX_MOSAIC_SIDE = 200_000;

function resolveCrs(tiles: readonly PlacedTile[], fallback: string | undefined): string {
  const named = tiles.find((t) => t.info.crs !== "");
  const crs = named ? named.info.crs : (fallback ?? "").trim();
  if (crs === "") return "";
  try {
    crsGeoKeys(crs);
  } catch (error) {
    if (error instanceof CrsError) fail(named ? named.tile.info : "the merge's crs parameter", error.message);
    throw error;
  }
  return crs;
}

/**
 * Writes one feature's mosaic to `writer`, a band of `blockSize` rows at a time: every tile's values
 * at their cells, NaN elsewhere. Each band reads only the rows of the tiles that overlap it.
 */
async function writeMosaic(tiles: readonly PlacedTile[], feature: number, extent: CellBox, writer: CogWriter, blockSize: number, observer?: BandObserver): Promise<void> {
  const width = extent.maxCol - extent.minCol + 1;
  const height = extent.maxRow - extent.minRow + 1;
  const band = new Float32Array(width * Math.min(blockSize, height));
  let rows = new Float32Array(0);
  for (let top = 0; top < height; top += blockSize) {
    const bandRows = Math.min(blockSize, height - top);
    const [north, south] = [extent.minRow + top, extent.minRow + top + bandRows - 1];
    band.fill(NaN);
    for (const tile of tiles) {
      const box = tile.dataBox;
      if (!box || tile.row0 + box.maxRow < north || tile.row0 + box.minRow > south) continue;
      const first = Math.max(box.minRow, north - tile.row0);
      const last = Math.min(box.maxRow, south - tile.row0);
      const cols = tile.info.cols;
      if (rows.length < (last - first + 1) * cols) rows = new Float32Array((last - first + 1) * cols);
      withRaster(tile.tile.raster, (fd) => readRows(fd, tile, feature, first, last - first + 1, rows));
      for (let r = first; r <= last; r++) {
        const row = (tile.row0 + r - north) * width - extent.minCol + tile.col0;
        const from = (r - first) * cols;
        for (let c = box.minCol; c <= box.maxCol; c++) {
          const value = rows[from + c]!;
          // Only values: a tile's NaN cells may lie under another tile's data.
          if (!Number.isNaN(value)) band[row + c] = value;
        }
      }
    }
    observer?.(band, bandRows);
    await writer.writeRows(band, bandRows);
  }
}

/**
 * A failure to write `file`, as a MergeOutputError when the system refused (a full disk, say). Tiles
 * that cannot be read are MergeInputErrors already, so a system error here is the output's.
 */
function asWriteFailure(file: string, error: unknown): unknown {
  return error instanceof MergeInputError || typeof (error as NodeJS.ErrnoException).code !== "string" ? error : writeFailure(file, "write the GeoTIFF", error);
}

/**
 * Writes one feature's COG to `temp` (renamed to `file` once all are written); a failure names
 * `file`, the name the user asked for, and leaves no level file behind.
 */
async function writeFeature(file: string, temp: string, fill: (writer: CogWriter) => Promise<void>, grid: RasterGrid, options: MergeOptions): Promise<void> {
  let writer: CogWriter | undefined;
  try {
    writer = await CogWriter.create(temp, grid.width, grid.height, {
      mainTags: georeferenceTags(grid),
      ...(options.forceBigTiff ? { forceBigTiff: true } : {}),
    });
    await fill(writer);
    await writer.finish();
  } catch (error) {
    await writer?.abort();
    throw asWriteFailure(file, error);
  }
}

/**
 * Merges the tiles into `<outDir>/<feature>.tif`. Every input is checked before anything is written,
 * and the files are written under temporary names and renamed only once all are complete, so a
 * failed merge leaves earlier results as they were.
 */
export async function mergeRasters(options: MergeOptions): Promise<MergeResult> {
  const tiles = await placeTiles(options.tiles);
  const extent = extentOf(tiles);
  if (!extent) throw new MergeInputError(`no points in any tile (${tiles.length} tile(s), every cell empty)`);
  const width = extent.maxCol - extent.minCol + 1;
  const height = extent.maxRow - extent.minRow + 1;
  if (width > MAX_MOSAIC_SIDE || height > MAX_MOSAIC_SIDE) {
    throw new MergeInputError(`the mosaic would be ${width} x ${height} cells (at most ${MAX_MOSAIC_SIDE} a side): are the tiles in one CRS and cell grid?`);
  }
  await checkOverlaps(tiles);
  const crs = resolveCrs(tiles, options.crs);
  const { featureNames: features, cellSize } = tiles[0]!.info;
  // `+ 0` turns -0 into 0, so a mosaic whose corner is at 0 gets the same bytes however it was tiled.
  const grid = {
    width,
    height,
    originX: extent.minCol * cellSize + 0,
    originY: -extent.minRow * cellSize + 0,
    cellSize,
    crs,
  };
  try {
    await fs.promises.mkdir(options.outDir, { recursive: true });
  } catch (error) {
    throw writeFailure(options.outDir, "create the output directory", error);
  }
  const files = features.map((feature) => path.join(options.outDir, `${feature}.tif`));
  const suffix = `.${process.pid}-${randomBytes(4).toString("hex")}.tmp`;
  const written: string[] = [];
  try {
    for (let f = 0; f < features.length; f++) {
      // Listed before the write: a write that fails midway leaves a partial file to remove.
      written.push(files[f]! + suffix);
      const observer = options.observe?.(features[f]!, width, height);
      await writeFeature(files[f]!, files[f]! + suffix, (writer) => writeMosaic(tiles, f, extent, writer, DEFAULT_BLOCK_SIZE, observer), grid, options);
    }
    for (const file of files) {
      try {
        await fs.promises.rename(file + suffix, file);
      } catch (error) {
        throw writeFailure(file, "move the finished GeoTIFF into place", error);
      }
    }
  } catch (error) {
    await Promise.all(written.map((file) => fs.promises.rm(file, { force: true })));
    throw error;
  }
  return { files, features: [...features], ...grid };
}
