// The demo's synthetic forest (data/lidar/), made as `npm run demo:data` makes it, for the scripts and
// tests that read it (the dev stack's committed plan is priced from its LAS headers). The generator
// is deterministic and skips files that are already up to date, so calling this again costs little.
import { spawnSync } from "child_process";
import * as path from "path";
import { pythonEnv, pythonExecutable } from "../src/python/interpreter";

const ROOT = path.resolve(__dirname, "..");

/** The same arguments as package.json's `demo:data`. */
export const DEMO_DATA_ARGS = ["--las-dir", "data/lidar", "--tiles", "3", "3", "--size", "200", "--density", "10"] as const;

export function ensureDemoData(): void {
  const made = spawnSync(pythonExecutable(), [path.join(ROOT, "scripts", "synthetic_forest.py"), ...DEMO_DATA_ARGS], { cwd: ROOT, encoding: "utf8", env: pythonEnv(), timeout: 300_000 });
  if (made.status !== 0) throw new Error(`scripts/synthetic_forest.py ${DEMO_DATA_ARGS.join(" ")} failed: ${made.stderr || made.error?.message}`);
}
