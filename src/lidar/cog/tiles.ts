/**
 * Tiles of a Float32 raster, encoded as a COG stores them: the floating-point predictor (TIFF
 * Technote 3, Predictor = 3) and then DEFLATE (Compression = 8) with node's zlib.
 */
import { endianness } from "os";
import { promisify } from "util";
import { deflate } from "zlib";

const deflateAsync = promisify(deflate);

/** zlib's default, as GDAL's ZLEVEL: a good ratio at a fair speed. Fixed, so the bytes are too. */
export const DEFLATE_LEVEL = 6;

/** A square tile of `size` x `size` cells of `rows` (row-major, `width` a row), NaN beyond the raster. */
export function cutTile(rows: Float32Array, width: number, rowCount: number, tileCol: number, size: number, target: Float32Array): Float32Array {
  const left = tileCol * size;
  const cols = Math.min(size, width - left);
  const filledRows = Math.min(size, rowCount);
  if (cols < size || filledRows < size) target.fill(NaN);
  for (let r = 0; r < filledRows; r++) target.set(rows.subarray(r * width + left, r * width + left + cols), r * size);
  return target;
}

/**
 * The floating-point predictor, row by row: each row's floats split into byte planes, most
 * significant byte first, then each byte replaced by its difference from the previous one. It turns
 * neighbouring values that share their exponent and high mantissa bits into runs DEFLATE packs well.
 */
export function floatingPointPredictor(tile: Float32Array, size: number): Buffer {
  if (endianness() !== "LE") throw new Error("the COG writer needs a little-endian host");
  const words = new Uint32Array(tile.buffer, tile.byteOffset, tile.length);
  const out = new Uint8Array(tile.byteLength);
  const rows = tile.length / size;
  // One pass over the row, writing all four planes and differencing as it goes (a Uint8Array keeps
  // the difference mod 256): each plane's first byte follows the previous plane's last one, which is
  // a byte of the row's last value, and the row's very first byte is kept as it is.
  for (let row = 0; row < rows; row++) {
    const first = row * size;
    const [at0, at1, at2, at3] = [first * 4, first * 4 + size, first * 4 + 2 * size, first * 4 + 3 * size];
    const last = words[first + size - 1]!;
    let [p0, p1, p2, p3] = [0, last >>> 24, (last >>> 16) & 0xff, (last >>> 8) & 0xff];
    for (let i = 0; i < size; i++) {
      const word = words[first + i]!;
      const b0 = word >>> 24;
      const b1 = (word >>> 16) & 0xff;
      const b2 = (word >>> 8) & 0xff;
      const b3 = word & 0xff;
      out[at0 + i] = b0 - p0;
      out[at1 + i] = b1 - p1;
      out[at2 + i] = b2 - p2;
      out[at3 + i] = b3 - p3;
      p0 = b0;
      p1 = b1;
      p2 = b2;
      p3 = b3;
    }
  }
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}

/** A tile's stored bytes. zlib runs on libuv's thread pool, so several tiles compress at once. */
export async function encodeTile(tile: Float32Array, size: number): Promise<Buffer> {
  return deflateAsync(floatingPointPredictor(tile, size), { level: DEFLATE_LEVEL });
}
