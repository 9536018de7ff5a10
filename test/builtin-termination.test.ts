// A built-in that fails on bad input in a Kubernetes container says why in its termination message,
// which Argo shows as the failed node's message (so `pulumi up` and `naaw submit` can name it).
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { tempDir } from "./helpers/notebooks";

const NAAW = path.resolve(__dirname, "..", "bin", "naaw.js");

describe("built-ins: the error reaches the termination message", function () {
  this.timeout(60_000);
  let work: ReturnType<typeof tempDir>;
  before(() => (work = tempDir("naaw-termination-")));
  after(() => work.cleanup());

  const split = (log: string) =>
    spawnSync(process.execPath, [NAAW, "builtin", "split", "--param", `input=${path.join(work.dir, "missing.las")}`, "--param", "tile_size=500", "--outputs", path.join(work.dir, "out")], {
      encoding: "utf8",
      env: { ...process.env, NAAW_TERMINATION_LOG: log },
    });

  it("GIVEN a termination log (in a container) WHEN split gets a missing input THEN the one-line error is written there and the exit code is 2", () => {
    const log = path.join(work.dir, "termination-log");
    fs.writeFileSync(log, "");
    const run = split(log);
    assert.equal(run.status, 2, run.stderr);
    assert.match(fs.readFileSync(log, "utf8"), /^naaw: .*missing\.las: no such file or directory$/);
    assert.equal(run.stderr.trim(), fs.readFileSync(log, "utf8"));
  });

  it("GIVEN no termination log (outside Kubernetes) THEN no file is created", () => {
    const log = path.join(work.dir, "absent-log");
    assert.equal(split(log).status, 2);
    assert.equal(fs.existsSync(log), false);
  });
});
