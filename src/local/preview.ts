/**
 * A PNG preview of a raster for the run report: colour-mapped (viridis-like) between the 2nd and
 * 98th percentile of its finite values, empty (NaN) cells transparent, resized so it is neither
 * huge nor a speck.
 */
import * as fs from "fs";
import { PNG } from "pngjs";
// Types only: geotiff, a large module, is loaded when a raster is read, not when a run starts.
import type { Float32Raster } from "../lidar/geotiff";
import { takeMadePreview } from "./madePreviews";
import { orderStatistics } from "./orderStatistics";
import { isFiniteFloat, Picture, pictureOf } from "./picture";

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

/** The p-th percentiles of values, interpolating linearly between ranks (numpy's default). */
function percentiles(values: Float32Array, ps: readonly number[]): number[] {
  const index = ps.map((p) => ((values.length - 1) * p) / 100);
  const ranks = index.flatMap((i) => [Math.floor(i), Math.min(values.length - 1, Math.floor(i) + 1)]);
  const ranked = orderStatistics(values, ranks);
  return index.map((i, k) => ranked[2 * k]! + (ranked[2 * k + 1]! - ranked[2 * k]!) * (i - Math.floor(i)));
}

/** The finite values; an evenly strided subset of them when there are many (the picture's range). */
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
  return sample;
}

/** RGBA pixels as one little-endian word each: the colormap's levels, and an empty cell's. */
const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;
const rgbaWord = (r: number, g: number, b: number, a: number): number => (r | (g << 8) | (b << 16) | (a << 24)) >>> 0;
const COLOUR_WORDS = Uint32Array.from({ length: LEVELS }, (_, l) => rgbaWord(COLOUR_TABLE[l * 3]!, COLOUR_TABLE[l * 3 + 1]!, COLOUR_TABLE[l * 3 + 2]!, 255));
const NAN_WORD = rgbaWord(...NAN_RGBA);

export function previewRaster(values: Float32Array, width: number, height: number): RasterPreview {
  return renderPicture(pictureOf(values, width, height));
}

/** The PNG of a picture, colour-mapped between the 2nd and 98th percentiles of its finite values. */
export function renderPicture(picture: Picture): RasterPreview {
  const size = { width: picture.width, height: picture.height };
  const pictured = picture.values;
  const finite = percentileSample(pictured);
  const [low, high] = finite.length > 0 ? percentiles(finite, [LOW_PERCENTILE, HIGH_PERCENTILE]) : [undefined, undefined];
  const png = new PNG({ width: size.width, height: size.height });
  const span = low !== undefined && high! > low ? high! - low : 0;
  const rgba = png.data;
  // One word a pixel where the buffer allows it (pngjs allocates it whole, so it is aligned).
  const words = LITTLE_ENDIAN && rgba.byteOffset % 4 === 0 ? new Uint32Array(rgba.buffer, rgba.byteOffset, pictured.length) : undefined;
  for (let i = 0; i < pictured.length; i++) {
    const v = pictured[i]!;
    // A constant raster takes the middle colour.
    const level = !isFiniteFloat(v) ? -1 : span > 0 ? Math.round(Math.min(1, Math.max(0, (v - low!) / span)) * (LEVELS - 1)) : LEVELS >> 1;
    const word = level < 0 ? NAN_WORD : COLOUR_WORDS[level]!;
    if (words) {
      words[i] = word;
    } else {
      rgba[4 * i] = word & 0xff;
      rgba[4 * i + 1] = (word >>> 8) & 0xff;
      rgba[4 * i + 2] = (word >>> 16) & 0xff;
      rgba[4 * i + 3] = word >>> 24;
    }
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

/** The summary of `file`: with `preview` (the merge's, src/local/madePreviews.ts) when given, else decoded. */
export async function previewSummary(file: string, made?: RasterPreview): Promise<PreviewSummary> {
  if (made) {
    const { readFloat32GeoTiffGrid } = await import("../lidar/geotiff");
    return { grid: await readFloat32GeoTiffGrid(file), preview: made };
  }
  const { raster, preview } = await previewGeoTiff(file);
  const { values: _values, ...grid } = raster;
  return { grid, preview };
}

/**
 * The summaries of `files`, in order: in the main thread for one worker, else up to `workers` at
 * once in the pool's threads (src/threadPool.ts), as decoding and colour-mapping is CPU-bound. A
 * file whose preview the merge made as it wrote it (src/local/madePreviews.ts) is not decoded.
 */
export async function previewSummaries(files: readonly string[], workers: number): Promise<PreviewSummary[]> {
  const results = new Array<PreviewSummary>(files.length);
  const toDecode: number[] = [];
  const made: [number, RasterPreview][] = [];
  for (const [i, file] of files.entries()) {
    const preview = takeMadePreview(file);
    if (preview) made.push([i, preview]);
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
  for (const [i, preview] of made) results[i] = await previewSummary(files[i]!, preview);
  return results;
}
