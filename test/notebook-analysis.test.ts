import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { Diagnostic, DiagnosticError, formatDiagnostic } from "../src/diagnostics";
import { analyzeNotebook, NotebookComponent } from "../src/notebook/analyzeNotebook";
import { parseNotebook } from "../src/notebook/notebook";
import { notebookJson, tempDir, TestCell } from "./helpers/notebooks";

interface Analyzed {
  readonly components: Record<string, NotebookComponent>;
  readonly diagnostics: readonly Diagnostic[];
  readonly errors: readonly string[];
  readonly warnings: readonly string[];
}

function analyze(cells: readonly TestCell[], file = "nb.ipynb"): Analyzed {
  const result = analyzeNotebook(parseNotebook(file, notebookJson(cells)));
  return {
    components: Object.fromEntries(result.components.map((c) => [c.name, c])),
    diagnostics: result.diagnostics,
    errors: result.diagnostics.filter((d) => d.severity === "error").map(formatDiagnostic),
    warnings: result.diagnostics.filter((d) => d.severity === "warning").map(formatDiagnostic),
  };
}

const names = (values: readonly { name: string }[]): string[] => values.map((v) => v.name).sort();
const typed = (values: readonly { name: string; type: string }[]): Record<string, string> =>
  Object.fromEntries(values.map((v) => [v.name, v.type]));

/** Component `a` defines the given names; component `b` runs `source`; returns b. */
function consumer(source: string, upstream = "x = 1\ny = 2\ndata = [1, 2]\n"): { b: NotebookComponent; result: Analyzed } {
  const result = analyze([
    { tags: ["component:a"], source: upstream },
    { tags: ["component:b"], source },
  ]);
  assert.deepStrictEqual(result.errors, [], "unexpected errors");
  return { b: result.components.b, result };
}

describe("notebook analysis: Python scoping", () => {
  it("an earlier component's name read by a later one is an input of the reader and an output of the writer", () => {
    const { b, result } = consumer("z = x * 2\n");
    assert.deepStrictEqual(names(b.inputs), ["x"]);
    assert.deepStrictEqual(names(result.components.a.outputs), ["x"]);
    assert.strictEqual(b.inputs[0].from, "a");
  });

  it("a name assigned before it is read is local, not an input", () => {
    const { b } = consumer("x = 5\nz = x * 2\n");
    assert.deepStrictEqual(names(b.inputs), []);
  });

  it("a name read before it is reassigned is an input", () => {
    const { b } = consumer("z = x\nx = 5\n");
    assert.deepStrictEqual(names(b.inputs), ["x"]);
  });

  it("augmented assignment reads and writes: x += 1 makes x an input and, read later, an output", () => {
    const result = analyze([
      { tags: ["component:a"], source: "x = 1\n" },
      { tags: ["component:b"], source: "x += 1\n" },
      { tags: ["component:c"], source: "print(x)\n" },
    ]);
    assert.deepStrictEqual(names(result.components.b.inputs), ["x"]);
    assert.deepStrictEqual(names(result.components.b.outputs), ["x"]);
    assert.strictEqual(result.components.c.inputs[0].from, "b");
  });

  it("tuple unpacking reads the right side and binds every target", () => {
    const result = analyze([
      { tags: ["component:a"], source: "pair = (1, 2)\n" },
      { tags: ["component:b"], source: "left, (right, extra) = pair, (3, 4)\n" },
      { tags: ["component:c"], source: "print(left + right + extra)\n" },
    ]);
    assert.deepStrictEqual(names(result.components.b.inputs), ["pair"]);
    assert.deepStrictEqual(names(result.components.b.outputs), ["extra", "left", "right"]);
  });

  it("starred unpacking binds the starred name as a list", () => {
    const result = analyze([
      { tags: ["component:a"], source: "items = [1, 2, 3]\n" },
      { tags: ["component:b"], source: "first, *rest = items\n" },
      { tags: ["component:c"], source: "print(first, rest)\n" },
    ]);
    assert.deepStrictEqual(typed(result.components.b.outputs), { first: "any", rest: "list" });
  });

  it("a comprehension's loop variable stays inside it; the names it reads are inputs", () => {
    const { b } = consumer("squares = [i * y for i in data]\nz = i\n", "data = [1]\ny = 2\ni = 7\n");
    // `i` after the comprehension is the upstream `i`: the comprehension's `i` does not leak.
    assert.deepStrictEqual(names(b.inputs), ["data", "i", "y"]);
  });

  it("dict and generator comprehensions and nested comprehensions have their own scopes too", () => {
    const { b } = consumer("d = {k: v * y for k, v in pairs}\ns = sum(a * b for a in data for b in data)\n", "pairs = []\ndata = []\ny = 1\n");
    assert.deepStrictEqual(names(b.inputs), ["data", "pairs", "y"]);
  });

  it("a walrus in a comprehension binds in the enclosing scope (PEP 572)", () => {
    const result = analyze([
      { tags: ["component:a"], source: "data = [1, 2]\n" },
      { tags: ["component:b"], source: "big = [last := v for v in data if v > 1]\n" },
      { tags: ["component:c"], source: "print(last)\n" },
    ]);
    assert.deepStrictEqual(names(result.components.b.outputs), ["last"]);
  });

  it("a lambda's body reads globals when it is called, not its parameters", () => {
    const { b } = consumer("scale = lambda v: v * y\nz = scale(3)\n");
    assert.deepStrictEqual(names(b.inputs), ["y"]);
  });

  it("a function's parameters and locals are not inputs; the globals its body reads are, where it is called", () => {
    const { b } = consumer("def f(a):\n    b = a + y\n    return b\nz = f(1)\n");
    assert.deepStrictEqual(names(b.inputs), ["y"]);
  });

  it("a function that is defined but never called reads nothing", () => {
    const { b } = consumer("def unused():\n    return y\n");
    assert.deepStrictEqual(names(b.inputs), []);
  });

  it("a function defined in an earlier component is copied into the caller, whose inputs gain its free names", () => {
    const result = analyze([
      { tags: ["parameters"], source: "factor = 2.0\n" },
      { tags: ["component:a"], source: "offset = 1\ndef scale(v):\n    return v * factor + offset\n" },
      { tags: ["component:b"], source: "z = scale(3)\n" },
    ]);
    const b = result.components.b;
    assert.deepStrictEqual(names(b.inputs), ["offset"]);
    assert.deepStrictEqual(names(b.params), ["factor"]);
    assert.deepStrictEqual(b.copied.map((d) => [d.name, d.cell, d.line, d.endLine]), [["scale", 1, 2, 3]]);
    // A function is code, not a value: it is not an output of `a`.
    assert.deepStrictEqual(names(result.components.a.outputs), ["offset"]);
  });

  it("`global` in a function makes a call read and write that global", () => {
    const result = analyze([
      { tags: ["component:a"], source: "counter = 0\n" },
      { tags: ["component:b"], source: "def bump():\n    global counter\n    counter += 1\nbump()\n" },
      { tags: ["component:c"], source: "print(counter)\n" },
    ]);
    assert.deepStrictEqual(names(result.components.b.inputs), ["counter"]);
    assert.strictEqual(result.components.c.inputs[0].from, "b");
  });

  it("`nonlocal` names belong to the enclosing function, not to the notebook", () => {
    const { b } = consumer(
      "def make():\n    total = 0\n    def add(v):\n        nonlocal total\n        total += v + y\n        return total\n    return add\nadder = make()\n",
    );
    assert.deepStrictEqual(names(b.inputs), ["y"]);
  });

  it("a class body runs at definition: the globals it reads are inputs", () => {
    const result = analyze([
      { tags: ["parameters"], source: "cell_size = 10.0\n" },
      { tags: ["component:b"], source: "class Grid:\n    size = cell_size\n    def area(self):\n        return self.size ** 2\n" },
    ]);
    assert.deepStrictEqual(names(result.components.b.params), ["cell_size"]);
  });

  it("a method reads the global, not the class attribute of the same name (class scopes do not enclose methods)", () => {
    const { b } = consumer("class K:\n    data = 3\n    def m(self):\n        return data\nk = K()\n", "data = [1]\n");
    assert.deepStrictEqual(names(b.inputs), ["data"]);
    const unbound = analyze([{ tags: ["component:b"], source: "class K:\n    data = 3\n    def m(self):\n        return data\nk = K()\n" }]);
    assert.strictEqual(unbound.errors.length, 1, "one error per name, however often it is read");
    assert.match(unbound.errors[0], /reads 'data', which no cell defines/);
  });

  it("`del` unbinds: a deleted name is not an output", () => {
    const result = analyze([
      { tags: ["component:a"], source: "tmp = 1\n" },
      { tags: ["component:b"], source: "scratch = tmp * 2\ndel scratch\n" },
      { tags: ["component:c"], source: "print(tmp)\n" },
    ]);
    assert.deepStrictEqual(names(result.components.b.outputs), []);
    assert.strictEqual(result.components.c.inputs[0].from, "a");
  });

  it("`with … as` binds its target and reads its context expression", () => {
    const { b } = consumer("with open(path) as fh:\n    text = fh.read()\n", "path = 'a.txt'\n");
    assert.deepStrictEqual(names(b.inputs), ["path"]);
  });

  it("`for` targets are bound; the iterable is read", () => {
    const result = analyze([
      { tags: ["component:a"], source: "rows = [1, 2]\n" },
      { tags: ["component:b"], source: "total = 0\nfor row in rows:\n    total = total + row\n" },
      { tags: ["component:c"], source: "print(total)\n" },
    ]);
    assert.deepStrictEqual(names(result.components.b.inputs), ["rows"]);
    assert.deepStrictEqual(names(result.components.b.outputs), ["total"]);
  });

  it("a walrus binds at module level", () => {
    const result = analyze([
      { tags: ["component:a"], source: "data = [1]\n" },
      { tags: ["component:b"], source: "if (n := len(data)) > 0:\n    pass\n" },
      { tags: ["component:c"], source: "print(n)\n" },
    ]);
    assert.deepStrictEqual(names(result.components.b.outputs), ["n"]);
  });

  it("`except … as e` unbinds e when the handler ends", () => {
    const result = analyze([
      { tags: ["component:a"], source: "e = 'upstream'\n" },
      { tags: ["component:b"], source: "try:\n    v = int('x')\nexcept ValueError as e:\n    v = 0\n" },
      { tags: ["component:c"], source: "print(e, v)\n" },
    ]);
    assert.strictEqual(result.components.c.inputs.find((i) => i.name === "e")?.from, "a");
    assert.strictEqual(result.components.c.inputs.find((i) => i.name === "v")?.from, "b");
  });

  it("imports and their aliases are bound names, not inputs, and become requirements", () => {
    const result = analyze([
      { tags: ["component:a"], source: "import numpy as np\nfrom sklearn.linear_model import LinearRegression as LR\nimport os.path\nm = LR()\nv = np.zeros(3)\np = os.path.join('a')\n" },
    ]);
    assert.deepStrictEqual(result.errors, []);
    assert.deepStrictEqual(names(result.components.a.inputs), []);
    assert.deepStrictEqual(result.components.a.requirements, ["numpy", "scikit-learn"]);
  });

  it("builtins are not inputs, unless the notebook shadows one", () => {
    const result = analyze([
      { tags: ["component:a"], source: "max = 3\n" },
      { tags: ["component:b"], source: "n = len([1]) + abs(-1)\nprint(max)\n" },
    ]);
    assert.deepStrictEqual(names(result.components.b.inputs), ["max"]);
  });

  it("attribute assignment reads the object and hands it on modified", () => {
    const result = analyze([
      { tags: ["component:a"], source: "model = {}\n" },
      { tags: ["component:b"], source: "model.coef = 1\n" },
      { tags: ["component:c"], source: "print(model)\n" },
    ]);
    assert.deepStrictEqual(names(result.components.b.inputs), ["model"]);
    assert.deepStrictEqual(names(result.components.b.outputs), ["model"]);
    assert.strictEqual(result.components.c.inputs[0].from, "b");
  });

  it("subscript assignment reads the array (and the index) and modifies it", () => {
    const result = analyze([
      { tags: ["component:a"], source: "import numpy as np\narr: np.ndarray = np.zeros(3)\ni = 1\n" },
      { tags: ["component:b"], source: "arr[i] = 5\n" },
      { tags: ["component:c"], source: "print(arr)\n" },
    ]);
    assert.deepStrictEqual(typed(result.components.b.inputs), { arr: "ndarray", i: "int" });
    assert.deepStrictEqual(typed(result.components.b.outputs), { arr: "ndarray" });
  });

  it("a name bound only on some paths is still an input when an earlier component defines it", () => {
    const { b } = consumer("if y > 1:\n    x = 0\nz = x\n");
    assert.deepStrictEqual(names(b.inputs), ["x", "y"]);
  });

  it("a name bound in both branches of an if/else is local", () => {
    const { b } = consumer("if y > 1:\n    x = 0\nelse:\n    x = 1\nz = x\n");
    assert.deepStrictEqual(names(b.inputs), ["y"]);
  });

  it("match capture patterns bind names", () => {
    const { b } = consumer("match data:\n    case [first, *others]:\n        z = first\n    case _:\n        z = None\nw = z\n");
    assert.deepStrictEqual(names(b.inputs), ["data"]);
  });

  it("several cells tagged with one component join in order", () => {
    const result = analyze([
      { tags: ["component:a"], source: "x = 1\n" },
      { tags: ["component:b"], source: "y = x + 1\n" },
      { markdown: true, source: "# notes\n" },
      { tags: ["component:b"], source: "z = y * 2\n" },
      { tags: ["component:c"], source: "print(z)\n" },
    ]);
    assert.deepStrictEqual(result.components.b.cells, [1, 3]);
    assert.deepStrictEqual(names(result.components.b.inputs), ["x"]);
    assert.deepStrictEqual(names(result.components.b.outputs), ["z"]);
  });

  it("the imports cell is shared: its names are not inputs, and its helpers' globals are read where they are called", () => {
    const result = analyze([
      { tags: ["parameters"], source: "cell_size = 10.0\n" },
      { tags: ["imports"], source: "import numpy as np\ndef cell_of(v):\n    return np.floor(v / cell_size)\n" },
      { tags: ["component:a"], source: "c = cell_of(np.arange(3))\n" },
      { tags: ["component:b"], source: "d = 1\n" },
    ]);
    assert.deepStrictEqual(names(result.components.a.inputs), []);
    assert.deepStrictEqual(names(result.components.a.params), ["cell_size"]);
    assert.deepStrictEqual(names(result.components.b.params), []);
    assert.deepStrictEqual(result.components.b.requirements, ["numpy"]);
  });

  it("a name a later skip cell reads (a plot) is an output", () => {
    const result = analyze([
      { tags: ["component:a"], source: "raster = [1]\nscratch = 2\n" },
      { tags: ["skip"], source: "import matplotlib.pyplot as plt\nplt.imshow(raster)\n" },
    ]);
    assert.deepStrictEqual(names(result.components.a.outputs), ["raster"]);
  });
});

describe("notebook analysis: params, types, requirements", () => {
  it("the parameters cell gives typed params with defaults", () => {
    const result = analyze([
      { tags: ["parameters"], source: "cell_size = 10.0\nn = 3\nname = 'ahn'\nflag = True\nclasses = [1, 3]\nneg = -2\n" },
      { tags: ["component:a"], source: "print(cell_size, n, name, flag, classes, neg)\n" },
    ]);
    assert.deepStrictEqual(result.components.a.params, [
      { name: "cell_size", type: "float", default: 10 },
      { name: "classes", type: "list", default: [1, 3] },
      { name: "flag", type: "bool", default: true },
      { name: "n", type: "int", default: 3 },
      { name: "name", type: "str", default: "ahn" },
      { name: "neg", type: "int", default: -2 },
    ]);
  });

  it("types come from annotations and literals, else any", () => {
    const result = analyze([
      {
        tags: ["component:a"],
        source: "import numpy as np\npoints: np.ndarray = np.zeros(3)\ncount = 3\nratio = 0.5\nlabel = f'x{count}'\nitems: list[int] = []\ninfo = {'a': 1}\nother = np.ones(2)\n",
      },
      { tags: ["component:b"], source: "print(points, count, ratio, label, items, info, other)\n" },
    ]);
    assert.deepStrictEqual(typed(result.components.b.inputs), {
      count: "int",
      info: "dict",
      items: "list",
      label: "str",
      other: "any",
      points: "ndarray",
      ratio: "float",
    });
  });

  it("a parameter that is not a literal is an error naming the cell and line", () => {
    const result = analyze([{ tags: ["parameters"], source: "a = 1\nb = a * 2\n" }]);
    assert.deepStrictEqual(result.errors, ["nb.ipynb: cell 0, line 2: error: parameter 'b' must be a literal (number, string, bool or list), not `a * 2`"]);
  });

  it("requirements map import names to distributions, leave out the standard library, and take pins from requirements.txt", () => {
    const dir = tempDir();
    try {
      fs.writeFileSync(path.join(dir.dir, "requirements.txt"), "# pins\nscikit-learn==1.5.2\nPyYAML>=6 ; python_version >= '3.8'\nnumpy==1.26.4\n");
      const file = path.join(dir.dir, "nb.ipynb");
      fs.writeFileSync(
        file,
        notebookJson([{ tags: ["component:a"], source: "import json, os, sys\nimport yaml\nimport sklearn\nimport cv2\nfrom PIL import Image\nimport skimage.io\n" }]),
      );
      const result = analyzeNotebook(parseNotebook(file, fs.readFileSync(file, "utf8")));
      assert.deepStrictEqual(result.components[0].requirements, [
        "numpy==1.26.4",
        "opencv-python",
        "Pillow",
        "PyYAML>=6 ; python_version >= '3.8'",
        "scikit-image",
        "scikit-learn==1.5.2",
      ]);
    } finally {
      dir.cleanup();
    }
  });
});

describe("notebook analysis: diagnostics", () => {
  it("a name defined only in an untagged cell is an error naming the component, the name and the cell", () => {
    const result = analyze([{ source: "hidden = 3\n" }, { tags: ["component:a"], source: "y = 1\nz = hidden + y\n" }]);
    assert.deepStrictEqual(result.errors, [
      "nb.ipynb: cell 1, line 2: error: component 'a' reads 'hidden', which is defined only in cell 0 (an untagged cell); tag that cell 'imports' or 'component:…', or define 'hidden' in a component before 'a'",
    ]);
  });

  it("a name defined only in a skip cell is an error naming the skip cell", () => {
    const result = analyze([{ tags: ["skip"], source: "plot_scale = 3\n" }, { tags: ["component:a"], source: "z = plot_scale\n" }]);
    assert.match(result.errors[0], /cell 1, line 1: error: component 'a' reads 'plot_scale', which is defined only in cell 0 \(the skip cell\)/);
  });

  it("a name defined nowhere is an error", () => {
    const result = analyze([{ tags: ["component:a"], source: "\nz = nowhere + 1\n" }]);
    assert.match(result.errors[0], /cell 0, line 2: error: component 'a' reads 'nowhere', which no cell defines and which is not a Python builtin/);
  });

  it("a name defined only after the reader is an error that says where", () => {
    const result = analyze([{ tags: ["component:a"], source: "z = late\n" }, { tags: ["component:b"], source: "late = 1\n" }]);
    assert.match(result.errors[0], /reads 'late', which is defined only later, in cell 1 \(component 'b'\)/);
  });

  it("IPython magics and shell lines are left out with a warning, keeping line numbers", () => {
    const result = analyze([
      { tags: ["component:a"], source: "%matplotlib inline\n!pip install laspy\nfiles = !ls\nx = (1\n     % 2)\ny = x\n" },
      { tags: ["component:b"], source: "print(y)\n" },
    ]);
    assert.deepStrictEqual(result.errors, []);
    assert.deepStrictEqual(
      result.warnings.map((w) => w.replace(/`.*`/, "`…`")),
      [1, 2, 3].map((line) => `nb.ipynb: cell 0, line ${line}: warning: IPython line \`…\` is left out of the component`),
    );
    assert.deepStrictEqual(names(result.components.a.outputs), ["y"]);
  });

  it("a %%bash cell is left out entirely; %%time keeps its Python", () => {
    const result = analyze([
      { tags: ["component:a"], source: "%%bash\necho $UNDEFINED_IN_PYTHON\n" },
      { tags: ["component:b"], source: "%%time\nz = 1\n" },
      { tags: ["component:c"], source: "print(z)\n" },
    ]);
    assert.deepStrictEqual(result.errors, []);
    assert.strictEqual(result.components.c.inputs[0].from, "b");
  });

  it("a syntax error in a component cell is an error with cell, line and column", () => {
    const result = analyze([{ tags: ["component:a"], source: "x = 1\ny = (2\n" }]);
    assert.strictEqual(result.diagnostics[0].cell, 0);
    assert.match(result.errors[0], /^nb\.ipynb: cell 0, line 2: error: Python syntax error: /);
  });

  it("conflicting tags and invalid component names are errors", () => {
    const result = analyze([
      { tags: ["component:a", "component:b"], source: "x = 1\n" },
      { tags: ["component:Bad Name"], source: "y = 1\n" },
    ]);
    assert.match(result.errors[0], /cell 0: error: the cell has conflicting tags \(component:a, component:b\)/);
    assert.match(result.errors[1], /cell 1: error: tag 'component:Bad Name': a component name must start with a lowercase letter/);
  });

  it("`from x import *` in a component is an error: it hides the names the component uses", () => {
    const result = analyze([{ tags: ["component:a"], source: "from math import *\n" }]);
    assert.match(result.errors[0], /cell 0, line 1: error: component 'a' uses `from math import \*`/);
  });

  it("interleaved components that depend on each other are a cycle naming both", () => {
    const result = analyze([
      { tags: ["component:a"], source: "x = 1\n" },
      { tags: ["component:b"], source: "y = x + 1\n" },
      { tags: ["component:a"], source: "z = y + 1\n" },
    ]);
    assert.ok(result.errors.some((e) => /cycle \(a → b → a\)/.test(e)), result.errors.join("\n"));
  });
});

describe("notebook reading: malformed files get one line naming the file and the problem", () => {
  const cases: [string, string, RegExp][] = [
    ["invalid JSON", '{"nbformat": 4,\n "cells": [}', /^bad\.ipynb:2: error: not a notebook: invalid JSON/],
    ["wrong nbformat", JSON.stringify({ nbformat: 3, worksheets: [] }), /^bad\.ipynb: error: nbformat 3; NaaW reads nbformat 4 notebooks/],
    ["no cells", JSON.stringify({ nbformat: 4, nbformat_minor: 5, metadata: {}, cells: [] }), /^bad\.ipynb: error: the notebook has no cells$/],
    ["a non-Python kernel", notebookJson([{ source: "x <- 1" }], "R"), /^bad\.ipynb: error: the notebook's kernel is R; NaaW components are Python/],
    ["a cell without source", JSON.stringify({ nbformat: 4, cells: [{ cell_type: "code", metadata: {} }] }), /^bad\.ipynb: error: cell 0 has no source/],
  ];
  for (const [what, text, expected] of cases) {
    it(what, () => {
      assert.throws(
        () => parseNotebook("bad.ipynb", text),
        (e: Error) => e instanceof DiagnosticError && e.diagnostics.length === 1 && expected.test(formatDiagnostic(e.diagnostics[0])),
      );
    });
  }
});
