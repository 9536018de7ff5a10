// The tags "Make component from selected cells" (jupyter/labextension) gives a cell: the roles the
// analyzer reads (src/notebook/roles.ts) replaced by one component tag, the user's other tags kept.
import { strict as assert } from "assert";
import { DiagnosticSink } from "../src/diagnostics";
import { cellRole } from "../src/notebook/roles";
import { componentNameProblem, componentTags } from "../jupyter/labextension/src/tags";

describe("JupyterLab panel: Make component's tags", function () {
  it("GIVEN a cell's tags THEN its role tags give way to component:<name>, the rest stay, in order", function () {
    assert.deepEqual(componentTags(undefined, "normalize"), ["component:normalize"]);
    assert.deepEqual(componentTags(["slow", "component:old", "imports", "parameters", "skip", "review"], "normalize"), ["slow", "review", "component:normalize"]);
  });

  it("GIVEN the tags it writes THEN the analyzer reads the cell as that component, with no problem", function () {
    const sink = new DiagnosticSink("n.ipynb");
    const role = cellRole({ index: 0, kind: "code", source: "x = 1\n", tags: componentTags(["imports", "keep"], "pick_2") }, sink);
    assert.deepEqual(role, { kind: "component", name: "pick_2" });
    assert.deepEqual(sink.diagnostics, []);
  });

  it("GIVEN a name the analyzer refuses THEN the command refuses it first, saying why", function () {
    for (const bad of ["", "Normalize", "1st", "a b", "x".repeat(64)]) assert.match(componentNameProblem(bad) ?? "", /starts with a lowercase letter/, bad);
    for (const good of ["a", "normalize", "tile-2", "x".repeat(63)]) assert.equal(componentNameProblem(good), undefined, good);
  });
});
