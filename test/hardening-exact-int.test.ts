// Issue 8: an integer param too large for a float stays an integer, not only in the component's
// spec (test/hardening-notebook.test.ts) but through the workflow: `naaw validate`, the Argo, CWL and
// Mermaid renderings and `naaw run`, which passes it to the service and keys the cache by it.
import { strict as assert } from "assert";
import { spawnSync, SpawnSyncReturns } from "child_process";
import * as fs from "fs";
import { load } from "js-yaml";
import * as path from "path";
import { tempDir, writeNotebook } from "./helpers/notebooks";

const CLI = path.resolve(__dirname, "..", "bin", "naaw.js");
const BIG = "1000000000000000000000000000001"; // 10**30 + 1: a double would read it as 10**30

function naaw(args: readonly string[], cwd: string): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: "utf8", timeout: 120_000 });
}

describe("hardening: an integer param beyond 2**53 stays exact through the workflow", function () {
  this.timeout(180_000);
  let project: { dir: string; cleanup: () => void };

  before(function () {
    // GIVEN a notebook whose param is 10**30 + 1 and a workflow that uses its component
    project = tempDir("naaw-exact-int-");
    fs.mkdirSync(path.join(project.dir, "notebooks"));
    fs.mkdirSync(path.join(project.dir, "workflows"));
    writeNotebook(
      path.join(project.dir, "notebooks"),
      [
        { tags: ["parameters"], source: `big = ${BIG}\nn = 3` },
        { tags: ["component:add"], source: "total: int = big + n" },
        { tags: ["skip"], source: "print(total)" },
      ],
      "exact.ipynb",
    );
    fs.writeFileSync(path.join(project.dir, "workflows", "exact.yaml"), "name: exact\nsteps:\n  - id: add\n    uses: exact/add\n");
  });

  after(() => project.cleanup());

  it("validates, and renders the default digit for digit in Argo", function () {
    const validate = naaw(["validate", "workflows/exact.yaml"], project.dir);
    assert.equal(validate.status, 0, validate.stderr);
    const argo = naaw(["render", "workflows/exact.yaml", "--to", "argo"], project.dir);
    assert.equal(argo.status, 0, argo.stderr);
    const manifest = load(argo.stdout) as { spec: { templates: { name: string; inputs?: { parameters?: { name: string; default?: string }[] } }[] } };
    const parameters = manifest.spec.templates.flatMap((t) => t.inputs?.parameters ?? []);
    assert.deepEqual(
      parameters.filter((p) => p.name === "big").map((p) => p.default),
      [BIG],
    );
    for (const to of ["cwl", "mermaid"]) {
      const rendered = naaw(["render", "workflows/exact.yaml", "--to", to], project.dir);
      assert.equal(rendered.status, 0, `${to}: ${rendered.stderr}`);
    }
  });

  it("runs with the exact value: the component computes big + n digit for digit", function () {
    // WHEN naaw run computes big + n in the component
    const run = naaw(["run", "workflows/exact.yaml", "--cache-dir", "cache", "--out", "out"], project.dir);
    assert.equal(run.status, 0, run.stderr);
    // THEN the cached output is exact (…004), where a double would have given 1e30
    const found = spawnSync("find", ["cache", "-name", "total.json"], { cwd: project.dir, encoding: "utf8" }).stdout.trim().split("\n");
    assert.equal(found.length, 1, found.join(", "));
    assert.equal(fs.readFileSync(path.join(project.dir, found[0]), "utf8").trim(), "1000000000000000000000000000004");
    // AND a rerun takes it from the cache: the key (which hashes the params) is stable for a bigint
    const again = naaw(["run", "workflows/exact.yaml", "--cache-dir", "cache", "--out", "out"], project.dir);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /0 run, 1 from the cache/);
  });
});
