import { ArithmeticDecoder, IntegerDecompressor } from "./arithmeticDecoder";
import { LidarInputError } from "./errors";
import type { LasHeader } from "./lasHeader";
import { readAt } from "./lasHeader";

const LASZIP_USER_ID = "laszip encoded";
const LASZIP_RECORD_ID = 22204;
const POINTWISE_CHUNKED = 2;
const LAYERED_CHUNKED = 3;
/** `chunk_size` when every chunk has its own point count in the chunk table. */
const VARIABLE_CHUNK_SIZE = 0xffffffff;

const COMPRESSOR_NAMES = ["none", "pointwise (not chunked)", "pointwise-chunked", "layered-chunked"];
/** The LAZ items laz-perf decodes, by item type: the version it implements. */
const SUPPORTED_ITEMS: Readonly<Record<number, readonly [name: string, version: number]>> = {
  0: ["BYTE", 2],
  6: ["POINT10", 2],
  7: ["GPSTIME11", 2],
  8: ["RGB12", 2],
  10: ["POINT14", 3],
  11: ["RGB14", 3],
  12: ["RGBNIR14", 3],
  14: ["BYTE14", 3],
};
/** laz-perf has no decoder for the waveform formats. */
const LAZ_POINT_FORMATS = new Set([0, 1, 2, 3, 6, 7, 8]);

/** One compressed chunk: where its bytes are and how many points it holds. */
export interface LazChunk {
  readonly start: number;
  readonly byteCount: number;
  readonly pointCount: number;
}

/**
 * Where the compressed chunks of a LAZ file are. Also checks that laz-perf can decode the file, so a
 * split fails before it writes anything.
 */
export function readChunkTable(header: LasHeader, fd: number): LazChunk[] {
  const fail = (problem: string): never => {
    throw new LidarInputError(`${header.file}: ${problem}`);
  };
  const vlr = header.vlrs.find((v) => v.userId === LASZIP_USER_ID && v.recordId === LASZIP_RECORD_ID);
  if (!vlr) return fail("the point format says LAZ-compressed, but there is no laszip VLR");
  if (vlr.data.length < 34) fail(`malformed laszip VLR: ${vlr.data.length} bytes, at least 34 needed`);
  const compressor = vlr.data.readUInt16LE(0);
  if (compressor !== POINTWISE_CHUNKED && compressor !== LAYERED_CHUNKED) {
    const name = COMPRESSOR_NAMES[compressor] ? ` (${COMPRESSOR_NAMES[compressor]})` : "";
    fail(`unsupported LAZ compressor ${compressor}${name}: laz-perf reads compressor 2 (pointwise-chunked) and 3 (layered-chunked)`);
  }
  if (!LAZ_POINT_FORMATS.has(header.pointFormat)) fail(`unsupported LAZ point format ${header.pointFormat}: laz-perf decodes compressed formats 0-3 and 6-8`);
  checkItems(vlr.data, fail);
  const chunkSize = vlr.data.readUInt32LE(12);
  if (header.pointCount === 0) return [];
  if (chunkSize === 0) fail("malformed laszip VLR: chunk size 0");

  const chunksStart = header.offsetToPoints + 8;
  if (chunksStart > header.fileSize) fail(`truncated: the LAZ point data starts at byte ${header.offsetToPoints}, but the file ends at byte ${header.fileSize}`);
  const tableStart = chunkTableStart(header, fd, chunksStart, fail);
  const tableHead = readAt(fd, tableStart, 8);
  const tableVersion = tableHead.readUInt32LE(0);
  const chunkCount = tableHead.readUInt32LE(4);
  const where = `the LAZ chunk table at byte ${tableStart}`;
  if (tableVersion !== 0) fail(`malformed: ${where} has version ${tableVersion} (only 0 exists): the table or its offset at byte ${header.offsetToPoints} is damaged`);
  const variable = chunkSize === VARIABLE_CHUNK_SIZE;
  // With a fixed chunk size the header's count says how many chunks there are; with variable chunks
  // each holds at least one point. Either bounds the loop below, whatever the table says.
  const expected = variable ? undefined : Math.ceil(header.pointCount / chunkSize);
  if (expected !== undefined && chunkCount !== expected) {
    fail(`the header says ${header.pointCount} points, ${expected} chunk(s) of ${chunkSize}, but ${where} lists ${chunkCount} chunk(s)`);
  }
  if (chunkCount === 0 || chunkCount > header.pointCount) fail(`the header says ${header.pointCount} points, but ${where} lists ${chunkCount} chunk(s)`);

  // Each entry takes a few bytes; read a generous bound rather than to the end (EVLRs may follow).
  const available = header.fileSize - tableStart - 8;
  const tableBytes = readAt(fd, tableStart + 8, Math.min(available, 64 + chunkCount * 40));
  const decoder = new ArithmeticDecoder(tableBytes);
  const integers = new IntegerDecompressor(decoder, 2);
  const chunks: LazChunk[] = [];
  let start = chunksStart;
  let previousCount = 0;
  let previousBytes = 0;
  let points = 0;
  for (let i = 0; i < chunkCount; i++) {
    const pointCount = variable ? (previousCount = integers.decompress(previousCount, 0)) >>> 0 : Math.min(chunkSize, header.pointCount - points);
    const byteCount = (previousBytes = integers.decompress(previousBytes, 1)) >>> 0;
    // LASzip's coder ends a stream where the decoder's reads end: reading past the bytes means the
    // entries decoded from here on are made of zeros, not of the table.
    if (decoder.bytesRead > tableBytes.length) {
      if (tableBytes.length === available) fail(`${where} (${chunkCount} chunks) runs past the end of the file at byte ${header.fileSize}: it is cut short or damaged`);
      fail(`malformed: ${where} takes more than ${tableBytes.length} bytes for ${chunkCount} chunks`);
    }
    // A chunk starts with its first point raw: fewer bytes than that cannot hold a point.
    if (pointCount > 0 && byteCount < header.recordLength) {
      fail(`malformed: ${where} gives chunk ${i + 1} of ${chunkCount} ${byteCount} bytes for ${pointCount} points, less than one ${header.recordLength}-byte point`);
    }
    if (start + byteCount > tableStart) {
      fail(`malformed: ${where} gives chunk ${i + 1} of ${chunkCount} ${byteCount} bytes from byte ${start}, which runs past the table itself (the file ends at byte ${header.fileSize})`);
    }
    chunks.push({ start, byteCount, pointCount });
    start += byteCount;
    points += pointCount;
  }
  if (points !== header.pointCount) fail(`the header says ${header.pointCount} points, but the ${chunkCount} chunks of ${where} hold ${points}`);
  return chunks;
}

/** Where the chunk table is: the int64 before the first chunk says, or (-1 there) the file's last 8 bytes do. */
function chunkTableStart(header: LasHeader, fd: number, chunksStart: number, fail: (problem: string) => never): number {
  const pointer = readAt(fd, header.offsetToPoints, 8).readBigInt64LE(0);
  let tableStart = pointer;
  // A writer that could not seek back leaves -1 here and puts the table's offset in the last 8 bytes.
  if (tableStart === -1n && header.fileSize >= chunksStart + 8) tableStart = readAt(fd, header.fileSize - 8, 8).readBigInt64LE(0);
  if (tableStart + 8n > BigInt(header.fileSize)) {
    fail(`truncated: the LAZ chunk table should start at byte ${tableStart}, but the file ends at byte ${header.fileSize}`);
  }
  if (tableStart < BigInt(chunksStart)) {
    fail(`malformed: the LAZ chunk table offset at byte ${header.offsetToPoints} is ${pointer}, before the first chunk at byte ${chunksStart}`);
  }
  return Number(tableStart);
}

function checkItems(data: Buffer, fail: (problem: string) => never): void {
  const itemCount = data.readUInt16LE(32);
  if (data.length < 34 + itemCount * 6) fail(`malformed laszip VLR: ${itemCount} items do not fit in ${data.length} bytes`);
  for (let i = 0; i < itemCount; i++) {
    const type = data.readUInt16LE(34 + i * 6);
    const version = data.readUInt16LE(34 + i * 6 + 4);
    const supported = SUPPORTED_ITEMS[type];
    if (!supported) fail(`unsupported LAZ item type ${type} (laz-perf has no decoder for it)`);
    else if (supported[1] !== version) fail(`unsupported LAZ item ${supported[0]} version ${version} (laz-perf decodes version ${supported[1]})`);
  }
}
