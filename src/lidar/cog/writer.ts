/**
 * A streaming writer of single-band Float32 Cloud Optimized GeoTIFFs: rows go in a band of tiles at
 * a time, north to south, and each band is compressed and written as it comes, its overviews made
 * from it, so memory holds about two bands of tiles (the band given and one of each overview) and
 * never the raster.
 *
 * Why not a library: geotiff.js (which the report and tests decode with) writes only uncompressed
 * strips, no npm package writes tiled, compressed TIFF, and GDAL, which does, is not something
 * `npm ci && npm start` can rely on. The format is small enough to write here: ifd.ts (tags and
 * IFDs), tiles.ts (predictor and DEFLATE), overviews.ts (sizes and resampling) and layout.ts (GDAL's
 * COG layout).
 *
 * A COG puts its IFDs, which hold every tile's offset, before the tiles, and its overviews before the
 * full resolution, so each level's tiles go to a temporary file of their own next to the output as
 * they are made; `finish` lays out the head from their sizes and writes it, then appends each
 * level's tiles, copied in large chunks.
 */
import * as fs from "fs";
import { cogLayout, noDataTag, TILE_LEADER_BYTES, TILE_TRAILER_BYTES } from "./layout";
import { Tag } from "./ifd";
import { halveRows, levelSizes } from "./overviews";
import { cutTile, encodeTile } from "./tiles";

export const DEFAULT_BLOCK_SIZE = 512;
/**
 * Tiles whose compression may be under way while the caller prepares the next band (or one row of
 * tiles, when a row has more): it keeps libuv's threads compressing while the main thread reads,
 * places, predicts and halves, and bounds the memory of the tiles waiting (up to 2 MB each: the
 * predicted bytes and their compressed copy).
 */
const MAX_QUEUED_TILES = 64;
const COPY_CHUNK_BYTES = 8 << 20;

export interface CogWriterOptions {
  /** Tile width and height (a multiple of 16, as TIFF requires); 512 unless given. */
  readonly blockSize?: number;
  /** Write BigTIFF even when the file stays under 4 GiB (BigTIFF is chosen anyway when it does not). */
  readonly forceBigTiff?: boolean;
  /** Tags of the full-resolution image: its georeferencing. */
  readonly mainTags?: readonly Tag[];
}

interface Level {
  readonly width: number;
  readonly height: number;
  readonly temp: string;
  readonly handle: fs.promises.FileHandle;
  readonly byteCounts: number[];
  /** Rows received and not yet stored (levels below the full resolution). */
  readonly pending?: Float32Array;
  pendingRows: number;
  rowsStored: number;
}

/** What a finished COG holds. */
export interface CogSummary {
  readonly bigTiff: boolean;
  readonly size: number;
  /** Full resolution first, then each overview. */
  readonly levels: readonly { readonly width: number; readonly height: number }[];
}

/** Writes all of `bytes` at `position`, or where the file is when it is null. */
async function writeAll(handle: fs.promises.FileHandle, bytes: Uint8Array, position: number | null): Promise<void> {
  let done = 0;
  while (done < bytes.byteLength) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.byteLength - done, position === null ? null : position + done);
    done += bytesWritten;
  }
}

export class CogWriter {
  private readonly tile: Float32Array;
  private finished = false;
  /** Compressed tiles are written in order through this chain; it never rejects (see `failure`). */
  private writes: Promise<void> = Promise.resolve();
  private queuedTiles = 0;
  /** The first compression or write failure, thrown by the next call. */
  private failure: { readonly error: unknown } | undefined;

  private constructor(
    private readonly file: string,
    private readonly levels: Level[],
    private readonly blockSize: number,
    private readonly options: CogWriterOptions,
  ) {
    this.tile = new Float32Array(blockSize * blockSize);
  }

  /** Starts `file` (written only by `finish`); its level files are `<file>.level<k>`. */
  static async create(file: string, width: number, height: number, options: CogWriterOptions = {}): Promise<CogWriter> {
    const blockSize = options.blockSize ?? DEFAULT_BLOCK_SIZE;
    if (!Number.isInteger(blockSize) || blockSize < 16 || blockSize % 16 !== 0) throw new RangeError(`tile size ${blockSize} is not a multiple of 16`);
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || width > 0xffffffff || height > 0xffffffff) {
      throw new RangeError(`a TIFF of ${width} x ${height} cells cannot be written`);
    }
    const levels: Level[] = [];
    try {
      for (const [k, size] of levelSizes(width, height, blockSize).entries()) {
        const temp = `${file}.level${k}`;
        const handle = await fs.promises.open(temp, "w");
        levels.push({ ...size, temp, handle, byteCounts: [], pendingRows: 0, rowsStored: 0, ...(k > 0 ? { pending: new Float32Array(blockSize * size.width) } : {}) });
      }
    } catch (error) {
      await new CogWriter(file, levels, blockSize, options).abort();
      throw error;
    }
    return new CogWriter(file, levels, blockSize, options);
  }

  /** The size of the raster and its overviews. */
  get sizes(): readonly { readonly width: number; readonly height: number }[] {
    return this.levels.map(({ width, height }) => ({ width, height }));
  }

  /**
   * Takes the next `rowCount` full-width rows (row-major in `rows`): a whole band of tiles
   * (`blockSize` rows), or fewer for the raster's last band. `rows` may be reused once this resolves.
   */
  async writeRows(rows: Float32Array, rowCount: number): Promise<void> {
    const top = this.levels[0]!;
    const remaining = top.height - top.rowsStored;
    if (rowCount !== Math.min(this.blockSize, remaining) || rows.length < rowCount * top.width) {
      throw new RangeError(`expected ${Math.min(this.blockSize, remaining)} rows of ${top.width} cells, got ${rowCount}`);
    }
    await this.store(0, rows, rowCount);
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }

  /**
   * Stores a band of level k and passes it, halved, to level k + 1. The tiles' predictor runs now,
   * so `rows` is free once this resolves; their compression and writing go on in the background, in
   * order, and this waits for them when this row would queue more than MAX_QUEUED_TILES.
   */
  private async store(k: number, rows: Float32Array, rowCount: number): Promise<void> {
    this.throwIfFailed();
    const level = this.levels[k]!;
    const across = Math.ceil(level.width / this.blockSize);
    if (this.queuedTiles > 0 && this.queuedTiles + across > MAX_QUEUED_TILES) await this.writes;
    this.throwIfFailed();
    // encodeTile runs the predictor before it yields, so one tile buffer serves every tile.
    const encoded = Array.from({ length: across }, (_, i) => encodeTile(cutTile(rows, level.width, rowCount, i, this.blockSize, this.tile), this.blockSize));
    this.queuedTiles += across;
    this.writes = this.writes.then(async () => {
      try {
        const tiles = await Promise.all(encoded);
        if (this.failure) return;
        const framed = tiles.map((bytes) => {
          const leader = Buffer.alloc(TILE_LEADER_BYTES);
          leader.writeUInt32LE(bytes.length);
          level.byteCounts.push(bytes.length);
          return Buffer.concat([leader, bytes, bytes.subarray(bytes.length - TILE_TRAILER_BYTES)]);
        });
        await writeAll(level.handle, Buffer.concat(framed), null);
      } catch (error) {
        this.failure ??= { error };
      } finally {
        this.queuedTiles -= across;
      }
    });
    level.rowsStored += rowCount;
    const next = this.levels[k + 1];
    if (!next) return;
    halveRows(rows, level.width, rowCount, next.pending!.subarray(next.pendingRows * next.width));
    next.pendingRows += Math.ceil(rowCount / 2);
    if (next.pendingRows === this.blockSize) await this.flushPending(k + 1);
  }

  private async flushPending(k: number): Promise<void> {
    const level = this.levels[k]!;
    const count = level.pendingRows;
    level.pendingRows = 0;
    await this.store(k, level.pending!, count);
  }

  /** Writes the COG to `file` once every row has been given; the level files are removed. */
  async finish(): Promise<CogSummary> {
    if (this.finished) throw new Error("the COG is already finished");
    const top = this.levels[0]!;
    if (top.rowsStored !== top.height) throw new Error(`${top.rowsStored} of ${top.height} rows were written`);
    for (let k = 1; k < this.levels.length; k++) if (this.levels[k]!.pendingRows > 0) await this.flushPending(k);
    await this.writes;
    this.throwIfFailed();
    for (const level of this.levels) {
      if (level.rowsStored !== level.height) throw new Error(`overview of ${level.width} x ${level.height} got ${level.rowsStored} rows`);
      await level.handle.close();
    }
    this.finished = true;
    const layout = cogLayout(this.levels, {
      blockSize: this.blockSize,
      mainTags: this.options.mainTags ?? [],
      commonTags: [noDataTag()],
      ...(this.options.forceBigTiff ? { forceBigTiff: true } : {}),
    });
    // The head in one write, then each level's tiles appended in the order the layout put them.
    await fs.promises.writeFile(this.file, layout.head);
    const out = await fs.promises.open(this.file, "a");
    try {
      const chunk = Buffer.allocUnsafe(COPY_CHUNK_BYTES);
      let position = layout.head.length;
      for (let k = this.levels.length - 1; k >= 0; k--) {
        if (position !== layout.levelStarts[k]) throw new Error(`level ${k} of ${this.file} would start at byte ${position}, not ${layout.levelStarts[k]}`);
        const from = await fs.promises.open(this.levels[k]!.temp, "r");
        try {
          for (;;) {
            const { bytesRead } = await from.read(chunk, 0, chunk.length, null);
            if (bytesRead === 0) break;
            await writeAll(out, chunk.subarray(0, bytesRead), null);
            position += bytesRead;
          }
        } finally {
          await from.close();
        }
        await fs.promises.rm(this.levels[k]!.temp, { force: true });
      }
      if (position !== layout.size) throw new Error(`${this.file} holds ${position} bytes, not ${layout.size}`);
    } finally {
      await out.close();
    }
    return { bigTiff: layout.bigTiff, size: layout.size, levels: this.sizes };
  }

  /** Removes the level files (not `file`); for a write that will not be finished. */
  async abort(): Promise<void> {
    await this.writes;
    for (const level of this.levels) {
      if (!this.finished) await level.handle.close().catch(() => undefined);
      await fs.promises.rm(level.temp, { force: true });
    }
    this.finished = true;
  }
}
