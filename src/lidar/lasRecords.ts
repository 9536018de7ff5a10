import * as fs from "fs";
import { LidarInputError } from "./errors";
import type { LasHeader } from "./lasHeader";
import { openRegularFile } from "./lasHeader";

/** Receives consecutive point records, `count` of them from the start of `records`, `recordLength` apart. */
export type RecordBatchHandler = (records: Buffer, count: number) => void;

const READ_BYTES = 4 * 1024 * 1024;

/** Throws unless the file holds all the uncompressed point records its header announces. */
export function checkLasPointData(header: LasHeader): void {
  const end = header.offsetToPoints + header.pointCount * header.recordLength;
  if (end > header.fileSize) {
    throw new LidarInputError(
      `${header.file}: truncated: the header says ${header.pointCount} points of ${header.recordLength} bytes from byte ${header.offsetToPoints}, but the file ends at byte ${header.fileSize}`,
    );
  }
}

/** Records `first` to `first + count - 1` of a file (0-based). */
export interface RecordRange {
  readonly first: number;
  readonly count: number;
}

/**
 * Streams the uncompressed point records of a LAS file through one reused buffer: all of them, or
 * those of `range`.
 */
export async function readLasRecords(header: LasHeader, onBatch: RecordBatchHandler, range: RecordRange = { first: 0, count: header.pointCount }): Promise<void> {
  const perRead = Math.max(1, Math.floor(READ_BYTES / header.recordLength));
  const buffer = Buffer.allocUnsafe(Math.min(perRead, Math.max(1, range.count)) * header.recordLength);
  const fd = openRegularFile(header.file);
  try {
    let position = header.offsetToPoints + range.first * header.recordLength;
    for (let left = range.count; left > 0; ) {
      const count = Math.min(perRead, left);
      const bytes = count * header.recordLength;
      let filled = 0;
      while (filled < bytes) {
        const n = fs.readSync(fd, buffer, filled, bytes - filled, position + filled);
        if (n === 0) throw new LidarInputError(`${header.file}: truncated: the file ends at byte ${position + filled}, inside the point data`);
        filled += n;
      }
      onBatch(buffer, count);
      position += bytes;
      left -= count;
      await yieldToEventLoop();
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** Lets timers (progress bars) run between batches. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
