/**
 * laz-perf's WASM module and its ChunkDecoder, with the one thing the decoder does not tell: how many
 * bytes of its chunk it has read. Its `open` takes a bare pointer and no length, and it reads on as far
 * as the points it is asked for take it, so without that count a damaged chunk, or a header that
 * promises more points than a chunk holds, would be decoded from whatever memory follows the chunk.
 */

/** The part of laz-perf's Emscripten module used here. */
export interface LazPerfModule {
  readonly HEAPU8: Uint8Array;
  readonly HEAPU32: Uint32Array;
  _malloc(bytes: number): number;
  _free(pointer: number): void;
  readonly ChunkDecoder: new () => EmbindChunkDecoder;
}

interface EmbindChunkDecoder {
  open(pointFormat: number, recordLength: number, compressed: number): void;
  getPoint(destination: number): void;
  delete(): void;
  /** Embind's handle: `ptr` is the C++ object's address in the WASM memory. */
  readonly $$?: { readonly ptr?: number };
}

let lazPerf: Promise<LazPerfModule> | undefined;

/** The WASM module, instantiated once per process (again after `discardLazPerf`). */
export function lazPerfModule(): Promise<LazPerfModule> {
  if (!lazPerf) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { createLazPerf } = require("laz-perf") as { createLazPerf: () => Promise<LazPerfModule> };
    lazPerf = createLazPerf();
  }
  return lazPerf;
}

/**
 * Forgets the module after a WASM trap: a trap unwinds past the C++ code's own stack bookkeeping, so the
 * next file gets a fresh instance rather than one in an unknown state.
 */
export function discardLazPerf(): void {
  lazPerf = undefined;
}

/**
 * One chunk being decoded. laz-perf 0.0.7's ChunkDecoder holds a shared_ptr to a chunk_decompressor,
 * whose first member is a unique_ptr to its Private struct, which keeps its read cursor (`const
 * unsigned char *buf`) after a two-word shared_ptr: three loads from the embind handle find the cursor.
 * `open` reads nothing, so the cursor must equal the chunk's address then; if it does not, the layout
 * has changed and the reader refuses to guess (as geotiff.ts does when geotiff.js changes its layout).
 */
export class ChunkReader {
  private readonly decoder: EmbindChunkDecoder;
  private readonly cursorIndex: number;

  constructor(
    private readonly wasm: LazPerfModule,
    pointFormat: number,
    recordLength: number,
    private readonly input: number,
  ) {
    this.decoder = new wasm.ChunkDecoder();
    try {
      this.decoder.open(pointFormat, recordLength, input);
      const heap = wasm.HEAPU32;
      const self = this.decoder.$$?.ptr ?? 0;
      const decompressor = self ? heap[self >>> 2]! : 0;
      const state = decompressor ? heap[decompressor >>> 2]! : 0;
      this.cursorIndex = (state >>> 2) + 2;
      if (!state || heap[this.cursorIndex] !== input) {
        throw new Error("internal error: laz-perf's ChunkDecoder is not laid out as this reader expects (laz-perf 0.0.7); cannot bound its reads");
      }
    } catch (error) {
      this.decoder.delete();
      throw error;
    }
  }

  /** Decodes the next point into `destination` (a WASM address). */
  getPoint(destination: number): void {
    this.decoder.getPoint(destination);
  }

  /** Bytes of the chunk read so far. The heap view is looked up each time: growing the memory replaces it. */
  bytesRead(): number {
    return this.wasm.HEAPU32[this.cursorIndex]! - this.input;
  }

  delete(): void {
    this.decoder.delete();
  }
}
