/**
 * What the run report pictures of a raster, before any colour: its cells resampled (nearest
 * neighbour) to the preview's size, and the finite extremes of the whole raster.
 *
 * The merge makes it as it writes each GeoTIFF, a band of rows at a time (PictureSampler), so the
 * report need not read and decode the rasters it has just written; a raster from elsewhere is
 * decoded and pictured whole (pictureOf). Both pick the same cells, so they give the same picture.
 */
import * as fs from "fs";
import * as path from "path";

const MAX_SIDE = 1024;
/** Tiny rasters are enlarged by a whole factor until their long side reaches this. */
const MIN_SIDE = 256;

export interface Picture {
  /** The pictured cells, row-major, `width` x `height`. */
  readonly values: Float32Array;
  readonly width: number;
  readonly height: number;
  /** Finite extremes of the whole raster (undefined when every cell is empty). */
  readonly min?: number;
  readonly max?: number;
}

/** Picture size for a raster: at most MAX_SIDE on the long side, tiny ones enlarged by a whole factor. */
export function previewSize(width: number, height: number): { width: number; height: number } {
  const long = Math.max(width, height);
  if (long > MAX_SIDE) {
    const scale = MAX_SIDE / long;
    return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
  }
  const factor = Math.max(1, Math.floor(MIN_SIDE / long));
  return { width: width * factor, height: height * factor };
}

/** Whether a float is finite: `v - v` is NaN for NaN and for either infinity (cheaper than Number.isFinite in these loops). */
export const isFiniteFloat = (v: number): boolean => v - v === 0;

/** The source index (row or column) of each of `size` picture positions over `length` cells. */
function picks(length: number, size: number): Int32Array {
  return Int32Array.from({ length: size }, (_, i) => Math.min(length - 1, Math.floor(((i + 0.5) * length) / size)));
}

/**
 * Pictures a raster given a band of full-width rows at a time, north to south: it keeps only the
 * picture's cells and running extremes, never the raster.
 */
export class PictureSampler {
  private readonly size: { width: number; height: number };
  private readonly columns: Int32Array;
  private readonly rows: Int32Array;
  private readonly values: Float32Array;
  /** The next picture row to fill, and the raster rows received so far. */
  private nextPictureRow = 0;
  private rowsSeen = 0;
  private min = Infinity;
  private max = -Infinity;

  constructor(
    private readonly width: number,
    private readonly height: number,
  ) {
    this.size = previewSize(width, height);
    this.columns = picks(width, this.size.width);
    this.rows = picks(height, this.size.height);
    this.values = new Float32Array(this.size.width * this.size.height);
  }

  /** Takes the next `rowCount` rows of the raster, row-major in `band`. */
  addRows(band: Float32Array, rowCount: number): void {
    const { width, columns, rows, values } = this;
    const pictureWidth = this.size.width;
    const first = this.rowsSeen;
    if (first + rowCount > this.height || band.length < rowCount * width) throw new RangeError(`${first + rowCount} rows given of a raster of ${this.height}`);
    let min = this.min;
    let max = this.max;
    const cells = rowCount * width;
    for (let i = 0; i < cells; i++) {
      const v = band[i]!;
      if (!isFiniteFloat(v)) continue;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    this.min = min;
    this.max = max;
    // Picture rows are in ascending source order, so each band fills the next few of them.
    while (this.nextPictureRow < rows.length && rows[this.nextPictureRow]! < first + rowCount) {
      const from = (rows[this.nextPictureRow]! - first) * width;
      const to = this.nextPictureRow * pictureWidth;
      for (let x = 0; x < pictureWidth; x++) values[to + x] = band[from + columns[x]!]!;
      this.nextPictureRow++;
    }
    this.rowsSeen = first + rowCount;
  }

  /** The picture, once every row has been given. */
  finish(): Picture {
    if (this.rowsSeen !== this.height) throw new Error(`the picture got ${this.rowsSeen} of ${this.height} rows`);
    return { values: this.values, ...this.size, ...(this.min <= this.max ? { min: this.min, max: this.max } : {}) };
  }
}

/** The picture of a whole raster (row-major `values`). */
export function pictureOf(values: Float32Array, width: number, height: number): Picture {
  const sampler = new PictureSampler(width, height);
  sampler.addRows(values, height);
  return sampler.finish();
}

/**
 * Pictures of GeoTIFFs this process wrote (the merge makes them as it writes, src/local/builtinSteps.ts),
 * by absolute path, each with the identity of the file it was made from: a file replaced or rewritten
 * since is decoded as any other. Each is used once, and only the latest few are kept.
 */
const madePictures = new Map<string, { readonly identity: string; readonly picture: Picture }>();
const MAX_MADE_PICTURES = 32;

function fileIdentity(file: string): string | undefined {
  try {
    const stat = fs.statSync(file, { bigint: true });
    return `${stat.dev}:${stat.ino}:${stat.size}:${stat.mtimeNs}:${stat.ctimeNs}`;
  } catch {
    return undefined;
  }
}

/** Remembers the picture of `file` as it is now, for its preview in this process's report. */
export function rememberPicture(file: string, picture: Picture): void {
  const identity = fileIdentity(file);
  if (identity === undefined) return;
  const key = path.resolve(file);
  madePictures.delete(key);
  madePictures.set(key, { identity, picture });
  while (madePictures.size > MAX_MADE_PICTURES) madePictures.delete(madePictures.keys().next().value as string);
}

/** The picture remembered for `file`, if the file is still the one it was made of; forgotten either way. */
export function takeMadePicture(file: string): Picture | undefined {
  const key = path.resolve(file);
  const made = madePictures.get(key);
  if (!made) return undefined;
  madePictures.delete(key);
  return fileIdentity(file) === made.identity ? made.picture : undefined;
}
