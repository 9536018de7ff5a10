/**
 * The merge's check that no two tiles have a value in the same cell, without a mosaic-sized array:
 * only tiles whose data boxes meet are compared, cell by cell.
 */
import { CellBox, dataCells, fail, PlacedTile, withRaster } from "./mergeTiles";

/** A tile's data box on the global grid. */
function globalBox({ dataBox: box, row0, col0 }: PlacedTile): CellBox | undefined {
  return box && { minRow: row0 + box.minRow, maxRow: row0 + box.maxRow, minCol: col0 + box.minCol, maxCol: col0 + box.maxCol };
}

/** Global cells are grouped in squares of this many cells a side to find tiles whose boxes meet. */
const OVERLAP_BUCKET_CELLS = 512;

/** For each tile with data, the earlier tiles whose data boxes intersect its own. */
function intersectingEarlier(boxes: readonly (CellBox | undefined)[]): Map<number, number[]> {
  const buckets = new Map<string, number[]>();
  const found = new Map<number, number[]>();
  boxes.forEach((box, index) => {
    if (!box) return;
    const seen = new Set<number>();
    for (let by = Math.floor(box.minRow / OVERLAP_BUCKET_CELLS); by <= Math.floor(box.maxRow / OVERLAP_BUCKET_CELLS); by++) {
      for (let bx = Math.floor(box.minCol / OVERLAP_BUCKET_CELLS); bx <= Math.floor(box.maxCol / OVERLAP_BUCKET_CELLS); bx++) {
        const key = `${by},${bx}`;
        const members = buckets.get(key) ?? [];
        for (const other of members) {
          const b = boxes[other]!;
          if (seen.has(other) || b.maxRow < box.minRow || b.minRow > box.maxRow || b.maxCol < box.minCol || b.minCol > box.maxCol) continue;
          seen.add(other);
        }
        members.push(index);
        buckets.set(key, members);
      }
    }
    if (seen.size > 0) found.set(index, [...seen].sort((a, b) => a - b));
  });
  return found;
}

function maskOf(tile: PlacedTile): Uint8Array {
  return withRaster(tile.tile.raster, (fd) => dataCells(fd, tile)).mask;
}

/**
 * An error if two tiles have a value in the same cell: their points were counted twice. Only tiles
 * whose data boxes meet are compared, cell by cell, so this needs no mosaic-sized array. The error
 * names the first tile (in input order) with a cell an earlier one has, at its first such cell.
 */
export async function checkOverlaps(tiles: readonly PlacedTile[]): Promise<void> {
  const boxes = tiles.map(globalBox);
  for (const [index, earlier] of intersectingEarlier(boxes)) {
    const tile = tiles[index]!;
    const { cols } = tile.info;
    const mask = maskOf(tile);
    let first: { row: number; col: number; other: number } | undefined;
    for (const other of earlier) {
      const them = tiles[other]!;
      const theirMask = maskOf(them);
      const [a, b] = [boxes[index]!, boxes[other]!];
      const [top, bottom, left, right] = [Math.max(a.minRow, b.minRow), Math.min(a.maxRow, b.maxRow), Math.max(a.minCol, b.minCol), Math.min(a.maxCol, b.maxCol)];
      search: for (let row = top; row <= bottom; row++) {
        if (first && row > first.row) break;
        for (let col = left; col <= right; col++) {
          if (first && row === first.row && col >= first.col) break;
          if (mask[(row - tile.row0) * cols + col - tile.col0] === 1 && theirMask[(row - them.row0) * them.info.cols + col - them.col0] === 1) {
            first = { row, col, other };
            break search;
          }
        }
      }
    }
    if (first) {
      const x = first.col * tile.info.cellSize;
      const y = -first.row * tile.info.cellSize;
      fail(tile.tile.info, `tiles overlap: this tile and ${tiles[first.other]!.tile.info} both have values for the cell with north-west corner (${x}, ${y})`);
    }
  }
}

