import * as fs from "fs";
import { LidarInputError } from "./errors";
import type { LasHeader } from "./lasHeader";
import type { RecordBatchHandler } from "./lasRecords";
import { yieldToEventLoop } from "./lasRecords";
import type { LazChunk } from "./lazChunkTable";

/** The part of laz-perf's Emscripten module used here. */
interface LazPerfModule {
  readonly HEAPU8: Uint8Array;
  _malloc(bytes: number): number;
  _free(pointer: number): void;
  readonly ChunkDecoder: new () => ChunkDecoder;
}

interface ChunkDecoder {
  open(pointFormat: number, recordLength: number, compressed: number): void;
  getPoint(destination: number): void;
  delete(): void;
}

let lazPerf: Promise<LazPerfModule> | undefined;

/** The WASM module, instantiated once per process. */
function lazPerfModule(): Promise<LazPerfModule> {
  if (!lazPerf) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { createLazPerf } = require("laz-perf") as { createLazPerf: () => Promise<LazPerfModule> };
    lazPerf = createLazPerf();
  }
  return lazPerf;
}

const BATCH_POINTS = 65536;
/** The decoder may look a few bytes past a chunk's end; zeros there keep it inside our allocation. */
const CHUNK_SLACK = 64;

/**
 * Streams the decompressed point records of a LAZ file one chunk at a time: each compressed chunk is
 * copied into the WASM heap and decoded by laz-perf's ChunkDecoder, so memory holds one chunk, not the file.
 */
export async function readLazRecords(header: LasHeader, chunks: readonly LazChunk[], onBatch: RecordBatchHandler): Promise<void> {
  const wasm = await lazPerfModule();
  const recordLength = header.recordLength;
  const output = wasm._malloc(BATCH_POINTS * recordLength);
  let input = 0;
  let inputCapacity = 0;
  let compressed = Buffer.alloc(0);
  const fd = fs.openSync(header.file, "r");
  try {
    for (const chunk of chunks) {
      if (chunk.byteCount + CHUNK_SLACK > compressed.length) compressed = Buffer.alloc(chunk.byteCount + CHUNK_SLACK);
      const n = fs.readSync(fd, compressed, 0, chunk.byteCount, chunk.start);
      if (n < chunk.byteCount) throw new LidarInputError(`${header.file}: truncated: a LAZ chunk ends at byte ${chunk.start + chunk.byteCount}, but the file ends at byte ${chunk.start + n}`);
      compressed.fill(0, chunk.byteCount, chunk.byteCount + CHUNK_SLACK);
      if (compressed.length > inputCapacity) {
        if (input) wasm._free(input);
        input = wasm._malloc(compressed.length);
        inputCapacity = compressed.length;
      }
      // Read HEAPU8 after every malloc: growing the WASM memory replaces it.
      wasm.HEAPU8.set(compressed.subarray(0, chunk.byteCount + CHUNK_SLACK), input);
      const decoder = new wasm.ChunkDecoder();
      try {
        decode(header, chunk, () => decoder.open(header.pointFormat, recordLength, input));
        for (let done = 0; done < chunk.pointCount; ) {
          const count = Math.min(BATCH_POINTS, chunk.pointCount - done);
          decode(header, chunk, () => {
            for (let i = 0, at = output; i < count; i++, at += recordLength) decoder.getPoint(at);
          });
          onBatch(Buffer.from(wasm.HEAPU8.buffer, wasm.HEAPU8.byteOffset + output, count * recordLength), count);
          done += count;
        }
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

/** Runs laz-perf, turning its failures (WASM traps on corrupt data) into an input error. */
function decode(header: LasHeader, chunk: LazChunk, run: () => void): void {
  try {
    run();
  } catch (error) {
    throw new LidarInputError(`${header.file}: corrupt LAZ data in the chunk at byte ${chunk.start}: ${(error as Error).message}`);
  }
}
