/**
 * Internal overviews: each level half the size of the one above (rounded up), down to the first
 * that fits in one block, as GDAL's COG driver makes them.
 *
 * Resampling is the average of the 2 x 2 cells below, leaving out NaN, and NaN only where all of them
 * are NaN. The features are continuous values (heights, densities, ratios), so the mean of a block is
 * what a coarser raster of them would hold; nearest neighbour would alias them, and cubic would
 * overshoot and spread NaN (or, with NaN as 0, drag values towards 0 at every edge of the data).
 * GDAL's AVERAGE resampling does the same with nodata. Each level is made from the one above, as GDAL
 * does, so a band of rows is enough at every level.
 */

export interface LevelSize {
  readonly width: number;
  readonly height: number;
}

/** The full-resolution size followed by each overview's. */
export function levelSizes(width: number, height: number, blockSize: number): LevelSize[] {
  const levels: LevelSize[] = [{ width, height }];
  for (let last = levels[0]!; last.width > blockSize || last.height > blockSize; last = levels[levels.length - 1]!) {
    levels.push({ width: Math.ceil(last.width / 2), height: Math.ceil(last.height / 2) });
  }
  return levels;
}

/**
 * Halves `rowCount` rows of `width` cells into `target` (ceil(rowCount / 2) rows of ceil(width / 2)
 * cells): an odd last row or column averages the cells it has.
 */
export function halveRows(rows: Float32Array, width: number, rowCount: number, target: Float32Array): void {
  const halfWidth = Math.ceil(width / 2);
  for (let r = 0; r < rowCount; r += 2) {
    const top = r * width;
    const bottom = r + 1 < rowCount ? top + width : -1;
    const out = (r / 2) * halfWidth;
    for (let c = 0; c < width; c += 2) {
      // Inlined, as this runs once per cell; `v === v` is false only for NaN (a cell without a value).
      const right = c + 1 < width;
      let sum = 0;
      let count = 0;
      let v = rows[top + c]!;
      if (v === v) {
        sum += v;
        count++;
      }
      if (right) {
        v = rows[top + c + 1]!;
        if (v === v) {
          sum += v;
          count++;
        }
      }
      if (bottom >= 0) {
        v = rows[bottom + c]!;
        if (v === v) {
          sum += v;
          count++;
        }
        if (right) {
          v = rows[bottom + c + 1]!;
          if (v === v) {
            sum += v;
            count++;
          }
        }
      }
      target[out + c / 2] = count === 0 ? NaN : sum / count;
    }
  }
}
