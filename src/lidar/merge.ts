/**
 * The `merge` built-in: mosaics the tiles' rasters (each an `export` component's raster.npy, float32
 * (feature, row, col), and raster_info.json) into one Float32 Cloud Optimized GeoTIFF per feature,
 * NaN where no tile has a value. The mosaic covers exactly the cells that hold a value, so it does
 * not depend on how the points were tiled.
 *
 * It works a band of 512 rows at a time, reading from each tile only the rows that overlap the band,
 * so memory holds a band of the mosaic (and the writer's overview bands), never the mosaic itself.
 */
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { CrsError, crsGeoKeys } from "./crs";
import { CogWriter, DEFAULT_BLOCK_SIZE } from "./cog/writer";
import { georeferenceTags, RasterGrid } from "./geotiff";
import { NpyFormatError, parseNpyHeader } from "./npy";

export interface MergeTile {
  readonly raster: string;
  readonly info: string;
}

export interface MergeOptions {
  readonly tiles: readonly MergeTile[];
  readonly outDir: string;
  /** The CRS ("EPSG:<code>") when the tiles do not name one. */
  readonly crs?: string;
  /** Write BigTIFF even when a file stays under 4 GiB (it is BigTIFF anyway when it does not). */
  readonly forceBigTiff?: boolean;
}

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

/** A tile that cannot be merged: one line naming the file and the problem. */
export class MergeInputError extends Error {}

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

/** A tile's raster_info.json, checked. */
interface TileInfo {
  readonly featureNames: readonly string[];
  readonly originX: number;
  readonly originY: number;
  readonly cellSize: number;
  readonly rows: number;
  readonly cols: number;
  readonly crs: string;
}

/** Cells of a rectangle, inclusive bounds. */
interface CellBox {
  minRow: number;
  maxRow: number;
  minCol: number;
  maxCol: number;
}

/** A checked tile placed on the global cell grid (row 0 at y = 0, rows growing southward). */
interface PlacedTile {
  readonly tile: MergeTile;
  readonly info: TileInfo;
  /** Byte offset of the raster's data in its .npy file. */
  readonly dataOffset: number;
  /** Global row and column of the tile's north-west cell. */
  readonly row0: number;
  readonly col0: number;
  /** The tile's cells with a value in some feature (tile coordinates), if any. */
  readonly dataBox?: CellBox;
}

/** Origins may be off a multiple of the cell size by this fraction of a cell (float noise). */
const ALIGNMENT_TOLERANCE = 1e-6;
/** Enough bytes for any version 1.0 .npy header (its length is a uint16). */
const NPY_HEADER_MAX_BYTES = 10 + 0xffff;
/**
 * A sanity bound, not a format limit: 2,000 km at 10 m, a band of 512 rows is then 400 MB. A mosaic
 * wider is tiles in different CRSs or grids.
 */
const MAX_MOSAIC_SIDE = 200_000;
/** Feature names become file names. */
const SAFE_FEATURE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

function fail(file: string, problem: string): never {
  throw new MergeInputError(`${file}: ${problem}`);
}

function numberField(file: string, json: Record<string, unknown>, name: string, check: (n: number) => boolean, expected: string): number {
  const value = json[name];
  if (typeof value !== "number" || !check(value)) fail(file, `'${name}' must be ${expected} (got ${JSON.stringify(value)})`);
  return value;
}

async function readTileInfo(file: string): Promise<TileInfo> {
  let json: unknown;
  try {
    json = JSON.parse(await fs.promises.readFile(file, "utf8"));
  } catch (error) {
    fail(file, `cannot read the tile's raster info: ${(error as Error).message}`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) fail(file, "the raster info is not a JSON object");
  const record = json as Record<string, unknown>;
  const names = record.feature_names;
  if (!Array.isArray(names) || names.length === 0 || !names.every((n): n is string => typeof n === "string")) {
    fail(file, "'feature_names' must be a non-empty list of strings");
  }
  for (const name of names) {
    if (!SAFE_FEATURE_NAME.test(name)) fail(file, `feature name '${name}' cannot be a file name (letters, digits, '_', '.', '-')`);
  }
  if (new Set(names).size !== names.length) fail(file, "'feature_names' has duplicates");
  const crs = record.crs ?? "";
  if (typeof crs !== "string") fail(file, `'crs' must be a string (got ${JSON.stringify(crs)})`);
  const count = (n: number): boolean => Number.isSafeInteger(n) && n >= 0;
  return {
    featureNames: names,
    originX: numberField(file, record, "origin_x", Number.isFinite, "a number"),
    originY: numberField(file, record, "origin_y", Number.isFinite, "a number"),
    cellSize: numberField(file, record, "cell_size", (n) => Number.isFinite(n) && n > 0, "a positive number"),
    rows: numberField(file, record, "rows", count, "a non-negative integer"),
    cols: numberField(file, record, "cols", count, "a non-negative integer"),
    crs: crs.trim(),
  };
}

/** The index of an origin on the cell grid; an error if it is not on the grid. */
function gridIndex(file: string, name: string, origin: number, cellSize: number): number {
  const index = Math.round(origin / cellSize);
  if (Math.abs(origin - index * cellSize) > ALIGNMENT_TOLERANCE * cellSize) {
    fail(file, `${name} ${origin} is not a multiple of cell_size ${cellSize}: tiles must be aligned to the cell grid`);
  }
  return index;
}

/** Reads `length` bytes at `position` into `target` (a short read is a truncated file). */
async function readExactly(handle: fs.promises.FileHandle, target: Uint8Array, position: number, file: string): Promise<void> {
  let done = 0;
  while (done < target.byteLength) {
    const { bytesRead } = await handle.read(target, done, target.byteLength - done, position + done);
    if (bytesRead === 0) fail(file, `the raster is cut short at byte ${position + done}`);
    done += bytesRead;
  }
}

/** Checks the raster's header against its info and returns where its data starts. */
async function rasterDataOffset(handle: fs.promises.FileHandle, file: string, info: TileInfo, infoFile: string): Promise<number> {
  const { size } = await handle.stat();
  const head = new Uint8Array(Math.min(size, NPY_HEADER_MAX_BYTES));
  await readExactly(handle, head, 0, file);
  let header;
  try {
    header = parseNpyHeader(head);
  } catch (error) {
    if (error instanceof NpyFormatError) fail(file, error.message);
    throw error;
  }
  if (header.descr !== "<f4") fail(file, `expected a float32 raster (<f4), got ${JSON.stringify(header.descr)}`);
  const expected = [info.featureNames.length, info.rows, info.cols];
  if (header.shape.join() !== expected.join()) {
    fail(file, `shape (${header.shape.join(", ")}) does not match ${path.basename(infoFile)}: (features, rows, cols) = (${expected.join(", ")})`);
  }
  const needed = header.dataOffset + expected[0]! * expected[1]! * expected[2]! * 4;
  if (size < needed) fail(file, `the raster is cut short: ${size} of ${needed} bytes`);
  return header.dataOffset;
}

/** One feature's band of a tile: rows × cols float32, row 0 north. */
async function readBand(handle: fs.promises.FileHandle, tile: PlacedTile, feature: number): Promise<Float32Array> {
  return readRows(handle, tile, feature, 0, tile.info.rows, new Float32Array(tile.info.rows * tile.info.cols));
}

/** Rows `first` to `first + count - 1` of one feature of a tile, into the start of `target`. */
async function readRows(handle: fs.promises.FileHandle, tile: PlacedTile, feature: number, first: number, count: number, target: Float32Array): Promise<Float32Array> {
  const { rows, cols } = tile.info;
  const cells = count * cols;
  await readExactly(handle, new Uint8Array(target.buffer, target.byteOffset, cells * 4), tile.dataOffset + ((feature * rows + first) * cols) * 4, tile.tile.raster);
  return target;
}

async function withRaster<T>(file: string, use: (handle: fs.promises.FileHandle) => Promise<T>): Promise<T> {
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(file, "r");
  } catch (error) {
    fail(file, `cannot open the tile's raster: ${(error as Error).message}`);
  }
  try {
    return await use(handle);
  } finally {
    await handle.close();
  }
}

/** The cells of a tile that hold a value in any feature (1 in the mask), and their bounding box. */
async function dataCells(handle: fs.promises.FileHandle, tile: PlacedTile): Promise<{ mask: Uint8Array; box?: CellBox }> {
  const { rows, cols, featureNames } = tile.info;
  const mask = new Uint8Array(rows * cols);
  for (let f = 0; f < featureNames.length; f++) {
    const band = await readBand(handle, tile, f);
    for (let i = 0; i < band.length; i++) if (!Number.isNaN(band[i]!)) mask[i] = 1;
  }
  let box: CellBox | undefined;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      if (mask[r * cols + c] === 0) continue;
      if (!box) box = { minRow: r, maxRow: r, minCol: c, maxCol: c };
      box.minRow = Math.min(box.minRow, r);
      box.maxRow = Math.max(box.maxRow, r);
      box.minCol = Math.min(box.minCol, c);
      box.maxCol = Math.max(box.maxCol, c);
    }
  }
  return { mask, box };
}

/** Reads and checks every tile (each against the first), placing it on the global grid. */
async function placeTiles(tiles: readonly MergeTile[]): Promise<PlacedTile[]> {
  const placed: PlacedTile[] = [];
  for (const tile of tiles) {
    const info = await readTileInfo(tile.info);
    const first = placed[0]?.info;
    if (first && info.cellSize !== first.cellSize) fail(tile.info, `cell_size ${info.cellSize} differs from ${first.cellSize} in ${placed[0]!.tile.info}`);
    if (first && info.featureNames.join("\n") !== first.featureNames.join("\n")) {
      fail(tile.info, `feature_names [${info.featureNames.join(", ")}] differ from [${first.featureNames.join(", ")}] in ${placed[0]!.tile.info}`);
    }
    const named = placed.find((p) => p.info.crs !== "");
    if (info.crs !== "" && named && info.crs !== named.info.crs) fail(tile.info, `crs '${info.crs}' differs from '${named.info.crs}' in ${named.tile.info}`);
    const col0 = gridIndex(tile.info, "origin_x", info.originX, info.cellSize);
    const row0 = -gridIndex(tile.info, "origin_y", info.originY, info.cellSize);
    // Only the box is kept: masks of ten thousand tiles would be the size of the mosaic.
    const entry = await withRaster(tile.raster, async (handle): Promise<PlacedTile> => {
      const placedTile: PlacedTile = { tile, info, row0, col0, dataOffset: await rasterDataOffset(handle, tile.raster, info, tile.info) };
      const { box } = await dataCells(handle, placedTile);
      return box ? { ...placedTile, dataBox: box } : placedTile;
    });
    placed.push(entry);
  }
  return placed;
}

/** The global cells with a value in any tile. */
function extentOf(tiles: readonly PlacedTile[]): CellBox | undefined {
  let extent: CellBox | undefined;
  for (const { dataBox: box, row0, col0 } of tiles) {
    if (!box) continue;
    const global = { minRow: row0 + box.minRow, maxRow: row0 + box.maxRow, minCol: col0 + box.minCol, maxCol: col0 + box.maxCol };
    extent = extent
      ? {
          minRow: Math.min(extent.minRow, global.minRow),
          maxRow: Math.max(extent.maxRow, global.maxRow),
          minCol: Math.min(extent.minCol, global.minCol),
          maxCol: Math.max(extent.maxCol, global.maxCol),
        }
      : global;
  }
  return extent;
}

/** A tile's data box on the global grid. */
function globalBox({ dataBox: box, row0, col0 }: PlacedTile): CellBox | undefined {
  return box && { minRow: row0 + box.minRow, maxRow: row0 + box.maxRow, minCol: col0 + box.minCol, maxCol: col0 + box.maxCol };
}

/** Global cells are grouped in squares of this many cells a side to find tiles whose boxes meet. */
const OVERLAP_BUCKET_CELLS = 512;

/** For each tile with data, the earlier tiles whose data boxes intersect its own. */
function intersectingEarlier(boxes: readonly (CellBox | undefined)[]): Map<number, number[]> {
  const buckets = new Map<string, number[]>();
  const found = new Map<number, number[]>();
  boxes.forEach((box, index) => {
    if (!box) return;
    const seen = new Set<number>();
    for (let by = Math.floor(box.minRow / OVERLAP_BUCKET_CELLS); by <= Math.floor(box.maxRow / OVERLAP_BUCKET_CELLS); by++) {
      for (let bx = Math.floor(box.minCol / OVERLAP_BUCKET_CELLS); bx <= Math.floor(box.maxCol / OVERLAP_BUCKET_CELLS); bx++) {
        const key = `${by},${bx}`;
        const members = buckets.get(key) ?? [];
        for (const other of members) {
          const b = boxes[other]!;
          if (seen.has(other) || b.maxRow < box.minRow || b.minRow > box.maxRow || b.maxCol < box.minCol || b.minCol > box.maxCol) continue;
          seen.add(other);
        }
        members.push(index);
        buckets.set(key, members);
      }
    }
    if (seen.size > 0) found.set(index, [...seen].sort((a, b) => a - b));
  });
  return found;
}

async function maskOf(tile: PlacedTile): Promise<Uint8Array> {
  return (await withRaster(tile.tile.raster, (handle) => dataCells(handle, tile))).mask;
}

/**
 * An error if two tiles have a value in the same cell: their points were counted twice. Only tiles
 * whose data boxes meet are compared, cell by cell, so this needs no mosaic-sized array. The error
 * names the first tile (in input order) with a cell an earlier one has, at its first such cell.
 */
async function checkOverlaps(tiles: readonly PlacedTile[]): Promise<void> {
  const boxes = tiles.map(globalBox);
  for (const [index, earlier] of intersectingEarlier(boxes)) {
    const tile = tiles[index]!;
    const { cols } = tile.info;
    const mask = await maskOf(tile);
    let first: { row: number; col: number; other: number } | undefined;
    for (const other of earlier) {
      const them = tiles[other]!;
      const theirMask = await maskOf(them);
      const [a, b] = [boxes[index]!, boxes[other]!];
      const [top, bottom, left, right] = [Math.max(a.minRow, b.minRow), Math.min(a.maxRow, b.maxRow), Math.max(a.minCol, b.minCol), Math.min(a.maxCol, b.maxCol)];
      search: for (let row = top; row <= bottom; row++) {
        if (first && row > first.row) break;
        for (let col = left; col <= right; col++) {
          if (first && row === first.row && col >= first.col) break;
          if (mask[(row - tile.row0) * cols + col - tile.col0] === 1 && theirMask[(row - them.row0) * them.info.cols + col - them.col0] === 1) {
            first = { row, col, other };
            break search;
          }
        }
      }
    }
    if (first) {
      const x = first.col * tile.info.cellSize;
      const y = -first.row * tile.info.cellSize;
      fail(tile.tile.info, `tiles overlap: this tile and ${tiles[first.other]!.tile.info} both have values for the cell with north-west corner (${x}, ${y})`);
    }
  }
}

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
async function writeMosaic(tiles: readonly PlacedTile[], feature: number, extent: CellBox, writer: CogWriter, blockSize: number): Promise<void> {
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
      await withRaster(tile.tile.raster, (handle) => readRows(handle, tile, feature, first, last - first + 1, rows));
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
    await writer.writeRows(band, bandRows);
  }
}

/** A failure to write `file`, as a MergeOutputError when the system refused (a full disk, say). */
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
      await writeFeature(files[f]!, files[f]! + suffix, (writer) => writeMosaic(tiles, f, extent, writer, DEFAULT_BLOCK_SIZE), grid, options);
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
