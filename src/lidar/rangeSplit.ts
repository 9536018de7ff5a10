import * as fs from "fs";
import * as path from "path";
import { LidarInputError } from "./errors";
import { expandInputs } from "./inputs";
import type { LasHeader } from "./lasHeader";
import { npyHeader } from "./npy";
import { TILE_DTYPE, TILE_RECORD_BYTES } from "./pointRecords";
import { openPointSource } from "./pointSource";
import type { RangeSegment, TileCount, TileWritten } from "./rangeTasks";
import { agreedCrs, cellsPerTileOf, moveInto, splitOpenedPointClouds, splitPointClouds, writeSidecar } from "./split";
import type { SplitOptions, SplitResult } from "./split";
import { runInThread } from "../threadPool";
import { Tile, TILE_HEADER_BYTES, tileId } from "./tileStore";

/*
 * builtin/split of uncompressed LAS on several workers (issue 13): the points, all files' records one
 * after the other in the order the one-thread split reads them, are cut into one contiguous range per
 * worker, and each range is split in its own thread in two passes:
 *   1. count: each tile's points in the range (and their cells' bounds and source files);
 *   2. write: with every count known, each tile's `.npy` is created with the header of its final
 *      count, and each range writes its records at their place in it: after the header and the
 *      earlier ranges' records of that tile.
 * So every point is written once, straight into its tile, by any number of threads, and the files
 * are byte for byte those of the one-thread split (test/lidar-split-ranges.test.ts): the step's cache
 * key does not depend on the number of workers. Pass 1 reads the records a second time, from the
 * page cache; it costs about a third of pass 2 (bench/split.bench.ts).
 *
 * LAZ is left to the split per file (parallelSplit.ts): decoding it twice would double its real cost.
 */

/** Fewer points than this a range, and a thread's start costs more than it saves. */
export const MIN_POINTS_PER_RANGE = 1_000_000;

export interface RangeSplitOptions extends SplitOptions {
  readonly workers: number;
  /** MIN_POINTS_PER_RANGE unless given (tests split small files in ranges). */
  readonly minPointsPerRange?: number;
}

/** How many ranges the inputs are split in: 1 (the one-thread split) unless they are uncompressed, big enough and there are workers. */
export function rangeCount(headers: readonly LasHeader[], workers: number, minPointsPerRange = MIN_POINTS_PER_RANGE): number {
  if (headers.some((h) => h.compressed)) return 1;
  const points = headers.reduce((sum, h) => sum + h.pointCount, 0);
  return Math.max(1, Math.min(Math.floor(workers), Math.floor(points / Math.max(1, minPointsPerRange))));
}

/** `count` ranges of about equal numbers of points over the files' records, in read order. */
export function planRanges(headers: readonly LasHeader[], count: number): RangeSegment[][] {
  const total = headers.reduce((sum, h) => sum + h.pointCount, 0);
  const ranges: RangeSegment[][] = [];
  let fileIndex = 0;
  let first = 0;
  for (let r = 0; r < count; r++) {
    let left = Math.floor((total * (r + 1)) / count) - Math.floor((total * r) / count);
    const segments: RangeSegment[] = [];
    while (left > 0) {
      const header = headers[fileIndex]!;
      const take = Math.min(left, header.pointCount - first);
      if (take > 0) segments.push({ file: header.file, fileIndex, first, count: take });
      left -= take;
      first += take;
      if (first === header.pointCount) {
        fileIndex++;
        first = 0;
      }
    }
    ranges.push(segments);
  }
  return ranges;
}

/**
 * The first failure in range order (so the error is the one the one-thread split meets first),
 * after every thread has ended; else each range's result.
 */
async function inRangeOrder<T>(tasks: readonly Promise<T>[]): Promise<T[]> {
  const settled = await Promise.allSettled(tasks);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
  if (failed) throw failed.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<T>).value);
}

/** The tiles of all ranges (pass 1), and for each range where its records of each tile go. */
function placeTiles(counts: readonly (readonly TileCount[])[], dir: string): { tiles: Tile[]; placements: [string, number][][] } {
  const tiles = new Map<string, Tile>();
  const placements = counts.map((rangeCounts) =>
    rangeCounts.map((c): [string, number] => {
      const id = tileId(c.tx, c.ty);
      let tile = tiles.get(id);
      if (!tile) tiles.set(id, (tile = new Tile(id, c.tx, c.ty, path.join(dir, `${id}.npy`))));
      const offset = TILE_HEADER_BYTES + tile.pointCount * TILE_RECORD_BYTES;
      tile.pointCount += c.pointCount;
      tile.minCx = Math.min(tile.minCx, c.minCx);
      tile.maxCx = Math.max(tile.maxCx, c.maxCx);
      tile.minCy = Math.min(tile.minCy, c.minCy);
      tile.maxCy = Math.max(tile.maxCy, c.maxCy);
      for (const source of c.sources) {
        if (source !== tile.lastSource) tile.sources.push(source);
        tile.lastSource = source;
      }
      return [id, offset];
    }),
  );
  return { tiles: [...tiles.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)), placements };
}

/** An error unless pass 2 wrote of each tile what pass 1 counted: a file changed between the passes. */
function checkWritten(written: readonly (readonly TileWritten[])[], counts: readonly (readonly TileCount[])[], files: readonly string[]): void {
  written.forEach((rangeWritten, r) => {
    const counted = new Map(counts[r]!.map((c) => [tileId(c.tx, c.ty), c.pointCount]));
    const same = rangeWritten.length === counted.size && rangeWritten.every(([id, n]) => counted.get(id) === n);
    if (!same) throw new LidarInputError(`${files.join(", ")}: the points changed while they were split (read twice, they fall in different tiles); split again once nothing writes the files`);
  });
}

/**
 * Cuts LAS/LAZ point clouds into tiles as `splitPointClouds` does, the same files byte for byte, in
 * `workers` threads when the inputs are uncompressed and big enough (else it is `splitPointClouds`).
 */
export async function splitPointCloudsInRanges(options: RangeSplitOptions): Promise<SplitResult> {
  // What the one-thread split checks before any point is read, in the same order.
  // One worker: the one-thread split, which reads the headers (and LAZ chunk tables) itself, once.
  if (options.workers < 2) return splitPointClouds(options);
  cellsPerTileOf(options.tileSize, options.cellSize);
  const files = expandInputs(options.input);
  const sources = files.map(openPointSource);
  const headers = sources.map((s) => s.header);
  const ranges = rangeCount(headers, options.workers, options.minPointsPerRange);
  if (ranges < 2) return splitOpenedPointClouds(options, files, sources);
  const crs = agreedCrs(sources) || (options.crs ?? "");
  const pointsTotal = headers.reduce((sum, h) => sum + h.pointCount, 0);
  const plan = planRanges(headers, ranges);

  // Each pass reads every point once: progress is the points of both passes, halved.
  const done = { count: new Array<number>(ranges).fill(0), write: new Array<number>(ranges).fill(0) };
  const progress = (pass: keyof typeof done, r: number) => (points: number) => {
    done[pass][r] = points;
    const sum = (a: number[]): number => a.reduce((x, y) => x + y, 0);
    options.onProgress?.(Math.floor((sum(done.count) + sum(done.write)) / 2), pointsTotal);
  };
  const run = { tileSize: options.tileSize, cellSize: options.cellSize };

  fs.mkdirSync(options.outDir, { recursive: true });
  const workDir = fs.mkdtempSync(path.join(options.outDir, ".split-"));
  try {
    options.onProgress?.(0, pointsTotal);
    const counts = await inRangeOrder(plan.map((segments, r) => runInThread("count", { segments, ...run }, progress("count", r), options.signal)));
    const { tiles, placements } = placeTiles(counts, workDir);
    for (const tile of tiles) fs.writeFileSync(tile.npyPath, npyHeader(TILE_DTYPE, [tile.pointCount], true));
    const written = await inRangeOrder(
      plan.map((segments, r) => runInThread("write", { segments, ...run, dir: workDir, placement: placements[r]! }, progress("write", r), options.signal)),
    );
    checkWritten(written, counts, files);
    const placed = tiles.map((tile) => moveInto(writeSidecar(tile, workDir, { crs, files, tileSize: options.tileSize, cellSize: options.cellSize }), options.outDir));
    fs.rmSync(workDir, { recursive: true, force: true });
    return { tiles: placed, files, pointCount: pointsTotal, crs };
  } catch (error) {
    fs.rmSync(workDir, { recursive: true, force: true });
    throw error;
  }
}
