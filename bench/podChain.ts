// The pod chain (docs/pod-chain.md) on this machine: one batch of tiles run as a pod's seven
// containers at once (join + the six lidar components, test/helpers/podChain.ts), with 1, 2 and 3
// tiles in flight (--window), side by side in one run. Wall and CPU seconds of the whole pod (its
// process tree, /usr/bin/time), peak RSS of the tree, and the peak bytes on the shared work dir
// (sampled every 100 ms): what the window buys in time and costs in disk.
//   npx ts-node --transpile-only bench/podChain.ts [tile_size (default 250)] [LAS/LAZ files: a directory or glob
//   (default: autzen_trim.las cut into 3 files)]
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { checkInputSet } from "../src/lidar/pieces";
import { cutLas } from "../test/helpers/cutLas";
import { layOutPieces, podCommands, writeComponentDirs } from "../test/helpers/podChain";
import { lidarFile } from "../test/helpers/testData";
import { mb, measure, table } from "./measure";

/** Bytes under `dir` (0 once it is gone). */
function bytesUnder(dir: string): number {
  let total = 0;
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    try {
      total += entry.isDirectory() ? bytesUnder(full) : fs.statSync(full).size;
    } catch {
      // removed while we looked: a tile being cleaned up
    }
  }
  return total;
}

/** The pod's seven commands as one shell script that starts them all and fails if any fails. */
function podScript(commands: ReturnType<typeof podCommands>): string {
  const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
  const lines = Object.values(commands).map((c, i) => `(cd ${quote(c.cwd)} && exec ${[c.command, ...c.args].map(quote).join(" ")}) & p${i}=$!`);
  const waits = Object.keys(commands).map((_, i) => `wait $p${i} || rc=1`);
  return ["rc=0", ...lines, ...waits, "exit $rc"].join("\n");
}

async function main(): Promise<void> {
  const tileSize = Number(process.argv[2] ?? 250);
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "naaw-bench-pod-"));
  try {
    const inputs = process.argv[3] ?? path.join(scratch, "inputs");
    if (!process.argv[3]) cutLas(lidarFile("autzen_trim.las"), inputs, 3);
    const set = checkInputSet(inputs, "EPSG:28992");
    const { files, crs } = set;
    const pieces = await layOutPieces(files, path.join(scratch, "parts"), path.join(scratch, "pieces"), tileSize);
    const components = writeComponentDirs(path.join(scratch, "images"));
    const tiles = fs.readdirSync(pieces).length;
    const named = process.argv[3] ? `${files.length} files of ${inputs}` : "autzen_trim.las cut into 3 files";
    console.log(`pod chain: ${named} (${set.pointCount.toLocaleString("en")} points), ${tileSize} m tiles: ${tiles} tiles in one batch; load average ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}`);
    const rows = [["window", "wall s", "CPU s", "peak RSS (tree)", "peak on work dir", "s per tile"]];
    for (const window of [1, 2, 3]) {
      const pod = path.join(scratch, `pod-w${window}`);
      fs.mkdirSync(pod);
      let peakDisk = 0;
      const script = podScript(podCommands({ pod, itemsFrom: pieces, components, crs, window }));
      const measured = await measure(`window ${window}`, "bash", ["-c", script], { quiet: true, onSample: () => (peakDisk = Math.max(peakDisk, bytesUnder(path.join(pod, "work")))) });
      const exported = fs.readdirSync(path.join(pod, "out", "raster")).length;
      if (exported !== tiles) throw new Error(`window ${window}: ${exported} of ${tiles} tiles exported:\n${measured.stderr}`);
      rows.push([String(window), measured.seconds.toFixed(1), measured.cpuSeconds?.toFixed(1) ?? "-", mb(measured.peakTreeBytes), `${(peakDisk / 1e6).toFixed(1)} MB`, (measured.seconds / tiles).toFixed(2)]);
    }
    console.log(table(rows));
    console.log(`load average after: ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}`);
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

main().catch((error: Error) => {
  console.error(error.stack ?? error.message);
  process.exitCode = 1;
});
