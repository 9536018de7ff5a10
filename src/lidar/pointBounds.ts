import { LidarInputError } from "./errors";
import type { LasHeader } from "./lasHeader";

/**
 * How far, in scale units, a stored coordinate may lie outside the header's bounding box. Writers
 * compute the box from the coordinates before rounding them to the scale's grid (C_43FN1_1.LAZ: the
 * box's max z is 0.575, a point is stored as 0.58 at scale 0.01), so a point can be half a unit
 * outside; the 0.01 more absorbs the floating-point error of (bound - offset) / scale. A point further
 * out is one the header does not describe: a damaged chunk decodes to such points, or the header is
 * another file's.
 */
const TOLERANCE_UNITS = 0.51;
const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;

/** The raw (stored integer) X, Y and Z a file's points may have, inclusive. */
export interface RawLimits {
  readonly low: readonly [number, number, number];
  readonly high: readonly [number, number, number];
}

/** Limits that every int32 meets. */
export const NO_LIMITS: RawLimits = { low: [INT32_MIN, INT32_MIN, INT32_MIN], high: [INT32_MAX, INT32_MAX, INT32_MAX] };

/**
 * The header's bounding box as limits on the raw integers, so the check of a point is six integer
 * comparisons in the loop that reads it anyway (tiler.ts). A header without a box (all zeros) has none.
 */
export function rawLimits(header: LasHeader): RawLimits {
  const bounds = header.bounds;
  if (!bounds) return NO_LIMITS;
  const low: number[] = [];
  const high: number[] = [];
  for (let axis = 0; axis < 3; axis++) {
    const a = (bounds.min[axis]! - header.offset[axis]!) / header.scale[axis]!;
    const b = (bounds.max[axis]! - header.offset[axis]!) / header.scale[axis]!;
    // A negative scale swaps the ends. Whole limits, clamped to int32, keep the comparisons on integers.
    low.push(Math.max(INT32_MIN, Math.ceil(Math.min(a, b) - TOLERANCE_UNITS)));
    high.push(Math.min(INT32_MAX, Math.floor(Math.max(a, b) + TOLERANCE_UNITS)));
  }
  return { low: low as [number, number, number], high: high as [number, number, number] };
}

/** The error for point `index` (0-based, in the file) whose raw coordinates are outside the limits. */
export function outsideBounds(header: LasHeader, index: number, raw: readonly [number, number, number]): LidarInputError {
  const { min, max } = header.bounds!;
  const coordinate = (axis: number, value: number): string => {
    const scale = Math.abs(header.scale[axis]!);
    // As many decimals as the scale has (0.01: 2), so the value prints as it is stored.
    const decimals = Math.min(12, Math.max(0, Math.ceil(-Math.log10(scale) - 1e-9)));
    return value.toFixed(decimals);
  };
  const point = raw.map((r, axis) => coordinate(axis, r * header.scale[axis]! + header.offset[axis]!)).join(", ");
  // 15 significant digits: the box as written, without the noise of its last binary digit (848899.7000000001).
  const bound = (value: number): string => String(Number(value.toPrecision(15)));
  const box = ["x", "y", "z"].map((name, axis) => `${name} ${bound(min[axis]!)} to ${bound(max[axis]!)}`).join(", ");
  return new LidarInputError(
    `${header.file}: point ${index + 1} of ${header.pointCount} at (${point}) is outside the header's bounding box (${box}): the point data is corrupt or the header is wrong`,
  );
}
