// Cuts an uncompressed LAS file into several LAS files holding the same point records in the same
// order (file part-0.las the first run of records, part-1.las the next, ...): the same header and VLRs,
// with each file's point counts (legacy, per return, and LAS 1.4's 64-bit ones) set to its own records.
import * as fs from "fs";
import * as path from "path";

export function cutLas(source: string, outDir: string, parts: number): string[] {
  const bytes = fs.readFileSync(source);
  if (bytes.toString("latin1", 0, 4) !== "LASF") throw new Error(`${source}: not a LAS file`);
  const minor = bytes[25]!;
  const offsetToPoints = bytes.readUInt32LE(96);
  const pointFormat = bytes[104]! & 0x3f;
  const recordLength = bytes.readUInt16LE(105);
  const legacy = bytes.readUInt32LE(107);
  const count = minor >= 4 && legacy === 0 ? Number(bytes.readBigUInt64LE(247)) : legacy;
  if (minor >= 4 && bytes.readUInt32LE(243) > 0) throw new Error(`${source}: has EVLRs, which this cutter does not carry`);
  const prefix = bytes.subarray(0, offsetToPoints);
  fs.mkdirSync(outDir, { recursive: true });
  const files: string[] = [];
  for (let part = 0; part < parts; part++) {
    const first = Math.floor((count * part) / parts);
    const end = Math.floor((count * (part + 1)) / parts);
    const records = bytes.subarray(offsetToPoints + first * recordLength, offsetToPoints + end * recordLength);
    const header = Buffer.from(prefix);
    const byReturn = new Array<number>(15).fill(0);
    for (let i = 0; i < end - first; i++) {
      const returns = records[i * recordLength + 14]!;
      const number = pointFormat >= 6 ? returns & 0x0f : returns & 0x07;
      if (number >= 1 && number <= 15) byReturn[number - 1]! += 1;
    }
    const n = end - first;
    const legacyFits = pointFormat < 6;
    header.writeUInt32LE(legacyFits ? n : 0, 107);
    for (let r = 0; r < 5; r++) header.writeUInt32LE(legacyFits ? byReturn[r]! : 0, 111 + 4 * r);
    if (minor >= 4) {
      header.writeBigUInt64LE(BigInt(n), 247);
      for (let r = 0; r < 15; r++) header.writeBigUInt64LE(BigInt(byReturn[r]!), 255 + 8 * r);
    }
    const file = path.join(outDir, `part-${part}.las`);
    fs.writeFileSync(file, Buffer.concat([header, records]));
    files.push(file);
  }
  return files;
}
