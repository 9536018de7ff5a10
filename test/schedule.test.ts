// Scheduling policies (src/schedule/): applyPolicy's guard (only scheduling fields may change, the
// cluster's facts stay in force) and the built-ins on the rendered LiDAR manifest, each checked
// against Argo v4.1.2's schema made strict.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { workflowScheduling, AwsSettings } from "../src/cluster/aws";
import { stepMemoryBytes } from "../src/plan/model";
import { Plan } from "../src/plan/plan";
import { planWorkflow } from "../src/plan/planWorkflow";
import { readStackSettings } from "../src/plan/settings";
import {
  applyPolicy,
  budgetPolicy,
  ClusterScheduling,
  defaultPolicy,
  DO_NOT_DISRUPT,
  NO_CLUSTER_FACTS,
  NODE_LOSS_EXPRESSION,
  podTemplates,
  POLICY_ANNOTATION,
  SchedulingPolicy,
  SchedulingPolicyError,
  SPOT_TOLERATIONS,
  spotPolicy,
  stepsByTemplate,
  withNodeLossRetries,
  withoutSchedulingFields,
  workflowSpec,
} from "../src/schedule";
import { ArgoDocument, ArgoRetryStrategy, renderArgo } from "../src/workflow/argo";
import { compileWorkflow } from "../src/workflow/compile";
import { WorkflowGraph } from "../src/workflow/validate";
import { ArgoValidator, argoValidators } from "./helpers/argoSchema";

const ROOT = path.resolve(__dirname, "..");
const DEMO = "workflows/lidar.yaml";
const MiB = 2 ** 20;
const GiB = 2 ** 30;

/** The cluster facts an AWS stack's pods get (src/cluster/aws.ts), on spot or on demand. */
const awsFacts = (spot: boolean): ClusterScheduling => workflowScheduling({ spot } as AwsSettings);

function compileDemo(): WorkflowGraph {
  const previous = process.cwd();
  process.chdir(ROOT);
  try {
    const { graph, diagnostics } = compileWorkflow(DEMO);
    assert.ok(graph, diagnostics.map((d) => `${d.line}:${d.column}: ${d.message}`).join("\n"));
    return graph;
  } finally {
    process.chdir(previous);
  }
}

function planFor(stack: string, graph: WorkflowGraph): Plan {
  const previous = process.cwd();
  process.chdir(ROOT);
  try {
    return planWorkflow(DEMO, graph, readStackSettings(stack, path.join(ROOT, "stacks"))).plan;
  } finally {
    process.chdir(previous);
  }
}

/** A policy written inline for a test. */
function policy(name: string, apply: (m: ArgoDocument) => ArgoDocument | void): SchedulingPolicy {
  return { name, description: `test policy ${name}`, apply: (m) => (apply(m) ?? m) as ArgoDocument };
}

function template(document: ArgoDocument, name: string) {
  const t = podTemplates(document).find((p) => p.name === name);
  assert.ok(t, `no pod template '${name}'`);
  return t;
}

/**
 * Argo's retry expression (expr-lang) for the subset the spot policy writes: `==`, `!=`, `&&`, `||`,
 * `asInt(retries) < N`, `x matches 're'` (RE2, which these patterns use no more of than JS has).
 */
function retryDecision(strategy: ArgoRetryStrategy, lastRetry: { status: string; message: string; exitCode: string }, retries: number): boolean {
  if (retries >= Number(strategy.limit)) return false;
  const js = strategy.expression
    .replace(/asInt\(retries\)/g, "Number(retries)")
    .replace(/(lastRetry\.\w+) matches '([^']*)'/g, (_, v, re) => `new RegExp(${JSON.stringify(re)}).test(${v})`)
    .replace(/==/g, "===")
    .replace(/!===/g, "!==");
  assert.doesNotMatch(js, /matches|asInt/, `untranslated expression: ${js}`);
  const status = strategy.retryPolicy === "Always" || (strategy.retryPolicy === "OnError" ? lastRetry.status === "Error" : lastRetry.status === "Failed");
  return status && Boolean(new Function("lastRetry", "retries", `return ${js};`)(lastRetry, String(retries)));
}

/** What Argo records when a pod goes (workflow/controller/operator.go) or a component fails. */
const ENDINGS = {
  podDeleted: { status: "Error", message: "pod deleted", exitCode: "-1" },
  nodeShutdown: { status: "Failed", message: "Pod was terminated in response to imminent node shutdown.", exitCode: "-1" },
  nodePressure: { status: "Failed", message: "The node was low on resource: memory. Threshold quantity: 100Mi, available: 80Mi.", exitCode: "-1" },
  badInput: { status: "Failed", message: "main: Error (exit code 2)", exitCode: "2" },
  crash: { status: "Failed", message: "main: Error (exit code 1)", exitCode: "1" },
  oomKilled: { status: "Failed", message: "main: OOMKilled (exit code 137)", exitCode: "137" },
};

describe("scheduling policies", function () {
  let graph: WorkflowGraph;
  let rendered: ArgoDocument;
  let validators: { workflow: ArgoValidator; workflowTemplate: ArgoValidator };
  let ahn3: Plan;

  before(function () {
    graph = compileDemo();
    const rendering = renderArgo(graph);
    assert.deepEqual(rendering.problems, []);
    rendered = rendering.document;
    validators = argoValidators(true);
    ahn3 = planFor("aws-lidar", graph);
    assert.ok(ahn3.chosen, `the ahn3 stack has no plan: ${ahn3.reason}`);
  });

  /** The DAG, containers and everything else the experiment manager wrote, untouched. */
  function assertOnlySchedulingChanged(result: ArgoDocument): void {
    assert.deepEqual(withoutSchedulingFields({ ...result, metadata: rendered.metadata }), withoutSchedulingFields(rendered));
    assert.deepEqual(result.metadata, { ...rendered.metadata, annotations: { ...rendered.metadata.annotations, [POLICY_ANNOTATION]: result.metadata.annotations![POLICY_ANNOTATION] } });
    for (const t of rendered.spec.templates) {
      const after = result.spec.templates.find((x) => x.name === t.name)!;
      assert.deepEqual(after.dag, t.dag, `template ${t.name}: DAG changed`);
      assert.deepEqual({ ...after.container, resources: undefined }, { ...t.container, resources: undefined }, `template ${t.name}: container changed`);
    }
  }

  describe("applyPolicy refuses what is not scheduling", function () {
    const context = { cluster: NO_CLUSTER_FACTS };

    it("a policy that adds a task: names the policy and the task it added", function () {
      const addsTask = policy("adds-task", (m) => {
        const main = m.spec.templates.find((t) => t.name === "main")!;
        main.dag!.tasks.push({ name: "extra", template: "lidar-load" });
      });
      assert.throws(() => applyPolicy(addsTask, rendered, context), (e: Error) => {
        assert.ok(e instanceof SchedulingPolicyError);
        assert.match(e.message, /^scheduling policy 'adds-task' changed spec\.templates\[name=main\]\.dag\.tasks\[name=extra\] \(absent -> \{"name":"extra","template":"lidar-load"\}\), which is not a scheduling field/);
        assert.match(e.message, /may change only spec\.parallelism, .*spec\.templates\[\*\]\.container\.resources/);
        return true;
      });
    });

    it("a policy that changes an image, a command's args, a dependency or the workflow's labels", function () {
      const cases: [string, (m: ArgoDocument) => void, RegExp][] = [
        ["image", (m) => void (template(m, "lidar-load").container!.image = "evil/load:latest"), /changed spec\.templates\[name=lidar-load\]\.container\.image \("naaw\/load:[0-9a-f]{64}" -> "evil\/load:latest"\)/],
        ["args", (m) => void template(m, "lidar-filter").container!.args.push("--debug"), /changed spec\.templates\[name=lidar-filter\]\.container\.args\[9\] \(absent -> "--debug"\)/],
        ["dependency", (m) => void (m.spec.templates.find((t) => t.name === "main")!.dag!.tasks[2]!.dependencies = []), /changed spec\.templates\[name=main\]\.dag\.tasks\[name=merge\]\.dependencies\[0\] \("tiles" -> absent\)/],
        ["labels", (m) => void (m.metadata.labels["naaw.dev/workflow"] = "other"), /changed metadata\.labels\.naaw\.dev\/workflow \("lidar" -> "other"\)/],
        ["security", (m) => void (template(m, "lidar-export").container!.securityContext.runAsNonRoot = false), /container\.securityContext\.runAsNonRoot \(true -> false\)/],
        ["templateDefaults", (m) => void ((m.spec as Record<string, unknown>).templateDefaults = { container: { image: "x" } }), /changed spec\.templateDefaults \(absent -> /],
      ];
      for (const [what, change, message] of cases) {
        assert.throws(() => applyPolicy(policy(what, change), rendered, context), message, what);
      }
    });

    it("never changes the manifest it is given, even when the policy edits in place or throws", function () {
      const before = structuredClone(rendered);
      applyPolicy(policy("edits", (m) => void (workflowSpec(m).parallelism = 3)), rendered, { cluster: awsFacts(true) });
      assert.throws(() => applyPolicy(policy("bad", (m) => void (template(m, "lidar-load").container!.image = "x")), rendered, context));
      assert.deepEqual(rendered, before);
    });

    it("a policy that throws, or returns nothing usable: the error names it", function () {
      const throws = policy("throws", () => {
        throw new Error("no plan for me");
      });
      assert.throws(() => applyPolicy(throws, rendered, context), /^SchedulingPolicyError: scheduling policy 'throws': no plan for me$/);
      const nothing: SchedulingPolicy = { name: "nothing", description: "", apply: () => undefined as unknown as ArgoDocument };
      assert.throws(() => applyPolicy(nothing, rendered, context), /scheduling policy 'nothing' returned nothing instead of the manifest/);
    });

    it("values Argo would refuse: parallelism 0, a number as a quantity, a retry limit of 'many'", function () {
      const zero = policy("zero", (m) => void (workflowSpec(m).parallelism = 0));
      assert.throws(() => applyPolicy(zero, rendered, context), /scheduling policy 'zero':\n {2}spec\.parallelism is 0; it must be a whole number of pods, at least 1/);
      const number = policy("number", (m) => void (template(m, "lidar-load").container!.resources = { requests: { cpu: 2 as unknown as string } }));
      assert.throws(() => applyPolicy(number, rendered, context), /template 'lidar-load': resources\.requests\.cpu is 2; it must be a Kubernetes quantity as a string, like "500m" or "2Gi"/);
      const many = policy("many", (m) => void (template(m, "lidar-load").retryStrategy!.limit = "many"));
      assert.throws(() => applyPolicy(many, rendered, context), /template 'lidar-load': retryStrategy\.limit is "many"/);
    });

    it("a policy that drops the cluster's nodeSelector or tolerations from a pod is refused", function () {
      const facts = awsFacts(true);
      const ownSelector = policy("own-selector", (m) => void (template(m, "lidar-features").nodeSelector = { "kubernetes.io/arch": "amd64" }));
      assert.throws(() => applyPolicy(ownSelector, rendered, { cluster: facts }), /template 'lidar-features' lost the cluster's nodeSelector naaw\.io\/workflow=true, so its pods would not land on the nodes sized for them/);
      const replaced = policy("replaced", (m) => void (workflowSpec(m).tolerations = [{ key: "other", operator: "Exists", effect: "NoSchedule" }]));
      assert.throws(() => applyPolicy(replaced, rendered, { cluster: facts }), /template 'builtin-merge' lost the cluster's toleration naaw\.io\/workflow=true:NoSchedule/);
      // On a DAG: every pod of the foreach reads it (Argo: template, else its DAG, else the workflow).
      const onDag = policy("on-dag", (m) => void ((m.spec.templates.find((t) => t.name === "tiles") as { nodeSelector?: Record<string, string> }).nodeSelector = { zone: "a" }));
      assert.throws(() => applyPolicy(onDag, rendered, { cluster: facts }), /template 'lidar-load' lost the cluster's nodeSelector/);
      // Adding to them is fine.
      const adds = policy("adds", (m) => void (template(m, "lidar-features").nodeSelector = { ...workflowSpec(m).nodeSelector, "kubernetes.io/arch": "amd64" }));
      assert.equal(template(applyPolicy(adds, rendered, { cluster: facts }), "lidar-features").nodeSelector!["kubernetes.io/arch"], "amd64");
    });
  });

  describe("default: Argo's own behaviour", function () {
    it("without cluster facts: the rendered manifest, named by its annotation only", function () {
      const result = applyPolicy(defaultPolicy, rendered, { cluster: NO_CLUSTER_FACTS });
      assert.deepEqual(result, { ...rendered, metadata: { ...rendered.metadata, annotations: { ...rendered.metadata.annotations, [POLICY_ANNOTATION]: "default" } } });
      assert.deepEqual(validators.workflow(result), []);
    });

    it("on an AWS cluster: every pod carries the cluster's nodeSelector and toleration, nothing else changes", function () {
      const facts = awsFacts(false);
      const result = applyPolicy(defaultPolicy, rendered, { cluster: facts, plan: ahn3 });
      const spec = workflowSpec(result);
      assert.deepEqual(spec.nodeSelector, { "naaw.io/workflow": "true", "karpenter.sh/capacity-type": "on-demand" });
      assert.deepEqual(spec.tolerations, [{ key: "naaw.io/workflow", operator: "Equal", value: "true", effect: "NoSchedule" }]);
      assert.equal(spec.parallelism, undefined);
      assert.deepEqual(template(result, "lidar-features").container!.resources, template(rendered, "lidar-features").container!.resources);
      assertOnlySchedulingChanged(result);
      assert.deepEqual(validators.workflow(result), []);
    });
  });

  describe("budget: measured requests, parallelism from the plan", function () {
    let result: ArgoDocument;
    before(function () {
      result = applyPolicy(budgetPolicy, rendered, { plan: ahn3, cluster: awsFacts(ahn3.chosen!.candidate.spot) });
    });

    it("workflow parallelism is the plan's slots: nodes × slots per node", function () {
      const chosen = ahn3.chosen!;
      assert.equal(workflowSpec(result).parallelism, chosen.candidate.nodes * chosen.slotsPerNode);
      assert.ok(chosen.candidate.nodes * chosen.slotsPerNode > 1);
    });

    it("each pod requests its step's measured mean cores and its peak memory scaled to the plan's largest tile", function () {
      const cal = ahn3.calibration;
      const headroom = ahn3.request.assumptions.memoryHeadroom;
      const steps = stepsByTemplate(result);
      for (const t of podTemplates(result)) {
        const [stepId] = steps.get(t.name)!;
        const step = cal.steps.find((s) => s.step === stepId)!;
        const cores = Math.min(1000, Math.max(100, Math.ceil((step.cpuSeconds / step.wallSeconds) * 20) * 50));
        const bytes = step.phase === "tile" ? stepMemoryBytes(step, cal.runtimeBaselineMiB, ahn3.chosen!.tileCounts.maxPoints) : step.peakMemoryMiB * MiB;
        const memory = `${Math.ceil((bytes * headroom) / MiB)}Mi`;
        assert.deepEqual(t.container!.resources, { requests: { cpu: `${cores}m`, memory }, limits: { memory } }, t.name);
      }
      // The figures of workflows/lidar.calibration.json as committed (read apart from the plan): normalize's
      // measured share of a core, rounded up to 50m.
      const committed = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "workflows", "lidar.calibration.json"), "utf8")) as { steps: { step: string; cpuSeconds: number; wallSeconds: number }[] };
      const normalize = committed.steps.find((s) => s.step === "normalize")!;
      assert.equal(template(result, "lidar-normalize").container!.resources!.requests!.cpu, `${Math.ceil((normalize.cpuSeconds / normalize.wallSeconds) * 20) * 50}m`);
      // split and features asked for 1 CPU / 2Gi in the workflow; the plan was priced from what they measured.
      assert.notEqual(template(result, "builtin-split").container!.resources!.requests!.memory, "2Gi");
    });

    it("any mix of slotsPerNode split and tile pods fits one planned node", function () {
      const chosen = ahn3.chosen!;
      const a = ahn3.request.assumptions;
      const m = chosen.candidate.machine;
      const cpu = m.vcpus - a.reservedCpuPerNode;
      const memory = (m.memoryGiB - a.reservedMemoryGiB - a.reservedMemoryFraction * m.memoryGiB) * GiB;
      const phases = new Map(ahn3.calibration.steps.map((s) => [s.step, s.phase]));
      const steps = stepsByTemplate(result);
      const packed = podTemplates(result).filter((t) => phases.get(steps.get(t.name)![0]!) !== "merge");
      assert.equal(packed.length, 7);
      const mostCpu = Math.max(...packed.map((t) => parseInt(t.container!.resources!.requests!.cpu!, 10) / 1000));
      const mostMemory = Math.max(...packed.map((t) => parseInt(t.container!.resources!.requests!.memory!, 10) * MiB));
      assert.ok(chosen.slotsPerNode * mostCpu <= cpu, `${chosen.slotsPerNode} × ${mostCpu} CPU > ${cpu} on ${m.name}`);
      assert.ok(chosen.slotsPerNode * mostMemory <= memory, `${chosen.slotsPerNode} × ${mostMemory / GiB} GiB > ${memory / GiB} GiB on ${m.name}`);
      assert.ok(mostMemory <= chosen.podMemoryGiB * GiB);
    });

    it("the DAG and containers are unchanged and the result passes Argo's schema", function () {
      assertOnlySchedulingChanged(result);
      assert.deepEqual(validators.workflow(result), []);
      assert.equal(result.metadata.annotations![POLICY_ANNOTATION], "budget");
    });

    it("without a plan, with an infeasible one, or with a step the calibration never measured: an error that says what to do", function () {
      assert.throws(() => applyPolicy(budgetPolicy, rendered, { cluster: NO_CLUSTER_FACTS }), /scheduling policy 'budget': needs the stack's plan to size pods \(give the stack: `naaw render --schedule budget --stack NAME`/);
      const infeasible: Plan = { ...ahn3, feasible: false, chosen: undefined, reason: "no plan within 1.00 USD: the cheapest costs 80.00 USD (--budget 80)" };
      assert.throws(() => applyPolicy(budgetPolicy, rendered, { plan: infeasible, cluster: NO_CLUSTER_FACTS }), /the plan has no cluster to pack: no plan within 1\.00 USD/);
      const calibration = { ...ahn3.calibration, steps: ahn3.calibration.steps.filter((s) => s.step !== "neighbors") };
      assert.throws(
        () => applyPolicy(budgetPolicy, rendered, { plan: ahn3, calibration, cluster: NO_CLUSTER_FACTS }),
        /step 'neighbors' \(template 'lidar-neighbors'\) has no measurement in the calibration of workflows\/lidar\.yaml .*run `npx naaw plan --calibrate`/,
      );
    });

    it("a pod that cannot fit the planned machine is an error, not a pod left Pending", function () {
      const chosen = ahn3.chosen!;
      const tiny: Plan = { ...ahn3, chosen: { ...chosen, candidate: { ...chosen.candidate, machine: { ...chosen.candidate.machine, name: "t.tiny", vcpus: 1, memoryGiB: 1.2 } } } };
      assert.throws(() => applyPolicy(budgetPolicy, rendered, { plan: tiny, cluster: NO_CLUSTER_FACTS }), /need \d+m CPU and \d+Mi memory, more than a t\.tiny node leaves for pods/);
    });
  });

  describe("spot: tolerations, do-not-disrupt, retries on node loss only", function () {
    let result: ArgoDocument;
    before(function () {
      result = applyPolicy(spotPolicy, rendered, { plan: ahn3, cluster: awsFacts(true) });
    });

    it("tolerates spot nodes, keeps the cluster's toleration, and marks every pod do-not-disrupt", function () {
      const spec = workflowSpec(result);
      assert.deepEqual(spec.tolerations, [...awsFacts(true).tolerations, ...SPOT_TOLERATIONS]);
      assert.deepEqual(spec.podMetadata, { annotations: { "karpenter.sh/do-not-disrupt": "true" } });
      assert.deepEqual(DO_NOT_DISRUPT, { "karpenter.sh/do-not-disrupt": "true" });
      // The cluster pins the market (capacity-type spot): no affinity to contradict it.
      assert.equal(spec.affinity, undefined);
      assert.equal(spec.nodeSelector!["karpenter.sh/capacity-type"], "spot");
    });

    it("where the cluster does not pin the market, prefers spot nodes", function () {
      const open = applyPolicy(spotPolicy, rendered, { cluster: NO_CLUSTER_FACTS });
      assert.deepEqual(workflowSpec(open).affinity, {
        nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, preference: { matchExpressions: [{ key: "karpenter.sh/capacity-type", operator: "In", values: ["spot"] }] } }] },
      });
      assert.deepEqual(validators.workflow(open), []);
    });

    it("every pod template retries when its node goes, and never when its component fails", function () {
      for (const t of podTemplates(result)) {
        const s = t.retryStrategy!;
        assert.ok(s, `${t.name} has no retryStrategy`);
        assert.equal(s.retryPolicy, "Always");
        for (const ending of ["podDeleted", "nodeShutdown", "nodePressure"] as const) {
          assert.equal(retryDecision(s, ENDINGS[ending], 0), true, `${t.name} does not retry ${ending}`);
          assert.equal(retryDecision(s, ENDINGS[ending], 2), true, `${t.name} does not retry ${ending} a third time`);
          assert.equal(retryDecision(s, ENDINGS[ending], 3), false, `${t.name} retries ${ending} forever`);
        }
        assert.equal(retryDecision(s, ENDINGS.badInput, 0), false, `${t.name} retries bad input`);
        if (t.name !== "lidar-load") {
          assert.deepEqual(s, { limit: "3", retryPolicy: "Always", expression: NODE_LOSS_EXPRESSION, backoff: { duration: "10s", factor: "2" } }, t.name);
          assert.equal(retryDecision(s, ENDINGS.crash, 0), false, `${t.name} retries a crash`);
          assert.equal(retryDecision(s, ENDINGS.oomKilled, 0), false, `${t.name} retries an OOM kill`);
        }
      }
    });

    it("a step that already retries (load: retry limit 2, not on exit code 2) keeps its own retries and gets node loss on top", function () {
      const own = template(rendered, "lidar-load").retryStrategy!;
      assert.deepEqual(own, { limit: "2", retryPolicy: "Always", expression: "lastRetry.exitCode != '2'", backoff: { duration: "10s", factor: "2" } });
      const s = template(result, "lidar-load").retryStrategy!;
      assert.equal(s.limit, "3");
      assert.deepEqual(s.backoff, own.backoff);
      assert.equal(s.expression, `(asInt(retries) < 2 && (lastRetry.exitCode != '2')) || (${NODE_LOSS_EXPRESSION})`);
      assert.equal(retryDecision(s, ENDINGS.crash, 0), true);
      assert.equal(retryDecision(s, ENDINGS.crash, 1), true);
      assert.equal(retryDecision(s, ENDINGS.crash, 2), false, "a crash is retried more often than the workflow's retry: 2");
      assert.equal(retryDecision(s, ENDINGS.badInput, 0), false);
      assert.equal(retryDecision(s, ENDINGS.podDeleted, 2), true);
    });

    it("the DAG and containers are unchanged and the result passes Argo's schema", function () {
      assertOnlySchedulingChanged(result);
      assert.deepEqual(validators.workflow(result), []);
    });

    it("a template's own OnError or OnFailure retries keep their meaning; OnTransientError is left as it is", function () {
      const onError = withNodeLossRetries({ limit: "5", retryPolicy: "OnError", expression: "" });
      assert.equal(onError.limit, "5");
      assert.equal(retryDecision(onError, ENDINGS.podDeleted, 4), true);
      assert.equal(retryDecision(onError, ENDINGS.crash, 0), false);
      const onFailure = withNodeLossRetries({ limit: "1", retryPolicy: "OnFailure", expression: "lastRetry.exitCode == '1'" });
      assert.equal(retryDecision(onFailure, ENDINGS.crash, 0), true);
      assert.equal(retryDecision(onFailure, ENDINGS.crash, 1), false);
      assert.equal(retryDecision(onFailure, ENDINGS.badInput, 0), false);
      assert.equal(retryDecision(onFailure, ENDINGS.nodeShutdown, 2), true);
      const transient = { limit: "2", retryPolicy: "OnTransientError", expression: "" };
      assert.deepEqual(withNodeLossRetries(transient), transient);
    });
  });

  it("policies compose: spot after budget keeps the requests and the parallelism, a WorkflowTemplate passes its schema", function () {
    const templateRendering = renderArgo(graph, { template: true }).document;
    const context = { plan: ahn3, cluster: awsFacts(true) };
    const both = applyPolicy(spotPolicy, applyPolicy(budgetPolicy, templateRendering, context), context);
    assert.equal(both.kind, "WorkflowTemplate");
    assert.equal(workflowSpec(both).parallelism, ahn3.chosen!.parallelism);
    assert.match(template(both, "lidar-features").container!.resources!.requests!.cpu!, /^\d+m$/);
    assert.ok(template(both, "lidar-features").retryStrategy);
    assert.equal(both.metadata.annotations![POLICY_ANNOTATION], "budget,spot");
    assert.deepEqual(validators.workflowTemplate(both), []);
  });
  describe("on the batched rendering (one pod per tile batch, docs/argo-scale.md)", function () {
    let batched: ArgoDocument;
    before(function () {
      const rendering = renderArgo(graph, { batching: { tileBatches: ahn3.chosen!.parallelism } });
      assert.deepEqual(rendering.problems, []);
      batched = rendering.document;
    });

    it("budget sizes each container of a tile batch for its own step, the split's pods as the split, and the pod fits a node", function () {
      const result = applyPolicy(budgetPolicy, batched, { plan: ahn3, cluster: awsFacts(ahn3.chosen!.candidate.spot) });
      assert.deepEqual(validators.workflow(result), []);
      const chain = result.spec.templates.find((t) => t.name === "tiles")!.containerSet!.containers;
      const byName = new Map(chain.map((c) => [c.name, c]));
      const tiles = ahn3.calibration.steps.filter((s) => s.phase === "tile");
      for (const step of tiles) {
        const container = byName.get(step.step) ?? byName.get("main")!;
        assert.ok(container.args!.includes(step.step), `the container of ${step.step}`);
        assert.match(container.resources?.requests?.memory ?? "", /^\d+Mi$/, step.step);
      }
      // The join is not a measured step: it keeps the rendering's own small CPU and memory (and carries the pod's disk, below).
      const rendered = batched.spec.templates.find((t) => t.name === "tiles")!.containerSet!.containers[0]!.resources!;
      assert.deepEqual({ ...byName.get("join")!.resources, requests: { ...byName.get("join")!.resources!.requests, "ephemeral-storage": undefined } }, { ...rendered, requests: { ...rendered.requests, "ephemeral-storage": undefined } });
      const split = result.spec.templates.find((t) => t.name === "split-batch")!;
      assert.match(split.container!.resources?.requests?.cpu ?? "", /^\d+m$/, "the split's batch pods are sized from the split's measurement");
      assert.equal(workflowSpec(result).parallelism, ahn3.chosen!.parallelism);
    });

    it("budget requests the plan's disk on the tile batch pod (its join, which owns the pieces), and slots × that fits the node's volume", function () {
      const e = ahn3.chosen!;
      const a = ahn3.request.assumptions;
      const result = applyPolicy(budgetPolicy, batched, { plan: ahn3, cluster: awsFacts(e.candidate.spot) });
      const chain = result.spec.templates.find((t) => t.name === "tiles")!.containerSet!.containers;
      const disk = chain.map((c) => c.resources?.requests?.["ephemeral-storage"]).filter((q): q is string => q !== undefined);
      assert.deepEqual(disk, [`${e.podDiskGiB}Gi`], "one request, on the join");
      assert.equal(chain.find((c) => c.name === "join")!.resources!.requests!["ephemeral-storage"], `${e.podDiskGiB}Gi`);
      // At AHN3 scale a batch's pieces alone are ~100 GB: far above a default 20 GiB root volume.
      assert.ok(e.podDiskGiB * GiB >= e.batchDisk.pieces + e.batchDisk.window + e.batchDisk.rasters && e.batchDisk.pieces > 50e9, `${e.podDiskGiB} GiB for ${e.batchDisk.pieces} B of pieces`);
      // What the kubelet lets pods use on the plan's volume (its eviction threshold and the system's share kept) holds every slot's request.
      const forPods = e.nodeVolumeGiB * (1 - a.diskEvictionFraction) - a.systemDiskGB;
      assert.ok(e.slotsPerNode * e.podDiskGiB <= forPods, `${e.slotsPerNode} × ${e.podDiskGiB} GiB on a ${e.nodeVolumeGiB} GiB volume`);
      assert.ok(e.slotsPerNode * e.podDiskGiB > forPods - 2, "and the volume is not oversized");
      // Quantities a scheduler reads: the other containers ask for no disk of their own.
      assert.ok(chain.filter((c) => c.name !== "join").every((c) => c.resources?.requests?.["ephemeral-storage"] === undefined));
    });

    it("apply's value checks reach containerSet containers: a disk request that is not a quantity is refused", function () {
      const bad = policy("bad-disk", (m) => {
        const join = m.spec.templates.find((t) => t.containerSet)!.containerSet!.containers[0]!;
        join.resources = { ...join.resources, requests: { ...join.resources?.requests, "ephemeral-storage": "183 GB" } };
      });
      assert.throws(() => applyPolicy(bad, batched, { cluster: NO_CLUSTER_FACTS }), /template 'tiles' container 'join': resources\.requests\.ephemeral-storage is "183 GB"; it must be a Kubernetes quantity/);
    });

    it("spot gives the tile batch pods and the split's pods node-loss retries and spot tolerations", function () {
      const result = applyPolicy(spotPolicy, batched, { plan: ahn3, cluster: awsFacts(true) });
      assert.deepEqual(validators.workflow(result), []);
      for (const name of ["tiles", "split-batch", "split-list", "split-plan", "split-buckets"]) {
        const t = result.spec.templates.find((x) => x.name === name)!;
        assert.ok(t.retryStrategy?.expression?.includes(NODE_LOSS_EXPRESSION), `${name}: ${JSON.stringify(t.retryStrategy)}`);
      }
      assert.ok(podTemplates(result).some((t) => t.containerSet), "the tile batches are pod templates");
    });
  });
});
