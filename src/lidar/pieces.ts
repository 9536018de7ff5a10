import * as fs from "fs";
import * as path from "path";
import { LidarInputError } from "./errors";
import { expandInputs } from "./inputs";
import { npyHeader, NpyFormatError, parseNpyHeader } from "./npy";
import { TILE_DTYPE, TILE_RECORD_BYTES } from "./pointRecords";
import { openPointSource } from "./pointSource";
import { agreedCrs, cellsPerTileOf, splitPointClouds } from "./split";
import type { SplitResult } from "./split";

/**
 * The split in parallel (issue 12): `checkInputSet` lists and checks the inputs, `splitFileIntoPieces`
 * cuts ONE input into pieces keyed by tile (one task per input, side by side), `planTiles` groups the
 * pieces of all inputs by tile, and `joinTile` concatenates one tile's pieces in input order into
 * exactly the `.npy` and sidecar that `splitPointClouds` writes for all inputs in one process.
 */

export interface InputSet {
  /** The input files in the order today's split reads them (sorted, as `expandInputs` gives them). */
  readonly files: readonly string[];
  /** The CRS the tiles carry: the one the files agree on, else the `crs` given ("" for none). */
  readonly crs: string;
  readonly pointCount: number;
}

/** Expands `input` and reads every file's header (and LAZ chunk table), so bad input fails before any point is read. */
export function checkInputSet(input: string, crs = ""): InputSet {
  const files = expandInputs(input);
  const sources = files.map(openPointSource);
  return { files, crs: agreedCrs(sources) || crs, pointCount: sources.reduce((sum, s) => sum + s.header.pointCount, 0) };
}

export interface PieceOptions {
  /** One LAS/LAZ file (one item of `checkInputSet(...).files`). */
  readonly file: string;
  /** Receives `<tile>.npy` + `<tile>.json` per tile the file's points fall in. */
  readonly outDir: string;
  readonly tileSize: number;
  readonly cellSize: number;
  readonly onProgress?: (pointsRead: number, pointsTotal: number) => void;
  readonly signal?: AbortSignal;
}

/**
 * The pieces of one input: today's split run on that file alone. Each piece is a tile `.npy` of the
 * file's points in read order, and its sidecar holds what the join needs: bounds, count, the file, its CRS.
 */
export async function splitFileIntoPieces(options: PieceOptions): Promise<SplitResult> {
  const named = expandInputs(options.file);
  if (named.length !== 1 || named[0] !== options.file) {
    throw new LidarInputError(`${options.file}: a split into pieces reads one LAS/LAZ file, but this names ${named.length}; list the files first (builtin/inputs)`);
  }
  return splitPointClouds({ input: options.file, outDir: options.outDir, tileSize: options.tileSize, cellSize: options.cellSize, crs: "", onProgress: options.onProgress, signal: options.signal });
}

/** A piece's sidecar, as `splitPointClouds` writes it for one file. */
interface PieceSidecar {
  readonly tile: string;
  readonly bounds: readonly [number, number, number, number];
  readonly point_count: number;
  readonly source_files: readonly string[];
  readonly tile_size: number;
  readonly cell_size: number;
}

function sidecarOf(npy: string): string {
  return npy.replace(/\.npy$/, ".json");
}

function readPieceSidecar(npy: string): PieceSidecar {
  const file = sidecarOf(npy);
  let value: PieceSidecar;
  try {
    value = JSON.parse(fs.readFileSync(file, "utf8")) as PieceSidecar;
  } catch (error) {
    throw new LidarInputError(`${file}: not a piece's sidecar (${(error as Error).message}); give the pieces a split into pieces wrote`);
  }
  const fine = typeof value?.tile === "string" && Array.isArray(value.bounds) && value.bounds.length === 4 && Number.isSafeInteger(value.point_count) &&
    Array.isArray(value.source_files) && value.source_files.length === 1 && typeof value.tile_size === "number" && typeof value.cell_size === "number";
  if (!fine) throw new LidarInputError(`${file}: not a piece's sidecar (expected tile, bounds, point_count, one source file, tile_size, cell_size)`);
  return value;
}

/** A tile's plan: its pieces' `.npy` files in input order. */
export interface TilePlan {
  readonly tile: string;
  readonly tile_size: number;
  readonly cell_size: number;
  /** The tile's points, summed over its pieces (the local runner's progress reads it, as from a tile's sidecar). */
  readonly point_count: number;
  readonly pieces: readonly string[];
}

/**
 * The pieces of every input grouped by tile, one plan per tile, sorted by tile id as today's split
 * sorts its tiles. Within a tile the pieces are in input order: the inputs are sorted paths
 * (expandInputs), so sorting by source file gives that order.
 */
function groupPieces(pieces: readonly string[]): TilePlan[] {
  const byTile = new Map<string, { npy: string; sidecar: PieceSidecar }[]>();
  let sizes: { tile: number; cell: number; from: string } | undefined;
  for (const npy of pieces) {
    const sidecar = readPieceSidecar(npy);
    sizes ??= { tile: sidecar.tile_size, cell: sidecar.cell_size, from: npy };
    if (sidecar.tile_size !== sizes.tile || sidecar.cell_size !== sizes.cell) {
      throw new LidarInputError(`${sidecarOf(npy)}: tile_size ${sidecar.tile_size} / cell_size ${sidecar.cell_size} differ from ${sizes.tile} / ${sizes.cell} of ${sidecarOf(sizes.from)}; split every input with the same sizes`);
    }
    const group = byTile.get(sidecar.tile) ?? [];
    group.push({ npy, sidecar });
    byTile.set(sidecar.tile, group);
  }
  const tiles = [...byTile.keys()].sort(compare);
  return tiles.map((tile) => {
    const group = byTile.get(tile)!.sort((a, b) => compare(a.sidecar.source_files[0]!, b.sidecar.source_files[0]!));
    for (let i = 1; i < group.length; i++) {
      if (group[i]!.sidecar.source_files[0] === group[i - 1]!.sidecar.source_files[0]) {
        throw new LidarInputError(`${group[i]!.npy} and ${group[i - 1]!.npy}: two pieces of ${tile} from ${group[i]!.sidecar.source_files[0]}; give each input's pieces once`);
      }
    }
    const point_count = group.reduce((sum, p) => sum + p.sidecar.point_count, 0);
    return { tile, tile_size: sizes!.tile, cell_size: sizes!.cell, point_count, pieces: group.map((p) => path.resolve(p.npy)) };
  });
}

/** Groups the pieces of every input by tile and writes one plan `<outDir>/<tile>.json` per tile; the plans' paths, sorted by tile id. */
export function planTiles(pieces: readonly string[], outDir: string): string[] {
  const plans = groupPieces(pieces);
  fs.mkdirSync(outDir, { recursive: true });
  return plans.map((plan) => {
    const file = path.join(outDir, `${plan.tile}.json`);
    fs.writeFileSync(file, JSON.stringify(plan, null, 1) + "\n");
    return file;
  });
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function readPlan(file: string): TilePlan {
  let plan: TilePlan;
  try {
    plan = JSON.parse(fs.readFileSync(file, "utf8")) as TilePlan;
  } catch (error) {
    throw new LidarInputError(`${file}: not a tile plan (${(error as Error).message})`);
  }
  if (typeof plan?.tile !== "string" || !Array.isArray(plan.pieces) || plan.pieces.length === 0 || typeof plan.tile_size !== "number" || typeof plan.cell_size !== "number") {
    throw new LidarInputError(`${file}: not a tile plan (expected tile, tile_size, cell_size and a non-empty list of pieces)`);
  }
  return plan;
}

export interface JoinOptions {
  /** A plan `planTiles` wrote. */
  readonly plan: string;
  /** Receives `<tile>.npy` and `<tile>.json`. */
  readonly outDir: string;
  /** The CRS of the whole input set (`checkInputSet(...).crs`), which today's sidecar names. */
  readonly crs: string;
}

const COPY_BYTES = TILE_RECORD_BYTES * 65536;

/**
 * Writes the tile's `.npy` (the pieces' records one after the other, under the header today's tile
 * store writes) and its sidecar, byte for byte as `splitPointClouds` over all inputs would.
 */
export function joinTile(options: JoinOptions): { npy: string; json: string; pointCount: number } {
  return joinPlan(readPlan(options.plan), options);
}

/**
 * The join of one tile from a directory holding only its pieces (`<dir>/<any name>.npy` + `.json`,
 * as a pod receives `pieces/<tile>/`), in the order planTiles gives them (by their sidecars' source
 * file), without a plan file. The directory's name must be the tile's.
 */
export function joinTileDirectory(options: { readonly dir: string; readonly outDir: string; readonly crs: string }): { npy: string; json: string; pointCount: number } {
  let names: string[];
  try {
    names = fs.readdirSync(options.dir).filter((name) => name.endsWith(".npy") && !name.startsWith("."));
  } catch (error) {
    throw new LidarInputError(`${options.dir}: cannot list the tile's pieces (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  if (names.length === 0) throw new LidarInputError(`${options.dir}: holds no pieces (<name>.npy + <name>.json, as a split into pieces writes them)`);
  const plans = groupPieces(names.sort(compare).map((name) => path.join(options.dir, name)));
  const tile = path.basename(path.resolve(options.dir));
  if (plans.length !== 1 || plans[0]!.tile !== tile) {
    throw new LidarInputError(`${options.dir}: holds pieces of ${plans.map((p) => p.tile).join(", ")}, but a tile's directory holds only pieces of the tile it is named after (${tile})`);
  }
  return joinPlan(plans[0]!, { outDir: options.outDir, crs: options.crs });
}

function joinPlan(plan: TilePlan, options: Omit<JoinOptions, "plan">): { npy: string; json: string; pointCount: number } {
  cellsPerTileOf(plan.tile_size, plan.cell_size);
  const parts = plan.pieces.map((npy) => ({ npy, sidecar: readPieceSidecar(npy), dataOffset: pieceDataOffset(npy) }));
  for (const part of parts) {
    if (part.sidecar.tile !== plan.tile) throw new LidarInputError(`${part.npy}: a piece of ${part.sidecar.tile}, not of ${plan.tile}`);
  }
  const pointCount = parts.reduce((sum, p) => sum + p.sidecar.point_count, 0);
  fs.mkdirSync(options.outDir, { recursive: true });
  const npy = path.join(options.outDir, `${plan.tile}.npy`);
  // A tile of one piece is that piece, byte for byte (the same tile store wrote it, header and all):
  // a hard link saves writing its points again.
  if (parts.length === 1 && linked(parts[0]!.npy, npy)) return { npy, json: writeSidecar(plan, parts, options), pointCount };
  const out = fs.openSync(npy, "w");
  try {
    writeAll(out, npyHeader(TILE_DTYPE, [pointCount], true));
    const buffer = Buffer.allocUnsafe(COPY_BYTES);
    for (const part of parts) copyRecords(part.npy, part.dataOffset, part.sidecar.point_count * TILE_RECORD_BYTES, out, buffer);
  } finally {
    fs.closeSync(out);
  }
  return { npy, json: writeSidecar(plan, parts, options), pointCount };
}

function linked(from: string, to: string): boolean {
  try {
    fs.linkSync(from, to);
    return true;
  } catch {
    return false; // another file system, or links not allowed: copy
  }
}

function writeSidecar(plan: TilePlan, parts: readonly { sidecar: PieceSidecar }[], options: Omit<JoinOptions, "plan">): string {
  const pointCount = parts.reduce((sum, p) => sum + p.sidecar.point_count, 0);
  // Bounds are cells × cell_size, and rounding a product is monotone: the min of the pieces' lower
  // edges is the lower edge of their least cell, exactly as one split computes it.
  const bounds = [
    Math.min(...parts.map((p) => p.sidecar.bounds[0])),
    Math.min(...parts.map((p) => p.sidecar.bounds[1])),
    Math.max(...parts.map((p) => p.sidecar.bounds[2])),
    Math.max(...parts.map((p) => p.sidecar.bounds[3])),
  ];
  const sidecar = {
    tile: plan.tile,
    bounds,
    point_count: pointCount,
    crs: options.crs,
    source_files: parts.map((p) => p.sidecar.source_files[0]),
    tile_size: plan.tile_size,
    cell_size: plan.cell_size,
  };
  const json = path.join(options.outDir, `${plan.tile}.json`);
  fs.writeFileSync(json, JSON.stringify(sidecar, null, 2) + "\n");
  return json;
}

/** Where a piece's records start; checks it is a tile `.npy` holding as many records as its sidecar says. */
function pieceDataOffset(npy: string): number {
  const fd = fs.openSync(npy, "r");
  try {
    const head = Buffer.alloc(4096);
    const read = fs.readSync(fd, head, 0, head.length, 0);
    let header;
    try {
      header = parseNpyHeader(head.subarray(0, read));
    } catch (error) {
      if (error instanceof NpyFormatError) throw new LidarInputError(`${npy}: ${error.message}`);
      throw error;
    }
    if (JSON.stringify(header.descr) !== JSON.stringify(TILE_DTYPE)) throw new LidarInputError(`${npy}: not a tile's records (dtype ${JSON.stringify(header.descr)})`);
    const expected = readPieceSidecar(npy).point_count;
    if (header.shape[0] !== expected || fs.fstatSync(fd).size !== header.dataOffset + expected * TILE_RECORD_BYTES) {
      throw new LidarInputError(`${npy}: holds ${header.shape[0]} records and ${fs.fstatSync(fd).size} bytes, but its sidecar says ${expected} points`);
    }
    return header.dataOffset;
  } finally {
    fs.closeSync(fd);
  }
}

function copyRecords(file: string, offset: number, length: number, out: number, buffer: Buffer): void {
  const fd = fs.openSync(file, "r");
  try {
    for (let done = 0; done < length; ) {
      const read = fs.readSync(fd, buffer, 0, Math.min(buffer.length, length - done), offset + done);
      if (read === 0) throw new LidarInputError(`${file}: cut short at byte ${offset + done}`);
      writeAll(out, buffer.subarray(0, read));
      done += read;
    }
  } finally {
    fs.closeSync(fd);
  }
}

function writeAll(fd: number, bytes: Uint8Array): void {
  for (let written = 0; written < bytes.length; ) written += fs.writeSync(fd, bytes, written, bytes.length - written);
}
