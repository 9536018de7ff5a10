import type { LasHeader } from "./lasHeader";
import { NO_LIMITS, outsideBounds, rawLimits } from "./pointBounds";
import type { RawLimits } from "./pointBounds";
import { recordLayout, TILE_RECORD_BYTES } from "./pointRecords";
import type { RecordLayout } from "./pointRecords";
import type { Tile, TileStore } from "./tileStore";

/**
 * Decodes LAS point records and appends each point to its tile. A point's cell is
 * `floor(x / cellSize)` (the division numpy does), and its tile is `floor(cell / cellsPerTile)`: the
 * tile comes from the cell, never from `x / tileSize`, so tiles and the notebook's cells always agree.
 * Each point is also checked against its header's bounding box here, in the one loop that reads it.
 *
 * A tiler that only counts (`countOnly`) keeps each tile's count, cell bounds and sources and writes
 * nothing: the first pass of the split in ranges (rangeSplit.ts), which places every tile's records
 * before any is written.
 */
export class PointTiler {
  private current: Tile | undefined;
  private fileIndex = -1;
  private recordLength = 0;
  private scale: readonly number[] = [1, 1, 1];
  private offset: readonly number[] = [0, 0, 0];
  private layout: RecordLayout = recordLayout(0);
  private header: LasHeader | undefined;
  private limits: RawLimits = NO_LIMITS;
  /** Points of the current file added so far. */
  private added = 0;

  constructor(
    private readonly store: TileStore,
    private readonly cellSize: number,
    private readonly cellsPerTile: number,
    private readonly countOnly = false,
  ) {}

  /** The records that follow are `fileIndex`'s, from its record `firstRecord` (0-based) on. */
  startFile(header: LasHeader, fileIndex: number, firstRecord = 0): void {
    this.current = undefined;
    this.fileIndex = fileIndex;
    this.recordLength = header.recordLength;
    this.scale = header.scale;
    this.offset = header.offset;
    this.layout = recordLayout(header.pointFormat);
    this.header = header;
    this.limits = rawLimits(header);
    this.added = firstRecord;
  }

  /** Adds `count` records from the start of `records` (the current file's format and stride). */
  add(records: Buffer, count: number): void {
    const source = new DataView(records.buffer, records.byteOffset, records.byteLength);
    const stride = this.recordLength;
    const [sx, sy, sz] = this.scale as [number, number, number];
    const [ox, oy, oz] = this.offset as [number, number, number];
    const cellSize = this.cellSize;
    const cellsPerTile = this.cellsPerTile;
    const { classificationOffset, classificationMask, returnNumberMask, returnCountShift, returnCountMask, gpsTimeOffset } = this.layout;
    const store = this.store;
    const fileIndex = this.fileIndex;
    const countOnly = this.countOnly;
    const [lowX, lowY, lowZ] = this.limits.low;
    const [highX, highY, highZ] = this.limits.high;
    // One unsigned comparison an axis: (raw - low) >>> 0 exceeds high - low exactly when raw is
    // outside [low, high] (both int32, so the difference wraps below low past any span).
    const spanX = highX - lowX;
    const spanY = highY - lowY;
    const spanZ = highZ - lowZ;
    let tile = this.current;
    for (let i = 0, o = 0; i < count; i++, o += stride) {
      const rawX = source.getInt32(o, true);
      const rawY = source.getInt32(o + 4, true);
      const rawZ = source.getInt32(o + 8, true);
      if ((rawX - lowX) >>> 0 > spanX || (rawY - lowY) >>> 0 > spanY || (rawZ - lowZ) >>> 0 > spanZ) {
        this.current = tile;
        throw outsideBounds(this.header!, this.added + i, [rawX, rawY, rawZ]);
      }
      const x = rawX * sx + ox;
      const y = rawY * sy + oy;
      const cx = Math.floor(x / cellSize);
      const cy = Math.floor(y / cellSize);
      const tx = Math.floor(cx / cellsPerTile);
      const ty = Math.floor(cy / cellsPerTile);
      if (tile === undefined || tile.tx !== tx || tile.ty !== ty) {
        tile = store.tileAt(tx, ty);
        if (tile.lastSource !== fileIndex) {
          tile.sources.push(fileIndex);
          tile.lastSource = fileIndex;
        }
      }
      if (!countOnly) {
        if (tile.used + TILE_RECORD_BYTES > tile.buffer.length) store.makeRoom(tile);
        const out = tile.view;
        const p = tile.used;
        out.setFloat64(p, x, true);
        out.setFloat64(p + 8, y, true);
        out.setFloat64(p + 16, rawZ * sz + oz, true);
        out.setUint16(p + 24, source.getUint16(o + 12, true), true);
        const returns = source.getUint8(o + 14);
        out.setUint8(p + 26, returns & returnNumberMask);
        out.setUint8(p + 27, (returns >> returnCountShift) & returnCountMask);
        out.setUint8(p + 28, source.getUint8(o + classificationOffset) & classificationMask);
        // GPS time is copied as raw bits (no float round trip, which could alter a NaN payload).
        if (gpsTimeOffset >= 0) {
          out.setUint32(p + 29, source.getUint32(o + gpsTimeOffset, true), true);
          out.setUint32(p + 33, source.getUint32(o + gpsTimeOffset + 4, true), true);
        } else {
          out.setUint32(p + 29, 0, true);
          out.setUint32(p + 33, 0, true);
        }
        tile.used = p + TILE_RECORD_BYTES;
      }
      tile.pointCount++;
      if (cx < tile.minCx) tile.minCx = cx;
      if (cx > tile.maxCx) tile.maxCx = cx;
      if (cy < tile.minCy) tile.minCy = cy;
      if (cy > tile.maxCy) tile.maxCy = cy;
    }
    this.current = tile;
    this.added += count;
  }
}
