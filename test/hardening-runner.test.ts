// Issue 8, "the cache and the runner" and signals: inputs that change while a step reads them, damaged
// cache entries, two runs sharing a cache, leftovers of killed runs, `naaw cache`, and stopping on
// SIGINT/SIGTERM in every phase. Each test asserts the message, the exit code, and what is left.
import { strict as assert } from "assert";
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { formatBytes } from "../src/cli/cache";
import { StepCache } from "../src/local/cache";
import { pruneCache } from "../src/local/cacheStore";
import { LocalRunner, StepFailure } from "../src/local/runner";
import { compileWorkflow } from "../src/workflow/compile";
import { tempDir } from "./helpers/notebooks";
import { cacheEntries, deadPid, namesIn, naaw, Running, servicesUnder, waitFor, writeArrays, writeLas, writeSplitWorkflow, writeTinyProject } from "./helpers/runnerProject";

const DAY_MS = 86_400_000;
/** A sparse LAS of 8 GB (400 M zero points): hashing or reading all of it takes seconds, storing it nothing. */
const BIG_POINTS = 400_000_000;

/** Bytes of the files under a directory. */
function bytesUnder(dir: string): number {
  return fs.readdirSync(dir, { withFileTypes: true }).reduce((sum, e) => sum + (e.isDirectory() ? bytesUnder(path.join(dir, e.name)) : fs.statSync(path.join(dir, e.name)).size), 0);
}

/** Lines of naaw's own errors (progress and warnings are other lines). */
const errorLines = (stderr: string): string[] => stderr.split("\n").filter((l) => l.startsWith("naaw:"));

describe("hardening: the cache and the runner", function () {
  this.timeout(300_000);
  let scratch: { dir: string; cleanup: () => void };
  let root: string;
  let project: string;
  let tiny: string;
  let files: string[];
  const filesParam = (): string => `files=[${files.join(", ")}]`;

  before(() => {
    scratch = tempDir("naaw-hardening-");
    root = fs.realpathSync(scratch.dir);
    project = path.join(root, "project");
    tiny = writeTinyProject(project);
    fs.mkdirSync(path.join(project, "data"));
    files = writeArrays(path.join(project, "data"), 3);
  });
  after(() => scratch.cleanup());
  afterEach(async () => {
    // Services die with their run (killed, or their stdin closes): none may outlive a test.
    await waitFor(() => servicesUnder(root).length === 0, 5, "the services of the test's runs to stop").catch(() => undefined);
    assert.deepEqual(servicesUnder(root), [], "a component service outlived its run");
  });

  describe("inputs that change while a step reads them; damaged entries", () => {
    it("fails the split and caches nothing when its LAS input changes while the split reads it", async () => {
      const dir = path.join(root, "changing");
      const las = path.join(dir, "in.las");
      fs.mkdirSync(dir);
      writeLas(las, { side: 200 });
      const size = fs.statSync(las).size;
      const { graph, diagnostics } = compileWorkflow(writeSplitWorkflow(dir));
      assert.ok(graph, diagnostics.map((d) => d.message).join("; "));
      const cache = path.join(dir, "cache");
      let appended = false;
      const runner = (onRead?: () => void): LocalRunner =>
        new LocalRunner(graph, { workers: 1, cacheDir: cache, useCache: true, params: { input: las }, events: { builtinProgress: () => onRead?.() } });
      // The first progress call comes after the header was read, before the points are.
      const changing = runner(() => {
        if (!appended) fs.appendFileSync(las, Buffer.alloc(1));
        appended = true;
      });
      await assert.rejects(changing.run(), (error: unknown) => {
        assert.ok(error instanceof StepFailure, String(error));
        assert.equal(error.message, `step 'split' (builtin/split): ${las} changed while step 'split' read it (its size went from ${size} to ${size + 1} bytes); nothing was cached: run again when it no longer changes`);
        assert.equal(error.badInput, false, "not bad input: exit code 1, and running again helps");
        return true;
      });
      assert.deepEqual(cacheEntries(cache), [], "nothing cached under the old content's key");
      assert.deepEqual(namesIn(path.join(cache, "staging")), []);
      // Unchanged since: the next run computes it, the one after takes it from the cache.
      const first = await runner().run();
      assert.deepEqual(first.timings.map((t) => t.cached), [false]);
      const second = await runner().run();
      assert.deepEqual(second.timings.map((t) => t.cached), [true]);
    });

    it("fails naaw run with exit code 1 when an input changes while it is being hashed", async () => {
      const dir = path.join(root, "hash-change");
      const las = path.join(dir, "big.las");
      fs.mkdirSync(dir);
      writeLas(las, { sparse: BIG_POINTS });
      const size = fs.statSync(las).size;
      const cache = path.join(dir, "cache");
      const run = new Running(["run", writeSplitWorkflow(dir), "--set", `input=${las}`, "--cache-dir", cache], dir);
      try {
        await waitFor(() => run.hasOpen(las), 60, "naaw to open the input");
        fs.appendFileSync(las, "x");
        const done = await run.exited;
        assert.equal(done.code, 1, done.stderr);
        assert.deepEqual(errorLines(done.stderr), [
          `naaw: step 'split': ${las} changed while it was being hashed (its size went from ${size} to ${size + 1} bytes); run again when it no longer changes; finished steps are kept in the cache: run again to resume`,
        ]);
      } finally {
        await run.stop();
      }
      assert.deepEqual(cacheEntries(cache), []);
      assert.deepEqual(namesIn(path.join(cache, "fingerprints")), [], "no fingerprint remembered for a hash of no single content");
      assert.deepEqual(namesIn(path.join(cache, "staging")), []);
    });

    it("detects damaged entries (truncated, deleted, altered files; corrupt or missing manifests) and computes them again", () => {
      const cache = path.join(root, "cache-damaged");
      const args = ["run", tiny, "--set", filesParam(), "--cache-dir", cache, "--workers", "2", "--out", path.join(root, "out-damaged")];
      const first = naaw(args, project);
      assert.equal(first.code, 0, first.stderr);
      const entries = cacheEntries(cache);
      assert.equal(entries.length, 9);
      const entry = (step: string, item: string): { dir: string; key: string } => entries.find((e) => e.step === step && e.item === item)!;
      const arr = (item: string): string => path.join(entry("load", item).dir, "outputs", "arr.npy");
      const original = files.map((f) => fs.readFileSync(arr(path.basename(f))));

      fs.truncateSync(arr("a0.npy"), 40);
      fs.rmSync(arr("a1.npy"));
      // Same size, and the modification time put back: the change time and the sha256 still tell.
      const before = fs.statSync(arr("a2.npy"));
      const bytes = fs.readFileSync(arr("a2.npy"));
      bytes[bytes.length - 1] ^= 0xff;
      fs.writeFileSync(arr("a2.npy"), bytes);
      fs.utimesSync(arr("a2.npy"), before.atime, before.mtime);
      fs.writeFileSync(path.join(entry("scale", "a0.npy").dir, "manifest.json"), '{"step": "scale", "outp');
      fs.rmSync(path.join(entry("scale", "a1.npy").dir, "manifest.json"));

      const second = naaw(args, project);
      assert.equal(second.code, 0, second.stderr);
      assert.deepEqual(errorLines(second.stderr), [], "a damaged entry is not an error");
      const warnings = second.stderr.split("\n").filter((l) => l.startsWith("warning:"));
      const problems = [
        `outputs/arr.npy has 40 bytes, not ${original[0]!.length}`,
        "outputs/arr.npy is missing",
        "outputs/arr.npy was altered (its sha256 differs)",
        "its manifest is not JSON",
        "it has no manifest",
      ];
      assert.equal(warnings.length, problems.length, second.stderr);
      for (const problem of problems) {
        assert.ok(
          warnings.some((w) => w.includes(`is damaged (${problem}): computing it again`)),
          `no warning says '${problem}':\n${warnings.join("\n")}`,
        );
      }
      assert.match(second.stdout, /steps: 5 run, 4 from the cache/);
      files.forEach((f, i) => assert.ok(fs.readFileSync(arr(path.basename(f))).equals(original[i]!), `${path.basename(f)}: the recomputed entry has the original bytes`));
      assert.equal(cacheEntries(cache).length, 9, "each damaged entry was replaced, not duplicated");
      assert.deepEqual(namesIn(path.join(cache, "staging")), []);
      const third = naaw(args, project);
      assert.equal(third.code, 0, third.stderr);
      assert.match(third.stdout, /steps: 0 run, 9 from the cache/);
    });
  });

  describe("two runs sharing one cache", () => {
    it("both succeed when started at the same time on the same workflow; each step is published once", async () => {
      // A fresh project: the build contexts are written by both runs at once too.
      const shared = path.join(root, "shared");
      const workflow = writeTinyProject(shared);
      fs.mkdirSync(path.join(shared, "data"));
      const many = writeArrays(path.join(shared, "data"), 6);
      const cache = path.join(shared, "cache");
      const args = (i: number): string[] => ["run", workflow, "--set", `files=[${many.join(", ")}]`, "--cache-dir", cache, "--workers", "2", "--out", path.join(shared, `out-${i}`)];
      const runs = [new Running(args(1), shared), new Running(args(2), shared)];
      let results;
      try {
        results = await Promise.all(runs.map((r) => r.exited));
      } finally {
        await Promise.all(runs.map((r) => r.stop()));
      }
      let computed = 0;
      for (const result of results) {
        assert.equal(result.code, 0, result.stderr);
        assert.deepEqual(errorLines(result.stderr), []);
        const counts = /steps: (\d+) run, (\d+) from the cache/.exec(result.stdout);
        assert.ok(counts, result.stdout);
        assert.equal(Number(counts[1]) + Number(counts[2]), 18);
        computed += Number(counts[1]);
      }
      assert.ok(computed >= 18, "every step was computed by one run or the other");
      assert.equal(cacheEntries(cache).length, 18);
      assert.deepEqual(namesIn(path.join(cache, "staging")), []);
      const contexts = namesIn(path.join(shared, ".naaw", "components"));
      assert.equal(contexts.length, 3, `one context per component, no private or temporary directories: ${contexts.join(", ")}`);
    });

    it("publishing a key another run published first is a hit on its entry; a damaged entry in the way is replaced", async () => {
      const cache = new StepCache(path.join(root, "cache-commit"));
      const key = "ab".repeat(32);
      const staged = (content: string): string => {
        const dir = cache.stage(key);
        fs.mkdirSync(path.join(dir, "outputs"));
        fs.writeFileSync(path.join(dir, "outputs", "x.json"), content);
        return dir;
      };
      const record = (seconds: number) => ({ step: "s", seconds, outputs: { x: { cached: "outputs/x.json" } } });
      const first = await cache.commit(key, staged("1"), record(1));
      assert.equal(first.ours, true);
      const loser = staged("1");
      const second = await cache.commit(key, loser, record(2));
      assert.equal(second.ours, false);
      assert.equal(second.manifest.seconds, 1, "the first run's entry is used");
      assert.ok(!fs.existsSync(loser), "the second run's staging is dropped");
      fs.rmSync(path.join(first.dir, "outputs", "x.json"));
      const lookup = await cache.lookup(key);
      assert.deepEqual(lookup, { kind: "damaged", problem: "outputs/x.json is missing" });
      const third = await cache.commit(key, staged("1"), record(3));
      assert.equal(third.ours, true);
      assert.equal((await cache.lookup(key)).kind, "hit");
      assert.deepEqual(namesIn(path.join(cache.root, "staging")), []);
    });
  });

  describe("leftovers of killed runs; naaw cache", () => {
    it("removes what killed runs left once their process is gone, and never a live run's", async () => {
      const cache = path.join(root, "cache-leftovers");
      const out = path.join(root, "out-leftovers");
      const sleeper: ChildProcess = spawn("sleep", ["120"], { stdio: "ignore" });
      try {
        const dead = deadPid();
        const live = sleeper.pid!;
        const leftovers = (pid: number): string[] => [
          path.join(out, `point_density.tif.${pid}-0123abcd.tmp`),
          path.join(out, `report.html.${pid}-0123abcd.tmp`),
          path.join(cache, "staging", `0123456789abcdef-${pid}-0123abcd`),
          path.join(cache, "staging", `0123456789abcdef-${pid}-89abcdef.old`),
          path.join(cache, "fingerprints", `${"f".repeat(64)}.${pid}.tmp`),
          path.join(root, `run-${pid}-AbC123`),
        ];
        for (const file of [...leftovers(dead), ...leftovers(live)]) {
          fs.mkdirSync(path.dirname(file), { recursive: true });
          if (/-[0-9a-f]{8}(\.old)?$|run-/.test(file)) fs.mkdirSync(path.join(file, "outputs"), { recursive: true });
          else fs.writeFileSync(file, "partial");
        }
        const mine = [path.join(out, "notes.tmp"), path.join(out, "old.tif")];
        for (const file of mine) fs.writeFileSync(file, "the user's");

        // A real kill: a --no-cache run killed with SIGKILL while a component naps leaves its scratch.
        // A short nap: a service whose naaw was killed mid-request stops only once that request ends.
        const killed = new Running(["run", tiny, "--set", filesParam(), "--set", "nap=3", "--no-cache", "--cache-dir", cache, "--out", out], project);
        const started = `${files[0]}.started`;
        try {
          await waitFor(() => fs.existsSync(started), 120, "the nap to start");
          killed.child.kill("SIGKILL");
          await killed.exited;
        } finally {
          await killed.stop();
          for (const f of files) fs.rmSync(`${f}.started`, { force: true });
        }
        const scratchOfKilled = namesIn(root).filter((n) => n.startsWith(`run-${killed.pid}-`));
        assert.equal(scratchOfKilled.length, 1, "the killed run left its scratch directory");
        await waitFor(() => servicesUnder(root).length === 0, 30, "the killed run's services to stop (their stdin closed)");

        const next = naaw(["run", tiny, "--set", filesParam(), "--cache-dir", cache, "--out", out], project);
        assert.equal(next.code, 0, next.stderr);
        assert.deepEqual(errorLines(next.stderr), []);
        for (const file of leftovers(dead)) assert.ok(!fs.existsSync(file), `${path.basename(file)} of a dead run is still there`);
        for (const file of leftovers(live)) assert.ok(fs.existsSync(file), `${path.basename(file)} of a live process was removed`);
        for (const file of mine) assert.equal(fs.readFileSync(file, "utf8"), "the user's");
        assert.ok(!fs.existsSync(path.join(root, scratchOfKilled[0]!)), "the killed run's scratch is gone");
        for (const file of leftovers(live)) fs.rmSync(file, { recursive: true, force: true });
      } finally {
        sleeper.kill("SIGKILL");
      }
    });

    it("naaw cache shows the entries and their size; prune --keep-last-runs removes what the last runs did not use", () => {
      const cache = path.join(root, "cache-verb");
      const run = (factor: number): void => {
        const result = naaw(["run", tiny, "--set", filesParam(), "--set", `factor=${factor}`, "--cache-dir", cache, "--out", path.join(root, "out-verb")], project);
        assert.equal(result.code, 0, result.stderr);
      };
      run(2);
      run(3);
      const entries = cacheEntries(cache);
      assert.equal(entries.length, 15, "load ×3 shared, scale and stats ×3 per factor");
      const bytes = entries.reduce((sum, e) => sum + bytesUnder(e.dir), 0);

      const shown = naaw(["cache", "--dir", cache], root);
      assert.equal(shown.code, 0, shown.stderr);
      const lines = shown.stdout.trim().split("\n");
      assert.match(lines[0]!, /^KEY\s+STEP\s+SIZE\s+LAST USED$/);
      assert.equal(lines.length, 1 + 15 + 1);
      for (const e of entries) assert.ok(lines.some((l) => l.startsWith(e.key.slice(0, 12)) && l.includes(`${e.step} on ${e.item}`)), `no row for ${e.key}`);
      assert.ok(lines.at(-1)!.startsWith(`${cache}: 15 entries, ${formatBytes(bytes)} (and `), lines.at(-1));
      assert.ok(lines.at(-1)!.endsWith(" of fingerprints, run logs and staging); 2 runs logged"), lines.at(-1));

      const pruned = naaw(["cache", "prune", "--dir", cache, "--keep-last-runs", "1"], root);
      assert.equal(pruned.code, 0, pruned.stderr);
      assert.match(pruned.stdout, /: removed 6 entries \(.*\) and 1 run log; 9 kept\n$/);
      assert.equal(cacheEntries(cache).length, 9);
      const again = naaw(["run", tiny, "--set", filesParam(), "--set", "factor=3", "--cache-dir", cache, "--out", path.join(root, "out-verb")], project);
      assert.match(again.stdout, /steps: 0 run, 9 from the cache/, "what the last run used is kept");

      // A live run's log (this process, no end line): prune refuses, and removes nothing.
      const log = path.join(cache, "runs", `${Date.now()}-${process.pid}.log`);
      fs.writeFileSync(log, JSON.stringify({ pid: process.pid, started: Date.now(), workflow: "x" }) + "\n");
      const busy = naaw(["cache", "prune", "--dir", cache, "--keep-last-runs", "0"], root);
      fs.rmSync(log);
      assert.equal(busy.code, 1);
      assert.equal(busy.stderr, `naaw: a run (pid ${process.pid}) is using the cache ${cache}; prune it when that run has finished\n`);
      assert.equal(cacheEntries(cache).length, 9);

      const badAge = naaw(["cache", "prune", "--dir", cache, "--older-than", "soon"], root);
      assert.notEqual(badAge.code, 0);
      assert.match(badAge.stderr, /option '--older-than <age>' argument 'soon' is invalid\. expected an age such as 30d, 12h, 90m, 45s or 2w/);
      const nowhere = naaw(["cache", "--dir", path.join(root, "nowhere")], root);
      assert.equal(nowhere.code, 2);
      assert.equal(nowhere.stderr, `naaw: ${path.join(root, "nowhere")}: no cache here (no such directory)\n`);

      // --older-than, with the clock moved forward: kept within the age, removed after it.
      assert.equal(pruneCache(cache, { olderThanMs: 30 * DAY_MS, now: Date.now() + 29 * DAY_MS }).removed.length, 0);
      assert.equal(pruneCache(cache, { olderThanMs: 30 * DAY_MS, keepLastRuns: 1, now: Date.now() + 31 * DAY_MS }).removed.length, 0, "the last run's entries are kept however old");
      const all = pruneCache(cache, { olderThanMs: 30 * DAY_MS, now: Date.now() + 31 * DAY_MS });
      assert.equal(all.removed.length, 9);
      assert.deepEqual(namesIn(cache).filter((n) => /^[0-9a-f]{2}$/.test(n)), [], "no empty shard directories");
    });
  });

  describe("stopping on SIGINT and SIGTERM in every phase", () => {
    /** Sends `signal` and measures how long naaw takes to exit. */
    async function stop(run: Running, signal: NodeJS.Signals, phase: string): Promise<{ code: number | null; stderr: string; ms: number }> {
      const sent = performance.now();
      run.child.kill(signal);
      const done = await run.exited;
      const ms = performance.now() - sent;
      console.log(`      ${signal} while ${phase}: exited ${ms.toFixed(0)} ms after the signal`);
      return { code: done.code, stderr: done.stderr, ms };
    }

    let big: string;
    before(() => {
      big = path.join(root, "big", "big.las");
      fs.mkdirSync(path.dirname(big));
      writeLas(big, { sparse: BIG_POINTS });
    });

    it("while hashing a big input (SIGINT: exit code 130)", async () => {
      const cache = path.join(root, "cache-sig-hash");
      const run = new Running(["run", writeSplitWorkflow(path.join(root, "big")), "--set", `input=${big}`, "--cache-dir", cache], root);
      try {
        // Open, and no step staged yet: the cache key, so the hash, is still being computed.
        await waitFor(() => run.hasOpen(big) && namesIn(path.join(cache, "staging")).length === 0, 60, "hashing to start");
        const { code, stderr, ms } = await stop(run, "SIGINT", "hashing");
        assert.equal(code, 130, stderr);
        assert.deepEqual(errorLines(stderr), [`naaw: stopped by SIGINT; finished steps are kept in ${cache}: run again to resume`]);
        assert.ok(ms < 3000, `took ${ms} ms`);
      } finally {
        await run.stop();
      }
      assert.deepEqual(cacheEntries(cache), []);
      assert.deepEqual(namesIn(path.join(cache, "staging")), []);
    });

    it("while the split reads (SIGTERM: exit code 143)", async () => {
      const run = new Running(["run", writeSplitWorkflow(path.join(root, "big")), "--set", `input=${big}`, "--no-cache", "--cache-dir", path.join(root, "sig-split", "cache")], root);
      try {
        // The first progress line may come after the first chunk ("629.1 k of 400.00 M"): any count will do.
        await waitFor(() => /split: [\d.]+( [kM])? of 400\.00 M points read/.test(run.stderr) && run.hasOpen(big), 60, "the split to read");
        const { code, stderr, ms } = await stop(run, "SIGTERM", "the split reads");
        assert.equal(code, 143, stderr);
        assert.deepEqual(errorLines(stderr), ["naaw: stopped by SIGTERM; finished steps are kept in nothing (--no-cache): run again to resume"]);
        assert.ok(ms < 3000, `took ${ms} ms`);
      } finally {
        await run.stop();
      }
      assert.deepEqual(namesIn(path.join(root, "sig-split")), [], "the --no-cache scratch directory is removed");
    });

    it("while components run (SIGINT: exit code 130, no service left)", async () => {
      const cache = path.join(root, "cache-sig-components");
      const run = new Running(["run", tiny, "--set", filesParam(), "--set", "nap=60", "--cache-dir", cache, "--out", path.join(root, "out-sig")], project);
      try {
        await waitFor(() => fs.existsSync(`${files[0]}.started`), 120, "a component to nap");
        assert.ok(servicesUnder(root).length > 0);
        const { code, stderr, ms } = await stop(run, "SIGINT", "components run");
        assert.equal(code, 130, stderr);
        assert.deepEqual(errorLines(stderr), [`naaw: stopped by SIGINT; finished steps are kept in ${cache}: run again to resume`]);
        assert.ok(ms < 3000, `took ${ms} ms`);
        // Killed before naaw exited: at most the kernel's reaping is left.
        await waitFor(() => servicesUnder(root).length === 0, 1, "the services to be gone");
      } finally {
        await run.stop();
        for (const f of files) fs.rmSync(`${f}.started`, { force: true });
      }
      assert.deepEqual(namesIn(path.join(cache, "staging")), [], "the steps in flight dropped their staging");
    });
  });
});
