// Issue 8, "Notebook analysis": one describe per class of finding. Each notebook is written here, so
// the test owns its data; components are built by the library and run for real by python3 and the
// runtime; the CLI is run as a user runs it.
import { strict as assert } from "assert";
import { spawnSync, SpawnSyncReturns } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { loadCatalog } from "../src/containerize/catalog";
import { writeBuildContext } from "../src/containerize/context";
import { DiagnosticError, formatDiagnostic } from "../src/diagnostics";
import { analyzeNotebook, NotebookAnalysisResult, NotebookComponent } from "../src/notebook/analyzeNotebook";
import { parseNotebook } from "../src/notebook/notebook";
import { pythonEnv, pythonExecutable } from "../src/python/interpreter";
import { notebookJson, tempDir, TestCell, writeNotebook } from "./helpers/notebooks";

const ROOT = path.resolve(__dirname, "..");
const CLI = path.join(ROOT, "bin", "naaw.js");

interface Analyzed {
  readonly result: NotebookAnalysisResult;
  readonly components: Record<string, NotebookComponent>;
  readonly diagnostics: readonly string[];
}

function analyze(cells: readonly TestCell[]): Analyzed {
  const result = analyzeNotebook(parseNotebook("nb.ipynb", notebookJson(cells)));
  return {
    result,
    components: Object.fromEntries(result.components.map((c) => [c.name, c])),
    diagnostics: result.diagnostics.map(formatDiagnostic),
  };
}

const names = (values: readonly { name: string }[]): string[] => values.map((v) => v.name).sort();

/** `npx naaw ARGS` from `cwd`, as a user runs it. */
function naaw(args: readonly string[], cwd: string): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: "utf8", timeout: 120_000 });
}

/** `python3 -m naaw_runtime run` on a component directory. */
function runComponent(dir: string, args: readonly string[]): SpawnSyncReturns<string> {
  return spawnSync(pythonExecutable(), ["-m", "naaw_runtime", "run", "--component", dir, ...args], {
    encoding: "utf8",
    env: pythonEnv(),
    timeout: 60_000,
  });
}

/** Builds every component of the notebook at `file` (relative to the working directory) into `out/<name>`. */
function build(file: string, out: string): Record<string, string> {
  const catalog = loadCatalog([file]);
  const dirs: Record<string, string> = {};
  for (const entry of catalog.entries) {
    dirs[entry.spec.name] = path.join(out, entry.spec.name);
    writeBuildContext(dirs[entry.spec.name], entry.context);
  }
  return dirs;
}

describe("hardening, notebook analysis: a name bound in a for/while/if body and read later in that body is local", function () {
  const upstream: TestCell = { tags: ["component:a"], source: "loader = [[1, 2]]\ndata = 0\nimages = 0\nlabels = 0\nflag = True\nx = 0\n" };

  it("GIVEN an earlier component binding data, images and labels WHEN a for loop binds and reads them THEN only the iterable is an input", function () {
    const { components, diagnostics } = analyze([
      upstream,
      { tags: ["component:b"], source: "for data in loader:\n    images, labels = data\n    print(images, labels)\n" },
    ]);
    assert.deepEqual(diagnostics, []);
    assert.deepEqual(names(components.b.inputs), ["loader"]);
  });

  it("GIVEN the same WHEN a while body or an if branch binds a name and reads it later in the body THEN it is not an input", function () {
    const { components, diagnostics } = analyze([
      upstream,
      { tags: ["component:b"], source: "while flag:\n    x = 3\n    print(x)\n    break\nif flag:\n    images = 1\n    labels = images + 1\n" },
    ]);
    assert.deepEqual(diagnostics, []);
    assert.deepEqual(names(components.b.inputs), ["flag"]);
  });

  it("GIVEN a loop body WHEN the name is read in a nested if, or by a function called in the body THEN it is local; bound in the nested if and read after it THEN an input", function () {
    const { components, diagnostics } = analyze([
      upstream,
      {
        tags: ["component:b"],
        source:
          "def show():\n    return images\n" +
          "for data in loader:\n    images = data\n    if flag:\n        print(images)\n        labels = 1\n    show()\n    print(labels)\n",
      },
    ]);
    assert.deepEqual(diagnostics, []);
    // `labels` is bound only when the nested `if` ran: the read after it may see a's `labels`.
    assert.deepEqual(names(components.b.inputs), ["flag", "labels", "loader"]);
  });

  it("GIVEN a name bound only inside a loop body WHEN it is read after the loop THEN it is still an input (the body may not have run)", function () {
    const { components, diagnostics } = analyze([upstream, { tags: ["component:b"], source: "for data in loader:\n    images = data\nprint(images, data)\n" }]);
    assert.deepEqual(diagnostics, []);
    assert.deepEqual(names(components.b.inputs), ["data", "images", "loader"]);
  });
});

describe("hardening, notebook analysis: functions and classes defined inside try/except or if blocks can be used by later components", function () {
  const notebook: TestCell[] = [
    { tags: ["parameters"], source: "use_fast = False\nscale = 3\n" },
    {
      tags: ["component:make"],
      source:
        "offset = 10\nvalues = [1, 2]\n" +
        "try:\n    from naaw_missing_accelerator import transform\nexcept ImportError:\n    def transform(v):\n        return [x * scale + offset for x in v]\n" +
        "if not use_fast:\n    class Summary:\n        def of(self, v):\n            return sum(v) + offset\n" +
        "if use_fast:\n    def smooth(v):\n        return v\nelse:\n    def smooth(v):\n        return [x - 1 for x in v]\n",
    },
    { tags: ["component:use"], source: "out = smooth(transform(values))\ntotal = Summary().of(out)\n" },
    { tags: ["skip"], source: "print(total)\n" },
  ];

  it("GIVEN the ImportError fallback, an optional class and an if/else pair of functions WHEN a later component calls them THEN each is copied with its statement and their free names are its inputs and params", function () {
    const { components, diagnostics } = analyze(notebook);
    assert.deepEqual(diagnostics, []);
    // Functions and classes are code, copied, not values handed on.
    assert.deepEqual(names(components.make.outputs), ["offset", "values"]);
    const use = components.use;
    assert.deepEqual(names(use.inputs), ["offset", "values"]);
    // `scale` is read by transform's body; `use_fast` by the `if` that the copy runs again.
    assert.deepEqual(names(use.params), ["scale", "use_fast"]);
    assert.deepEqual(
      use.copied.map((d) => [d.name, d.cell, d.copy?.line, d.copy?.endLine]),
      [
        ["transform", 1, 3, 7],
        ["Summary", 1, 8, 11],
        ["smooth", 1, 12, 17],
      ],
    );
    assert.deepEqual(use.requirements, ["naaw_missing_accelerator", "numpy"]);
  });

  it("GIVEN that notebook built WHEN the later component runs in python3 THEN the copied fallback and class compute what the notebook computes", function () {
    const tmp = tempDir("naaw-hardening-copy-");
    try {
      const file = path.relative(process.cwd(), writeNotebook(tmp.dir, notebook));
      const dirs = build(file, path.join(tmp.dir, "build"));
      const cellsPy = fs.readFileSync(path.join(dirs.use, "cells.py"), "utf8");
      assert.match(cellsPy, /\ntry:\n {4}from naaw_missing_accelerator import transform\nexcept ImportError:\n {4}def transform\(v\):/);
      const made = path.join(tmp.dir, "runs", "make");
      const first = runComponent(dirs.make, ["--outputs", made]);
      assert.equal(first.status, 0, first.stderr);
      const used = path.join(tmp.dir, "runs", "use");
      const total = (): unknown => JSON.parse(fs.readFileSync(path.join(used, "total.json"), "utf8"));
      // The accelerator is not installed, so the fallback runs: [1, 2] * scale + 10, less 1, summed, + 10.
      const second = runComponent(dirs.use, ["--inputs", made, "--outputs", used]);
      assert.equal(second.status, 0, second.stderr);
      assert.equal(total(), 37);
      const third = runComponent(dirs.use, ["--inputs", made, "--outputs", used, "--param", "scale=5"]);
      assert.equal(third.status, 0, third.stderr);
      assert.equal(total(), 43);
    } finally {
      tmp.cleanup();
    }
  });

  it("GIVEN a function defined inside a for loop WHEN a later component calls it THEN an error names the calling cell and says where to define it", function () {
    const { diagnostics } = analyze([
      { tags: ["component:a"], source: "for k in range(2):\n    def f(v):\n        return v + k\n" },
      { tags: ["component:b"], source: "z = 1\ny = f(z)\n" },
    ]);
    assert.deepEqual(diagnostics, [
      "nb.ipynb: cell 1, line 2: error: component 'b' uses 'f', which is defined inside a loop or a `with` block in cell 0; define it at the top level of that cell (or inside an `if` or `try`), or in the imports cell, so it can be copied",
    ]);
  });
});

describe("hardening, notebook analysis: an undefined name inside a copied function is reported in the function's body", function () {
  it("GIVEN a function in component a reading a name no cell defines WHEN component b calls it THEN the error is at a's cell and the body's line, naming the call", function () {
    const { diagnostics } = analyze([
      { tags: ["component:a"], source: "base = 1\n\ndef scaled(v):\n    w = v * base\n    return w + not_defined_anywhere\n" },
      { tags: ["component:b"], source: "x = 2\ny = scaled(x)\n" },
    ]);
    assert.deepEqual(diagnostics, [
      "nb.ipynb: cell 0, line 5: error: component 'b' calls 'scaled' (cell 1, line 2), whose code reads 'not_defined_anywhere', which no cell defines and which is not a Python builtin; define it in the parameters cell, the imports cell or an earlier component",
    ]);
  });

  it("GIVEN a function of the imports cell reading a name defined only in an untagged cell WHEN a component calls it THEN the error is at the imports cell's line", function () {
    const { diagnostics } = analyze([
      { tags: ["imports"], source: "def helper():\n    return hidden * 2\n" },
      { source: "hidden = 3\n" },
      { tags: ["component:a"], source: "v = helper()\n" },
    ]);
    assert.deepEqual(diagnostics, [
      "nb.ipynb: cell 0, line 2: error: component 'a' calls 'helper' (cell 2, line 1), whose code reads 'hidden', which is defined only in cell 1 (an untagged cell); tag that cell 'imports' or 'component:…', or define 'hidden' in a component before 'a'",
    ]);
  });
});

describe("hardening, notebook analysis: skip cells get no magic-line warnings", function () {
  it("GIVEN skip cells with line magics, shell lines and a %%bash cell WHEN analyzed THEN nothing is reported, and what they read is still an output", function () {
    const { components, diagnostics } = analyze([
      { tags: ["component:a"], source: "raster = [1, 2]\n" },
      { tags: ["skip"], source: "%matplotlib inline\n!ls -l\nfiles = !ls\nprint(raster)\n" },
      { tags: ["skip"], source: "%%bash\necho plots\n" },
    ]);
    assert.deepEqual(diagnostics, []);
    assert.deepEqual(names(components.a.outputs), ["raster"]);
  });

  it("GIVEN the same magic in a component cell WHEN analyzed THEN it is still warned about", function () {
    const { diagnostics } = analyze([{ tags: ["component:a"], source: "x = 1\n%matplotlib inline\n" }]);
    assert.deepEqual(diagnostics, ["nb.ipynb: cell 0, line 2: warning: IPython line `%matplotlib inline` is left out of the component"]);
  });
});

describe("hardening, notebook analysis: params and variables named like the generated code's own names", function () {
  // component.py's names (CELLS, INPUTS, PARAMS, OUTPUTS, run, values, namespace, name, Path), what the
  // old generated code imported (runpy), the runtime's modules (json, os, re, traceback), the builtins
  // run() calls (str, exec, compile, sorted), and a dunder the generated code sets (__file__).
  const clashing = ["runpy", "CELLS", "INPUTS", "PARAMS", "OUTPUTS", "run", "values", "namespace", "name", "Path", "json", "os", "re", "traceback"];
  const notebook: TestCell[] = [
    { tags: ["parameters"], source: clashing.map((n, i) => `${n} = ${i + 1}`).join("\n") + '\n__file__ = "notebook.txt"\n' },
    { tags: ["component:first"], source: `total = ${clashing.join(" + ")}\nwhere = __file__\nstr = sorted = exec = compile = None\n` },
    { tags: ["component:second"], source: "OUTPUTS = total * 2 + runpy\nrun = where\n" },
    { tags: ["skip"], source: "print(OUTPUTS, run)\n" },
  ];

  it("GIVEN such params, inputs and outputs WHEN the components are built and run by python3 and the runtime THEN they compute what the notebook computes", function () {
    const tmp = tempDir("naaw-hardening-names-");
    try {
      const file = path.relative(process.cwd(), writeNotebook(tmp.dir, notebook));
      const dirs = build(file, path.join(tmp.dir, "build"));
      const first = path.join(tmp.dir, "runs", "first");
      const ran = runComponent(dirs.first, ["--outputs", first, "--param", "runpy=100"]);
      assert.equal(ran.status, 0, ran.stderr);
      const expectedTotal = 100 + clashing.slice(1).reduce((sum, _, i) => sum + i + 2, 0);
      assert.equal(JSON.parse(fs.readFileSync(path.join(first, "total.json"), "utf8")), expectedTotal);
      assert.equal(JSON.parse(fs.readFileSync(path.join(first, "where.json"), "utf8")), "notebook.txt");

      const second = path.join(tmp.dir, "runs", "second");
      const chained = runComponent(dirs.second, ["--inputs", first, "--outputs", second]);
      assert.equal(chained.status, 0, chained.stderr);
      assert.deepEqual(fs.readdirSync(second).sort(), ["OUTPUTS.json", "run.json"]);
      assert.equal(JSON.parse(fs.readFileSync(path.join(second, "OUTPUTS.json"), "utf8")), expectedTotal * 2 + 1);
      assert.equal(JSON.parse(fs.readFileSync(path.join(second, "run.json"), "utf8")), "notebook.txt");
    } finally {
      tmp.cleanup();
    }
  });
});

describe("hardening, notebook analysis: malformed tags, exact big integers, unrepresentable literals and too-deep cells", function () {
  const deepSum = "y = " + Array.from({ length: 100_000 }, () => "1").join("+") + "\n";
  let tmp: { dir: string; cleanup: () => void };
  let cli: SpawnSyncReturns<string>;
  let lines: string[];
  let seconds: number;

  before(function () {
    tmp = tempDir("naaw-hardening-bad-");
    fs.writeFileSync(
      path.join(tmp.dir, "tags.ipynb"),
      notebookJson([{ source: "x = 1\n" }]).replace('"metadata": {}', '"metadata": {"tags": "component:a"}'),
    );
    writeNotebook(tmp.dir, [{ tags: ["parameters"], source: "rate = 1e400\n" }, { tags: ["component:a"], source: "print(rate)\n" }], "huge.ipynb");
    writeNotebook(tmp.dir, [{ tags: ["component:a"], source: "x = 1\n" }, { tags: ["component:b"], source: deepSum }], "deep.ipynb");
    const started = process.hrtime.bigint();
    cli = naaw(["components", "tags.ipynb", "huge.ipynb", "deep.ipynb"], tmp.dir);
    seconds = Number(process.hrtime.bigint() - started) / 1e9;
    lines = cli.stderr.trimEnd().split("\n");
  });

  after(function () {
    tmp.cleanup();
  });

  it("GIVEN a cell whose tags is a string WHEN `naaw components` reads it THEN exit 1 with one line naming the notebook and the cell", function () {
    assert.equal(cli.status, 1, cli.stderr);
    assert.equal(cli.stdout, "");
    assert.equal(
      lines[0],
      `tags.ipynb: cell 0: error: the cell's metadata.tags is "component:a", not a list of strings; write it as Jupyter does, e.g. "tags": ["component:load"]`,
    );
    assert.throws(
      () => parseNotebook("t.ipynb", notebookJson([{ source: "x = 1\n", tags: ["component:a"] }, { source: "y = 2\n" }]).replace('"metadata": {}', '"metadata": {"tags": ["skip", 3]}')),
      (e: Error) =>
        e instanceof DiagnosticError &&
        e.diagnostics.length === 1 &&
        e.diagnostics[0].cell === 1 &&
        formatDiagnostic(e.diagnostics[0]) ===
          `t.ipynb: cell 1: error: the cell's metadata.tags is ["skip",3], not a list of strings; write it as Jupyter does, e.g. "tags": ["component:load"]`,
    );
  });

  it("GIVEN `1e400` in the parameters cell WHEN `naaw components` reads it THEN exit 1 with one line naming the cell and line, and no traceback", function () {
    assert.equal(cli.status, 1);
    assert.equal(
      lines[1],
      "huge.ipynb: cell 0, line 1: error: parameter 'rate' = `1e400` overflows a float (Python reads it as inf), and JSON has no infinity; write a finite number (at most 1.8e308)",
    );
  });

  it("GIVEN a 100000-term `1+1+…` cell WHEN `naaw components` reads it THEN exit 1 with one line naming the cell, in bounded time", function () {
    assert.equal(cli.status, 1);
    assert.equal(
      lines[2],
      "deep.ipynb: cell 1: error: the code is nested too deeply for Python to compile (maximum recursion depth exceeded during ast construction); split the expression into smaller statements",
    );
    assert.equal(lines.length, 3, cli.stderr);
    assert.doesNotMatch(cli.stderr, /Traceback|internal error/);
    assert.ok(seconds < 60, `naaw components took ${seconds.toFixed(1)} s`);
  });

  it("GIVEN 200 nested parentheses (which Python compiles) and a 2500-deep unary chain WHEN analyzed THEN they are plain code; 201 parentheses are Python's syntax error", function () {
    const nested = "(".repeat(200) + "1" + ")".repeat(200);
    const { components, diagnostics } = analyze([
      { tags: ["parameters"], source: `depth = ${nested}\n` },
      { tags: ["component:a"], source: `v = ${nested} + depth\nw = ${"-".repeat(2500)}1\n` },
    ]);
    assert.deepEqual(diagnostics, []);
    assert.deepEqual(components.a.params, [{ name: "depth", type: "int", default: 1 }]);
    const tooMany = analyze([{ tags: ["component:a"], source: "(".repeat(201) + "1" + ")".repeat(201) + "\n" }]);
    assert.deepEqual(tooMany.diagnostics, ["nb.ipynb: cell 0, line 1: error: Python syntax error: too many nested parentheses"]);
  });

  it("GIVEN an integer param too large for a float WHEN built and run THEN it stays exact in the spec, `--json`, the generated code and the runtime", function () {
    const seed = "1000000000000000000000000000001";
    const file = writeNotebook(tmp.dir, [{ tags: ["parameters"], source: `seed = ${seed}\nrate = 0.5\n` }, { tags: ["component:a"], source: "following = seed + 1\nscaled = rate * 2\n" }, { tags: ["skip"], source: "print(following, scaled)\n" }], "big.ipynb");
    const { components } = analyze([{ tags: ["parameters"], source: `seed = ${seed}\n` }, { tags: ["component:a"], source: "x = seed\n" }]);
    assert.deepEqual(components.a.params, [{ name: "seed", type: "int", default: BigInt(seed) }]);

    const dirs = build(path.relative(process.cwd(), file), path.join(tmp.dir, "build-big"));
    assert.match(fs.readFileSync(path.join(dirs.a, "component.json"), "utf8"), new RegExp(`"name": "seed",\\n\\s+"type": "int",\\n\\s+"default": ${seed}\\n`));
    assert.match(fs.readFileSync(path.join(dirs.a, "component.py"), "utf8"), new RegExp(`PARAMS = \\{"rate": 0.5, "seed": ${seed}\\}`));
    const listed = naaw(["components", "--json", "big.ipynb"], tmp.dir);
    assert.equal(listed.status, 0, listed.stderr);
    assert.match(listed.stdout, new RegExp(`"default": ${seed}\\n`));

    const out = path.join(tmp.dir, "runs", "big");
    const ran = runComponent(dirs.a, ["--outputs", out]);
    assert.equal(ran.status, 0, ran.stderr);
    assert.equal(fs.readFileSync(path.join(out, "following.json"), "utf8"), "1000000000000000000000000000002");
    const given = runComponent(dirs.a, ["--outputs", out, "--param", "seed=1000000000000000000000000000005"]);
    assert.equal(given.status, 0, given.stderr);
    assert.equal(fs.readFileSync(path.join(out, "following.json"), "utf8"), "1000000000000000000000000000006");
    // A float param given an integer no float can hold: a one-line input error (exit 2), not an OverflowError.
    const huge = runComponent(dirs.a, ["--outputs", out, "--param", `rate=1${"0".repeat(400)}`]);
    assert.equal(huge.status, 2, huge.stderr);
    assert.equal(huge.stderr, `param 'rate' must be float, got int 1${"0".repeat(36)}...\n`);
  });
});
