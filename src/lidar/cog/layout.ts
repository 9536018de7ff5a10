/**
 * GDAL's Cloud Optimized GeoTIFF layout (https://gdal.org/drivers/raster/cog.html, "File format
 * details"), which `gdalinfo` reports as LAYOUT=COG and GDAL's validate_cloud_optimized_geotiff.py
 * checks:
 *   the TIFF header; the "ghost" structural metadata GDAL writes right after it; the IFD of the full
 *   resolution image, then each overview's, largest first, each with its out-of-line tag values;
 *   the tile offset and byte count arrays; then the tiles, smallest overview first and the full
 *   resolution last, each level's tiles row by row, every tile with its byte count before it (a
 *   uint32) and its last 4 bytes repeated after it.
 * Everything before the tiles is known once the tiles' compressed sizes are, and this module lays it
 * out from those sizes, in BigTIFF when a classic TIFF's 32-bit offsets cannot reach the end.
 */
import { asciiValues, encodeIfd, even, FieldType, ifdByteLength, isOutOfLine, Tag, valueBytes, writeValues } from "./ifd";

/** The lines GDAL 3.x writes, byte for byte (the trailing space makes its size field 140). */
const GHOST_BODY =
  "LAYOUT=IFDS_BEFORE_DATA\nBLOCK_ORDER=ROW_MAJOR\nBLOCK_LEADER=SIZE_AS_UINT4\nBLOCK_TRAILER=LAST_4_BYTES_REPEATED\nKNOWN_INCOMPATIBLE_EDITION=NO\n ";
export const GHOST_HEADER = `GDAL_STRUCTURAL_METADATA_SIZE=${String(GHOST_BODY.length).padStart(6, "0")} bytes\n${GHOST_BODY}`;

/** A tile's leader (its byte count) and trailer (its last 4 bytes again). */
export const TILE_LEADER_BYTES = 4;
export const TILE_TRAILER_BYTES = 4;
const MAX_CLASSIC_OFFSET = 0xffffffff;

/** One resolution level as stored: its size and its tiles' compressed sizes, row by row. */
export interface StoredLevel {
  readonly width: number;
  readonly height: number;
  readonly byteCounts: readonly number[];
}

export interface CogLayoutOptions {
  readonly blockSize: number;
  /** Tags of the full-resolution IFD only (georeferencing). */
  readonly mainTags: readonly Tag[];
  /** Tags of every IFD besides the image structure (GDAL_NODATA). */
  readonly commonTags: readonly Tag[];
  /** BigTIFF even when a classic TIFF would do. */
  readonly forceBigTiff?: boolean;
}

export interface CogLayout {
  readonly bigTiff: boolean;
  /** Everything before the first tile: header, ghost metadata, IFDs and tile arrays. */
  readonly head: Buffer;
  /** Where each level's first tile leader is (index 0 is the full resolution). */
  readonly levelStarts: readonly number[];
  /** The file's size. */
  readonly size: number;
}

export const TAG = {
  NewSubfileType: 254,
  ImageWidth: 256,
  ImageLength: 257,
  BitsPerSample: 258,
  Compression: 259,
  PhotometricInterpretation: 262,
  SamplesPerPixel: 277,
  PlanarConfiguration: 284,
  Predictor: 317,
  TileWidth: 322,
  TileLength: 323,
  TileOffsets: 324,
  TileByteCounts: 325,
  SampleFormat: 339,
  ModelPixelScale: 33550,
  ModelTiepoint: 33922,
  GeoKeyDirectory: 34735,
  GdalNoData: 42113,
} as const;

const COMPRESSION_DEFLATE = 8;
const PHOTOMETRIC_MIN_IS_BLACK = 1;
const PLANAR_CHUNKY = 1;
const PREDICTOR_FLOATING_POINT = 3;
const SAMPLE_FORMAT_IEEE_FLOAT = 3;
const SUBFILE_REDUCED_IMAGE = 1;

function dimension(id: number, value: number): Tag {
  return { id, type: value > 0xffff ? FieldType.LONG : FieldType.SHORT, values: [value] };
}

function short(id: number, value: number): Tag {
  return { id, type: FieldType.SHORT, values: [value] };
}

/** The tags of level `index`; tile arrays that do not fit inline go at `arraysAt`. */
function levelTags(level: StoredLevel, index: number, options: CogLayoutOptions, big: boolean, offsets: readonly number[], arraysAt: readonly number[]): Tag[] {
  const offsetsTag: Tag = { id: TAG.TileOffsets, type: big ? FieldType.LONG8 : FieldType.LONG, values: offsets };
  const countsTag: Tag = { id: TAG.TileByteCounts, type: FieldType.LONG, values: level.byteCounts };
  return [
    ...(index > 0 ? [{ id: TAG.NewSubfileType, type: FieldType.LONG, values: [SUBFILE_REDUCED_IMAGE] }] : []),
    dimension(TAG.ImageWidth, level.width),
    dimension(TAG.ImageLength, level.height),
    short(TAG.BitsPerSample, 32),
    short(TAG.Compression, COMPRESSION_DEFLATE),
    short(TAG.PhotometricInterpretation, PHOTOMETRIC_MIN_IS_BLACK),
    short(TAG.SamplesPerPixel, 1),
    short(TAG.PlanarConfiguration, PLANAR_CHUNKY),
    short(TAG.Predictor, PREDICTOR_FLOATING_POINT),
    short(TAG.TileWidth, options.blockSize),
    short(TAG.TileLength, options.blockSize),
    isOutOfLine(offsetsTag, big) ? { ...offsetsTag, valuesAt: arraysAt[0]! } : offsetsTag,
    isOutOfLine(countsTag, big) ? { ...countsTag, valuesAt: arraysAt[1]! } : countsTag,
    short(TAG.SampleFormat, SAMPLE_FORMAT_IEEE_FLOAT),
    ...(index === 0 ? options.mainTags : []),
    ...options.commonTags,
  ];
}

/** The GDAL_NODATA tag for NaN. */
export function noDataTag(): Tag {
  return { id: TAG.GdalNoData, type: FieldType.ASCII, values: asciiValues("nan") };
}

function tilesBytes(level: StoredLevel): number {
  return level.byteCounts.reduce((sum, n) => sum + TILE_LEADER_BYTES + n + TILE_TRAILER_BYTES, 0);
}

function layOut(levels: readonly StoredLevel[], options: CogLayoutOptions, big: boolean): CogLayout {
  const headerBytes = big ? 16 : 8;
  const firstIfd = even(headerBytes + GHOST_HEADER.length);
  // First pass: sizes only (a tag's size does not depend on its values).
  const placeholder = levels.map((level, k) => levelTags(level, k, options, big, level.byteCounts, [0, 0]));
  const ifdAt: number[] = [];
  let offset = firstIfd;
  for (const tags of placeholder) {
    ifdAt.push(offset);
    offset += ifdByteLength(tags, big);
  }
  const arraysAt = placeholder.map((tags) =>
    [TAG.TileOffsets, TAG.TileByteCounts].map((id) => {
      const tag = tags.find((t) => t.id === id)!;
      if (!isOutOfLine(tag, big)) return 0;
      const at = offset;
      offset += even(valueBytes(tag));
      return at;
    }),
  );
  const levelStarts: number[] = new Array<number>(levels.length);
  for (let k = levels.length - 1; k >= 0; k--) {
    levelStarts[k] = offset;
    offset += tilesBytes(levels[k]!);
  }
  const size = offset;
  if (!big && size > MAX_CLASSIC_OFFSET) return layOut(levels, options, true);

  const head = Buffer.alloc(levelStarts[levels.length - 1]!);
  head.write(big ? "II+\0" : "II*\0", 0, "latin1");
  if (big) {
    head.writeUInt16LE(8, 4); // bytes per offset
    head.writeBigUInt64LE(BigInt(firstIfd), 8);
  } else {
    head.writeUInt32LE(firstIfd, 4);
  }
  head.write(GHOST_HEADER, headerBytes, "latin1");
  levels.forEach((level, k) => {
    const offsets: number[] = [];
    let at = levelStarts[k]!;
    for (const count of level.byteCounts) {
      offsets.push(at + TILE_LEADER_BYTES);
      at += TILE_LEADER_BYTES + count + TILE_TRAILER_BYTES;
    }
    const tags = levelTags(level, k, options, big, offsets, arraysAt[k]!);
    encodeIfd(tags, ifdAt[k]!, k + 1 < levels.length ? ifdAt[k + 1]! : 0, big).copy(head, ifdAt[k]!);
    for (const tag of tags) if (tag.valuesAt !== undefined) writeValues(head, tag.valuesAt, tag.type, tag.values);
  });
  return { bigTiff: big, head, levelStarts, size };
}

/** Lays out a COG of `levels` (full resolution first). */
export function cogLayout(levels: readonly StoredLevel[], options: CogLayoutOptions): CogLayout {
  return layOut(levels, options, options.forceBigTiff === true);
}
