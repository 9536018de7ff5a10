import * as fs from "fs";
import { LidarInputError } from "./errors";
import type { LasHeader } from "./lasHeader";
import { openRegularFile } from "./lasHeader";
import type { RecordBatchHandler } from "./lasRecords";
import { yieldToEventLoop } from "./lasRecords";
import type { LazChunk } from "./lazChunkTable";
import { ChunkReader, discardLazPerf, lazPerfModule } from "./lazPerf";
import { layeredChunkProblem } from "./layeredChunk";

const BATCH_POINTS = 65536;
/**
 * Zeros after a chunk, inside our allocation. A point is checked as soon as it is decoded, so the
 * decoder can run past a chunk's end by one point's reads at most: the raw first point, or a few bytes
 * per arithmetic-coded field (at most 4 per symbol, a few symbols per byte of the record).
 */
function chunkSlack(recordLength: number): number {
  return 1024 + 16 * recordLength;
}

/**
 * Streams the decompressed point records of a LAZ file one chunk at a time: each compressed chunk is
 * copied into the WASM heap and decoded by laz-perf's ChunkDecoder, so memory holds one chunk, not the file.
 * A chunk must decode to its points from exactly its own bytes: reading past its end, or leaving bytes
 * unread, means a damaged chunk or a point count (header or chunk table) that is not what the chunk holds.
 */
export async function readLazRecords(header: LasHeader, chunks: readonly LazChunk[], onBatch: RecordBatchHandler): Promise<void> {
  const wasm = await lazPerfModule();
  const recordLength = header.recordLength;
  const slack = chunkSlack(recordLength);
  const output = wasm._malloc(BATCH_POINTS * recordLength);
  let input = 0;
  let inputCapacity = 0;
  let compressed = Buffer.alloc(0);
  const fd = openRegularFile(header.file);
  try {
    for (const [index, chunk] of chunks.entries()) {
      const fail = (problem: string): never => {
        throw new LidarInputError(`${header.file}: corrupt LAZ chunk ${index + 1} of ${chunks.length} (${chunk.pointCount} points, ${chunk.byteCount} bytes at byte ${chunk.start}): ${problem}`);
      };
      if (chunk.byteCount + slack > compressed.length) compressed = Buffer.alloc(chunk.byteCount + slack);
      const n = fs.readSync(fd, compressed, 0, chunk.byteCount, chunk.start);
      if (n < chunk.byteCount) throw new LidarInputError(`${header.file}: truncated: a LAZ chunk ends at byte ${chunk.start + chunk.byteCount}, but the file ends at byte ${chunk.start + n}`);
      compressed.fill(0, chunk.byteCount, chunk.byteCount + slack);
      if (header.pointFormat >= 6) {
        const problem = layeredChunkProblem(compressed, chunk.byteCount, chunk.pointCount, header.pointFormat, recordLength);
        if (problem) fail(problem);
      }
      if (compressed.length > inputCapacity) {
        if (input) wasm._free(input);
        input = wasm._malloc(compressed.length);
        inputCapacity = compressed.length;
      }
      // Read HEAPU8 after every malloc: growing the WASM memory replaces it.
      wasm.HEAPU8.set(compressed.subarray(0, chunk.byteCount + slack), input);
      // open() only records where the chunk is; decoding starts at the first point.
      const decoder = new ChunkReader(wasm, header.pointFormat, recordLength, input);
      try {
        for (let done = 0; done < chunk.pointCount; ) {
          const count = Math.min(BATCH_POINTS, chunk.pointCount - done);
          decode(fail, () => {
            for (let i = 0, at = output; i < count; i++, at += recordLength) {
              decoder.getPoint(at);
              if (decoder.bytesRead() > chunk.byteCount) fail(`decoding point ${done + i + 1} ran past the chunk's end: the chunk is damaged, or holds fewer points than the header says`);
            }
          });
          onBatch(Buffer.from(wasm.HEAPU8.buffer, wasm.HEAPU8.byteOffset + output, count * recordLength), count);
          done += count;
        }
        const read = decoder.bytesRead();
        if (read !== chunk.byteCount) fail(`its ${chunk.pointCount} points took ${read} of its bytes: the chunk is damaged, or holds more points than the header says`);
      } finally {
        decoder.delete();
      }
      await yieldToEventLoop();
    }
  } finally {
    fs.closeSync(fd);
    if (input) wasm._free(input);
    wasm._free(output);
  }
}

/** Runs laz-perf, turning its failures (WASM traps on corrupt data) into an input error naming the chunk. */
function decode(fail: (problem: string) => never, run: () => void): void {
  try {
    run();
  } catch (error) {
    if (error instanceof LidarInputError) throw error;
    // A trap (WebAssembly.RuntimeError; the lib has no WebAssembly types) leaves the module in doubt.
    if ((error as Error).name === "RuntimeError") discardLazPerf();
    fail(`laz-perf failed: ${(error as Error).message}`);
  }
}
