// The split phase in parallel (src/lidar/pieces.ts) against today's single-process split, on a set of
// LAS/LAZ files: wall time of checkInputSet → splitFileInWorker per file (N at once) → planTiles →
// joinTile per tile, for N = 1 and 2, and of splitPointClouds over the same files; the tiles are
// checked byte for byte against today's. Run:
//   npx ts-node --transpile-only bench/parallelSplit.ts [--tile-size 50] FILE...
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { checkInputSet, joinTile, planTiles } from "../src/lidar/pieces";
import { splitPointClouds } from "../src/lidar/split";
import { splitFileInWorker } from "../src/lidar/splitWorker";

async function pool<T>(items: readonly T[], width: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) {
      const index = next++;
      await work(items[index]!, index);
    }
  }));
}

/** The phases' wall times, in seconds: inputs, the pieces (width at once), plan, the joins (one after the other). */
async function parallelSplit(input: string, dir: string, width: number, tileSize: number): Promise<{ tiles: string[]; phases: number[] }> {
  const marks = [performance.now()];
  const set = checkInputSet(input, "");
  marks.push(performance.now());
  const pieces: string[][] = [];
  await pool(set.files, width, async (file, i) => {
    const result = await splitFileInWorker({ file, outDir: path.join(dir, "pieces", String(i)), tileSize, cellSize: 10 });
    pieces[i] = result.tiles.map((t) => t.npy);
  });
  marks.push(performance.now());
  const plans = planTiles(pieces.flat(), path.join(dir, "plans"));
  marks.push(performance.now());
  const tiles = plans.map((plan) => joinTile({ plan, outDir: path.join(dir, "tiles"), crs: set.crs }).npy);
  marks.push(performance.now());
  return { tiles, phases: marks.slice(1).map((m, i) => (m - marks[i]!) / 1000) };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const at = args.indexOf("--tile-size");
  const tileSize = at >= 0 ? Number(args.splice(at, 2)[1]) : 50;
  if (args.length === 0) throw new Error("give the LAS/LAZ files to split");
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "naaw-bench-psplit-"));
  try {
    const input = path.join(scratch, "input");
    fs.mkdirSync(input);
    for (const file of args) fs.symlinkSync(path.resolve(file), path.join(input, path.basename(file)));
    const set = checkInputSet(input);
    console.log(`${set.files.length} files, ${set.pointCount.toLocaleString("en")} points, tile_size ${tileSize} m, ${os.cpus().length} CPUs`);
    const timed = async <T>(what: string, work: () => Promise<T>): Promise<T> => {
      const started = performance.now();
      const result = await work();
      console.log(`${what}: ${((performance.now() - started) / 1000).toFixed(2)} s`);
      return result;
    };
    const today = await timed("today's split (one process)", () => splitPointClouds({ input, outDir: path.join(scratch, "today"), tileSize, cellSize: 10 }));
    for (const width of [1, 2, 1, 2]) {
      const dir = path.join(scratch, `parallel-${width}-${Math.random().toString(36).slice(2)}`);
      const { tiles, phases } = await timed(`split in parallel, ${width} at once`, () => parallelSplit(input, dir, width, tileSize));
      console.log(`  inputs ${phases[0]!.toFixed(2)} s, pieces ${phases[1]!.toFixed(2)} s, plan ${phases[2]!.toFixed(2)} s, joins ${phases[3]!.toFixed(2)} s`);
      if (tiles.length !== today.tiles.length || tiles.some((t, i) => !fs.readFileSync(t).equals(fs.readFileSync(today.tiles[i]!.npy)))) throw new Error("the tiles differ from today's split");
      fs.rmSync(dir, { recursive: true, force: true });
    }
    console.log(`${today.tiles.length} tiles, byte for byte today's`);
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error((error as Error).message);
  process.exit(1);
});
