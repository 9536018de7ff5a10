/**
 * A bigger LAS file made of copies of a small one: the copies laid out on a grid, each shifted by
 * whole steps in x and y, written record block by record block (one copy in memory at a time).
 * The header's point counts and bounds are updated; the VLRs are kept as they are.
 */
import * as fs from "fs";

export interface Replication {
  readonly source: string;
  readonly target: string;
  /** Copies along x and along y. */
  readonly columns: number;
  readonly rows: number;
  /** The shift from one copy to the next, in the file's coordinate units (a multiple of its scale). */
  readonly stepX: number;
  readonly stepY: number;
}

const LAS_HEADER_MIN = 227;

/** Writes the replicated file; returns its number of points. */
export function replicateLas(r: Replication): number {
  const data = fs.readFileSync(r.source);
  if (data.length < LAS_HEADER_MIN || data.toString("latin1", 0, 4) !== "LASF") throw new Error(`${r.source}: not a LAS file`);
  const minor = data[25]!;
  const offsetToPoints = data.readUInt32LE(96);
  const format = data[104]!;
  if (format & 0xc0) throw new Error(`${r.source}: compressed (LAZ); replicate an uncompressed LAS file`);
  const recordLength = data.readUInt16LE(105);
  let count = data.readUInt32LE(107);
  if (minor >= 4 && Number(data.readBigUInt64LE(247)) !== 0) count = Number(data.readBigUInt64LE(247));
  if (offsetToPoints + count * recordLength !== data.length) {
    throw new Error(`${r.source}: ${data.length} bytes, expected a header and ${count} records of ${recordLength} bytes only (no EVLRs)`);
  }
  const scaleX = data.readDoubleLE(131);
  const scaleY = data.readDoubleLE(139);
  const stepX = Math.round(r.stepX / scaleX);
  const stepY = Math.round(r.stepY / scaleY);
  if (Math.abs(stepX * scaleX - r.stepX) > 1e-9 * r.stepX || Math.abs(stepY * scaleY - r.stepY) > 1e-9 * r.stepY) {
    throw new Error(`replicate: steps ${r.stepX}, ${r.stepY} are not multiples of the scale ${scaleX}, ${scaleY}`);
  }
  const copies = r.columns * r.rows;
  const total = count * copies;

  const header = Buffer.from(data.subarray(0, offsetToPoints));
  if (total > 0xffffffff) throw new Error(`replicate: ${total} points do not fit a legacy LAS point count`);
  header.writeUInt32LE(total, 107);
  for (let k = 0; k < 5; k++) header.writeUInt32LE(header.readUInt32LE(111 + 4 * k) * copies, 111 + 4 * k);
  if (minor >= 4) {
    header.writeBigUInt64LE(BigInt(total), 247);
    for (let k = 0; k < 15; k++) header.writeBigUInt64LE(header.readBigUInt64LE(255 + 8 * k) * BigInt(copies), 255 + 8 * k);
  }
  // Bounds: max x, min x, max y, min y at 179, 187, 195, 203.
  header.writeDoubleLE(header.readDoubleLE(179) + (r.columns - 1) * stepX * scaleX, 179);
  header.writeDoubleLE(header.readDoubleLE(195) + (r.rows - 1) * stepY * scaleY, 195);

  const records = data.subarray(offsetToPoints);
  const copy = Buffer.alloc(records.length);
  const fd = fs.openSync(r.target, "w");
  try {
    fs.writeSync(fd, header);
    for (let i = 0; i < r.columns; i++) {
      for (let j = 0; j < r.rows; j++) {
        records.copy(copy);
        for (let at = 0; at < copy.length; at += recordLength) {
          copy.writeInt32LE(records.readInt32LE(at) + i * stepX, at);
          copy.writeInt32LE(records.readInt32LE(at + 4) + j * stepY, at + 4);
        }
        fs.writeSync(fd, copy);
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  return total;
}
