// A small project for end-to-end tests of `naaw run`: a tiny notebook (load → scale → stats over a
// list of .npy files, scale can nap) and workflows over it, LAS files written here (small, or
// sparse and huge), and ways to watch a running naaw: its open files, its services.
import { strict as assert } from "assert";
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { pythonEnv, pythonExecutable } from "../../src/python/interpreter";
import { writeNotebook } from "./notebooks";

export const ROOT = path.resolve(__dirname, "..", "..");
export const NAAW = path.join(ROOT, "bin", "naaw.js");

/** Writes notebooks/tiny.ipynb and workflows/tiny.yaml under `dir`; returns the workflow's path. */
export function writeTinyProject(dir: string): string {
  fs.mkdirSync(path.join(dir, "notebooks"), { recursive: true });
  fs.mkdirSync(path.join(dir, "workflows"), { recursive: true });
  writeNotebook(
    path.join(dir, "notebooks"),
    [
      { tags: ["parameters"], source: 'path = "a.npy"\nfactor = 2.0\nnap = 0.0\n' },
      { tags: ["imports"], source: "import time\nfrom pathlib import Path\nimport numpy as np\n" },
      { tags: ["component:load"], source: "arr: np.ndarray = np.load(path, allow_pickle=False)\n" },
      {
        tags: ["component:scale"],
        source: "if nap > 0:\n    Path(path + '.started').write_text('1')\n    time.sleep(nap)\nscaled: np.ndarray = arr * factor\n",
      },
      { tags: ["component:stats"], source: "total: float = float(scaled.sum())\n" },
      { tags: ["skip"], source: "print(total)\n" },
    ],
    "tiny.ipynb",
  );
  const workflow = path.join(dir, "workflows", "tiny.yaml");
  fs.writeFileSync(
    workflow,
    `name: tiny
params:
  files: {type: list}
  factor: {type: float, default: 2.0}
  nap: {type: float, default: 0.0}
steps:
  - id: items
    foreach: \${{ params.files }}
    steps:
      - id: load
        uses: tiny/load
        with: {path: "\${{ item }}"}
      - id: scale
        uses: tiny/scale
        with: {arr: "\${{ steps.load.outputs.arr }}", path: "\${{ item }}", factor: "\${{ params.factor }}", nap: "\${{ params.nap }}"}
      - id: stats
        uses: tiny/stats
        with: {scaled: "\${{ steps.scale.outputs.scaled }}"}
`,
  );
  return workflow;
}

/** A workflow of one step, the split built-in, over params.input. */
export function writeSplitWorkflow(dir: string): string {
  fs.mkdirSync(path.join(dir, "workflows"), { recursive: true });
  const workflow = path.join(dir, "workflows", "split.yaml");
  fs.writeFileSync(
    workflow,
    `name: split-only
params:
  input: {type: str}
steps:
  - id: split
    uses: builtin/split
    with: {input: "\${{ params.input }}", tile_size: 100.0, cell_size: 10.0}
`,
  );
  return workflow;
}

/** `count` small float64 arrays `[1, 2, 3, 4] * (i + 1)` as a0.npy, a1.npy, … in `dir`. */
export function writeArrays(dir: string, count: number): string[] {
  const files = Array.from({ length: count }, (_, i) => path.join(dir, `a${i}.npy`));
  const script = "import numpy as np, sys\nfor i, f in enumerate(sys.argv[1:]): np.save(f, np.arange(1, 5, dtype=np.float64) * (i + 1))";
  const result = spawnSync(pythonExecutable(), ["-c", script, ...files], { env: pythonEnv(), encoding: "utf8" });
  assert.equal(result.status, 0, result.stderr);
  return files;
}

/**
 * A LAS 1.2 file of point format 0. `side` > 0: side × side points on a 1 m grid (return 1 of 1,
 * class 2). `sparse`: a header announcing `sparse` points whose records are a hole in the file (all
 * zero: no disk is used, the points are at 0, 0, 0), for inputs of several GB that cost nothing.
 */
export function writeLas(file: string, shape: { side: number } | { sparse: number }): void {
  const header = Buffer.alloc(227);
  header.write("LASF", 0, "latin1");
  header[24] = 1;
  header[25] = 2;
  header.write("naaw test", 58, "latin1");
  header.writeUInt16LE(227, 94);
  header.writeUInt32LE(227, 96);
  header[104] = 0;
  header.writeUInt16LE(20, 105);
  const count = "side" in shape ? shape.side * shape.side : shape.sparse;
  header.writeUInt32LE(count, 107);
  header.writeUInt32LE(count, 111);
  for (let i = 0; i < 3; i++) header.writeDoubleLE(0.01, 131 + 8 * i);
  const extent = "side" in shape ? shape.side - 1 : 0;
  // max x, min x, max y, min y, max z, min z
  [extent, 0, extent, 0, "side" in shape ? 1 : 0, 0].forEach((v, i) => header.writeDoubleLE(v, 179 + 8 * i));
  if ("sparse" in shape) {
    fs.writeFileSync(file, header);
    fs.truncateSync(file, 227 + 20 * count);
    return;
  }
  const records = Buffer.alloc(20 * count);
  for (let i = 0; i < count; i++) {
    const at = 20 * i;
    records.writeInt32LE((i % shape.side) * 100, at);
    records.writeInt32LE(Math.floor(i / shape.side) * 100, at + 4);
    records.writeInt32LE(i % 2 === 0 ? 0 : 100, at + 8);
    records[at + 14] = 0b00001001;
    records[at + 15] = 2;
  }
  fs.writeFileSync(file, Buffer.concat([header, records]));
}

export interface Finished {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** `naaw ARGS` to the end, from `cwd`. */
export function naaw(args: readonly string[], cwd: string): Finished {
  const result = spawnSync(process.execPath, [NAAW, ...args], { cwd, encoding: "utf8", timeout: 240_000 });
  return { code: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr };
}

/** A naaw started in the background, its output collected. */
export class Running {
  readonly child: ChildProcess;
  stdout = "";
  stderr = "";
  readonly exited: Promise<Finished>;

  constructor(args: readonly string[], cwd: string) {
    this.child = spawn(process.execPath, [NAAW, ...args], { cwd, stdio: ["ignore", "pipe", "pipe"] });
    this.child.stdout!.setEncoding("utf8").on("data", (t: string) => (this.stdout += t));
    this.child.stderr!.setEncoding("utf8").on("data", (t: string) => (this.stderr += t));
    this.exited = new Promise((resolve) => this.child.once("close", (code, signal) => resolve({ code, signal, stdout: this.stdout, stderr: this.stderr })));
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Whether the process has `file` open now. */
  hasOpen(file: string): boolean {
    const dir = `/proc/${this.pid}/fd`;
    try {
      return fs.readdirSync(dir).some((fd) => {
        try {
          return fs.readlinkSync(path.join(dir, fd)) === file;
        } catch {
          return false;
        }
      });
    } catch {
      return false;
    }
  }

  /** Kills it if it still runs (a test's cleanup). */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGKILL");
    await this.exited;
  }
}

/** Service processes (`naaw_runtime serve`) with an argument under `dir` (their data root). */
export function servicesUnder(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const args = fs.readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      if (args.includes("naaw_runtime") && args.some((a) => a.startsWith(dir))) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

export async function waitFor(condition: () => boolean, seconds: number, what: string): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${seconds} s waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The pid of a process that has exited (so it is not alive). */
export function deadPid(): number {
  const result = spawnSync("true");
  assert.equal(result.status, 0);
  return result.pid!;
}

/** Every published entry of a cache: its key, directory and manifest. */
export function cacheEntries(cache: string): { key: string; dir: string; step: string; item?: string }[] {
  if (!fs.existsSync(cache)) return [];
  return fs
    .readdirSync(cache)
    .filter((n) => /^[0-9a-f]{2}$/.test(n))
    .flatMap((shard) => fs.readdirSync(path.join(cache, shard)).map((key) => ({ key, dir: path.join(cache, shard, key) })))
    .map((e) => {
      let manifest: { step?: string; item?: string } = {};
      try {
        manifest = JSON.parse(fs.readFileSync(path.join(e.dir, "manifest.json"), "utf8")) as typeof manifest;
      } catch {
        // damaged: the caller sees step "?"
      }
      return { ...e, step: manifest.step ?? "?", item: manifest.item };
    });
}

/** Names in a directory ([] when it does not exist). */
export function namesIn(dir: string): string[] {
  return fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [];
}
