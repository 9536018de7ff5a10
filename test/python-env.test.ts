// The environment naaw gives Python (src/python/interpreter.ts): a process that runs tile after tile
// keeps its freed arrays in the heap for the next tile instead of faulting every page in again.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import { MALLOC_TUNABLES, pythonEnv, pythonExecutable } from "../src/python/interpreter";

/**
 * Minor page faults of 50 rounds that each allocate and fill six arrays of 2 to 12 MiB, then free
 * them all, as a tile's steps do with their temporaries.
 */
function faultsOfTileLoop(env: NodeJS.ProcessEnv): number {
  const code = [
    "import resource, numpy as np",
    "before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt",
    "for r in range(50):",
    "    arrays = [np.full((k % 6 + 1) << 18, 1.0) for k in range(r, r + 6)]",
    "    del arrays",
    "print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)",
  ].join("\n");
  const answer = spawnSync(pythonExecutable(), ["-c", code], { env, encoding: "utf8" });
  assert.equal(answer.status, 0, answer.stderr);
  return Number(answer.stdout.trim());
}

describe("the Python environment of services and analysis", function () {
  this.timeout(60_000);

  it("keeps a tile's freed arrays for the next one: a small fraction of the page faults of glibc's defaults", () => {
    const tuned = faultsOfTileLoop(pythonEnv({ ...process.env, GLIBC_TUNABLES: undefined }));
    const defaults = faultsOfTileLoop({ ...pythonEnv(), GLIBC_TUNABLES: "" });
    // A round touches 42 MiB (10,752 pages): glibc's defaults give it back and fault it in again each
    // round (about 115,000 faults here), the tuned heap keeps it (about 3,000).
    assert.ok(defaults > 50_000, `glibc's defaults: ${defaults} faults`);
    assert.ok(tuned * 10 < defaults, `tuned: ${tuned} faults, defaults: ${defaults}`);
  });

  it("leaves a GLIBC_TUNABLES of the user's own as it is, and keeps PYTHONPATH's entries after ours", () => {
    assert.equal(pythonEnv({ GLIBC_TUNABLES: "glibc.malloc.arena_max=2" }).GLIBC_TUNABLES, "glibc.malloc.arena_max=2");
    assert.equal(pythonEnv({}).GLIBC_TUNABLES, MALLOC_TUNABLES);
    assert.match(pythonEnv({ PYTHONPATH: "/mine" }).PYTHONPATH!, /runtime[/\\]python:\/mine$/);
  });
});
