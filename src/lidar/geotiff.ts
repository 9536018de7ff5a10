/**
 * Single-band Float32 GeoTIFFs, north-up, NaN for no data: what `merge` writes and the report reads.
 * `merge` writes Cloud Optimized GeoTIFFs with src/lidar/cog/ and the georeferencing tags below;
 * geotiff.js decodes them, and writes the small strip GeoTIFFs of encodeFloat32GeoTiff.
 */
import { fromArrayBuffer, fromFile, GeoTIFFImage, GeotiffWriterMetadata, writeArrayBuffer } from "geotiff";
import { FieldType, Tag } from "./cog/ifd";
import { TAG } from "./cog/layout";
import { readFloat32Tiles } from "./cog/readTiles";
import { crsGeoKeys } from "./crs";

/** Where a north-up raster lies: its size in cells and its north-west corner. */
export interface RasterGrid {
  readonly width: number;
  readonly height: number;
  /** West edge. */
  readonly originX: number;
  /** North edge. */
  readonly originY: number;
  readonly cellSize: number;
  /** "EPSG:<code>", or "" for a raster with a transform but no CRS. */
  readonly crs: string;
}

export interface Float32Raster {
  readonly width: number;
  readonly height: number;
  readonly values: Float32Array;
  readonly originX: number;
  readonly originY: number;
  readonly cellSize: number;
  readonly noData: number | null;
  /** The EPSG code of its GeoKeys, if it has one. */
  readonly epsg?: number;
}

/** GTRasterTypeGeoKey: a value describes the whole cell, the tiepoint is the cell's corner. */
const RASTER_PIXEL_IS_AREA = 1;
/** ImageWidth and ImageLength are written as TIFF SHORTs. */
const MAX_DIMENSION = 0xffff;
/** A pixel value whose big-endian bytes (3f c0 00 00) mark where geotiff.js put the strip. */
const SENTINEL = 1.5;

function geoKeys(crs: string): GeotiffWriterMetadata {
  if (crs !== "") return { ...crsGeoKeys(crs), GTRasterTypeGeoKey: RASTER_PIXEL_IS_AREA };
  // No keys at all: GDAL makes up an "unnamed" engineering CRS from a lone GTRasterTypeGeoKey. And
  // geotiff.js stamps WGS 84 and a whole-globe tiepoint on a file without one of these two keys; an
  // undefined value counts as present but is never written.
  return { ProjectedCSTypeGeoKey: undefined };
}

/** GeoKey ids (GeoTIFF 1.0, section 6.2). */
const GEO_KEY_IDS: Readonly<Record<string, number>> = {
  GTModelTypeGeoKey: 1024,
  GTRasterTypeGeoKey: 1025,
  GeographicTypeGeoKey: 2048,
  ProjectedCSTypeGeoKey: 3072,
};

/**
 * The GeoKeyDirectory of `crs`: the keys encodeFloat32GeoTiff gives geotiff.js (model type, raster
 * type "pixel is area" and the EPSG code; none without a CRS), each a SHORT stored in the directory,
 * sorted by id. The same entries geotiff.js writes, so the merge's georeferencing is unchanged.
 */
export function geoKeyDirectory(crs: string): number[] {
  const keys = Object.entries(geoKeys(crs))
    .filter((entry): entry is [string, number] => typeof entry[1] === "number")
    .map(([name, value]) => [GEO_KEY_IDS[name]!, value] as const)
    .sort((a, b) => a[0] - b[0]);
  // Version 1, revision 1.0, then (key, location 0 = the value is here, count 1, value) per key.
  return [1, 1, 0, keys.length, ...keys.flatMap(([id, value]) => [id, 0, 1, value])];
}

/** The tags that place a north-up raster of `grid` and name its CRS, as GeoTIFFs carry them. */
export function georeferenceTags(grid: RasterGrid): Tag[] {
  return [
    { id: TAG.ModelPixelScale, type: FieldType.DOUBLE, values: [grid.cellSize, grid.cellSize, 0] },
    { id: TAG.ModelTiepoint, type: FieldType.DOUBLE, values: [0, 0, 0, grid.originX, grid.originY, 0] },
    { id: TAG.GeoKeyDirectory, type: FieldType.SHORT, values: geoKeyDirectory(grid.crs) },
  ];
}

/** The bytes of a Float32 GeoTIFF of `values` (row-major, row 0 north). Deterministic: no dates. */
export function encodeFloat32GeoTiff(values: Float32Array, grid: RasterGrid): Buffer {
  const { width, height, originX, originY, cellSize } = grid;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || width > MAX_DIMENSION || height > MAX_DIMENSION) {
    throw new RangeError(`a GeoTIFF of ${width} x ${height} cells cannot be written (1 to ${MAX_DIMENSION} cells a side)`);
  }
  if (values.length !== width * height) throw new RangeError(`${values.length} values for a ${width} x ${height} raster`);
  const metadata: GeotiffWriterMetadata = {
    width,
    height,
    BitsPerSample: [32],
    SampleFormat: [3], // IEEE float
    SamplesPerPixel: 1,
    PhotometricInterpretation: 1, // grey, black is zero
    StripByteCounts: [values.length * 4],
    ModelPixelScale: [cellSize, cellSize, 0],
    ModelTiepoint: [0, 0, 0, originX, originY, 0],
    GDAL_NODATA: "nan",
    ...geoKeys(grid.crs),
  };
  // geotiff.js encodes the pixels one at a time (about 0.35 µs each, 1.4 s for 2000 x 2000), so it
  // writes the tags of the full-size image around a single sentinel pixel, and the strip that follows
  // its header (one big-endian strip, as geotiff.js lays it out) is written here in one go; swap32
  // turns the host's little-endian floats big-endian.
  const withSentinel = Buffer.from(writeArrayBuffer(Float32Array.of(SENTINEL), metadata));
  const header = withSentinel.subarray(0, withSentinel.length - 4);
  if (withSentinel.readFloatBE(header.length) !== SENTINEL) throw new Error("geotiff.js no longer puts the pixels right after its header");
  const strip = Buffer.from(values.buffer, values.byteOffset, values.byteLength);
  return Buffer.concat([header, Buffer.from(strip).swap32()]);
}

/** A single-band Float32 GeoTIFF read back (as the report and the tests do). */
export async function decodeFloat32GeoTiff(bytes: Uint8Array): Promise<Float32Raster> {
  const arrayBuffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const image = await (await fromArrayBuffer(arrayBuffer)).getImage();
  const grid = float32GridOf(image);
  const band = (await readFloat32Tiles(image, bytes)) ?? (await image.readRasters())[0];
  return { ...grid, values: band instanceof Float32Array ? band : Float32Array.from(band as ArrayLike<number>) };
}

/** A single-band Float32 GeoTIFF's grid, from its header only: no tile is read. */
export async function readFloat32GeoTiffGrid(file: string): Promise<Omit<Float32Raster, "values">> {
  const tiff = await fromFile(file);
  try {
    return float32GridOf(await tiff.getImage());
  } finally {
    await tiff.close();
  }
}

function float32GridOf(image: GeoTIFFImage): Omit<Float32Raster, "values"> {
  if (image.getSamplesPerPixel() !== 1 || image.getSampleFormat() !== 3 || image.getBitsPerSample() !== 32) {
    throw new Error(`not a single-band Float32 GeoTIFF (${image.getSamplesPerPixel()} band(s) of format ${image.getSampleFormat()}, ${image.getBitsPerSample()} bits)`);
  }
  const [originX, originY] = image.getOrigin();
  const [cellSize] = image.getResolution();
  const keys = image.getGeoKeys() ?? {};
  const epsg: unknown = keys.ProjectedCSTypeGeoKey ?? keys.GeographicTypeGeoKey;
  return {
    width: image.getWidth(),
    height: image.getHeight(),
    originX: originX!,
    originY: originY!,
    cellSize: cellSize!,
    noData: image.getGDALNoData(),
    ...(typeof epsg === "number" ? { epsg } : {}),
  };
}
