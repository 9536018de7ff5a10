/**
 * The full-resolution pixels of a COG as src/lidar/cog/ writes them (tiled, DEFLATE, the
 * floating-point predictor or none, one Float32 band), read with node's zlib on libuv's threads and
 * the predictor undone in one pass a row: about 5 times faster than geotiff.js's general path
 * (pako, a per-row copy for the predictor, a DataView read a pixel), which the run report paid for
 * each raster it previews. Any other kind of TIFF image is left to geotiff.js (undefined).
 */
import type { GeoTIFFImage } from "geotiff";
import { endianness } from "os";
import { promisify } from "util";
import { inflate } from "zlib";

const inflateAsync = promisify(inflate);

const DEFLATE = 8;
const ADOBE_DEFLATE = 32946;
const NO_PREDICTOR = 1;
const FLOATING_POINT_PREDICTOR = 3;

/**
 * Undoes floatingPointPredictor (tiles.ts) on one tile of `size`-wide rows: each row's bytes summed
 * as they run (mod 256, across its four byte planes in turn), plane p giving the value's byte p,
 * most significant first.
 */
export function undoFloatingPointPredictor(encoded: Uint8Array, size: number): Float32Array {
  const values = new Float32Array(encoded.length / 4);
  // Int32, not Uint32: the words stay small integers to V8 (no doubles above 2^31) as bits are or-ed in.
  const words = new Int32Array(values.buffer);
  const rows = values.length / size;
  for (let row = 0; row < rows; row++) {
    const first = row * size;
    let at = first * 4;
    let sum = 0;
    for (let i = 0; i < size; i++) words[first + i] = (sum = (sum + encoded[at++]!) & 0xff) << 24;
    for (let i = 0; i < size; i++) words[first + i]! |= (sum = (sum + encoded[at++]!) & 0xff) << 16;
    for (let i = 0; i < size; i++) words[first + i]! |= (sum = (sum + encoded[at++]!) & 0xff) << 8;
    for (let i = 0; i < size; i++) words[first + i]! |= sum = (sum + encoded[at++]!) & 0xff;
  }
  return values;
}

/** The image's pixels, row-major, or undefined when it is not a kind this reads. */
export async function readFloat32Tiles(image: GeoTIFFImage, bytes: Uint8Array): Promise<Float32Array | undefined> {
  const directory = image.fileDirectory;
  const compression = await directory.loadValue("Compression");
  const predictor = (await directory.loadValue("Predictor")) ?? NO_PREDICTOR;
  const planar = (await directory.loadValue("PlanarConfiguration")) ?? 1;
  const plain = predictor === NO_PREDICTOR && image.littleEndian && endianness() === "LE";
  if (!image.isTiled || (compression !== DEFLATE && compression !== ADOBE_DEFLATE) || planar !== 1) return undefined;
  if (predictor !== FLOATING_POINT_PREDICTOR && !plain) return undefined;
  if (endianness() !== "LE") return undefined; // the words below are assembled in the host's order
  const [tileWidth, tileHeight] = [image.getTileWidth(), image.getTileHeight()];
  const [width, height] = [image.getWidth(), image.getHeight()];
  const offsets = (await directory.loadValue("TileOffsets")) as ArrayLike<number>;
  const counts = (await directory.loadValue("TileByteCounts")) as ArrayLike<number>;
  const across = Math.ceil(width / tileWidth);
  const down = Math.ceil(height / tileHeight);
  if (offsets.length < across * down || counts.length < across * down) return undefined;
  const pixels = new Float32Array(width * height);
  const tiles: Promise<void>[] = [];
  for (let ty = 0; ty < down; ty++) {
    for (let tx = 0; tx < across; tx++) {
      const k = ty * across + tx;
      tiles.push(
        inflateAsync(bytes.subarray(offsets[k]!, offsets[k]! + counts[k]!)).then((raw) => {
          if (raw.length !== tileWidth * tileHeight * 4) {
            throw new Error(`tile ${k} inflates to ${raw.length} bytes, not the ${tileWidth * tileHeight * 4} of a ${tileWidth} x ${tileHeight} Float32 tile`);
          }
          const tile = plain
            ? new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length))
            : undoFloatingPointPredictor(raw, tileWidth);
          const rows = Math.min(tileHeight, height - ty * tileHeight);
          const cols = Math.min(tileWidth, width - tx * tileWidth);
          for (let r = 0; r < rows; r++) {
            pixels.set(tile.subarray(r * tileWidth, r * tileWidth + cols), (ty * tileHeight + r) * width + tx * tileWidth);
          }
        }),
      );
    }
  }
  await Promise.all(tiles);
  return pixels;
}
