/**
 * A PNG preview of a raster for the run report: colour-mapped (viridis-like) between the 2nd and
 * 98th percentile of its finite values, empty (NaN) cells transparent, resized so it is neither
 * huge nor a speck.
 */
import * as fs from "fs";
import { PNG } from "pngjs";
// Types only: geotiff, a large module, is loaded when a raster is read, not when a run starts.
import type { Float32Raster } from "../lidar/geotiff";
import { isFiniteFloat, Picture, pictureOf, takeMadePicture } from "./picture";

export type Rgb = readonly [number, number, number];

/** Control points of the colormap (dark purple → blue → green → yellow), evenly spaced over [0, 1]. */
export const COLORMAP_STOPS: readonly Rgb[] = [
  [68, 1, 84],
  [72, 40, 120],
  [62, 73, 137],
  [49, 104, 142],
  [38, 130, 142],
  [31, 158, 137],
  [53, 183, 121],
  [110, 206, 88],
  [253, 231, 37],
];

/** The RGBA of an empty cell. */
export const NAN_RGBA: readonly [number, number, number, number] = [0, 0, 0, 0];

const LOW_PERCENTILE = 2;
const HIGH_PERCENTILE = 98;
const MAX_PERCENTILE_SAMPLE = 1 << 17;

export interface RasterPreview {
  readonly png: Buffer;
  /** Size of the picture in pixels. */
  readonly width: number;
  readonly height: number;
  /** Finite extremes of the whole raster (undefined when every cell is empty). */
  readonly min?: number;
  readonly max?: number;
  /** The value range the colormap spans: the 2nd and 98th percentiles of the pictured values. */
  readonly low?: number;
  readonly high?: number;
}

/** The colour at `t` in [0, 1] (clamped), interpolated between the control points. */
export function colourAt(t: number): Rgb {
  const position = Math.min(1, Math.max(0, t)) * (COLORMAP_STOPS.length - 1);
  const i = Math.min(COLORMAP_STOPS.length - 2, Math.floor(position));
  const f = position - i;
  const [a, b] = [COLORMAP_STOPS[i]!, COLORMAP_STOPS[i + 1]!];
  return [0, 1, 2].map((k) => Math.round(a[k]! + (b[k]! - a[k]!) * f)) as unknown as Rgb;
}

/** The colormap sampled at LEVELS evenly spaced values, RGB. */
const LEVELS = 1024;
const COLOUR_TABLE = Uint8Array.from({ length: LEVELS * 3 }, (_, i) => colourAt(Math.floor(i / 3) / (LEVELS - 1))[i % 3]!);

/** The p-th percentile of sorted values, interpolating linearly between ranks (numpy's default). */
function percentile(sorted: Float32Array, p: number): number {
  const index = ((sorted.length - 1) * p) / 100;
  const below = Math.floor(index);
  const above = Math.min(sorted.length - 1, below + 1);
  return sorted[below]! + (sorted[above]! - sorted[below]!) * (index - below);
}

/** The finite values, sorted; an evenly strided subset of them when there are many (the picture's range). */
function percentileSample(values: Float32Array): Float32Array {
  let count = 0;
  for (let i = 0; i < values.length; i++) if (isFiniteFloat(values[i]!)) count++;
  const stride = Math.max(1, Math.ceil(count / MAX_PERCENTILE_SAMPLE));
  const sample = new Float32Array(Math.ceil(count / stride));
  let seen = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!isFiniteFloat(v)) continue;
    if (seen % stride === 0) sample[seen / stride] = v;
    seen++;
  }
  return sample.sort();
}

export function previewRaster(values: Float32Array, width: number, height: number): RasterPreview {
  return renderPicture(pictureOf(values, width, height));
}

/** The PNG of a picture, colour-mapped between the 2nd and 98th percentiles of its finite values. */
export function renderPicture(picture: Picture): RasterPreview {
  const size = { width: picture.width, height: picture.height };
  const pictured = picture.values;
  const finite = percentileSample(pictured);
  const low = finite.length > 0 ? percentile(finite, LOW_PERCENTILE) : undefined;
  const high = finite.length > 0 ? percentile(finite, HIGH_PERCENTILE) : undefined;
  const png = new PNG({ width: size.width, height: size.height });
  const span = low !== undefined && high! > low ? high! - low : 0;
  const rgba = png.data;
  for (let i = 0, at = 0; i < pictured.length; i++, at += 4) {
    const v = pictured[i]!;
    if (!isFiniteFloat(v)) {
      rgba[at] = NAN_RGBA[0];
      rgba[at + 1] = NAN_RGBA[1];
      rgba[at + 2] = NAN_RGBA[2];
      rgba[at + 3] = NAN_RGBA[3];
      continue;
    }
    // A constant raster takes the middle colour.
    const level = span > 0 ? Math.round(Math.min(1, Math.max(0, (v - low!) / span)) * (LEVELS - 1)) : LEVELS >> 1;
    rgba[at] = COLOUR_TABLE[level * 3]!;
    rgba[at + 1] = COLOUR_TABLE[level * 3 + 1]!;
    rgba[at + 2] = COLOUR_TABLE[level * 3 + 2]!;
    rgba[at + 3] = 255;
  }
  // One PNG filter (Sub) for every row rather than pngjs's default, trying all five per row: a
  // third of the time, and as small or smaller on these colour-mapped rasters.
  const encoded = PNG.sync.write(png, { filterType: 1 });
  const extremes = picture.min === undefined ? {} : { min: picture.min, max: picture.max! };
  return { png: encoded, ...size, ...extremes, ...(low === undefined ? {} : { low, high }) };
}

/** A GeoTIFF's raster with its preview. */
export async function previewGeoTiff(file: string): Promise<{ raster: Float32Raster; preview: RasterPreview }> {
  const { decodeFloat32GeoTiff } = await import("../lidar/geotiff");
  const raster = await decodeFloat32GeoTiff(await fs.promises.readFile(file));
  return { raster, preview: previewRaster(raster.values, raster.width, raster.height) };
}

/** What the report shows of a GeoTIFF: its grid (not its values) and its preview. */
export interface PreviewSummary {
  readonly grid: Omit<Float32Raster, "values">;
  readonly preview: RasterPreview;
}

/** The summary of `file`: from `picture` (the merge's, src/local/picture.ts) when given, else decoded. */
export async function previewSummary(file: string, picture?: Picture): Promise<PreviewSummary> {
  if (picture) {
    const { readFloat32GeoTiffGrid } = await import("../lidar/geotiff");
    return { grid: await readFloat32GeoTiffGrid(file), preview: renderPicture(picture) };
  }
  const { raster, preview } = await previewGeoTiff(file);
  const { values: _values, ...grid } = raster;
  return { grid, preview };
}

/**
 * The summaries of `files`, in order: in the main thread for one worker, else up to `workers` at
 * once in the pool's threads (src/threadPool.ts), as decoding and colour-mapping is CPU-bound. A
 * file the merge pictured as it wrote it is not decoded: it is coloured from its picture here.
 */
export async function previewSummaries(files: readonly string[], workers: number): Promise<PreviewSummary[]> {
  const results = new Array<PreviewSummary>(files.length);
  const toDecode: number[] = [];
  const pictured: [number, Picture][] = [];
  for (const [i, file] of files.entries()) {
    const picture = takeMadePicture(file);
    if (picture) pictured.push([i, picture]);
    else toDecode.push(i);
  }
  if (workers <= 1 || toDecode.length <= 1) {
    for (const i of toDecode) results[i] = await previewSummary(files[i]!);
  } else {
    const { runInThread } = await import("../threadPool");
    let next = 0;
    const lane = async (): Promise<void> => {
      for (let k = next++; k < toDecode.length; k = next++) {
        const i = toDecode[k]!;
        const summary = await runInThread("preview", { file: files[i]! });
        // A Buffer arrives from a thread as a plain Uint8Array.
        const png = Buffer.from(summary.preview.png.buffer, summary.preview.png.byteOffset, summary.preview.png.byteLength);
        results[i] = { grid: summary.grid, preview: { ...summary.preview, png } };
      }
    };
    await Promise.all(Array.from({ length: Math.min(workers, toDecode.length) }, lane));
  }
  // Pictures the merge made are coloured here: a thread would first have to load the modules.
  for (const [i, picture] of pictured) results[i] = await previewSummary(files[i]!, picture);
  return results;
}
