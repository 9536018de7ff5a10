/**
 * TIFF image file directories (IFDs), little-endian, classic TIFF or BigTIFF: the tag entries with
 * their values inline when they fit, and the values that do not fit right after the IFD (or at an
 * offset the layout chose, for the tile offset and byte count arrays that GDAL's COG layout puts
 * after all the IFDs).
 */

/** The TIFF field types this writer uses, with their byte sizes. */
export const FieldType = { ASCII: 2, SHORT: 3, LONG: 4, DOUBLE: 12, LONG8: 16 } as const;
export type FieldType = (typeof FieldType)[keyof typeof FieldType];

const FIELD_BYTES: Readonly<Record<FieldType, number>> = { 2: 1, 3: 2, 4: 4, 12: 8, 16: 8 };

export interface Tag {
  readonly id: number;
  readonly type: FieldType;
  /** Numbers; an ASCII value is its character codes, ending with 0. */
  readonly values: readonly number[];
  /** Where the values go when they do not fit in the entry; right after the IFD when not given. */
  readonly valuesAt?: number;
}

/** An ASCII tag's values: the string's (Latin-1) bytes and the terminating NUL. */
export function asciiValues(text: string): number[] {
  return [...Buffer.from(text, "latin1"), 0];
}

export function valueBytes(tag: Tag): number {
  return FIELD_BYTES[tag.type] * tag.values.length;
}

function inlineBytes(big: boolean): number {
  return big ? 8 : 4;
}

/** Whether a tag's values are stored apart from its entry. */
export function isOutOfLine(tag: Tag, big: boolean): boolean {
  return valueBytes(tag) > inlineBytes(big);
}

/** Bytes of an IFD with its out-of-line values that have no `valuesAt`, each padded to an even offset. */
export function ifdByteLength(tags: readonly Tag[], big: boolean): number {
  let length = big ? 8 + tags.length * 20 + 8 : 2 + tags.length * 12 + 4;
  for (const tag of tags) if (isOutOfLine(tag, big) && tag.valuesAt === undefined) length += even(valueBytes(tag));
  return length;
}

export function even(n: number): number {
  return n + (n % 2);
}

/** Writes `values` of `type` at `at` in `target`. */
export function writeValues(target: Buffer, at: number, type: FieldType, values: readonly number[]): void {
  let p = at;
  for (const value of values) {
    switch (type) {
      case FieldType.ASCII:
        target.writeUInt8(value, p);
        break;
      case FieldType.SHORT:
        target.writeUInt16LE(value, p);
        break;
      case FieldType.LONG:
        target.writeUInt32LE(value, p);
        break;
      case FieldType.DOUBLE:
        target.writeDoubleLE(value, p);
        break;
      case FieldType.LONG8:
        target.writeBigUInt64LE(BigInt(value), p);
        break;
    }
    p += FIELD_BYTES[type];
  }
}

function writeOffset(target: Buffer, at: number, value: number, big: boolean): void {
  if (big) target.writeBigUInt64LE(BigInt(value), at);
  else target.writeUInt32LE(value, at);
}

/**
 * The bytes of an IFD placed at file offset `at` (tags sorted by id, as TIFF requires), its
 * out-of-line values after it; `next` is the offset of the next IFD, 0 for the last.
 */
export function encodeIfd(tags: readonly Tag[], at: number, next: number, big: boolean): Buffer {
  const sorted = [...tags].sort((a, b) => a.id - b.id);
  const bytes = Buffer.alloc(ifdByteLength(sorted, big));
  const entrySize = big ? 20 : 12;
  const head = big ? 8 : 2;
  if (big) bytes.writeBigUInt64LE(BigInt(sorted.length), 0);
  else bytes.writeUInt16LE(sorted.length, 0);
  let overflow = head + sorted.length * entrySize + (big ? 8 : 4);
  sorted.forEach((tag, i) => {
    const entry = head + i * entrySize;
    bytes.writeUInt16LE(tag.id, entry);
    bytes.writeUInt16LE(tag.type, entry + 2);
    writeOffset(bytes, entry + 4, tag.values.length, big);
    const valueField = entry + (big ? 12 : 8);
    if (!isOutOfLine(tag, big)) {
      writeValues(bytes, valueField, tag.type, tag.values);
    } else if (tag.valuesAt !== undefined) {
      writeOffset(bytes, valueField, tag.valuesAt, big);
    } else {
      writeOffset(bytes, valueField, at + overflow, big);
      writeValues(bytes, overflow, tag.type, tag.values);
      overflow += even(valueBytes(tag));
    }
  });
  writeOffset(bytes, head + sorted.length * entrySize, next, big);
  return bytes;
}
