import * as fs from "fs";
import { splitPointCloudsInRanges } from "../src/lidar/rangeSplit";
(async () => {
  const w = Number(process.argv[2] ?? 2);
  const inputs = [process.argv[3]!, "/tmp/autzen/autzen_14x14.las"];
  for (const [rep, input] of inputs.entries()) {
    const out = `/work/_sp_${rep}`;
    fs.rmSync(out, { recursive: true, force: true });
    const c0 = process.cpuUsage(); const t0 = Date.now();
    await splitPointCloudsInRanges({ input, outDir: out, tileSize: 1000, cellSize: 10, workers: w, minPointsPerRange: 1000 });
    const c = process.cpuUsage(c0);
    console.log(`${input} workers ${w}: wall ${((Date.now() - t0) / 1000).toFixed(2)} s, user ${(c.user / 1e6).toFixed(2)} sys ${(c.system / 1e6).toFixed(2)}`);
    fs.rmSync(out, { recursive: true, force: true });
  }
  process.exit(0);
})();
