/**
 * The benchmarks' raster checks: read the rasters bench/numpy_pipeline.py writes (.npy + grid.json)
 * and the GeoTIFFs of a `naaw run`, and compare them cell by cell, bit for bit.
 */
import * as fs from "fs";
import * as path from "path";

export const FEATURES = [
  "perc_95_normalized_height",
  "max_normalized_height",
  "mean_normalized_height",
  "pulse_penetration_ratio",
  "point_density",
];


export interface Raster {
  readonly rows: number;
  readonly cols: number;
  readonly originX: number;
  readonly originY: number;
  readonly cellSize: number;
  readonly values: Float32Array;
}

/** A 2-D little-endian float32 C-order .npy (what numpy_pipeline.py writes). */
function readNpyFloat32(file: string): { shape: number[]; values: Float32Array } {
  const buf = fs.readFileSync(file);
  if (buf.readUInt8(0) !== 0x93 || buf.toString("latin1", 1, 6) !== "NUMPY") throw new Error(`${file}: not an .npy file`);
  const major = buf[6]!;
  const headerLength = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.toString("latin1", start, start + headerLength);
  if (!/'descr':\s*'<f4'/.test(header) || !/'fortran_order':\s*False/.test(header)) {
    throw new Error(`${file}: expected a C-order <f4 array, header ${header.trim()}`);
  }
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)![1]!.split(",").filter((s) => s.trim()).map(Number);
  const offset = start + headerLength;
  const values = new Float32Array(buf.buffer.slice(buf.byteOffset + offset, buf.byteOffset + buf.length));
  return { shape, values };
}

export function readNumpyRasters(dir: string): Map<string, Raster> {
  const grid = JSON.parse(fs.readFileSync(path.join(dir, "grid.json"), "utf8"));
  const out = new Map<string, Raster>();
  for (const feature of FEATURES) {
    const { shape, values } = readNpyFloat32(path.join(dir, `${feature}.npy`));
    if (shape[0] !== grid.rows || shape[1] !== grid.cols) throw new Error(`${feature}.npy: shape ${shape} != grid`);
    out.set(feature, { rows: grid.rows, cols: grid.cols, originX: grid.origin_x, originY: grid.origin_y, cellSize: grid.cell_size, values });
  }
  return out;
}

/** One band of a GeoTIFF with its grid (origin: the north-west corner). */
export async function readGeoTiff(file: string): Promise<Raster> {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const geotiff = require("geotiff");
  const buf = fs.readFileSync(file);
  const tiff = await geotiff.fromArrayBuffer(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
  const image = await tiff.getImage();
  const [band] = await image.readRasters();
  const [originX, originY] = image.getOrigin();
  const [resX, resY] = image.getResolution();
  if (Math.abs(resX) !== Math.abs(resY)) throw new Error(`${file}: non-square cells ${resX} x ${resY}`);
  const values = band instanceof Float32Array ? band : Float32Array.from(band as ArrayLike<number>);
  return { rows: image.getHeight(), cols: image.getWidth(), originX, originY, cellSize: Math.abs(resX), values };
}

/** Compares the GeoTIFFs of a run with the numpy rasters; returns the problems (none: identical). */
export async function compareRasters(runDir: string, reference: Map<string, Raster>): Promise<string[]> {
  const problems: string[] = [];
  for (const feature of FEATURES) {
    const file = path.join(runDir, `${feature}.tif`);
    if (!fs.existsSync(file)) {
      problems.push(`${feature}.tif missing`);
      continue;
    }
    problems.push(...compareRaster(feature, await readGeoTiff(file), reference.get(feature)!));
  }
  return problems;
}

/** Compares two sets of numpy rasters (as readNumpyRasters reads them); returns the problems. */
export function compareNumpyRasters(got: Map<string, Raster>, reference: Map<string, Raster>): string[] {
  return FEATURES.flatMap((feature) => compareRaster(feature, got.get(feature)!, reference.get(feature)!));
}

function compareRaster(feature: string, got: Raster, want: Raster): string[] {
  if (got.cellSize !== want.cellSize) return [`${feature}: cell size ${got.cellSize} != ${want.cellSize}`];
  const problems: string[] = [];
  if (got.originX !== want.originX || got.originY !== want.originY || got.rows !== want.rows || got.cols !== want.cols) {
    problems.push(`${feature}: extent ${describe(got)} != reference ${describe(want)}`);
  }
  // Compare cell by cell over the union of the two extents: a cell outside one of them must be
  // NaN in the other, so a larger extent with empty margins is reported but compared fairly.
  const dc = Math.round((got.originX - want.originX) / want.cellSize);
  const dr = Math.round((want.originY - got.originY) / want.cellSize);
  const gotBits = new Uint32Array(got.values.buffer, got.values.byteOffset, got.values.length);
  const wantBits = new Uint32Array(want.values.buffer, want.values.byteOffset, want.values.length);
  let differ = 0;
  let maxAbs = 0;
  let example = "";
  const visit = (r: number, c: number): void => {
    // (r, c) in the reference grid; the other's cell is (r - dr, c - dc).
    const gr = r - dr;
    const gc = c - dc;
    const inWant = r >= 0 && r < want.rows && c >= 0 && c < want.cols;
    const inGot = gr >= 0 && gr < got.rows && gc >= 0 && gc < got.cols;
    const w = inWant ? want.values[r * want.cols + c]! : NaN;
    const g = inGot ? got.values[gr * got.cols + gc]! : NaN;
    const same = Number.isNaN(w) && Number.isNaN(g) ? true
      : inWant && inGot && wantBits[r * want.cols + c] === gotBits[gr * got.cols + gc];
    if (!same) {
      differ++;
      if (!Number.isNaN(w) && !Number.isNaN(g)) maxAbs = Math.max(maxAbs, Math.abs(w - g));
      if (!example) example = ` e.g. row ${r} col ${c}: ${g}, reference ${w}`;
    }
  };
  const r0 = Math.min(0, dr);
  const r1 = Math.max(want.rows, dr + got.rows);
  const c0 = Math.min(0, dc);
  const c1 = Math.max(want.cols, dc + got.cols);
  for (let r = r0; r < r1; r++) for (let c = c0; c < c1; c++) visit(r, c);
  if (differ > 0) problems.push(`${feature}: ${differ} cells differ (max |diff| ${maxAbs})${example}`);
  return problems;
}

function describe(r: Raster): string {
  return `origin (${r.originX}, ${r.originY}) ${r.rows} x ${r.cols} cells of ${r.cellSize} m`;
}

