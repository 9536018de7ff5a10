import { expandInputs } from "../lidar/inputs";
import { readAt, readLasHeader } from "../lidar/lasHeader";
import * as fs from "fs";

/** AHN3's nominal density (points per square metre), the default for a volume given as a size. */
export const DEFAULT_POINT_DENSITY = 10;
/** Bytes per point of a size-only volume: AHN3's 16 TB over its 700 billion points. */
export const DEFAULT_BYTES_PER_POINT = 16e12 / 700e9;
/** Points per input file of a size-only volume: AHN3 ships about 1,370 sheets of ~500 million points. */
export const DEFAULT_POINTS_PER_FILE = 500e6;

/** The horizontal extent of one input file (its header's bounding box) and its points. */
export interface FileExtent {
  readonly file: string;
  readonly points: number;
  readonly bytes: number;
  readonly minX: number;
  readonly minY: number;
  readonly maxX: number;
  readonly maxY: number;
}

/** How much data a run reads: measured from headers, or stated as a size or a point count. */
export interface DataVolume {
  /** `headers` (read from LAS/LAZ files), or `stated` (a size or a point count on the command line). */
  readonly kind: "headers" | "stated";
  /** What the user gave: a path, a glob or a size. */
  readonly given: string;
  readonly points: number;
  readonly bytes: number;
  /** Input files: the split phase runs one per file. */
  readonly files: number;
  /** Points per square metre (measured over the files' extents, or stated). */
  readonly density: number;
  /** Headers only: each file's extent, so tile counts are real. */
  readonly extents?: readonly FileExtent[];
}

/** The tiles a volume falls into for one tile size. */
export interface TileCounts {
  readonly tileSize: number;
  readonly tiles: number;
  readonly meanPoints: number;
  /** The fullest tile's points (memory must fit it). */
  readonly maxPoints: number;
}

/** A value the user gave that is not a data volume: one line, exit 2. */
export class DataVolumeError extends Error {}

const UNITS: Readonly<Record<string, number>> = {
  B: 1,
  kB: 1e3,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  TB: 1e12,
  PB: 1e15,
  KiB: 2 ** 10,
  MiB: 2 ** 20,
  GiB: 2 ** 30,
  TiB: 2 ** 40,
  PiB: 2 ** 50,
};
const SIZE = /^(\d+(?:\.\d+)?(?:e\d+)?)\s*([A-Za-z]+)$/;

export interface StatedVolumeOptions {
  readonly density?: number;
  readonly bytesPerPoint?: number;
  readonly pointsPerFile?: number;
}

/** `700e9points`, `16TB`, `1.4TiB`: the volume, with points or bytes derived from the other. */
export function parseStatedVolume(text: string, options: StatedVolumeOptions = {}): DataVolume {
  const match = SIZE.exec(text.trim());
  const density = options.density ?? DEFAULT_POINT_DENSITY;
  const bytesPerPoint = options.bytesPerPoint ?? DEFAULT_BYTES_PER_POINT;
  if (!match) throw new DataVolumeError(`--data ${text}: expected a size (16TB, 1.4TiB, 500GB), a point count (700e9points), or an existing LAS/LAZ file, directory or glob`);
  const amount = Number(match[1]);
  const unit = match[2]!;
  let points: number;
  let bytes: number;
  if (/^(points?|pts)$/i.test(unit)) {
    points = amount;
    bytes = amount * bytesPerPoint;
  } else if (UNITS[unit] !== undefined) {
    bytes = amount * UNITS[unit]!;
    points = bytes / bytesPerPoint;
  } else {
    throw new DataVolumeError(`--data ${text}: unknown unit '${unit}'; use points, B, kB, MB, GB, TB, PB, KiB, MiB, GiB, TiB or PiB`);
  }
  if (!(points >= 1) || !Number.isFinite(points)) throw new DataVolumeError(`--data ${text}: a run needs at least one point`);
  points = Math.round(points);
  return { kind: "stated", given: text, points, bytes, files: Math.max(1, Math.ceil(points / (options.pointsPerFile ?? DEFAULT_POINTS_PER_FILE))), density };
}

/** The header's bounding box (LAS 1.0–1.4: max X, min X, max Y, min Y as doubles from byte 179). */
function extentOf(file: string): FileExtent {
  const header = readLasHeader(file);
  const fd = fs.openSync(file, "r");
  try {
    const box = readAt(fd, 179, 32);
    return { file, points: header.pointCount, bytes: header.fileSize, maxX: box.readDoubleLE(0), minX: box.readDoubleLE(8), maxY: box.readDoubleLE(16), minY: box.readDoubleLE(24) };
  } finally {
    fs.closeSync(fd);
  }
}

/** The volume of LAS/LAZ files under a path or glob, from their headers only (nothing else is read). */
export function volumeFromHeaders(input: string): DataVolume {
  const extents = expandInputs(input).map(extentOf);
  const points = extents.reduce((n, e) => n + e.points, 0);
  if (points === 0) throw new DataVolumeError(`${input}: the files hold no points`);
  const area = extents.reduce((a, e) => a + Math.max(1, (e.maxX - e.minX) * (e.maxY - e.minY)), 0);
  return { kind: "headers", given: input, points, bytes: extents.reduce((n, e) => n + e.bytes, 0), files: extents.length, density: points / area, extents };
}

/**
 * The tiles of a tile size. From headers: the grid tiles each file's box touches (tile = floor(x / size),
 * the split's own rule), each given the file's points in proportion to the overlap. Stated: the area
 * the density implies, cut into full tiles.
 */
export function tileCountsFor(volume: DataVolume, tileSize: number): TileCounts {
  if (!volume.extents) {
    const tiles = Math.max(1, Math.ceil(volume.points / (volume.density * tileSize * tileSize)));
    return { tileSize, tiles, meanPoints: volume.points / tiles, maxPoints: Math.min(volume.points, volume.density * tileSize * tileSize) };
  }
  const perTile = new Map<string, number>();
  for (const e of volume.extents) {
    const width = Math.max(e.maxX - e.minX, 1e-9);
    const height = Math.max(e.maxY - e.minY, 1e-9);
    const touched = (Math.floor(e.maxX / tileSize) - Math.floor(e.minX / tileSize) + 1) * (Math.floor(e.maxY / tileSize) - Math.floor(e.minY / tileSize) + 1);
    for (let tx = Math.floor(e.minX / tileSize); tx <= Math.floor(e.maxX / tileSize); tx++) {
      for (let ty = Math.floor(e.minY / tileSize); ty <= Math.floor(e.maxY / tileSize); ty++) {
        const ox = Math.min(e.maxX, (tx + 1) * tileSize) - Math.max(e.minX, tx * tileSize);
        const oy = Math.min(e.maxY, (ty + 1) * tileSize) - Math.max(e.minY, ty * tileSize);
        // A degenerate box (a line of points) puts all its points in the tiles it touches, evenly.
        const share = e.maxX > e.minX && e.maxY > e.minY ? (Math.max(0, ox) * Math.max(0, oy)) / (width * height) : 1 / touched;
        if (share <= 0) continue;
        perTile.set(`${tx},${ty}`, (perTile.get(`${tx},${ty}`) ?? 0) + share * e.points);
      }
    }
  }
  const counts = [...perTile.values()];
  return { tileSize, tiles: counts.length, meanPoints: volume.points / counts.length, maxPoints: Math.max(...counts) };
}

/** A `--data` value: an existing path, a glob or a `.las`/`.laz` name is read from headers; anything else is a size or count. */
export function resolveDataVolume(text: string, options: StatedVolumeOptions = {}): DataVolume {
  if (fs.existsSync(text) || /[*?]/.test(text) || /\.la[sz]$/i.test(text)) return volumeFromHeaders(text);
  return parseStatedVolume(text, options);
}
