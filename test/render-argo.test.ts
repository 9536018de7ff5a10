// The Argo rendering (src/workflow/argo.ts): the demo against Argo v4.1.2's own schema made strict,
// its semantics (templates per component, fan-out, fan-in, images, security), and its problems.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { load } from "js-yaml";
import { ArgoArtifact, ArgoDocument, ArgoTask, ArgoTemplate, renderArgo, renderArgoYaml } from "../src/workflow/argo";
import { WorkflowCatalog } from "../src/workflow/catalog";
import { compileWorkflow } from "../src/workflow/compile";
import { WorkflowGraph } from "../src/workflow/validate";
import { ArgoValidator, argoValidators } from "./helpers/argoSchema";
import { tempDir, writeNotebook } from "./helpers/notebooks";

const ROOT = path.resolve(__dirname, "..");
const DEMO = "workflows/lidar.yaml";
const DEMO_COMPONENTS = ["load", "normalize", "filter", "neighbors", "features", "export"];

function compileIn(dir: string, file: string, catalog?: WorkflowCatalog): WorkflowGraph {
  const previous = process.cwd();
  process.chdir(dir);
  try {
    const { graph, diagnostics } = compileWorkflow(file, catalog);
    assert.ok(graph, `${file} does not compile:\n${diagnostics.map((d) => `${d.line}:${d.column}: ${d.message}`).join("\n")}`);
    return graph;
  } finally {
    process.chdir(previous);
  }
}

function templateNamed(document: ArgoDocument, name: string): ArgoTemplate {
  const template = document.spec.templates.find((t) => t.name === name);
  assert.ok(template, `no template '${name}' (have: ${document.spec.templates.map((t) => t.name).join(", ")})`);
  return template;
}

function taskNamed(template: ArgoTemplate, name: string): ArgoTask {
  const task = template.dag?.tasks.find((t) => t.name === name);
  assert.ok(task, `no task '${name}' in template '${template.name}'`);
  return task;
}

/** Every task of every DAG template, with the DAG it is in. */
function allTasks(document: ArgoDocument): { dag: ArgoTemplate; task: ArgoTask }[] {
  return document.spec.templates.flatMap((dag) => (dag.dag?.tasks ?? []).map((task) => ({ dag, task })));
}

/**
 * Wiring Argo checks only at submission: each task passes exactly the inputs its template declares
 * (every required parameter and every artifact without a location of its own), every
 * `{{inputs.parameters.X}}` a template uses is declared, and every `{{tasks.T.outputs.…}}` names a
 * task of the same DAG whose template declares that output.
 */
function wiringProblems(document: ArgoDocument): string[] {
  const problems: string[] = [];
  const templates = new Map(document.spec.templates.map((t) => [t.name, t]));
  for (const template of document.spec.templates) {
    const declared = new Set((template.inputs?.parameters ?? []).map((p) => p.name));
    const text = JSON.stringify({ ...template, dag: undefined });
    for (const match of text.matchAll(/\{\{inputs\.parameters\.([-\w]+)\}\}/g)) {
      if (!declared.has(match[1])) problems.push(`template ${template.name} uses undeclared input parameter ${match[1]}`);
    }
  }
  for (const { dag, task } of allTasks(document)) {
    const target = templates.get(task.template);
    if (!target) {
      problems.push(`task ${dag.name}/${task.name}: no template ${task.template}`);
      continue;
    }
    const where = `task ${dag.name}/${task.name} → ${target.name}`;
    const passed = new Set((task.arguments?.parameters ?? []).map((p) => p.name));
    for (const p of target.inputs?.parameters ?? []) {
      if (!passed.has(p.name) && p.default === undefined) problems.push(`${where}: required parameter ${p.name} not passed`);
    }
    for (const name of passed) {
      if (!(target.inputs?.parameters ?? []).some((p) => p.name === name)) problems.push(`${where}: passes undeclared parameter ${name}`);
    }
    const given = new Set((task.arguments?.artifacts ?? []).map((a) => a.name));
    for (const a of target.inputs?.artifacts ?? []) {
      if (!given.has(a.name) && !a.optional && !a.s3 && !a.raw) problems.push(`${where}: artifact ${a.name} not passed`);
    }
    for (const name of given) {
      if (!(target.inputs?.artifacts ?? []).some((a) => a.name === name)) problems.push(`${where}: passes undeclared artifact ${name}`);
    }
    const siblings = new Map((dag.dag?.tasks ?? []).map((t) => [t.name, t]));
    for (const match of JSON.stringify(task).matchAll(/tasks(?:\.([-\w]+)|\['([-\w]+)'\])\.outputs\.(artifacts|parameters)(?:\.([-\w]+)|\['([-\w]+)'\])/g)) {
      const [producerName, kind, output] = [match[1] ?? match[2], match[3], match[4] ?? match[5]];
      const producer = siblings.get(producerName);
      if (!producer) {
        problems.push(`${where}: reads ${producerName}, which is not a task of ${dag.name}`);
        continue;
      }
      const outputs = templates.get(producer.template)?.outputs;
      const list: { name: string }[] = (kind === "artifacts" ? outputs?.artifacts : outputs?.parameters) ?? [];
      if (!list.some((o) => o.name === output)) problems.push(`${where}: ${producer.template} declares no output ${kind} ${output}`);
    }
  }
  return problems;
}

/** A template's output key with the step id filled in, as Argo resolves it for one task. */
function outputKey(template: ArgoTemplate, output: string, step: string): string {
  const artifact = template.outputs?.artifacts?.find((a) => a.name === output);
  assert.ok(artifact?.s3, `${template.name} has no S3 output '${output}'`);
  return artifact.s3.key.replace("{{inputs.parameters.naaw-step}}", step);
}

describe("naaw render: Argo Workflow", function () {
  let graph: WorkflowGraph;
  let document: ArgoDocument;
  let validators: { workflow: ArgoValidator; workflowTemplate: ArgoValidator };
  let publishedValidators: { workflow: ArgoValidator };

  before(function () {
    graph = compileIn(ROOT, DEMO);
    const rendering = renderArgo(graph);
    assert.deepEqual(rendering.problems, []);
    document = rendering.document;
    validators = argoValidators(true);
    publishedValidators = argoValidators(false);
  });

  describe("against Argo v4.1.2's schema, unknown fields rejected", function () {
    it("the demo renders with no problems and validates as io.argoproj.workflow.v1alpha1.Workflow", function () {
      assert.equal(document.kind, "Workflow");
      assert.deepEqual(validators.workflow(document), []);
      assert.deepEqual(wiringProblems(document), []);
    });

    it("as a WorkflowTemplate it validates as io.argoproj.workflow.v1alpha1.WorkflowTemplate", function () {
      const { document: template, problems } = renderArgo(graph, { template: true, serviceAccountName: "naaw-runner", artifactRepositoryRef: { key: "naaw" } });
      assert.deepEqual(problems, []);
      assert.equal(template.kind, "WorkflowTemplate");
      assert.equal(template.metadata.name, "lidar");
      assert.equal(template.metadata.generateName, undefined);
      assert.equal(template.spec.serviceAccountName, "naaw-runner");
      assert.deepEqual(validators.workflowTemplate(template), []);
      // A Workflow is not a WorkflowTemplate: the kind is checked too.
      assert.ok(validators.workflowTemplate(document).some((e) => /kind/.test(e) || /const/.test(e)));
    });

    it("the strict schema rejects a misspelt field that the published schema lets through", function () {
      const typos: { what: string; edit: (d: any) => void; at: RegExp }[] = [
        { what: "spec.templates[0].dagg", edit: (d) => (d.spec.templates[0].dagg = d.spec.templates[0].dag), at: /^\/spec\/templates\/0: .*additional properties \('dagg'\)/ },
        {
          what: "retryStrategy.limitt",
          edit: (d) => (d.spec.templates.find((t: ArgoTemplate) => t.retryStrategy).retryStrategy.limitt = "3"),
          at: /\/retryStrategy: .*additional properties \('limitt'\)/,
        },
        { what: "withParams", edit: (d) => (d.spec.templates[0].dag.tasks.find((t: ArgoTask) => t.withParam).withParams = "[]"), at: /\/dag\/tasks\/\d+: .*\('withParams'\)/ },
      ];
      for (const typo of typos) {
        const copy = JSON.parse(JSON.stringify(document));
        typo.edit(copy);
        const errors = validators.workflow(copy);
        assert.ok(errors.some((e) => typo.at.test(e)), `${typo.what}: expected an error matching ${typo.at}, got ${JSON.stringify(errors)}`);
        assert.deepEqual(publishedValidators.workflow(copy), [], `${typo.what}: the published schema allows unknown fields`);
      }
      // And a wrong type fails either way (IntOrString is a string in this schema).
      const wrongType = JSON.parse(JSON.stringify(document));
      wrongType.spec.templates.find((t: ArgoTemplate) => t.retryStrategy).retryStrategy.limit = [2];
      assert.ok(validators.workflow(wrongType).some((e) => /retryStrategy\/limit: must be string/.test(e)));
    });
  });

  describe("semantics", function () {
    it("has one container template per component, reused by every task that uses it", function () {
      const containers = document.spec.templates.filter((t) => t.container);
      assert.deepEqual(
        containers.map((t) => t.name).sort(),
        ["builtin-merge", "builtin-split", ...DEMO_COMPONENTS.map((c) => `lidar-${c}`)].sort(),
      );
      const dags = document.spec.templates.filter((t) => t.dag).map((t) => t.name);
      assert.deepEqual(dags, ["main", "tiles"]);
      assert.equal(document.spec.templates.length, 8 + 2);
      for (const step of graph.steps) {
        const dag = templateNamed(document, step.foreach ?? "main");
        assert.equal(taskNamed(dag, step.id).template, step.component.uses.replace("/", "-"), step.id);
      }
    });

    it("fans out with exactly one withParam over split's tiles, through a DAG template per foreach", function () {
      const withParams = allTasks(document).filter(({ task }) => task.withParam !== undefined);
      assert.equal(withParams.length, 1);
      const { dag, task } = withParams[0];
      assert.equal(dag.name, "main");
      assert.equal(task.name, "tiles");
      assert.equal(task.template, "tiles");
      assert.equal(task.withParam, "{{tasks.split.outputs.parameters.tiles}}");
      assert.deepEqual(task.dependencies, ["split"]);
      assert.deepEqual(task.arguments?.parameters, [{ name: "item", value: "{{item}}" }]);
      assert.deepEqual(templateNamed(document, "builtin-split").outputs?.parameters, [{ name: "tiles", valueFrom: { path: "/tmp/naaw/outputs/tiles.json" } }]);
      assert.deepEqual(templateNamed(document, "tiles").inputs?.parameters?.map((p) => p.name), ["item"]);
      assert.doesNotMatch(JSON.stringify(document), /withItems|withSequence/);
    });

    it("does not grow with the data: more tiles give the same templates", function () {
      // The data decides how many tiles split makes; here: another input and 10x smaller tiles.
      const bigger: WorkflowGraph = {
        ...graph,
        params: graph.params.map((p) =>
          p.name === "tile_size" ? { ...p, default: 50.0 } : p.name === "input" ? { ...p, default: "ahn3/37EN1" } : p,
        ),
      };
      const other = renderArgo(bigger).document;
      assert.deepEqual(other.spec.templates, document.spec.templates);
      assert.equal(JSON.stringify(other.spec.templates).length, JSON.stringify(document.spec.templates).length);
      assert.notDeepEqual(other.spec.arguments, document.spec.arguments);
    });

    it("runs notebook components from <registry>/<name>:<catalog hash> and built-ins from the builtins image", function () {
      const version = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).version;
      for (const step of graph.steps) {
        const template = templateNamed(document, step.component.uses.replace("/", "-"));
        if (step.component.builtin) {
          assert.equal(template.container?.image, `naaw/naaw-builtins:${version}`);
          assert.deepEqual(template.container?.command, ["naaw", "builtin", step.component.name]);
        } else {
          assert.match(step.component.entry!.hash, /^[0-9a-f]{64}$/);
          assert.equal(template.container?.image, `naaw/${step.component.name}:${step.component.entry!.hash}`);
          assert.deepEqual(template.container?.command, ["python3", "-m", "naaw_runtime"]);
          assert.deepEqual(template.container?.args.slice(0, 7), ["run", "--component", "/app/component", "--inputs", "/tmp/naaw/inputs", "--outputs", "/tmp/naaw/outputs"]);
        }
      }
      const custom = renderArgo(graph, { registry: "registry.example.org/lidar/", builtinsImage: "registry.example.org/naaw-builtins@sha256:abc" }).document;
      assert.equal(templateNamed(custom, "lidar-load").container?.image, `registry.example.org/lidar/load:${graph.steps.find((s) => s.id === "load")!.component.entry!.hash}`);
      assert.equal(templateNamed(custom, "builtin-split").container?.image, "registry.example.org/naaw-builtins@sha256:abc");
    });

    it("passes every param of a component, with the component's default where a step binds none", function () {
      const load = templateNamed(document, "lidar-load");
      assert.deepEqual(load.inputs?.parameters, [
        { name: "naaw-step", description: "the step id: names the keys of the outputs" },
        { name: "cell_size", default: "10" },
        { name: "tile", default: "data/synthetic_tile.npy" },
      ]);
      assert.deepEqual(load.container?.args.slice(7), ["--param", "cell_size={{inputs.parameters.cell_size}}", "--param", "tile={{inputs.parameters.tile}}"]);
      assert.equal(templateNamed(document, "lidar-filter").inputs?.parameters?.find((p) => p.name === "height_classes")?.default, "[1,3,4,5]");
      const filter = taskNamed(templateNamed(document, "tiles"), "filter");
      assert.deepEqual(filter.arguments?.parameters?.find((p) => p.name === "height_classes"), { name: "height_classes", value: "{{workflow.parameters.height_classes}}" });
      // What Argo cannot check of a param (it has only `enum`), its description says.
      const unchecked: Record<string, string> = {
        cell_size: "greater than 0",
        norm_cell_size: "greater than 0",
        tile_size: "greater than 0",
        height_classes: "a list of int values at least 0, at most 255",
        crs: "a text matching ^(EPSG:[0-9]{1,5})?$",
      };
      assert.deepEqual(
        document.spec.arguments,
        {
          parameters: graph.params.map((p) => ({
            name: p.name,
            value: typeof p.default === "string" ? p.default : JSON.stringify(p.default),
            description: unchecked[p.name] ? `${p.description}. Must be ${unchecked[p.name]} (naaw validate and naaw run check this; Argo does not).` : p.description,
          })),
        },
      );
      assert.equal((document.spec.arguments as any).parameters.find((p: any) => p.name === "height_classes").value, "[1,3,4,5]");
    });

    it("retries load (limit 2, doubling backoff) and gives features its resources", function () {
      const load = templateNamed(document, "lidar-load");
      assert.deepEqual(load.retryStrategy, { limit: "2", retryPolicy: "Always", expression: "lastRetry.exitCode != '2'", backoff: { duration: "10s", factor: "2" } });
      const retried = document.spec.templates.filter((t) => t.retryStrategy).map((t) => t.name);
      assert.deepEqual(retried, ["lidar-load"]);
      assert.deepEqual(templateNamed(document, "lidar-features").container?.resources, { requests: { cpu: "1", memory: "2Gi" }, limits: { memory: "2Gi" } });
      assert.equal(templateNamed(document, "lidar-normalize").container?.resources, undefined);
    });

    it("runs as non-root with a read-only root filesystem, garbage-collects pods and expires the workflow", function () {
      assert.deepEqual(document.spec.securityContext, { runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, fsGroup: 10001, seccompProfile: { type: "RuntimeDefault" } });
      assert.deepEqual(document.spec.podGC, { strategy: "OnPodSuccess" });
      assert.deepEqual(document.spec.ttlStrategy, { secondsAfterSuccess: 3600, secondsAfterFailure: 86400, secondsAfterCompletion: 86400 });
      assert.deepEqual(document.spec.volumes, [{ name: "tmp", emptyDir: {} }]);
      for (const t of document.spec.templates.filter((x) => x.container)) {
        assert.deepEqual(t.container!.securityContext, { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ["ALL"] } }, t.name);
        assert.deepEqual(t.container!.volumeMounts, [{ name: "tmp", mountPath: "/tmp" }], t.name);
      }
      assert.deepEqual(document.metadata.labels, { "app.kubernetes.io/managed-by": "naaw", "naaw.dev/workflow": "lidar" });
      assert.equal(document.metadata.generateName, "lidar-");
      // Nothing secret: key-only artifacts, the repository (bucket, endpoint, credentials) is the cluster's.
      assert.doesNotMatch(JSON.stringify(document), /Secret|bucket|endpoint|password|token/i);
    });

    it("wires every task's dependencies as the graph says", function () {
      const main = templateNamed(document, "main");
      assert.deepEqual(main.dag!.tasks.map((t) => t.name), ["split", "tiles", "merge"]);
      for (const step of graph.steps) {
        const task = taskNamed(templateNamed(document, step.foreach ?? "main"), step.id);
        const expected = step.dependencies.filter((d) => d !== step.foreach);
        assert.deepEqual(task.dependencies ?? [], expected, step.id);
      }
      const group = graph.foreach[0];
      assert.deepEqual(taskNamed(main, group.id).dependencies, [...group.dependencies]);
      assert.deepEqual(taskNamed(main, "merge").dependencies, ["tiles"]);
    });

    it("passes values inside the foreach task to task, and each tile's files to load", function () {
      const tiles = templateNamed(document, "tiles");
      const features = taskNamed(tiles, "features");
      assert.deepEqual(features.arguments?.artifacts?.find((a) => a.name === "points"), { name: "points", from: "{{tasks.load.outputs.artifacts.points}}" });
      const exportTemplate = templateNamed(document, "lidar-export");
      assert.deepEqual(exportTemplate.inputs?.artifacts?.find((a) => a.name === "feature_stack"), { name: "feature_stack", path: "/tmp/naaw/inputs/feature_stack.npy" });
      assert.deepEqual(exportTemplate.inputs?.artifacts?.find((a) => a.name === "grid"), { name: "grid", path: "/tmp/naaw/inputs/grid.json" });
      // load opens one tile: that item's .npy and its .json sidecar from under split's tile prefix, not every tile.
      const load = taskNamed(tiles, "load");
      assert.deepEqual(load.arguments?.parameters?.find((p) => p.name === "tile"), { name: "tile", value: "/tmp/naaw/files/tile/tile.npy" });
      const tilesWritten = outputKey(templateNamed(document, "builtin-split"), "tiles-files", "split");
      assert.equal(tilesWritten, "{{workflow.name}}/split/tiles-files");
      assert.deepEqual(templateNamed(document, "builtin-split").outputs?.artifacts?.find((a) => a.name === "tiles-files")?.path, "/tmp/naaw/outputs/tiles");
      assert.deepEqual(load.arguments?.artifacts, [
        { name: "tile-json", s3: { key: `${tilesWritten}/{{inputs.parameters.item}}.json` } },
        { name: "tile-npy", s3: { key: `${tilesWritten}/{{inputs.parameters.item}}.npy` } },
      ]);
      assert.deepEqual(templateNamed(document, "lidar-load").inputs?.artifacts, [
        { name: "tile-npy", path: "/tmp/naaw/files/tile/tile.npy", optional: true },
        { name: "tile-json", path: "/tmp/naaw/files/tile/tile.json", optional: true },
      ]);
      // split's own input is fetched from the key the `input` param names.
      assert.deepEqual(templateNamed(document, "builtin-split").inputs?.artifacts, [{ name: "input-files", path: "/tmp/naaw/files/input", s3: { key: "{{inputs.parameters.input}}" } }]);
      assert.ok(templateNamed(document, "builtin-split").container?.args.includes("input=/tmp/naaw/files/input"));
    });

    it("fans in: merge reads, as a directory, the prefix under which every export pod writes", function () {
      const exportTemplate = templateNamed(document, "lidar-export");
      const merge = taskNamed(templateNamed(document, "main"), "merge");
      for (const [input, output, ext] of [["rasters", "raster", "npy"], ["raster_infos", "raster_info", "json"]]) {
        const written = outputKey(exportTemplate, output, "export");
        assert.equal(written, `{{workflow.name}}/export/${output}/{{pod.name}}.${ext}`);
        const read = merge.arguments?.artifacts?.find((a: ArgoArtifact) => a.name === input);
        assert.ok(read?.s3, input);
        assert.equal(`${read.s3.key}/{{pod.name}}.${ext}`, written, `${input} reads the prefix ${output} is written under`);
        const declared = templateNamed(document, "builtin-merge").inputs?.artifacts?.find((a) => a.name === input);
        assert.equal(declared?.path, `/tmp/naaw/inputs/${input}`, "a directory, one file per tile");
        assert.deepEqual(exportTemplate.outputs?.artifacts?.find((a) => a.name === output)?.archive, { none: {} }, "files, not tarballs");
      }
    });

    it("is deterministic: the same workflow renders to the same bytes", function () {
      const first = renderArgoYaml(graph);
      const again = renderArgoYaml(compileIn(ROOT, DEMO));
      assert.deepEqual(first.problems, []);
      assert.equal(first.text, again.text);
      assert.equal(first.text.split("\n")[0], "# Generated by naaw render from workflows/lidar.yaml. Do not edit.");
      assert.deepEqual(load(first.text), JSON.parse(JSON.stringify(document)));
      for (const { task } of allTasks(document)) assert.match(task.name, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
      for (const t of document.spec.templates) assert.match(t.name, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    });
  });
});

describe("naaw render: Argo, beyond the demo", function () {
  let tmp: ReturnType<typeof tempDir>;
  let catalog: WorkflowCatalog;
  let validators: { workflow: ArgoValidator };

  function workflow(name: string, text: string): WorkflowGraph {
    fs.writeFileSync(path.join(tmp.dir, "workflows", `${name}.yaml`), text);
    return compileIn(tmp.dir, `workflows/${name}.yaml`, catalog);
  }

  before(function () {
    tmp = tempDir("naaw-argo-");
    fs.mkdirSync(path.join(tmp.dir, "notebooks"));
    fs.mkdirSync(path.join(tmp.dir, "workflows"));
    writeNotebook(
      path.join(tmp.dir, "notebooks"),
      [
        { tags: ["parameters"], source: "factor = 2.0\noffset = 1\ncount = 3\nitem_id = 0\nweights = [1.0]\n" },
        { tags: ["imports"], source: "import numpy as np\n" },
        { tags: ["component:make"], source: "values: np.ndarray = np.arange(4.0) * factor\n" },
        { tags: ["component:shift"], source: "shifted: np.ndarray = values + offset\n" },
        { tags: ["component:ids"], source: "ids: list = list(range(count))\n" },
        { tags: ["component:pick"], source: "picked: float = float(values[item_id % values.shape[0]]) + offset\n" },
        { tags: ["component:summarize"], source: "summary: float = float(sum(weights))\n" },
        { tags: ["component:makeany"], source: "data = sorted(range(count))\n" },
        { tags: ["component:useany"], source: "total: int = sum(data)\n" },
        { tags: ["skip"], source: "print(shifted, ids, picked, summary, total)\n" },
      ],
      "nb.ipynb",
    );
    catalog = new WorkflowCatalog(path.join(tmp.dir, "notebooks"));
    validators = argoValidators(true);
  });

  after(function () {
    tmp.cleanup();
  });

  it("reports an `any`-typed value at a step boundary instead of guessing its file", function () {
    const graph = workflow(
      "anyflow",
      [
        "name: anyflow",
        "steps:",
        "  - id: make",
        "    uses: nb/makeany",
        "  - id: use",
        "    uses: nb/useany",
        "    with:",
        "      data: ${{ steps.make.outputs.data }}",
        "",
      ].join("\n"),
    );
    const { document, problems } = renderArgo(graph);
    assert.deepEqual(problems, [
      "workflows/anyflow.yaml:3:5: step 'make' (nb/makeany): output 'data' has type any, so it has no fixed artifact path (data.npy or data.json) on Argo; annotate it in the notebook, e.g. `data: np.ndarray = …`",
      "workflows/anyflow.yaml:5:5: step 'use' (nb/useany): input 'data' has type any, so it has no fixed artifact path (data.npy or data.json) on Argo; annotate it in the notebook, e.g. `data: np.ndarray = …`",
    ]);
    assert.doesNotMatch(JSON.stringify(document), /data\.(npy|json)/, "no guessed path");
    assert.deepEqual(renderArgoYaml(graph).problems, problems);
  });

  it("shares a component's template between steps, with defaults for unbound params and a copy for other retry settings", function () {
    const graph = workflow(
      "variants",
      [
        "name: variants",
        "steps:",
        "  - id: make",
        "    uses: nb/make",
        "  - id: shift-a",
        "    uses: nb/shift",
        "    with:",
        "      values: ${{ steps.make.outputs.values }}",
        "      offset: 5",
        "  - id: shift-b",
        "    uses: nb/shift",
        "    with:",
        "      values: ${{ steps.make.outputs.values }}",
        "  - id: shift-c",
        "    uses: nb/shift",
        "    with:",
        "      values: ${{ steps.make.outputs.values }}",
        "    retry:",
        "      limit: 3",
        "",
      ].join("\n"),
    );
    const { document, problems } = renderArgo(graph);
    assert.deepEqual(problems, []);
    assert.deepEqual(validators.workflow(document), []);
    assert.deepEqual(wiringProblems(document), []);
    const main = templateNamed(document, "main");
    assert.deepEqual(main.dag!.tasks.map((t) => [t.name, t.template]), [["make", "nb-make"], ["shift-a", "nb-shift"], ["shift-b", "nb-shift"], ["shift-c", "nb-shift-shift-c"]]);
    assert.equal(templateNamed(document, "nb-shift").inputs?.parameters?.find((p) => p.name === "offset")?.default, "1");
    assert.deepEqual(taskNamed(main, "shift-a").arguments?.parameters, [{ name: "naaw-step", value: "shift-a" }, { name: "offset", value: "5" }]);
    assert.deepEqual(taskNamed(main, "shift-b").arguments?.parameters, [{ name: "naaw-step", value: "shift-b" }]);
    assert.equal(templateNamed(document, "nb-shift").retryStrategy, undefined);
    assert.equal(templateNamed(document, "nb-shift-shift-c").retryStrategy?.limit, "3");
    assert.deepEqual(templateNamed(document, "nb-make").inputs?.parameters?.find((p) => p.name === "factor"), { name: "factor", default: "2" });
  });

  it("passes outer values into a foreach and aggregates an inner output into a JSON list for a param", function () {
    const graph = workflow(
      "fanout",
      [
        "name: fanout",
        "params:",
        "  count: {type: int, default: 3}",
        "steps:",
        "  - id: make",
        "    uses: nb/make",
        "  - id: ids",
        "    uses: nb/ids",
        "    with:",
        "      count: ${{ params.count }}",
        "  - id: each",
        "    foreach: ${{ steps.ids.outputs.ids }}",
        "    steps:",
        "      - id: pick",
        "        uses: nb/pick",
        "        with:",
        "          values: ${{ steps.make.outputs.values }}",
        "          item_id: ${{ item }}",
        "  - id: summarize",
        "    uses: nb/summarize",
        "    with:",
        "      weights: ${{ steps.pick.outputs.picked }}",
        "",
      ].join("\n"),
    );
    const { document, problems } = renderArgo(graph);
    assert.deepEqual(problems, []);
    assert.deepEqual(validators.workflow(document), []);
    assert.deepEqual(wiringProblems(document), []);
    const main = templateNamed(document, "main");
    const each = taskNamed(main, "each");
    assert.equal(each.withParam, "{{tasks.ids.outputs.parameters.ids}}");
    assert.deepEqual(each.dependencies, ["ids", "make"]);
    assert.deepEqual(each.arguments?.artifacts, [{ name: "make-values", from: "{{tasks.make.outputs.artifacts.values}}" }]);
    const group = templateNamed(document, "each");
    const pick = taskNamed(group, "pick");
    assert.deepEqual(pick.arguments?.artifacts, [{ name: "values", from: "{{inputs.artifacts.make-values}}" }]);
    assert.deepEqual(pick.arguments?.parameters?.find((p) => p.name === "item_id"), { name: "item_id", value: "{{inputs.parameters.item}}" });
    assert.deepEqual(group.outputs?.parameters, [{ name: "pick-picked", valueFrom: { parameter: "{{tasks.pick.outputs.parameters.picked}}" } }]);
    assert.deepEqual(taskNamed(main, "summarize").arguments?.parameters?.find((p) => p.name === "weights"), { name: "weights", value: "{{tasks.each.outputs.parameters.pick-picked}}" });
    assert.deepEqual(templateNamed(document, "nb-pick").outputs?.parameters, [{ name: "picked", valueFrom: { path: "/tmp/naaw/outputs/picked.json" } }]);
    assert.equal(templateNamed(document, "nb-make").outputs?.parameters, undefined, "an ndarray is never a parameter");
  });
});
