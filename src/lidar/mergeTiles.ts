/**
 * The merge's inputs: each tile's raster_info.json and raster.npy read and checked, the tile placed on
 * the global cell grid with the box of its cells that hold a value, and its rows read on demand.
 * Nothing here keeps a tile's data: the merge reads the rows it needs when it needs them.
 *
 * The reads are synchronous preads of small ranges, mostly from the page cache (the export steps
 * have just written them): done on libuv's thread pool, each would wait behind the tiles that the
 * COG writer is compressing there, and the merge made about ten reads a tile a feature.
 */
import * as fs from "fs";
import * as path from "path";
import { NpyFormatError, parseNpyHeader } from "./npy";

export interface MergeTile {
  readonly raster: string;
  readonly info: string;
}

/** A tile that cannot be merged: one line naming the file and the problem. */
export class MergeInputError extends Error {}

/** A tile's raster_info.json, checked. */
export interface TileInfo {
  readonly featureNames: readonly string[];
  readonly originX: number;
  readonly originY: number;
  readonly cellSize: number;
  readonly rows: number;
  readonly cols: number;
  readonly crs: string;
}

/** Cells of a rectangle, inclusive bounds. */
export interface CellBox {
  minRow: number;
  maxRow: number;
  minCol: number;
  maxCol: number;
}

/** A checked tile placed on the global cell grid (row 0 at y = 0, rows growing southward). */
export interface PlacedTile {
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
/** Feature names become file names. */
const SAFE_FEATURE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export function fail(file: string, problem: string): never {
  throw new MergeInputError(`${file}: ${problem}`);
}

function numberField(file: string, json: Record<string, unknown>, name: string, check: (n: number) => boolean, expected: string): number {
  const value = json[name];
  if (typeof value !== "number" || !check(value)) fail(file, `'${name}' must be ${expected} (got ${JSON.stringify(value)})`);
  return value;
}

function readTileInfo(file: string): TileInfo {
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, "utf8"));
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

/** Reads `target.byteLength` bytes at `position` into `target` (a short read is a truncated file). */
function readExactly(fd: number, target: Uint8Array, position: number, file: string): void {
  let done = 0;
  while (done < target.byteLength) {
    let bytesRead: number;
    try {
      bytesRead = fs.readSync(fd, target, done, target.byteLength - done, position + done);
    } catch (error) {
      fail(file, `cannot read the tile's raster: ${(error as Error).message}`);
    }
    if (bytesRead === 0) fail(file, `the raster is cut short at byte ${position + done}`);
    done += bytesRead;
  }
}

/** Checks the raster's header against its info and returns where its data starts. */
function rasterDataOffset(fd: number, file: string, info: TileInfo, infoFile: string): number {
  const { size } = fs.fstatSync(fd);
  const head = new Uint8Array(Math.min(size, NPY_HEADER_MAX_BYTES));
  readExactly(fd, head, 0, file);
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
function readBand(fd: number, tile: PlacedTile, feature: number): Float32Array {
  return readRows(fd, tile, feature, 0, tile.info.rows, new Float32Array(tile.info.rows * tile.info.cols));
}

/** Rows `first` to `first + count - 1` of one feature of a tile, into the start of `target`. */
export function readRows(fd: number, tile: PlacedTile, feature: number, first: number, count: number, target: Float32Array): Float32Array {
  const { rows, cols } = tile.info;
  const cells = count * cols;
  readExactly(fd, new Uint8Array(target.buffer, target.byteOffset, cells * 4), tile.dataOffset + ((feature * rows + first) * cols) * 4, tile.tile.raster);
  return target;
}

/** `use` of the raster's open descriptor, closed afterwards. */
export function withRaster<T>(file: string, use: (fd: number) => T): T {
  let fd: number;
  try {
    fd = fs.openSync(file, "r");
  } catch (error) {
    fail(file, `cannot open the tile's raster: ${(error as Error).message}`);
  }
  try {
    return use(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** The cells of a tile that hold a value in any feature (1 in the mask), and their bounding box. */
export function dataCells(fd: number, tile: PlacedTile): { mask: Uint8Array; box?: CellBox } {
  const { rows, cols, featureNames } = tile.info;
  const mask = new Uint8Array(rows * cols);
  for (let f = 0; f < featureNames.length; f++) {
    const band = readBand(fd, tile, f);
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
export async function placeTiles(tiles: readonly MergeTile[]): Promise<PlacedTile[]> {
  const placed: PlacedTile[] = [];
  for (const tile of tiles) {
    const info = readTileInfo(tile.info);
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
    const entry = withRaster(tile.raster, (fd): PlacedTile => {
      const placedTile: PlacedTile = { tile, info, row0, col0, dataOffset: rasterDataOffset(fd, tile.raster, info, tile.info) };
      const { box } = dataCells(fd, placedTile);
      return box ? { ...placedTile, dataBox: box } : placedTile;
    });
    placed.push(entry);
  }
  return placed;
}

/** The global cells with a value in any tile. */
export function extentOf(tiles: readonly PlacedTile[]): CellBox | undefined {
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

