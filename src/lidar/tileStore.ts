import * as path from "path";
import { npyHeader } from "./npy";
import { OpenFiles } from "./openFiles";
import { TILE_DTYPE, TILE_RECORD_BYTES } from "./pointRecords";

const EMPTY = Buffer.alloc(0);
const EMPTY_VIEW = new DataView(EMPTY.buffer, EMPTY.byteOffset, 0);
const MIN_TILE_BUFFER = TILE_RECORD_BYTES * 256;
const MAX_TILE_BUFFER = TILE_RECORD_BYTES * 32768;
const DEFAULT_BUDGET = 64 * 1024 * 1024;

/** A tile being filled: its records not yet written, and what its sidecar will say. */
export class Tile {
  buffer: typeof EMPTY = EMPTY;
  /** A view of `buffer`, for the writes of the inner loop. */
  view = EMPTY_VIEW;
  used = 0;
  pointCount = 0;
  minCx = Infinity;
  minCy = Infinity;
  maxCx = -Infinity;
  maxCy = -Infinity;
  /** Indices of the input files that gave points, in order. */
  readonly sources: number[] = [];
  lastSource = -1;
  headerWritten = false;
  /** Where the next records go in the file, for a store that writes at given places. */
  writeAt = 0;

  constructor(
    readonly id: string,
    readonly tx: number,
    readonly ty: number,
    readonly npyPath: string,
  ) {}
}

/** `tile_<ix>_<iy>`, negative indices written with `m` (`tile_m3_12`). */
export function tileId(tx: number, ty: number): string {
  const index = (i: number): string => (i < 0 ? `m${-i}` : `${i}`);
  return `tile_${index(tx)}_${index(ty)}`;
}

/** The length of a tile's `.npy` header, whatever its count (npyHeader's reserved width). */
export const TILE_HEADER_BYTES = npyHeader(TILE_DTYPE, [0], true).length;

/**
 * The tiles of one split, each buffered in memory and appended to its `.npy` in `dir` when buffers
 * pass the budget. A bounded set of descriptors serves any number of tiles.
 *
 * Given `placement` (tile id to byte offset), the store writes one range of a split instead (the
 * split in ranges, rangeSplit.ts): each tile's records at its offset in a file that exists already,
 * header and all, and nothing else (no header, no other tile).
 */
export class TileStore {
  private readonly columns = new Map<number, Map<number, Tile>>();
  private readonly tiles: Tile[] = [];
  private allocated = 0;
  /**
   * Buffers of tiles that were written out, by capacity, for tiles that grow again: a split reuses
   * the same memory instead of allocating it anew (and the kernel zeroing it) after every flushAll.
   * With `allocated`, at most the budget.
   */
  private readonly spare = new Map<number, (typeof EMPTY)[]>();
  private spareBytes = 0;
  private readonly header = npyHeader(TILE_DTYPE, [0], true);
  private readonly files = new OpenFiles();

  constructor(
    readonly dir: string,
    private readonly budget = DEFAULT_BUDGET,
    private readonly placement?: ReadonlyMap<string, number>,
  ) {}

  tileAt(tx: number, ty: number): Tile {
    let column = this.columns.get(tx);
    if (!column) this.columns.set(tx, (column = new Map()));
    let tile = column.get(ty);
    if (!tile) {
      const id = tileId(tx, ty);
      tile = new Tile(id, tx, ty, path.join(this.dir, `${id}.npy`));
      if (this.placement) {
        const at = this.placement.get(id);
        if (at === undefined) throw new Error(`internal error: ${id} has no place in this range of the split`);
        tile.writeAt = at;
      }
      column.set(ty, tile);
      this.tiles.push(tile);
    }
    return tile;
  }

  /** Makes room in `tile.buffer` for at least one more record: grows it, or writes buffered records out. */
  makeRoom(tile: Tile): void {
    const capacity = tile.buffer.length;
    if (capacity >= MAX_TILE_BUFFER) {
      this.flush(tile);
      return;
    }
    const grown = Math.max(MIN_TILE_BUFFER, capacity * 2);
    if (this.allocated + grown - capacity > this.budget) {
      this.flushAll();
      this.resize(tile, MIN_TILE_BUFFER);
    } else {
      this.resize(tile, grown);
    }
  }

  /** Writes every buffered record and frees the buffers. */
  flushAll(): void {
    // Tiles whose files are open go first: a fixed order would make the LRU miss on every tile once
    // there are more tiles than descriptors.
    const open = this.tiles.filter((tile) => this.files.isOpen(tile.npyPath));
    const closed = this.tiles.filter((tile) => !this.files.isOpen(tile.npyPath));
    for (const tile of [...open, ...closed]) {
      this.flush(tile);
      if (tile.buffer !== EMPTY) {
        this.keepSpare(tile.buffer);
        tile.buffer = EMPTY;
        tile.view = EMPTY_VIEW;
      }
    }
    this.allocated = 0;
  }

  /** Writes what is left and the final record counts (not with a placement); the tiles, sorted by id. */
  finish(): Tile[] {
    try {
      this.flushAll();
      for (const tile of this.placement ? [] : this.tiles) {
        const header = npyHeader(TILE_DTYPE, [tile.pointCount], true);
        if (header.length !== this.header.length) throw new Error(`internal error: the .npy header of ${tile.id} changed length`);
        this.files.overwriteStart(tile.npyPath, header);
      }
    } finally {
      this.files.closeAll();
    }
    return this.sortedTiles();
  }

  /** The tiles so far, sorted by id, nothing written (for a tiler that only counts). */
  sortedTiles(): Tile[] {
    return [...this.tiles].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** Closes the files without finishing them (the caller removes them). */
  abandon(): void {
    this.files.closeAll();
  }

  private resize(tile: Tile, capacity: number): void {
    const reused = this.spare.get(capacity)?.pop();
    if (reused) this.spareBytes -= capacity;
    const next = reused ?? Buffer.allocUnsafe(capacity);
    const previous = tile.buffer;
    previous.copy(next, 0, 0, tile.used);
    this.allocated += capacity - previous.length;
    tile.buffer = next;
    tile.view = new DataView(next.buffer, next.byteOffset, next.byteLength);
    if (previous !== EMPTY) this.keepSpare(previous);
  }

  /** Keeps a buffer no tile holds for a later resize, while the budget allows. */
  private keepSpare(buffer: typeof EMPTY): void {
    if (this.allocated + this.spareBytes + buffer.length > this.budget) return;
    let list = this.spare.get(buffer.length);
    if (!list) this.spare.set(buffer.length, (list = []));
    list.push(buffer);
    this.spareBytes += buffer.length;
  }

  private flush(tile: Tile): void {
    if (tile.used === 0) return;
    if (this.placement) {
      this.files.writeAt(tile.npyPath, tile.buffer, tile.used, tile.writeAt);
      tile.writeAt += tile.used;
      tile.used = 0;
      return;
    }
    if (!tile.headerWritten) {
      this.files.append(tile.npyPath, this.header, this.header.length);
      tile.headerWritten = true;
    }
    this.files.append(tile.npyPath, tile.buffer, tile.used);
    tile.used = 0;
  }
}
