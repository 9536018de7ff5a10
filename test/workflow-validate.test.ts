import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { formatDiagnostic } from "../src/diagnostics";
import { WorkflowCatalog } from "../src/workflow/catalog";
import { compileWorkflow } from "../src/workflow/compile";
import { tempDir } from "./helpers/notebooks";

const REPO = path.resolve(__dirname, "..");
const catalog = new WorkflowCatalog(path.join(REPO, "notebooks"));

/** Compiles workflow text written to a temp file; returns formatted diagnostics with the file shortened to `w.yaml`. */
function check(text: string): { errors: string[]; warnings: string[]; valid: boolean } {
  const dir = tempDir("naaw-wf-");
  try {
    const file = path.join(dir.dir, "w.yaml");
    fs.writeFileSync(file, text);
    const result = compileWorkflow(file, catalog);
    const lines = (severity: string): string[] =>
      result.diagnostics.filter((d) => d.severity === severity).map((d) => formatDiagnostic(d).replace(file, "w.yaml"));
    return { errors: lines("error"), warnings: lines("warning"), valid: result.graph !== undefined };
  } finally {
    dir.cleanup();
  }
}

/** A valid two-step workflow; tests replace parts of it. */
const BASE = `name: t
params:
  tile: {type: str, default: data/t.npy}
  size: {type: float, default: 10.0}
steps:
  - id: load
    uses: lidar/load
    with:
      tile: \${{ params.tile }}
      cell_size: \${{ params.size }}
  - id: normalize
    uses: lidar/normalize
    with:
      points: \${{ steps.load.outputs.points }}
`;

describe("naaw validate: the demo and a minimal workflow", () => {
  it("workflows/lidar.yaml is valid, with no warnings", () => {
    const result = compileWorkflow(path.join(REPO, "workflows", "lidar.yaml"), catalog);
    assert.deepStrictEqual(result.diagnostics.map(formatDiagnostic), []);
    const graph = result.graph!;
    assert.deepStrictEqual(
      graph.steps.map((s) => s.id),
      ["split", "load", "normalize", "filter", "neighbors", "features", "export", "merge"],
    );
    assert.deepStrictEqual(graph.foreach.map((g) => [g.id, g.itemType, g.steps.length]), [["tiles", "str", 6]]);
    const merge = graph.steps.find((s) => s.id === "merge")!;
    assert.deepStrictEqual(merge.dependencies, ["tiles"]);
    assert.strictEqual(merge.bindings.find((b) => b.name === "rasters")!.type, "list[ndarray]");
  });

  it("every workflow references the schema on its first line, so editors check it", () => {
    for (const file of fs.readdirSync(path.join(REPO, "workflows")).filter((f) => f.endsWith(".yaml"))) {
      const first = fs.readFileSync(path.join(REPO, "workflows", file), "utf8").split("\n")[0];
      assert.strictEqual(first, "# yaml-language-server: $schema=./schema.json", file);
    }
  });

  it("a minimal workflow is valid; an output nobody reads, on a step others read, is a warning", () => {
    const result = check(BASE);
    assert.deepStrictEqual(result.errors, []);
    assert.ok(result.valid);
    assert.deepStrictEqual(result.warnings, [
      "w.yaml:6:5: warning: step 'load': output 'bounds' of 'lidar/load' is not used by any step",
      "w.yaml:6:5: warning: step 'load': output 'crs' of 'lidar/load' is not used by any step",
      "w.yaml:6:5: warning: step 'load': output 'point_count' of 'lidar/load' is not used by any step",
    ]);
  });
});

describe("naaw validate: every error class, at its line and column", () => {
  const cases: [string, string, string[]][] = [
    ["invalid YAML", "name: t\nsteps: [\n", ["w.yaml:3:1: error: invalid YAML: "]],
    [
      "not the schema: an unknown field and a missing one",
      "name: t\nsteps:\n  - id: a\n    usess: lidar/load\n",
      [
        "w.yaml:3:5: error: not a NaaW workflow (workflows/schema.json): 'steps.0' needs the field 'uses'",
        "w.yaml:4:5: error: not a NaaW workflow (workflows/schema.json): 'steps.0' has an unknown field 'usess'",
      ],
    ],
    ["unknown component", BASE.replace("uses: lidar/normalize", "uses: lidar/normalise"), ["w.yaml:12:11: error: step 'normalize': unknown component 'lidar/normalise'; notebook 'lidar' has: load, normalize, filter, neighbors, features, export"]],
    ["unknown notebook", BASE.replace("uses: lidar/normalize", "uses: other/normalize"), ["w.yaml:12:11: error: step 'normalize': unknown component 'other/normalize': no notebook "]],
    ["unknown input", BASE + "      pointz: 1\n", ["w.yaml:15:7: error: step 'normalize': 'lidar/normalize' has no input or param 'pointz' (it takes: points, norm_cell_size)"]],
    ["missing input", BASE.replace("    with:\n      points: ${{ steps.load.outputs.points }}\n", ""), ["w.yaml:11:5: error: step 'normalize': input 'points' (ndarray) of 'lidar/normalize' is not bound; add it under with:"]],
    [
      "missing required param of a built-in",
      "name: t\nsteps:\n  - id: split\n    uses: builtin/split\n    with:\n      tile_size: 100\n",
      ["w.yaml:3:5: error: step 'split': param 'input' (str) of 'builtin/split' has no default; set it under with:"],
    ],
    ["undefined param", BASE.replace("${{ params.size }}", "${{ params.cell }}"), ["w.yaml:10:18: error: ${{ params.cell }}: the workflow has no param 'cell' (params: tile, size)"]],
    ["undefined step", BASE.replace("steps.load.outputs.points", "steps.loader.outputs.points"), ["w.yaml:14:15: error: ${{ steps.loader.outputs.points }}: no step 'loader' in the workflow"]],
    ["undefined output", BASE.replace("steps.load.outputs.points", "steps.load.outputs.pts"), ["w.yaml:14:15: error: ${{ steps.load.outputs.pts }}: 'lidar/load' has no output 'pts' (outputs: bounds, crs, point_count, points)"]],
    ["not a reference", BASE.replace("${{ params.size }}", "${{ size }}"), ["w.yaml:10:18: error: '${{ size }}' is not a reference; use ${{ params.NAME }}, ${{ steps.ID.outputs.NAME }} or ${{ item }}"]],
    ["str where ndarray is expected", BASE.replace("points: ${{ steps.load.outputs.points }}", "points: ${{ params.tile }}"), ["w.yaml:14:15: error: step 'normalize': input 'points' is ndarray, but ${{ params.tile }} is str"]],
    ["a literal of the wrong type", BASE.replace("${{ params.size }}", "ten"), ["w.yaml:10:18: error: step 'load': param 'cell_size' is float, but the value \"ten\" is str"]],
    [
      "a list where a scalar is expected",
      "name: t\nsteps:\n  - id: split\n    uses: builtin/split\n    with:\n      input: x.las\n  - id: load\n    uses: lidar/load\n    with:\n      tile: ${{ steps.split.outputs.tiles }}\n",
      ["w.yaml:10:13: error: step 'load': param 'tile' is str, but ${{ steps.split.outputs.tiles }} is list[str]; a list arrives here: put the step inside the foreach, or read one element"],
    ],
    [
      "foreach over a non-list",
      "name: t\nparams:\n  n: {type: int, default: 3}\nsteps:\n  - id: each\n    foreach: ${{ params.n }}\n    steps:\n      - id: load\n        uses: lidar/load\n        with:\n          tile: ${{ item }}\n",
      ["w.yaml:6:14: error: foreach 'each' iterates over ${{ params.n }}, which is int, not a list"],
    ],
    [
      "a fan-in list of arrays into a notebook component",
      "name: t\nsteps:\n  - id: split\n    uses: builtin/split\n    with: {input: x.las}\n  - id: tiles\n    foreach: ${{ steps.split.outputs.tiles }}\n    steps:\n      - id: load\n        uses: lidar/load\n        with: {tile: \"${{ item }}\"}\n  - id: neighbors\n    uses: lidar/neighbors\n    with:\n      points: ${{ steps.load.outputs.points }}\n      bounds: ${{ steps.load.outputs.points }}\n",
      [
        "w.yaml:15:15: error: step 'neighbors': input 'points' is ndarray, but ${{ steps.load.outputs.points }} is list[ndarray]",
        "w.yaml:16:15: error: step 'neighbors': ${{ steps.load.outputs.points }} is a list of arrays (one per item), which a notebook component cannot take as one input",
      ],
    ],
    ["item outside a foreach", BASE.replace("${{ params.tile }}", "${{ item }}"), ["w.yaml:9:13: error: ${{ item }} is only defined inside a foreach step's steps"]],
    [
      "a cycle, naming its steps",
      BASE.replace("      cell_size: ${{ params.size }}\n", "      cell_size: ${{ params.size }}\n      tile: ${{ steps.normalize.outputs.normalized_height }}\n").replace("      tile: ${{ params.tile }}\n", ""),
      [
        "w.yaml:6:5: error: the steps form a cycle: load → normalize → load; a step cannot depend on its own results",
        "w.yaml:10:13: error: step 'load': param 'tile' is str, but ${{ steps.normalize.outputs.normalized_height }} is ndarray",
      ],
    ],
    ["duplicate step ids", BASE.replace("id: normalize", "id: load"), ["w.yaml:11:5: error: duplicate step id 'load' (first used at line 6); step ids must be unique"]],
    ["a param default of the wrong type", BASE.replace("default: 10.0", "default: ten"), ["w.yaml:4:3: error: param 'size' is declared float but its default is str"]],
  ];
  for (const [what, text, expected] of cases) {
    it(what, () => {
      const result = check(text);
      assert.strictEqual(result.valid, false);
      assert.strictEqual(result.errors.length, expected.length, result.errors.join("\n"));
      expected.forEach((prefix, i) => assert.ok(result.errors[i].startsWith(prefix), `expected\n  ${prefix}\ngot\n  ${result.errors[i]}`));
    });
  }

  it("reports every problem at once, not just the first", () => {
    const text = BASE.replace("${{ params.size }}", "${{ params.cell }}").replace("steps.load.outputs.points", "steps.load.outputs.pts").replace("id: normalize", "id: load");
    const result = check(text);
    assert.ok(result.errors.length >= 2, result.errors.join("\n"));
  });
});
