import * as fs from "fs";
import * as path from "path";
import { checkInputSet, joinTile, planTiles } from "./pieces";
import { splitFileInWorker } from "./splitWorker";

/*
 * builtin/split with several compressed input files and several workers (issue 12, "Split in parallel"): each
 * file is split alone in a worker thread (at most `workers` at once), then each tile is joined from
 * its files' pieces in input order (src/lidar/pieces.ts). The tiles are byte for byte those of one
 * split of all files (test/lidar-split-workers.test.ts), so the step's cache key does not depend on
 * the number of workers. A tile that one file alone fills is its piece, hard-linked, not copied.
 */

export interface ParallelSplitOptions {
  /** A LAS/LAZ file, a directory of them, or a pattern, as builtin/split's `input`. */
  readonly input: string;
  readonly outDir: string;
  readonly tileSize: number;
  readonly cellSize: number;
  /** Used when the files carry no CRS; "" = none given. */
  readonly crs: string;
  readonly workers: number;
  readonly onProgress?: (pointsRead: number, pointsTotal: number) => void;
  readonly signal?: AbortSignal;
}

/**
 * Whether the split of `files` runs in parallel: more than one file and one worker, and compressed
 * input. Reading LAZ is CPU-bound (the arithmetic decoder), so a second core shortens it. For LAS the
 * pieces are one more write of every point: on this machine the sequential split of 80 M LAS points
 * took 10.6 s alone, this one 16.7 s in the run (bench/scale.bench.ts), while 4 LAZ files split in
 * 0.87 s on 2 workers against 1.0 s on 1. LAS is split in ranges instead (rangeSplit.ts), which
 * writes every point once.
 */
export function splitsInParallel(files: readonly string[], workers: number): boolean {
  return files.length > 1 && workers > 1 && files.some((file) => /\.laz$/i.test(file));
}

/** The tiles' `.npy` files, sorted by tile id as one split lists them. */
export async function splitInParallel(options: ParallelSplitOptions): Promise<string[]> {
  // Every header first (and the CRS they agree on), so bad input fails before any point is read, as one split does.
  const set = checkInputSet(options.input, options.crs);
  const read = new Array<number>(set.files.length).fill(0);
  const scratch = path.join(options.outDir, ".pieces");
  const pieces: string[][] = new Array(set.files.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < set.files.length; i = next++) {
      const result = await splitFileInWorker({
        file: set.files[i]!,
        outDir: path.join(scratch, String(i)),
        tileSize: options.tileSize,
        cellSize: options.cellSize,
        signal: options.signal,
        onProgress: (done) => {
          read[i] = done;
          options.onProgress?.(read.reduce((a, b) => a + b, 0), set.pointCount);
        },
      });
      pieces[i] = result.tiles.map((t) => t.npy);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(options.workers, set.files.length) }, worker));
    const plans = planTiles(pieces.flat(), path.join(scratch, "plans"));
    return plans.map((plan) => joinTile({ plan, outDir: options.outDir, crs: set.crs }).npy);
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}
