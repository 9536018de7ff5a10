import { readLasHeader } from "./lasHeader";
import { readLasRecords } from "./lasRecords";
import { cellsPerTileOf } from "./split";
import { PointTiler } from "./tiler";
import { TileStore } from "./tileStore";

/*
 * The two passes of one range of the split in ranges (rangeSplit.ts), as a thread runs them: the
 * range's points counted per tile, then, once every tile's place in its file is known, written there.
 * Both passes decode the records with the same PointTiler the one-thread split uses, so a point's
 * tile, its record and the check of the header's bounding box are the same code.
 */

/** Records `first` to `first + count - 1` of one input file (uncompressed LAS). */
export interface RangeSegment {
  readonly file: string;
  /** The file's place among the split's inputs (a tile's sidecar lists its sources by it). */
  readonly fileIndex: number;
  readonly first: number;
  readonly count: number;
}

export interface RangeCountOptions {
  /** Consecutive records of the inputs, in the order the one-thread split reads them. */
  readonly segments: readonly RangeSegment[];
  readonly tileSize: number;
  readonly cellSize: number;
}

/** A tile's points in one range: how many, their cells' bounds, and the input files they came from, in order. */
export interface TileCount {
  readonly tx: number;
  readonly ty: number;
  readonly pointCount: number;
  readonly minCx: number;
  readonly maxCx: number;
  readonly minCy: number;
  readonly maxCy: number;
  readonly sources: readonly number[];
}

export interface RangeWriteOptions extends RangeCountOptions {
  /** Where the tiles' `.npy` files are, each created with its header. */
  readonly dir: string;
  /** For each tile the range has points of: the byte offset of its first record here. */
  readonly placement: readonly (readonly [id: string, offset: number])[];
}

/** What the write pass wrote of a tile: it must be what the count pass counted. */
export type TileWritten = readonly [id: string, pointCount: number];

type Progress = (done: number, total: number) => void;

async function decode(segments: readonly RangeSegment[], tiler: PointTiler, onProgress: Progress): Promise<void> {
  const total = segments.reduce((sum, s) => sum + s.count, 0);
  let done = 0;
  for (const segment of segments) {
    const header = readLasHeader(segment.file);
    tiler.startFile(header, segment.fileIndex, segment.first);
    await readLasRecords(
      header,
      (records, count) => {
        tiler.add(records, count);
        done += count;
        onProgress(done, total);
      },
      { first: segment.first, count: segment.count },
    );
  }
}

/** Pass 1: the range's points per tile, nothing written. */
export async function countRange(options: RangeCountOptions, onProgress: Progress): Promise<TileCount[]> {
  // A counting tiler never asks the store for room, so the store writes nothing (and needs no directory).
  const store = new TileStore("");
  await decode(options.segments, new PointTiler(store, options.cellSize, cellsPerTileOf(options.tileSize, options.cellSize), true), onProgress);
  return store.sortedTiles().map(({ tx, ty, pointCount, minCx, maxCx, minCy, maxCy, sources }) => ({ tx, ty, pointCount, minCx, maxCx, minCy, maxCy, sources }));
}

/** Pass 2: the range's records written at their places; what it wrote of each tile. */
export async function writeRange(options: RangeWriteOptions, onProgress: Progress): Promise<TileWritten[]> {
  const store = new TileStore(options.dir, undefined, new Map(options.placement));
  try {
    await decode(options.segments, new PointTiler(store, options.cellSize, cellsPerTileOf(options.tileSize, options.cellSize)), onProgress);
  } catch (error) {
    store.abandon();
    throw error;
  }
  return store.finish().map((tile) => [tile.id, tile.pointCount] as const);
}
