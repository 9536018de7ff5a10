// Issue 8, "LAS/LAZ input" and merge's output: corrupt LAZ (a point count the chunks do not hold, a
// damaged chunk or chunk table, points outside the header's box), inputs that are not regular files,
// and a merge into a file system that is full. The corrupt files are copies of the real test files with
// bytes changed at offsets taken from the files' own structure, so each case is the same every run.
// Every case asserts the one-line message, the exit code where the CLI runs, and that nothing was written.
import { strict as assert } from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { LidarInputError } from "../src/lidar/errors";
import { MergeInputError, mergeRasters } from "../src/lidar/merge";
import { npyBytes } from "../src/lidar/npy";
import { splitPointClouds } from "../src/lidar/split";
import { lidarFile } from "./helpers/testData";

const ROOT = path.resolve(__dirname, "..");
const NAAW = path.join(ROOT, "bin", "naaw.js");
/** A FIFO opened for reading without a writer blocks forever: a CLI run that takes this long is stuck. */
const CLI_TIMEOUT_MS = 180_000;

interface Cli {
  readonly status: number | null;
  readonly stderr: string;
}

function naaw(args: readonly string[]): Cli {
  const result = spawnSync(process.execPath, [NAAW, ...args], { cwd: ROOT, encoding: "utf8", timeout: CLI_TIMEOUT_MS });
  return { status: result.status, stderr: result.stderr };
}

/** Asserts exit 2 and exactly one `naaw:` line, no stack trace; returns that line without its prefix. */
function badInputLine(result: Cli): string {
  assert.notEqual(result.status, null, `the command did not end within ${CLI_TIMEOUT_MS / 1000} s`);
  assert.equal(result.status, 2, `exit status\n${result.stderr}`);
  const lines = result.stderr.split("\n").filter((l) => l.startsWith("naaw:"));
  assert.equal(lines.length, 1, result.stderr);
  assert.doesNotMatch(result.stderr, /\n\s+at /, "no stack trace");
  return lines[0]!.slice("naaw: ".length);
}

/** Every file below `dir` (none if it does not exist). */
function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => !e.isDirectory()).map((e) => path.join(e.parentPath, e.name));
}

/** One LAZ chunk of a real file, as its chunk table gives it (facts of the file, not read by the code under test). */
interface Chunk {
  readonly start: number;
  readonly bytes: number;
}
// AHN3.laz: point data at 333, 6 chunks of 50000 points (the last 10807), the chunk table at 1384706.
const AHN3_CHUNK_2: Chunk = { start: 257728, bytes: 253057 };
const AHN3_CHUNK_3: Chunk = { start: 510785, bytes: 273784 };
// autzen_trim.laz: the int64 offset of the chunk table at byte 2144 (its offset to points), the table at 603333, 3 chunks.
const AUTZEN_TABLE_POINTER = 2144;
const AUTZEN_TABLE = 603333;
// 1_4_w_evlr.laz: one layered chunk of 1000 points (30-byte records), 6451 bytes from byte 2407.
const EVLR_CHUNK: Chunk = { start: 2407, bytes: 6451 };

describe("hardening: LAS/LAZ input and merge output", function () {
  this.timeout(600_000);
  let scratch: string;
  let made = 0;

  before(() => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), "naaw-hardening-lidar-"));
  });
  after(() => fs.rmSync(scratch, { recursive: true, force: true }));

  /** A copy of a real file in the scratch directory, changed by `edit` (in place, or replaced by the Buffer it returns). */
  function corrupt(name: string, as: string, edit: (bytes: Buffer) => unknown): string {
    const bytes = Buffer.from(fs.readFileSync(lidarFile(name)));
    const edited = edit(bytes);
    const file = path.join(scratch, as);
    fs.writeFileSync(file, Buffer.isBuffer(edited) ? edited : bytes);
    return file;
  }

  /** Splits `input` expecting a one-line LidarInputError; asserts its message and that no file was left. */
  async function splitRejects(input: string, expected: string | RegExp): Promise<void> {
    const outDir = path.join(scratch, `split-${++made}`);
    let message: string | undefined;
    try {
      await splitPointClouds({ input, outDir, tileSize: 500, cellSize: 10 });
    } catch (error) {
      assert.ok(error instanceof LidarInputError, `expected a LidarInputError, got ${(error as Error).stack}`);
      message = error.message;
    }
    assert.ok(message !== undefined, `splitting ${input} should have failed`);
    assert.ok(!message.includes("\n"), "the message is one line");
    if (typeof expected === "string") assert.equal(message, expected);
    else assert.match(message, expected);
    assert.deepEqual(filesUnder(outDir), [], "no tile is left behind");
  }

  const flip = (bytes: Buffer, at: number, count: number): void => {
    for (let i = 0; i < count; i++) bytes[at + i] ^= 0xff;
  };

  describe("corrupt LAZ", () => {
    it("rejects a header point count that the chunks do not hold, more or fewer", async () => {
      // simple.laz: one pointwise chunk of 1065 points (chunk size 50000), so only decoding can tell.
      const more = corrupt("simple.laz", "count-1066.laz", (b) => b.writeUInt32LE(1066, 107));
      await splitRejects(
        more,
        `${more}: corrupt LAZ chunk 1 of 1 (1066 points, 17862 bytes at byte 341): decoding point 1066 ran past the chunk's end: the chunk is damaged, or holds fewer points than the header says`,
      );
      const fewer = corrupt("simple.laz", "count-1064.laz", (b) => b.writeUInt32LE(1064, 107));
      await splitRejects(
        fewer,
        `${fewer}: corrupt LAZ chunk 1 of 1 (1064 points, 17862 bytes at byte 341): its 1064 points took 17847 of its bytes: the chunk is damaged, or holds more points than the header says`,
      );
      // autzen_trim.laz: 110000 points in 3 chunks of 50000; 160000 would need 4.
      const table = corrupt("autzen_trim.laz", "count-160000.laz", (b) => b.writeUInt32LE(160000, 107));
      await splitRejects(table, `${table}: the header says 160000 points, 4 chunk(s) of 50000, but the LAZ chunk table at byte ${AUTZEN_TABLE} lists 3 chunk(s)`);
      // A layered chunk (LAS 1.4, 64-bit count at byte 247) states its own count.
      const layered = corrupt("1_4_w_evlr.laz", "count-999.laz", (b) => b.writeBigUInt64LE(999n, 247));
      await splitRejects(
        layered,
        `${layered}: corrupt LAZ chunk 1 of 1 (999 points, 6451 bytes at byte 2407): it says it holds 1000 points, where the header and chunk table give it 999`,
      );
    });

    it("rejects a damaged chunk, and stays bounded on garbage", async () => {
      // Four bytes flipped in the middle of AHN3's second chunk: the decoder desynchronizes and runs on.
      const flipped = corrupt("AHN3.laz", "flipped.laz", (b) => flip(b, AHN3_CHUNK_2.start + Math.floor(AHN3_CHUNK_2.bytes / 2), 4));
      await splitRejects(
        flipped,
        new RegExp(`^${literal(flipped)}: corrupt LAZ chunk 2 of 6 \\(50000 points, 253057 bytes at byte 257728\\): decoding point \\d+ ran past the chunk's end`),
      );
      // A whole chunk of pseudo-random bytes (a fixed seed): an error, not a hang or a WASM crash.
      const garbage = corrupt("AHN3.laz", "garbage.laz", (b) => {
        let seed = 8;
        for (let at = AHN3_CHUNK_3.start; at < AHN3_CHUNK_3.start + AHN3_CHUNK_3.bytes; at++) b[at] = (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24;
      });
      const started = Date.now();
      await splitRejects(garbage, new RegExp(`^${literal(garbage)}: (corrupt LAZ chunk 3 of 6 |point \\d+ of 260807 at .* is outside the header's bounding box)`));
      assert.ok(Date.now() - started < 60_000, "garbage is rejected in bounded time");
      // A layered chunk whose first layer size (after the 30-byte raw point and the count) is huge: laz-perf
      // would allocate it; it is refused before laz-perf sees it.
      const sizes = corrupt("1_4_w_evlr.laz", "layer-size.laz", (b) => b.writeUInt32LE(0xfffffff0, EVLR_CHUNK.start + 30 + 4));
      await splitRejects(sizes, new RegExp(`^${literal(sizes)}: corrupt LAZ chunk 1 of 1 \\(1000 points, 6451 bytes at byte 2407\\): its layer sizes add up to \\d+ bytes, but the chunk has 6451$`));
      // Bytes flipped inside the layers: the points decode outside the header's box.
      const layers = corrupt("1_4_w_evlr.laz", "layer-data.laz", (b) => flip(b, EVLR_CHUNK.start + 200, 8));
      await splitRejects(layers, new RegExp(`^${literal(layers)}: point \\d+ of 1000 at \\(.*\\) is outside the header's bounding box`));
      // The decoder is still sound after all that: the real file splits.
      assert.equal((await splitPointClouds({ input: lidarFile("AHN3.laz"), outDir: path.join(scratch, "after-garbage"), tileSize: 500, cellSize: 10 })).pointCount, 260807);
    });

    it("rejects a damaged chunk table: its offset, a cut table, chunk sizes past the end", async () => {
      const past = corrupt("autzen_trim.laz", "pointer-past.laz", (b) => b.writeBigInt64LE(BigInt(b.length + 10), AUTZEN_TABLE_POINTER));
      await splitRejects(past, `${past}: truncated: the LAZ chunk table should start at byte 603363, but the file ends at byte 603353`);
      const before = corrupt("autzen_trim.laz", "pointer-before.laz", (b) => b.writeBigInt64LE(100n, AUTZEN_TABLE_POINTER));
      await splitRejects(before, `${before}: malformed: the LAZ chunk table offset at byte 2144 is 100, before the first chunk at byte 2152`);
      const inside = corrupt("autzen_trim.laz", "pointer-inside.laz", (b) => b.writeBigInt64LE(BigInt(AUTZEN_TABLE - 1000), AUTZEN_TABLE_POINTER));
      await splitRejects(inside, new RegExp(`^${literal(inside)}: malformed: the LAZ chunk table at byte 602333 has version \\d+ \\(only 0 exists\\): the table or its offset at byte 2144 is damaged$`));
      // The table's 8-byte head and 3 of its 12 coded bytes.
      const cut = corrupt("autzen_trim.laz", "table-cut.laz", (b) => b.subarray(0, AUTZEN_TABLE + 8 + 3));
      await splitRejects(cut, `${cut}: the LAZ chunk table at byte ${AUTZEN_TABLE} (3 chunks) runs past the end of the file at byte 603344: it is cut short or damaged`);
      // The top bit of the first coded byte: the chunk sizes decode to gigabytes.
      const sizes = corrupt("autzen_trim.laz", "table-sizes.laz", (b) => (b[AUTZEN_TABLE + 8] ^= 0x80));
      await splitRejects(sizes, new RegExp(`^${literal(sizes)}: malformed: the LAZ chunk table at byte ${AUTZEN_TABLE} gives chunk \\d of 3 \\d+ bytes from byte \\d+, which runs past the table itself \\(the file ends at byte 603353\\)$`));
    });

    it("rejects points outside the header's bounding box (LAS and LAZ), within half a scale unit of tolerance", async () => {
      // simple.las: scale 0.01, max x 638982.55 (Max X is the double at byte 179, Min Z at 219).
      const lower = (by: number) => (b: Buffer) => b.writeDoubleLE(b.readDoubleLE(179) - by, 179);
      const within = corrupt("simple.las", "box-0.4-units.las", lower(0.004));
      assert.equal((await splitPointClouds({ input: within, outDir: path.join(scratch, "within"), tileSize: 500, cellSize: 10 })).pointCount, 1065);
      const las = corrupt("simple.las", "box-0.6-units.las", lower(0.006));
      await splitRejects(
        las,
        `${las}: point 996 of 1065 at (638982.55, 853131.86, 456.92) is outside the header's bounding box (x 635619.85 to 638982.544, y 848899.7 to 853535.43, z 406.59 to 586.38): the point data is corrupt or the header is wrong`,
      );
      const laz = corrupt("simple.laz", "box-z.laz", (b) => b.writeDoubleLE(b.readDoubleLE(219) + 1, 219));
      await splitRejects(
        laz,
        `${laz}: point 24 of 1065 at (635684.02, 849494.39, 407.12) is outside the header's bounding box (x 635619.85 to 638982.55, y 848899.7 to 853535.43, z 407.59 to 586.38): the point data is corrupt or the header is wrong`,
      );
    });

    it("naaw builtin split and naaw run: one line naming the file, exit 2, nothing written", () => {
      const file = corrupt("AHN3.laz", "cli-flipped.laz", (b) => flip(b, AHN3_CHUNK_2.start + Math.floor(AHN3_CHUNK_2.bytes / 2), 4));
      const expected = new RegExp(`^${literal(file)}: corrupt LAZ chunk 2 of 6 .*: decoding point \\d+ ran past the chunk's end`);
      const outputs = path.join(scratch, "cli-split");
      assert.match(badInputLine(naaw(["builtin", "split", "--param", `input=${file}`, "--outputs", outputs])), expected);
      assert.deepEqual(filesUnder(outputs), []);
      const out = path.join(scratch, "cli-run-out");
      const line = badInputLine(naaw(["run", "workflows/lidar.yaml", "--set", `input=${file}`, "--out", out, "--cache-dir", path.join(scratch, "cli-cache")]));
      assert.match(line, /^step 'split' \(builtin\/split\): /);
      assert.match(line.replace(/^step 'split' \(builtin\/split\): /, ""), expected);
      assert.deepEqual(filesUnder(out), []);
    });
  });

  describe("inputs that are not regular files", () => {
    let fifo: string;
    let socket: string;
    let server: net.Server;

    before(async () => {
      fifo = path.join(scratch, "stream.laz");
      execFileSync("mkfifo", [fifo]);
      socket = path.join(scratch, "socket.las");
      server = net.createServer();
      await new Promise<void>((resolve) => server.listen(socket, resolve));
    });
    after(() => server.close());

    const notRegular = (file: string, kind: string): string => `${file}: not a regular file (${kind}); split reads LAS/LAZ files`;

    it("rejects a device or a socket given directly, before reading it", async () => {
      await splitRejects("/dev/zero", notRegular("/dev/zero", "a character device"));
      await splitRejects(socket, notRegular(socket, "a socket"));
    });

    it("rejects one that a directory or a glob finds", async () => {
      const dir = path.join(scratch, "with-fifo");
      fs.mkdirSync(dir);
      fs.copyFileSync(lidarFile("simple.las"), path.join(dir, "a.las"));
      const inDir = path.join(dir, "b.laz");
      execFileSync("mkfifo", [inDir]);
      // A directory named like a LAS file is passed over, as before: expansion is not recursive.
      fs.mkdirSync(path.join(dir, "c.las"));
      await splitRejects(dir, notRegular(inDir, "a FIFO"));
      await splitRejects(path.join(dir, "*.la?"), notRegular(inDir, "a FIFO"));
      await splitRejects(path.join(scratch, "sock*.las"), notRegular(socket, "a socket"));
    });

    it("naaw builtin split and naaw run reject a FIFO and /dev/zero at once: exit 2, nothing written", () => {
      // In a child process: if opening the FIFO blocked, the command would hang until CLI_TIMEOUT_MS.
      for (const [input, kind] of [
        [fifo, "a FIFO"],
        ["/dev/zero", "a character device"],
      ] as const) {
        const outputs = path.join(scratch, `cli-special-${++made}`);
        assert.equal(badInputLine(naaw(["builtin", "split", "--param", `input=${input}`, "--outputs", outputs])), notRegular(input, kind));
        assert.deepEqual(filesUnder(outputs), []);
      }
      const out = path.join(scratch, "cli-fifo-run");
      const line = badInputLine(naaw(["run", "workflows/lidar.yaml", "--set", `input=${fifo}`, "--out", out, "--cache-dir", path.join(scratch, "cli-cache")]));
      assert.ok(line.endsWith(notRegular(fifo, "a FIFO")), line);
      assert.deepEqual(filesUnder(out), []);
    });
  });

  describe("merge into a file system that is full", () => {
    let mount: string | undefined;
    let skipReason = "";

    before(() => {
      const dir = path.join(scratch, "tiny-fs");
      fs.mkdirSync(dir);
      try {
        // 64 KiB: the first GeoTIFF below (about 25 KB, written beside a 25 KB file of its tiles) fits, the second does not.
        execFileSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", dir], { stdio: "pipe" });
        mount = dir;
      } catch (error) {
        skipReason = `cannot mount a 64 KiB tmpfs here (needs root and mount rights): ${String((error as { stderr?: Buffer }).stderr ?? error).trim()}`;
      }
    });
    after(() => {
      if (mount) execFileSync("umount", [mount]);
    });

    /**
     * One tile of 70 x 70 cells and two features, as the notebook's `export` writes it. Its values
     * are random bits (never NaN or infinite), so the compressed GeoTIFFs are as large as the raw data.
     */
    function tile(dir: string): { raster: string; info: string } {
      fs.mkdirSync(dir, { recursive: true });
      const rows = 70;
      const cols = 70;
      let state = 12345;
      const bits = new Uint32Array(2 * rows * cols).map(() => {
        state = (Math.imul(state, 1103515245) + 12345) >>> 0;
        const word = (state ^ (state << 7) ^ Math.imul(state >>> 11, 2654435761)) >>> 0;
        // An exponent of all ones is NaN or infinity: clear its lowest bit.
        return (word & 0x7f800000) === 0x7f800000 ? word & ~0x00800000 : word;
      });
      const data = new Float32Array(bits.buffer);
      const raster = path.join(dir, "raster.npy");
      const info = path.join(dir, "raster_info.json");
      fs.writeFileSync(raster, npyBytes("<f4", [2, rows, cols], new Uint8Array(data.buffer)));
      fs.writeFileSync(info, JSON.stringify({ feature_names: ["height", "density"], origin_x: 120000, origin_y: 487000, cell_size: 10, rows, cols, crs: "EPSG:28992" }));
      return { raster, info };
    }

    it("is a one-line error naming the GeoTIFF, and leaves no .tif or .tmp", async function () {
      if (!mount) {
        console.warn(`      skipped: ${skipReason}`);
        this.skip();
      }
      const out = path.join(mount!, "out");
      let message = "";
      try {
        await mergeRasters({ tiles: [tile(path.join(scratch, "merge-tile"))], outDir: out });
      } catch (error) {
        assert.ok(error instanceof MergeInputError, `expected a MergeInputError, got ${(error as Error).stack}`);
        message = error.message;
      }
      assert.equal(message, `${path.join(out, "density.tif")}: cannot write the GeoTIFF: no space left on the device (ENOSPC)`);
      assert.deepEqual(filesUnder(mount!), [], "no partial GeoTIFF or temporary file");
    });

    it("naaw builtin merge: exit 2 with that line, nothing left on the full file system", function () {
      if (!mount) {
        console.warn(`      skipped: ${skipReason}`);
        this.skip();
      }
      const { raster, info } = tile(path.join(scratch, "cli-merge-tile"));
      const out = path.join(mount!, "cli-out");
      const result = naaw(["builtin", "merge", "--input", `rasters=${raster}`, "--input", `raster_infos=${info}`, "--param", `out=${out}`, "--outputs", path.join(scratch, "cli-merge")]);
      assert.equal(badInputLine(result), `${path.join(out, "density.tif")}: cannot write the GeoTIFF: no space left on the device (ENOSPC)`);
      assert.deepEqual(filesUnder(mount!), []);
      assert.deepEqual(filesUnder(path.join(scratch, "cli-merge")), [], "no files.json for a merge that failed");
    });
  });
});

function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
