import * as fs from "fs";
import { crsOfVlrs } from "./crs";
import type { LasHeader } from "./lasHeader";
import { openRegularFile, readLasHeader } from "./lasHeader";
import type { RecordBatchHandler } from "./lasRecords";
import { checkLasPointData, readLasRecords } from "./lasRecords";
import { readChunkTable } from "./lazChunkTable";
import { readLazRecords } from "./lazRecords";

/** A checked LAS or LAZ file, ready to stream its point records (decompressed records for LAZ). */
export interface PointSource {
  readonly header: LasHeader;
  /** `EPSG:<code>` from the file's VLRs, or "" when it names none. */
  readonly crs: string;
  read(onBatch: RecordBatchHandler): Promise<void>;
}

/**
 * Reads and checks everything but the points, so bad input fails before any tile is written. (The
 * points are checked against the header's bounding box where they are decoded, in tiler.ts.)
 */
export function openPointSource(file: string): PointSource {
  const header = readLasHeader(file);
  const crs = crsOfVlrs(header.vlrs);
  if (header.compressed) {
    const fd = openRegularFile(file);
    let chunks;
    try {
      chunks = readChunkTable(header, fd);
    } finally {
      fs.closeSync(fd);
    }
    return { header, crs, read: (onBatch) => readLazRecords(header, chunks, onBatch) };
  }
  checkLasPointData(header);
  return { header, crs, read: (onBatch) => readLasRecords(header, onBatch) };
}
