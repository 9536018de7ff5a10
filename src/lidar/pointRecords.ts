import type { NpyField } from "./npy";

/** The record of a tile `.npy` (packed, 37 bytes); the notebook and the Python generator use the same. */
export const TILE_DTYPE: readonly NpyField[] = [
  ["x", "<f8"],
  ["y", "<f8"],
  ["z", "<f8"],
  ["intensity", "<u2"],
  ["return_number", "|u1"],
  ["number_of_returns", "|u1"],
  ["classification", "|u1"],
  ["gps_time", "<f8"],
];
export const TILE_RECORD_BYTES = 37;

/** Where the fields the tiles keep sit in a LAS point record of one format. X, Y, Z and intensity are at 0, 4, 8, 12 in all. */
export interface RecordLayout {
  readonly classificationOffset: number;
  /** Formats 0–5 keep synthetic/key-point/withheld flags in the top 3 bits; 6–10 use the whole byte. */
  readonly classificationMask: number;
  /** Byte 14: return number and number of returns, 3+3 bits (0–5) or 4+4 bits (6–10). */
  readonly returnNumberMask: number;
  readonly returnCountShift: number;
  readonly returnCountMask: number;
  /** -1 for formats 0 and 2, which carry no GPS time. */
  readonly gpsTimeOffset: number;
}

const LEGACY: RecordLayout = { classificationOffset: 15, classificationMask: 0x1f, returnNumberMask: 0x07, returnCountShift: 3, returnCountMask: 0x07, gpsTimeOffset: 20 };
const EXTENDED: RecordLayout = { classificationOffset: 16, classificationMask: 0xff, returnNumberMask: 0x0f, returnCountShift: 4, returnCountMask: 0x0f, gpsTimeOffset: 22 };

/** The core size of each point format (0–10), before any extra bytes. */
const MINIMUM_RECORD_LENGTH = [20, 28, 26, 34, 57, 63, 30, 36, 38, 59, 67];

export function minimumRecordLength(pointFormat: number): number {
  return MINIMUM_RECORD_LENGTH[pointFormat]!;
}

export function recordLayout(pointFormat: number): RecordLayout {
  if (pointFormat >= 6) return EXTENDED;
  return pointFormat === 0 || pointFormat === 2 ? { ...LEGACY, gpsTimeOffset: -1 } : LEGACY;
}
