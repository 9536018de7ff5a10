import * as fs from "fs";
import { LidarInputError } from "./errors";
import { minimumRecordLength } from "./pointRecords";

/** A variable-length record (or, in LAS 1.4, an extended one after the points). */
export interface Vlr {
  readonly userId: string;
  readonly recordId: number;
  readonly data: Buffer;
}

/** What the reader needs from a LAS/LAZ public header block and its VLRs. */
export interface LasHeader {
  readonly file: string;
  readonly fileSize: number;
  readonly version: string;
  readonly pointFormat: number;
  readonly recordLength: number;
  readonly pointCount: number;
  readonly offsetToPoints: number;
  readonly scale: readonly [number, number, number];
  readonly offset: readonly [number, number, number];
  /** Bit 7 of the point format byte: the points are LAZ-compressed. */
  readonly compressed: boolean;
  readonly vlrs: readonly Vlr[];
  /** The header's bounding box of the points, undefined when the writer left it all zeros (unset). */
  readonly bounds?: Bounds;
}

/** Minimum and maximum x, y and z, in coordinates (scale and offset applied). */
export interface Bounds {
  readonly min: readonly [number, number, number];
  readonly max: readonly [number, number, number];
}

const SIGNATURE = "LASF";
const VLR_HEADER_BYTES = 54;
const EVLR_HEADER_BYTES = 60;
/** The smallest public header of each minor version (1.0–1.2 share one layout). */
const HEADER_BYTES_BY_MINOR = [227, 227, 227, 235, 375];

export function readLasHeader(file: string): LasHeader {
  const fd = openRegularFile(file);
  try {
    return parseHeader(file, fd, fs.fstatSync(fd).size);
  } finally {
    fs.closeSync(fd);
  }
}

function parseHeader(file: string, fd: number, fileSize: number): LasHeader {
  const fail = (problem: string): never => {
    throw new LidarInputError(`${file}: ${problem}`);
  };
  if (fileSize === 0) fail("empty file");
  const head = readAt(fd, 0, Math.min(fileSize, 375));
  if (head.length < 4 || head.toString("latin1", 0, 4) !== SIGNATURE) fail("not a LAS file (no LASF signature at the start)");
  if (head.length < 227) fail(`truncated: the file ends at byte ${fileSize}, inside the 227-byte LAS header`);

  const major = head[24]!;
  const minor = head[25]!;
  const version = `${major}.${minor}`;
  if (major !== 1 || minor > 4) fail(`unsupported LAS version ${version} (1.0 to 1.4 are supported)`);
  const headerSize = head.readUInt16LE(94);
  const needed = HEADER_BYTES_BY_MINOR[minor]!;
  if (headerSize < needed) fail(`malformed header: its size is ${headerSize} bytes, but LAS ${version} needs at least ${needed}`);
  if (fileSize < headerSize) fail(`truncated: the file ends at byte ${fileSize}, inside the ${headerSize}-byte LAS header`);

  const offsetToPoints = head.readUInt32LE(96);
  const vlrCount = head.readUInt32LE(100);
  const formatByte = head[104]!;
  const pointFormat = formatByte & 0x3f;
  const recordLength = head.readUInt16LE(105);
  if (pointFormat > 10) fail(`unsupported point format ${pointFormat} (0 to 10 are supported)`);
  const minLength = minimumRecordLength(pointFormat);
  if (recordLength < minLength) fail(`malformed header: point records of ${recordLength} bytes are shorter than the ${minLength} bytes point format ${pointFormat} needs`);
  if (offsetToPoints < headerSize) fail(`malformed header: the point data starts at byte ${offsetToPoints}, inside the ${headerSize}-byte header`);

  const legacyCount = head.readUInt32LE(107);
  let pointCount = legacyCount;
  let evlrStart = 0;
  let evlrCount = 0;
  if (minor >= 4) {
    evlrStart = safeNumber(head.readBigUInt64LE(235), fail);
    evlrCount = head.readUInt32LE(243);
    const count64 = safeNumber(head.readBigUInt64LE(247), fail);
    // Some writers leave the legacy count set even for PF6+; the 64-bit count is the real one.
    if (count64 !== 0 || legacyCount === 0) pointCount = count64;
  }

  const scale = [head.readDoubleLE(131), head.readDoubleLE(139), head.readDoubleLE(147)] as const;
  const offset = [head.readDoubleLE(155), head.readDoubleLE(163), head.readDoubleLE(171)] as const;
  if (!scale.every((s) => Number.isFinite(s) && s !== 0) || !offset.every(Number.isFinite)) {
    fail(`malformed header: scale ${scale.join(", ")} and offset ${offset.join(", ")} must be finite, the scales non-zero`);
  }

  const bounds = boundsOf(head, pointCount, fail);
  const vlrs = readRecords(file, fd, fileSize, headerSize, vlrCount, false, offsetToPoints);
  if (evlrCount > 0 && evlrStart > 0) vlrs.push(...readRecords(file, fd, fileSize, evlrStart, evlrCount, true, fileSize));

  return {
    file,
    fileSize,
    version,
    pointFormat,
    recordLength,
    pointCount,
    offsetToPoints,
    scale,
    offset,
    compressed: (formatByte & 0x80) !== 0,
    vlrs,
    ...(bounds ? { bounds } : {}),
  };
}

/** Max X, Min X, Max Y, Min Y, Max Z, Min Z: six doubles from byte 179. */
function boundsOf(head: Buffer, pointCount: number, fail: (problem: string) => never): Bounds | undefined {
  const [maxX, minX, maxY, minY, maxZ, minZ] = [0, 1, 2, 3, 4, 5].map((i) => head.readDoubleLE(179 + i * 8)) as [number, number, number, number, number, number];
  const values = [minX, minY, minZ, maxX, maxY, maxZ];
  // Some writers never fill the box in; all zeros claims nothing, so it is not checked against the points.
  if (values.every((v) => v === 0)) return undefined;
  if (!values.every(Number.isFinite)) fail(`malformed header: its bounding box (${values.join(", ")}) is not finite`);
  if (pointCount > 0 && (minX > maxX || minY > maxY || minZ > maxZ)) {
    fail(`malformed header: its bounding box has a minimum above its maximum (x ${minX} to ${maxX}, y ${minY} to ${maxY}, z ${minZ} to ${maxZ})`);
  }
  return { min: [minX, minY, minZ], max: [maxX, maxY, maxZ] };
}

function readRecords(file: string, fd: number, fileSize: number, start: number, count: number, extended: boolean, limit: number): Vlr[] {
  const kind = extended ? "EVLR" : "VLR";
  const headerBytes = extended ? EVLR_HEADER_BYTES : VLR_HEADER_BYTES;
  const records: Vlr[] = [];
  let position = start;
  for (let i = 0; i < count; i++) {
    if (position + headerBytes > fileSize) throw new LidarInputError(`${file}: truncated: ${kind} ${i + 1} of ${count} starts at byte ${position}, but the file ends at byte ${fileSize}`);
    const header = readAt(fd, position, headerBytes);
    const userId = header.toString("latin1", 2, 18).replace(/\0.*$/s, "");
    const recordId = header.readUInt16LE(18);
    const length = extended ? Number(header.readBigUInt64LE(20)) : header.readUInt16LE(20);
    const end = position + headerBytes + length;
    if (end > fileSize) throw new LidarInputError(`${file}: truncated: ${kind} ${i + 1} of ${count} ends at byte ${end}, but the file ends at byte ${fileSize}`);
    if (end > limit) throw new LidarInputError(`${file}: malformed: ${kind} ${i + 1} of ${count} runs past the start of the point data (byte ${limit})`);
    records.push({ userId, recordId, data: readAt(fd, position + headerBytes, length) });
    position = end;
  }
  return records;
}

/**
 * Opens a file for reading, refusing anything but a regular file: a FIFO, socket or device would block
 * the open or the reads, or never end. O_NONBLOCK makes opening a FIFO return at once (it has no effect
 * on a regular file), and the descriptor's own fstat decides, so a file swapped after the stat is caught.
 */
export function openRegularFile(file: string): number {
  const kind = specialFileKind(statOrThrow(file));
  if (kind) throw notRegular(file, kind);
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (error) {
    throw openError(file, error as NodeJS.ErrnoException);
  }
  const opened = specialFileKind(fs.fstatSync(fd));
  if (opened) {
    fs.closeSync(fd);
    throw notRegular(file, opened);
  }
  return fd;
}

/** What a non-regular file is ("a FIFO", ...), undefined for a regular file. */
export function specialFileKind(stat: fs.Stats): string | undefined {
  if (stat.isFile()) return undefined;
  if (stat.isDirectory()) return "a directory";
  if (stat.isFIFO()) return "a FIFO";
  if (stat.isSocket()) return "a socket";
  if (stat.isCharacterDevice()) return "a character device";
  if (stat.isBlockDevice()) return "a block device";
  return "an unknown kind of file";
}

export function notRegular(file: string, kind: string): LidarInputError {
  return new LidarInputError(`${file}: not a regular file (${kind}); split reads LAS/LAZ files`);
}

function statOrThrow(file: string): fs.Stats {
  try {
    return fs.statSync(file);
  } catch (error) {
    throw openError(file, error as NodeJS.ErrnoException);
  }
}

function openError(file: string, error: NodeJS.ErrnoException): LidarInputError {
  if (error.code === "ENOENT") return new LidarInputError(`${file}: no such file or directory`);
  return new LidarInputError(`${file}: cannot open: ${error.message}`);
}

/** Bytes `[position, position + length)` of an open file (fewer if it ends first). */
export function readAt(fd: number, position: number, length: number): Buffer {
  const buffer = Buffer.allocUnsafe(length);
  let filled = 0;
  while (filled < length) {
    const n = fs.readSync(fd, buffer, filled, length - filled, position + filled);
    if (n === 0) break;
    filled += n;
  }
  return buffer.subarray(0, filled);
}

function safeNumber(value: bigint, fail: (problem: string) => never): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) fail(`malformed header: the value ${value} is too large`);
  return Number(value);
}
