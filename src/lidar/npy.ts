/**
 * NumPy's `.npy` format, version 1.0 (the one `np.save` writes for small headers): a magic string, a
 * Python-literal header dict and the raw little-endian data. Only what NaaW exchanges is supported:
 * C-order arrays of plain numeric types and structured records of them; never object arrays (pickles).
 */

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY
const PREAMBLE_BYTES = 10; // magic, version (2 bytes), header length (uint16 LE)
const ALIGNMENT = 64; // numpy pads the header so the data starts on a 64-byte boundary

/** A numpy type string such as `<f8`, `<u2`, `|u1`. */
export type NpyScalar = string;

/** A field of a structured dtype: `[name, type]`. */
export type NpyField = readonly [name: string, type: NpyScalar];

/** A plain dtype (`"<f4"`) or a structured one (its fields, in order). */
export type NpyDescr = NpyScalar | readonly NpyField[];

export interface NpyHeader {
  readonly descr: NpyDescr;
  readonly shape: readonly number[];
  /** Byte offset of the data in the file. */
  readonly dataOffset: number;
}

/** Why a buffer is not an `.npy` NaaW can read; the caller adds the file name. */
export class NpyFormatError extends Error {}

const SCALAR_SIZES: Readonly<Record<string, number>> = { b1: 1, i1: 1, u1: 1, i2: 2, u2: 2, i4: 4, u4: 4, i8: 8, u8: 8, f4: 4, f8: 8 };

/** Bytes of one element of a scalar type string. */
export function scalarSize(type: NpyScalar): number {
  const size = SCALAR_SIZES[type.slice(1)];
  if (size === undefined || !"<|=".includes(type[0]!) || (size > 1 && type[0] === "|")) {
    throw new NpyFormatError(`unsupported numpy type '${type}' (expected little-endian numeric types such as <f8, <u2, |u1)`);
  }
  return size;
}

/** Bytes of one record of a dtype. */
export function itemSize(descr: NpyDescr): number {
  return typeof descr === "string" ? scalarSize(descr) : descr.reduce((sum, [, type]) => sum + scalarSize(type), 0);
}

/** Byte offset of each field of a structured dtype within its record. */
export function fieldOffsets(fields: readonly NpyField[]): Record<string, number> {
  const offsets: Record<string, number> = {};
  let offset = 0;
  for (const [name, type] of fields) {
    offsets[name] = offset;
    offset += scalarSize(type);
  }
  return offsets;
}

function descrLiteral(descr: NpyDescr): string {
  if (typeof descr === "string") return `'${descr}'`;
  return `[${descr.map(([name, type]) => `('${name}', '${type}')`).join(", ")}]`;
}

/**
 * The header (magic to padding) of an array of `count` records (or the given shape). The shape is
 * padded to a fixed width when `reserveCount` is set, so a streaming writer can rewrite the header in
 * place once it knows the final count without moving the data.
 */
export function npyHeader(descr: NpyDescr, shape: readonly number[], reserveCount = false): Buffer {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
  const dict = `{'descr': ${descrLiteral(descr)}, 'fortran_order': False, 'shape': ${shapeText}, }`;
  // Room for a first dimension of up to 20 digits (2^64), so the header keeps its length whatever the
  // count it is rewritten with.
  const reserved = reserveCount ? Math.max(0, 20 - String(shape[0] ?? 0).length) : 0;
  const unpadded = PREAMBLE_BYTES + dict.length + reserved + 1;
  const total = Math.ceil(unpadded / ALIGNMENT) * ALIGNMENT;
  const text = dict + " ".repeat(total - PREAMBLE_BYTES - dict.length - 1) + "\n";
  if (text.length > 0xffff) throw new NpyFormatError("the dtype is too long for an .npy version 1.0 header");
  const header = Buffer.alloc(total);
  MAGIC.copy(header, 0);
  header[6] = 1;
  header[7] = 0;
  header.writeUInt16LE(text.length, 8);
  header.write(text, PREAMBLE_BYTES, "latin1");
  return header;
}

/** A whole `.npy` file: header and data. */
export function npyBytes(descr: NpyDescr, shape: readonly number[], data: Uint8Array): Buffer {
  const expected = shape.reduce((a, b) => a * b, 1) * itemSize(descr);
  if (data.byteLength !== expected) throw new NpyFormatError(`the data is ${data.byteLength} bytes; shape (${shape.join(", ")}) needs ${expected}`);
  return Buffer.concat([npyHeader(descr, shape), data]);
}

/** Parse the header of an `.npy` file from its first bytes (at least the whole header). */
export function parseNpyHeader(bytes: Uint8Array): NpyHeader {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buffer.length < PREAMBLE_BYTES || !buffer.subarray(0, 6).equals(MAGIC)) throw new NpyFormatError("not a .npy file (no \\x93NUMPY magic)");
  const major = buffer[6]!;
  const lengthBytes = major === 1 ? 2 : 4;
  if (major < 1 || major > 3) throw new NpyFormatError(`unsupported .npy version ${major}`);
  const headerLength = major === 1 ? buffer.readUInt16LE(8) : buffer.readUInt32LE(8);
  const start = 8 + lengthBytes;
  if (buffer.length < start + headerLength) throw new NpyFormatError("the .npy header is cut short");
  const text = buffer.toString("latin1", start, start + headerLength);
  return { ...parseHeaderDict(text), dataOffset: start + headerLength };
}

function parseHeaderDict(text: string): { descr: NpyDescr; shape: number[] } {
  if (/'fortran_order':\s*True/.test(text)) throw new NpyFormatError("Fortran-order arrays are not supported; save with np.ascontiguousarray");
  const shapeMatch = /'shape':\s*\(([^)]*)\)/.exec(text);
  if (!shapeMatch) throw new NpyFormatError("the .npy header has no shape");
  const shape = shapeMatch[1]!
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")
    .map((s) => {
      const n = Number(s.replace(/L$/, ""));
      if (!Number.isSafeInteger(n) || n < 0) throw new NpyFormatError(`bad dimension '${s}' in the .npy shape`);
      return n;
    });
  const plain = /'descr':\s*'([^']+)'/.exec(text);
  if (plain) {
    scalarSize(plain[1]!);
    return { descr: plain[1]!, shape };
  }
  const structured = /'descr':\s*\[(.*?)\]\s*,\s*'/.exec(text);
  if (!structured) throw new NpyFormatError("the .npy header has no descr");
  const fields: NpyField[] = [];
  const field = /\(\s*'([^']*)'\s*,\s*'([^']+)'\s*\)/g;
  for (let m = field.exec(structured[1]!); m; m = field.exec(structured[1]!)) {
    scalarSize(m[2]!);
    fields.push([m[1]!, m[2]!]);
  }
  if (fields.length === 0) throw new NpyFormatError("the .npy structured dtype has no fields (or nested/sub-array fields, which are not supported)");
  return { descr: fields, shape };
}

/** A Float32 array read from a whole `.npy` buffer (descr `<f4`), with its shape. */
export function readFloat32Npy(bytes: Uint8Array): { shape: number[]; data: Float32Array } {
  const header = parseNpyHeader(bytes);
  if (header.descr !== "<f4") throw new NpyFormatError(`expected a float32 array (<f4), got ${JSON.stringify(header.descr)}`);
  const count = header.shape.reduce((a, b) => a * b, 1);
  const end = header.dataOffset + count * 4;
  if (bytes.byteLength < end) throw new NpyFormatError(`the data is cut short: ${bytes.byteLength - header.dataOffset} of ${count * 4} bytes`);
  // Copy: the data offset need not be 4-byte aligned within the caller's buffer.
  const data = new Float32Array(count);
  new Uint8Array(data.buffer).set(bytes.subarray(header.dataOffset, end));
  return { shape: [...header.shape], data };
}
