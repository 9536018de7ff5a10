import { minimumRecordLength } from "./pointRecords";

/** POINT14's layers: changed values and X/Y, Z, classification, flags, intensity, scan angle, user data, point source, GPS time. */
const POINT14_LAYERS = 9;

/**
 * What is wrong with a layered chunk (LAZ 1.4, point formats 6-8, which laz-perf decodes as layered
 * whatever the VLR says), or undefined. Such a chunk is the first point raw, the chunk's own point
 * count, one uint32 byte count per layer, then the layers. laz-perf copies each layer into a vector
 * of the size it reads there, so a damaged size would make it allocate gigabytes (and abort the WASM)
 * or read past the chunk: the sizes are checked against the chunk's bytes before laz-perf sees them.
 */
export function layeredChunkProblem(bytes: Buffer, byteCount: number, pointCount: number, pointFormat: number, recordLength: number): string | undefined {
  const layers = POINT14_LAYERS + (pointFormat >= 7 ? 1 : 0) + (pointFormat === 8 ? 1 : 0) + (recordLength - minimumRecordLength(pointFormat));
  const sizesEnd = recordLength + 4 + 4 * layers;
  if (byteCount < sizesEnd) return `its ${byteCount} bytes end inside its ${sizesEnd}-byte head (first point, point count, ${layers} layer sizes)`;
  const ownCount = bytes.readUInt32LE(recordLength);
  if (ownCount !== pointCount) return `it says it holds ${ownCount} points, where the header and chunk table give it ${pointCount}`;
  let end = sizesEnd;
  for (let i = 0; i < layers; i++) end += bytes.readUInt32LE(recordLength + 4 + 4 * i);
  if (end !== byteCount) return `its layer sizes add up to ${end} bytes, but the chunk has ${byteCount}`;
  return undefined;
}
