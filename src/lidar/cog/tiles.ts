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
  // One pass per byte plane, differencing as it goes (a Uint8Array keeps the difference mod 256): a
  // plane's first byte follows the previous plane's last one, and each row starts from 0.
  for (let row = 0; row < rows; row++) {
    const first = row * size;
    let previous = 0;
    for (let plane = 0; plane < 4; plane++) {
      const shift = 24 - 8 * plane;
      const at = first * 4 + plane * size;
      for (let i = 0; i < size; i++) {
        const byte = (words[first + i]! >>> shift) & 0xff;
        out[at + i] = byte - previous;
        previous = byte;
      }
    }
  }
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}

/** A tile's stored bytes. zlib runs on libuv's thread pool, so several tiles compress at once. */
export async function encodeTile(tile: Float32Array, size: number): Promise<Buffer> {
  return deflateAsync(floatingPointPredictor(tile, size), { level: DEFLATE_LEVEL });
}
