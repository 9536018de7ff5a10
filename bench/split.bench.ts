/**
 * Throughput of `splitPointClouds` on a generated LAS file (not a test):
 *   npx ts-node --transpile-only bench/split.bench.ts [millionPoints=10] [order=strips|random]
 * Writes the LAS (point format 3) to a temporary directory once per run and reports points/s and the
 * peak resident memory, which should stay flat however large the file.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { splitPointClouds } from "../src/lidar/split";

const RECORD_LENGTH = 34;
const HEADER_BYTES = 227;

/** A LAS 1.2 / PF3 file of `count` points over a 4 km square, in scan strips or shuffled. */
export function writeSyntheticLas(file: string, count: number, order: string): void {
  const header = Buffer.alloc(HEADER_BYTES);
  header.write("LASF", 0, "latin1");
  header[24] = 1;
  header[25] = 2;
  header.writeUInt16LE(HEADER_BYTES, 94);
  header.writeUInt32LE(HEADER_BYTES, 96);
  header[104] = 3;
  header.writeUInt16LE(RECORD_LENGTH, 105);
  header.writeUInt32LE(count, 107);
  [0.01, 0.01, 0.01].forEach((s, i) => header.writeDoubleLE(s, 131 + i * 8));
  [100000, 400000, 0].forEach((o, i) => header.writeDoubleLE(o, 155 + i * 8));
  const fd = fs.openSync(file, "w");
  fs.writeSync(fd, header);
  const batch = 1 << 16;
  const records = Buffer.alloc(batch * RECORD_LENGTH);
  let seed = 12345;
  const random = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const perLine = 4000;
  for (let start = 0; start < count; start += batch) {
    const n = Math.min(batch, count - start);
    for (let i = 0; i < n; i++) {
      const index = start + i;
      const o = i * RECORD_LENGTH;
      const line = Math.floor(index / perLine) % 4000;
      const x = order === "random" ? Math.floor(random() * 400000) : (index % perLine) * 100 + Math.floor(random() * 100);
      const y = order === "random" ? Math.floor(random() * 400000) : line * 100 + Math.floor(random() * 100);
      records.writeInt32LE(x, o);
      records.writeInt32LE(y, o + 4);
      records.writeInt32LE(Math.floor(random() * 3000), o + 8);
      records.writeUInt16LE(index & 0xffff, o + 12);
      records[o + 14] = 1 | (1 << 3);
      records[o + 15] = 1 + (index % 5);
      records.writeDoubleLE(index * 1e-5, o + 20);
    }
    fs.writeSync(fd, records, 0, n * RECORD_LENGTH);
  }
  fs.closeSync(fd);
}

async function main(): Promise<void> {
  const millions = Number(process.argv[2] ?? 10);
  const order = process.argv[3] ?? "strips";
  const count = Math.round(millions * 1e6);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "naaw-split-bench-"));
  try {
    const las = path.join(dir, "synthetic.las");
    writeSyntheticLas(las, count, order);
    for (const [tileSize, cellSize] of [
      [500, 10],
      [50, 10],
    ] as const) {
      const outDir = path.join(dir, `tiles_${tileSize}`);
      let peakRss = 0;
      const started = process.hrtime.bigint();
      const result = await splitPointClouds({
        input: las,
        outDir,
        tileSize,
        cellSize,
        onProgress: () => {
          peakRss = Math.max(peakRss, process.memoryUsage.rss());
        },
      });
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const tiled = result.tiles.reduce((sum, t) => sum + t.pointCount, 0);
      if (result.pointCount !== count || tiled !== count) throw new Error(`expected ${count} points, read ${result.pointCount}, tiled ${tiled}`);
      console.log(
        `${(count / 1e6).toFixed(1)}M points (${order}), tile ${tileSize} m: ${result.tiles.length} tiles in ${seconds.toFixed(2)} s = ` +
          `${(count / seconds / 1e6).toFixed(2)}M points/s; peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB`,
      );
      fs.rmSync(outDir, { recursive: true, force: true });
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
