import { createHash } from "crypto";
import { COMPONENT_UID } from "../containerize/dockerfile";
import { ComponentInterface } from "./catalog";
import { toYaml } from "./emit";
import { describeConstraints, describedWithConstraints } from "./paramConstraints";
import { formatReference } from "./references";
import { Position, Reference, WorkflowType } from "./spec";
import { valueFileExtension } from "./types";
import { GraphForeach, GraphStep, ResolvedBinding, WorkflowGraph } from "./validate";
import { stringifyExactJson } from "../notebook/exactJson";

/*
 * The Argo Workflows rendering of a typed workflow (Argo v4.1, `argoproj.io/v1alpha1`).
 *
 * Shape: a `main` DAG with one task per top-level step and one per foreach group; each group is a
 * task over `withParam` (the list a step produced) running a DAG template named after the group, so
 * the manifest is the same size for 1 tile or 100,000. Each component has ONE container template,
 * shared by every task that uses it (a step whose `retry` or `resources` differ from the first step
 * using the component gets its own copy, `<template>-<step>`, since both live on the template: a DAG
 * task has no retryStrategy and container resources are typed quantities that cannot be templated).
 *
 * Unbound params: the template declares every param of the component as an input parameter and
 * passes all of them to the runtime (`--param NAME={{inputs.parameters.NAME}}`); a param that a step
 * does not bind takes the component's own default as the input parameter's `default`, so every task
 * of the template gets exactly what the local runner gives it. A param without a default is a
 * required input parameter (validation already made every step bind it).
 *
 * Values between steps are files (docs/components.md): an input arrives as an input artifact at
 * /tmp/naaw/inputs/NAME.npy (ndarray) or NAME.json (other types); an output leaves from
 * /tmp/naaw/outputs/NAME.ext as a key-only S3 artifact (the cluster's default artifact repository
 * gives bucket and credentials, so nothing secret is in the manifest), uncompressed (`archive:
 * none`) at `<workflow>/<step>/<output>/<pod>.ext`. A task inside the same DAG reads it with
 * `from: {{tasks.S.outputs.artifacts.O}}`; a step after a foreach that reads an inner step's output
 * gets the list over all items (fan-in): for artifacts, the whole prefix `<workflow>/<step>/<output>`
 * as a directory `/tmp/naaw/inputs/NAME/` (one file per item, named after the item's pod, so two
 * outputs of one item sort to the same position); for parameters, Argo's aggregation of a withParam
 * task's output parameters into a JSON list. Output parameters (`valueFrom.path`) are declared only
 * for outputs that some step needs as a param or iterates over (a str output's file holds JSON,
 * `"abc"`, so a param bound to it unwraps it with the expression `jsonpath(…, '$')`).
 *
 * Built-ins that read or write files, not values (split's input and tiles, merge's out), exchange
 * them through the artifact repository too: see `files` in src/workflow/builtins.ts.
 *
 * A value of type `any` has no fixed file name (.npy or .json), so it is reported as a problem.
 */

/** How to render. */
export interface ArgoOptions {
  /**
   * Image prefix: a notebook component's image is `<registry>/<component>:<content hash>`.
   * @default "naaw"
   */
  readonly registry?: string;
  /**
   * Render a WorkflowTemplate (named `<workflow>`) instead of a Workflow (`generateName: <workflow>-`).
   * @default false
   */
  readonly template?: boolean;
  /**
   * The image of the built-in steps (`naaw builtin <name> …`).
   * @default `${registry}/naaw-builtins:<naaw version>`
   */
  readonly builtinsImage?: string;
  /**
   * Component name → image reference, overriding `<registry>/<component>:<hash>` (the Pulumi program
   * passes the references of the images it built, so the manifest names exactly those).
   */
  readonly images?: Readonly<Record<string, string>>;
  /** The service account the workflow's pods run as (the namespace's default when unset). */
  readonly serviceAccountName?: string;
  /** A non-default artifact repository (a config map key); unset: the cluster's default repository. */
  readonly artifactRepositoryRef?: { readonly configMap?: string; readonly key?: string };
}

export interface ArgoRendering {
  /** The manifest (plain data, ready for YAML or the Kubernetes API). */
  readonly document: ArgoDocument;
  /** What the manifest cannot express, each as `file:line:column: message`; empty when it can run. */
  readonly problems: readonly string[];
}

export interface ArgoParameter {
  name: string;
  value?: string;
  default?: string;
  enum?: string[];
  description?: string;
  valueFrom?: { path?: string; parameter?: string };
}

export interface ArgoArtifact {
  name: string;
  path?: string;
  from?: string;
  optional?: boolean;
  archive?: { none: Record<string, never> };
  s3?: { key: string };
  raw?: { data: string };
}

export interface ArgoTask {
  name: string;
  template: string;
  dependencies?: string[];
  withParam?: string;
  arguments?: { parameters?: ArgoParameter[]; artifacts?: ArgoArtifact[] };
}

export interface ArgoRetryStrategy {
  limit: string;
  retryPolicy: string;
  expression: string;
  backoff?: { duration: string; factor: string };
}

export interface ArgoContainer {
  image: string;
  command: string[];
  args: string[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext: Record<string, unknown>;
  volumeMounts: { name: string; mountPath: string }[];
}

export interface ArgoTemplate {
  name: string;
  inputs?: { parameters?: ArgoParameter[]; artifacts?: ArgoArtifact[] };
  outputs?: { parameters?: ArgoParameter[]; artifacts?: ArgoArtifact[] };
  dag?: { tasks: ArgoTask[] };
  container?: ArgoContainer;
  retryStrategy?: ArgoRetryStrategy;
}

export interface ArgoDocument {
  apiVersion: "argoproj.io/v1alpha1";
  kind: "Workflow" | "WorkflowTemplate";
  metadata: { name?: string; generateName?: string; labels: Record<string, string>; annotations?: Record<string, string> };
  spec: Record<string, unknown> & { entrypoint: string; templates: ArgoTemplate[] };
}

const NAAW_VERSION = require("../../package.json").version as string;

/** Where values live inside a pod: /tmp is an emptyDir, the root filesystem is read-only. */
const TMP = "/tmp";
const INPUTS_DIR = "/tmp/naaw/inputs";
const OUTPUTS_DIR = "/tmp/naaw/outputs";
const FILES_DIR = "/tmp/naaw/files";
/** The component directory in a notebook component's image (src/containerize/dockerfile.ts). */
const COMPONENT_DIR = "/app/component";
/** Input parameter of every container template: the step id, which names its output keys. */
const STEP_PARAM = "naaw-step";
/** Input parameter of a foreach group's DAG template: the current element of the list. */
const ITEM_PARAM = "item";

/*
 * How Argo carries a built-in's files (ComponentInterface.files) through the artifact repository:
 * a `fetch` param is a key (a file or a prefix), downloaded to /tmp/naaw/files/<param>, whose path
 * the built-in gets instead; a `store` param is a key that the directory the built-in writes at
 * /tmp/naaw/files/<param> is uploaded to; a `fileLists` output is uploaded under
 * `<workflow>/<step>/<output>-files/`, and a step in a foreach over it that binds `${{ item }}` to a
 * param P gets only that item's files, at /tmp/naaw/files/P/P<ext>, and as P's value the path of
 * the first: one pod downloads one tile, and `Path(tile).with_suffix(".json")` is its sidecar.
 */
const CONTAINER_SECURITY = {
  allowPrivilegeEscalation: false,
  capabilities: { drop: ["ALL"] },
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
};

/** A variant of a component's template: the steps that share it. */
interface TemplatePlan {
  readonly name: string;
  readonly component: ComponentInterface;
  readonly steps: GraphStep[];
}

function hash6(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 6);
}

/** A DNS-1123 label for `uses` (`lidar/load` → `lidar-load`), with a short hash if characters had to change. */
function templateNameOf(uses: string): string {
  const plain = uses.replace("/", "-");
  const safe = plain.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "");
  return safe === plain ? safe : `${safe}-${hash6(uses)}`;
}

/** A value as Argo passes it to the runtime: a str verbatim, anything else as JSON (what `--param` parses). */
function valueText(value: unknown, type: WorkflowType): string {
  return type === "str" && typeof value === "string" ? value : stringifyExactJson(value ?? null, 0);
}

/** The input artifact of one file of a file item bound to param P: `tile` + `.npy` → `tile-npy`. */
function itemFileArtifact(param: string, ext: string): string {
  return `${param}-${ext.replace(/^\./, "")}`;
}

/** A `list[T]` input of a built-in reads a fan-in as a directory of one file per item. */
function isDirectoryInput(type: WorkflowType): boolean {
  return type.startsWith("list[");
}

function sortedByName<T extends { name: string }>(items: Iterable<T>): T[] {
  return [...items].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

class ArgoRenderer {
  private readonly problems: string[] = [];
  private readonly steps: ReadonlyMap<string, GraphStep>;
  private readonly groups: ReadonlyMap<string, GraphForeach>;
  /** `step.output` pairs that some step reads as a param or iterates over: they need output parameters. */
  private readonly parameterOutputs = new Set<string>();
  /** Per group: what its task must pass in from the main DAG (outer values read inside the group). */
  private readonly groupParams = new Map<string, Map<string, string>>();
  private readonly groupArtifacts = new Map<string, Map<string, string>>();
  /** Per group: inner output parameters it exposes to the main DAG (aggregated over the items). */
  private readonly groupOutputs = new Map<string, Map<string, string>>();
  /** Per step: params bound to an item of a file list, with the extensions of the item's files. */
  private readonly fileParams = new Map<string, Map<string, readonly string[]>>();
  /** Per group: the tasks of its DAG, made while its task in the main DAG is made. */
  private readonly innerTasks = new Map<string, ArgoTask[]>();
  private readonly plans: TemplatePlan[] = [];
  private readonly planOf = new Map<string, TemplatePlan>();

  constructor(
    private readonly graph: WorkflowGraph,
    private readonly registry: string,
    private readonly builtinsImage: string,
    private readonly images: Readonly<Record<string, string>> = {},
  ) {
    this.steps = new Map(graph.steps.map((s) => [s.id, s]));
    this.groups = new Map(graph.foreach.map((g) => [g.id, g]));
  }

  render(options: ArgoOptions): ArgoRendering {
    this.planTemplates();
    this.checkValueTypes();
    // Tasks first: resolving their bindings records what the templates must declare.
    const main = this.mainTemplate();
    const groupTemplates = this.graph.foreach.map((g) => this.groupTemplate(g));
    const containerTemplates = sortedByName(this.plans.map((p) => this.containerTemplate(p)));
    const templates = [main, ...groupTemplates, ...containerTemplates];
    this.checkTemplateNames(templates);

    const name = this.graph.spec.name;
    const labels = { "app.kubernetes.io/managed-by": "naaw", "naaw.dev/workflow": name };
    const description = this.graph.spec.description.trim();
    const metadata = {
      ...(options.template ? { name } : { generateName: `${name}-` }),
      labels,
      ...(description ? { annotations: { "workflows.argoproj.io/description": description } } : {}),
    };
    const spec = {
      entrypoint: "main",
      ...(this.graph.params.length > 0 ? { arguments: { parameters: this.graph.params.map((p) => this.workflowParameter(p)) } } : {}),
      ...(options.serviceAccountName ? { serviceAccountName: options.serviceAccountName } : {}),
      ...(options.artifactRepositoryRef ? { artifactRepositoryRef: { ...options.artifactRepositoryRef } } : {}),
      // Pods of successful steps go at once (their results are in the artifact repository); failed
      // ones stay for `kubectl logs` until the workflow itself is deleted by the TTL.
      podGC: { strategy: "OnPodSuccess" },
      ttlStrategy: { secondsAfterCompletion: 86400, secondsAfterFailure: 86400, secondsAfterSuccess: 3600 },
      securityContext: {
        fsGroup: COMPONENT_UID,
        runAsGroup: COMPONENT_UID,
        runAsNonRoot: true,
        runAsUser: COMPONENT_UID,
        seccompProfile: { type: "RuntimeDefault" },
      },
      volumes: [{ name: "tmp", emptyDir: {} }],
      templates,
    };
    const document: ArgoDocument = {
      apiVersion: "argoproj.io/v1alpha1",
      kind: options.template ? "WorkflowTemplate" : "Workflow",
      metadata,
      spec,
    };
    return { document, problems: this.problems };
  }

  private problem(at: Position, message: string): void {
    this.problems.push(`${this.graph.spec.file}:${at.line}:${at.column}: ${message}`);
  }

  /**
   * A workflow param as an argument: an `enum` is Argo's own (it refuses any other value at submit);
   * the rest of a param's constraints Argo has no field for, so its description says them.
   */
  private workflowParameter(p: WorkflowGraph["params"][number]): ArgoParameter {
    const c = p.constraints;
    const description = c ? describedWithConstraints(p.description, describeConstraints(c, ["enum"]), "Argo") : p.description;
    return {
      name: p.name,
      ...(p.default !== undefined ? { value: valueText(p.default, p.type) } : {}),
      ...(c?.enum ? { enum: c.enum.map((v) => valueText(v, p.type)) } : {}),
      ...(description ? { description } : {}),
    };
  }

  // ---- templates per component -------------------------------------------------------------

  /** One plan per component; a step whose retry or resources differ gets its own variant. */
  private planTemplates(): void {
    const byKey = new Map<string, TemplatePlan>();
    for (const step of this.graph.steps) {
      const settings = JSON.stringify([step.spec.retry ?? null, step.spec.resources ?? null]);
      const key = `${step.component.uses}\n${settings}`;
      let plan = byKey.get(key);
      if (!plan) {
        const base = templateNameOf(step.component.uses);
        const taken = this.plans.some((p) => p.component.uses === step.component.uses);
        plan = { name: taken ? `${base}-${step.id}` : base, component: step.component, steps: [] };
        byKey.set(key, plan);
        this.plans.push(plan);
      }
      plan.steps.push(step);
      this.planOf.set(step.id, plan);
    }
  }

  /** Check: every value that crosses a step boundary has a file type (`any` has none). */
  private checkValueTypes(): void {
    for (const step of this.graph.steps) {
      const c = step.component;
      for (const value of [...c.inputs.map((v) => ({ ...v, what: "input" })), ...c.outputs.map((v) => ({ ...v, what: "output" }))]) {
        if (value.type !== "any") continue;
        this.problem(
          step.spec.at,
          `step '${step.id}' (${c.uses}): ${value.what} '${value.name}' has type any, so it has no fixed artifact path ` +
            `(${value.name}.npy or ${value.name}.json) on Argo; annotate it in the notebook, e.g. \`${value.name}: np.ndarray = …\``,
        );
      }
    }
  }

  private containerTemplate(plan: TemplatePlan): ArgoTemplate {
    const c = plan.component;
    const first = plan.steps[0];
    const files = c.files ?? {};
    const fetch = new Set(files.fetch ?? []);
    const store = new Set(files.store ?? []);

    const parameters: ArgoParameter[] = [
      { name: STEP_PARAM, description: "the step id: names the keys of the outputs" },
      ...c.params.map((p) => ({ name: p.name, ...(p.default !== undefined ? { default: valueText(p.default, p.type) } : {}) })),
    ];
    // An `any` value has no fixed file name: it is left out (and reported by checkValueTypes).
    const inputArtifacts: ArgoArtifact[] = c.inputs.filter((i) => i.type !== "any").map((i) => ({
      name: i.name,
      path: isDirectoryInput(i.type) ? `${INPUTS_DIR}/${i.name}` : `${INPUTS_DIR}/${i.name}.${valueFileExtension(i.type)}`,
    }));
    for (const p of fetch) inputArtifacts.push({ name: `${p}-files`, path: `${FILES_DIR}/${p}`, s3: { key: `{{inputs.parameters.${p}}}` } });
    // Optional: only the tasks that bind the param to a file item pass these.
    const itemFiles = new Map(plan.steps.flatMap((s) => [...(this.fileParams.get(s.id) ?? [])]));
    for (const [p, extensions] of [...itemFiles].sort(([a], [b]) => (a < b ? -1 : 1))) {
      for (const ext of extensions) inputArtifacts.push({ name: itemFileArtifact(p, ext), path: `${FILES_DIR}/${p}/${p}${ext}`, optional: true });
    }

    const keyOf = (output: string): string => `{{workflow.name}}/{{inputs.parameters.${STEP_PARAM}}}/${output}`;
    const outputArtifacts: ArgoArtifact[] = c.outputs.filter((o) => o.type !== "any").map((o) => ({
      name: o.name,
      path: `${OUTPUTS_DIR}/${o.name}.${valueFileExtension(o.type)}`,
      archive: { none: {} },
      s3: { key: `${keyOf(o.name)}/{{pod.name}}.${valueFileExtension(o.type)}` },
    }));
    for (const o of Object.keys(files.fileLists ?? {})) {
      outputArtifacts.push({ name: `${o}-files`, path: `${OUTPUTS_DIR}/${o}`, archive: { none: {} }, s3: { key: `${keyOf(o)}-files` } });
    }
    for (const p of store) {
      outputArtifacts.push({ name: `${p}-files`, path: `${FILES_DIR}/${p}`, archive: { none: {} }, s3: { key: `{{inputs.parameters.${p}}}` } });
    }
    const needed = new Set(plan.steps.flatMap((s) => c.outputs.filter((o) => this.parameterOutputs.has(`${s.id}.${o.name}`)).map((o) => o.name)));
    const outputParameters: ArgoParameter[] = c.outputs
      .filter((o) => needed.has(o.name))
      .map((o) => ({ name: o.name, valueFrom: { path: `${OUTPUTS_DIR}/${o.name}.json` } }));

    const paramArgs = c.params.flatMap((p) => [
      "--param",
      `${p.name}=${fetch.has(p.name) || store.has(p.name) ? `${FILES_DIR}/${p.name}` : `{{inputs.parameters.${p.name}}}`}`,
    ]);
    const io = ["--inputs", INPUTS_DIR, "--outputs", OUTPUTS_DIR];
    const container: ArgoContainer = c.builtin
      ? { image: this.builtinsImage, command: ["naaw", "builtin", c.name], args: [...io, ...paramArgs], ...this.containerCommon(first) }
      : {
          // The catalog's content hash: the image holds exactly this component's build context.
          image: this.images[c.name] ?? `${this.registry}/${c.name}:${c.entry!.hash}`,
          command: ["python3", "-m", "naaw_runtime"],
          args: ["run", "--component", COMPONENT_DIR, ...io, ...paramArgs],
          ...this.containerCommon(first),
        };
    const retry = first.spec.retry;
    return {
      name: plan.name,
      inputs: { parameters, ...(inputArtifacts.length > 0 ? { artifacts: inputArtifacts } : {}) },
      ...(outputParameters.length + outputArtifacts.length > 0
        ? {
            outputs: {
              ...(outputParameters.length > 0 ? { parameters: outputParameters } : {}),
              ...(outputArtifacts.length > 0 ? { artifacts: outputArtifacts } : {}),
            },
          }
        : {}),
      container,
      ...(retry
        ? {
            retryStrategy: {
              limit: String(retry.limit),
              // Always: a preempted or evicted pod (an Error, not a Failure) is retried too;
              // exit code 2 is the runtime's "bad input", which fails again however often it runs.
              retryPolicy: "Always",
              expression: "lastRetry.exitCode != '2'",
              ...(retry.backoff ? { backoff: { duration: retry.backoff, factor: "2" } } : {}),
            },
          }
        : {}),
    };
  }

  private containerCommon(step: GraphStep): Pick<ArgoContainer, "resources" | "securityContext" | "volumeMounts"> {
    const r = step.spec.resources;
    const requests: Record<string, string> = {};
    if (r?.cpu !== undefined) requests.cpu = String(r.cpu);
    if (r?.memory !== undefined) requests.memory = String(r.memory);
    // Memory is a hard limit (a pod over it is killed, not slowed); CPU is left unlimited so that a
    // step can use an idle core.
    const resources = Object.keys(requests).length > 0 ? { requests, ...(r?.memory !== undefined ? { limits: { memory: String(r.memory) } } : {}) } : undefined;
    return { ...(resources ? { resources } : {}), securityContext: { ...CONTAINER_SECURITY }, volumeMounts: [{ name: "tmp", mountPath: TMP }] };
  }

  // ---- DAGs ---------------------------------------------------------------------------------

  private mainTemplate(): ArgoTemplate {
    const tasks: ArgoTask[] = [];
    const emitted = new Set<string>();
    for (const step of this.graph.steps) {
      if (step.foreach === undefined) {
        tasks.push(this.stepTask(step, undefined));
        continue;
      }
      if (emitted.has(step.foreach)) continue;
      emitted.add(step.foreach);
      tasks.push(this.groupTask(this.groups.get(step.foreach)!));
    }
    return { name: "main", dag: { tasks } };
  }

  /** The task that runs a foreach group once per element of its list. */
  private groupTask(group: GraphForeach): ArgoTask {
    // Resolve the inner steps first: they record which outer values the group must be given.
    this.innerTasks.set(group.id, this.graph.steps.filter((s) => s.foreach === group.id).map((s) => this.stepTask(s, group)));
    const over = this.parameterText(group.over, undefined, group.spec.foreach.at, `foreach '${group.id}'`);
    const inner = new Set(group.steps);
    const dependencies = new Set(group.dependencies);
    for (const s of this.graph.steps.filter((x) => x.foreach === group.id)) {
      for (const d of s.dependencies) if (d !== group.id && !inner.has(d)) dependencies.add(d);
    }
    const parameters: ArgoParameter[] = [
      { name: ITEM_PARAM, value: "{{item}}" },
      ...sortedByName([...(this.groupParams.get(group.id) ?? new Map<string, string>())].map(([name, value]) => ({ name, value }))),
    ];
    const artifacts = sortedByName([...(this.groupArtifacts.get(group.id) ?? new Map<string, string>())].map(([name, from]) => ({ name, from })));
    return {
      name: group.id,
      template: group.id,
      ...(dependencies.size > 0 ? { dependencies: [...dependencies].sort() } : {}),
      withParam: over ?? "[]",
      arguments: { parameters, ...(artifacts.length > 0 ? { artifacts } : {}) },
    };
  }


  private groupTemplate(group: GraphForeach): ArgoTemplate {
    const parameters: ArgoParameter[] = [
      { name: ITEM_PARAM, description: `one element of ${formatReference(group.over)}` },
      ...sortedByName([...(this.groupParams.get(group.id)?.keys() ?? [])].map((name) => ({ name }))),
    ];
    const artifacts = sortedByName([...(this.groupArtifacts.get(group.id)?.keys() ?? [])].map((name) => ({ name })));
    const outputs = sortedByName([...(this.groupOutputs.get(group.id) ?? new Map<string, string>())].map(([name, parameter]) => ({ name, valueFrom: { parameter } })));
    return {
      name: group.id,
      inputs: { parameters, ...(artifacts.length > 0 ? { artifacts } : {}) },
      ...(outputs.length > 0 ? { outputs: { parameters: outputs } } : {}),
      dag: { tasks: this.innerTasks.get(group.id) ?? [] },
    };
  }

  /** The task of one step, in the main DAG (group undefined) or in its group's DAG. */
  private stepTask(step: GraphStep, group: GraphForeach | undefined): ArgoTask {
    const plan = this.planOf.get(step.id)!;
    const parameters: ArgoParameter[] = [{ name: STEP_PARAM, value: step.id }];
    const artifacts: ArgoArtifact[] = [];
    for (const binding of step.bindings) {
      if (binding.slot === "param") {
        const file = this.fileItem(step, binding, group);
        if (file) {
          parameters.push({ name: binding.name, value: file.path });
          artifacts.push(...file.artifacts);
          continue;
        }
        const value = this.paramBinding(step, binding, group);
        if (value !== undefined) parameters.push({ name: binding.name, value });
      } else {
        const artifact = this.inputBinding(step, binding, group);
        if (artifact) artifacts.push(artifact);
      }
    }
    const dependencies = step.dependencies.filter((d) => d !== group?.id && (group === undefined || group.steps.includes(d)));
    return {
      name: step.id,
      template: plan.name,
      ...(dependencies.length > 0 ? { dependencies: [...dependencies].sort() } : {}),
      arguments: { parameters: sortedByName(parameters), ...(artifacts.length > 0 ? { artifacts: sortedByName(artifacts) } : {}) },
    };
  }

  // ---- bindings -----------------------------------------------------------------------------

  /** A param bound to `${{ item }}` of a foreach over a built-in's file list: the item's files. */
  private fileItem(step: GraphStep, binding: ResolvedBinding, group: GraphForeach | undefined): { path: string; artifacts: ArgoArtifact[] } | undefined {
    if (!group || binding.binding.kind !== "reference" || binding.binding.reference.kind !== "item" || group.over.kind !== "step") return undefined;
    const producer = this.steps.get(group.over.step);
    if (!producer || producer.foreach !== undefined) return undefined;
    const extensions = producer.component.files?.fileLists?.[group.over.output];
    if (!extensions) return undefined;
    const params = this.fileParams.get(step.id) ?? new Map<string, readonly string[]>();
    params.set(binding.name, extensions);
    this.fileParams.set(step.id, params);
    const prefix = `{{workflow.name}}/${producer.id}/${group.over.output}-files/{{inputs.parameters.${ITEM_PARAM}}}`;
    return {
      path: `${FILES_DIR}/${binding.name}/${binding.name}${extensions[0]}`,
      artifacts: extensions.map((ext) => ({ name: itemFileArtifact(binding.name, ext), s3: { key: `${prefix}${ext}` } })),
    };
  }

  private paramBinding(step: GraphStep, binding: ResolvedBinding, group: GraphForeach | undefined): string | undefined {
    const b = binding.binding;
    const slotType = step.component.params.find((p) => p.name === binding.name)?.type ?? binding.type;
    const what = `step '${step.id}' (${step.component.uses}): param '${binding.name}'`;
    switch (b.kind) {
      case "invalid": // reported by the validator, which then gives no graph
        return undefined;
      case "literal":
        return valueText(b.value, slotType);
      case "reference":
        return this.parameterText(b.reference, group, b.at, what);
      case "template": {
        let text = "";
        for (const part of b.parts) {
          if (typeof part === "string") {
            text += part;
            continue;
          }
          const piece = this.parameterText(part, group, b.at, what);
          if (piece === undefined) return undefined;
          text += piece;
        }
        return text;
      }
    }
  }

  /**
   * The Argo text of a reference used as a param (or a withParam list) in `group`'s DAG (undefined:
   * the main DAG). A str output is JSON in its file (`"abc"`), so it is unwrapped with `jsonpath`.
   */
  private parameterText(reference: Reference, group: GraphForeach | undefined, at: Position, what: string): string | undefined {
    switch (reference.kind) {
      case "param":
        return `{{workflow.parameters.${reference.name}}}`;
      case "item":
        return `{{inputs.parameters.${ITEM_PARAM}}}`;
      case "step": {
        const producer = this.steps.get(reference.step)!;
        const output = producer.component.outputs.find((o) => o.name === reference.output)!;
        if (output.type === "ndarray" || output.type === "any") {
          if (output.type === "ndarray") {
            this.problem(at, `${what} reads ${formatReference(reference)}, an ndarray, which cannot be passed as a parameter; bind it to an input of the component`);
          }
          return undefined;
        }
        this.parameterOutputs.add(`${producer.id}.${output.name}`);
        const direct = output.type === "str"
          ? `{{=jsonpath(tasks['${producer.id}'].outputs.parameters['${output.name}'], '$')}}`
          : `{{tasks.${producer.id}.outputs.parameters.${output.name}}}`;
        if (producer.foreach === group?.id) return direct;
        const name = `${producer.id}-${output.name}`;
        if (producer.foreach === undefined && group) {
          this.record(this.groupParams, group.id, name, direct);
          return `{{inputs.parameters.${name}}}`;
        }
        // Fan-in: the main DAG reads an inner step's output, aggregated by Argo over the items.
        this.record(this.groupOutputs, producer.foreach!, name, `{{tasks.${producer.id}.outputs.parameters.${output.name}}}`);
        return `{{tasks.${producer.foreach}.outputs.parameters.${name}}}`;
      }
    }
  }

  private record(map: Map<string, Map<string, string>>, group: string, name: string, value: string): void {
    const entries = map.get(group) ?? new Map<string, string>();
    entries.set(name, value);
    map.set(group, entries);
  }

  /** The input artifact a task passes for an input of its component. */
  private inputBinding(step: GraphStep, binding: ResolvedBinding, group: GraphForeach | undefined): ArgoArtifact | undefined {
    const b = binding.binding;
    const declared = step.component.inputs.find((i) => i.name === binding.name)?.type ?? binding.type;
    const what = `step '${step.id}' (${step.component.uses}): input '${binding.name}'`;
    if (declared === "any") return undefined; // reported by checkValueTypes
    const fanIn = b.kind === "reference" && b.reference.kind === "step" && group === undefined && this.steps.get(b.reference.step)?.foreach !== undefined;
    if (isDirectoryInput(declared) && !fanIn) {
      this.problem(b.at, `${what} is ${declared}, which a built-in reads as one file per item of a foreach; on Argo bind it to an output of a step inside a foreach`);
      return undefined;
    }
    if (fanIn && !isDirectoryInput(declared)) {
      this.problem(
        b.at,
        `${what} reads ${b.text}, the list over a foreach's items, but the component runtime reads ` +
          `one file per input (${binding.name}.${valueFileExtension(declared)}); on Argo only built-ins (like builtin/merge) take a fan-in`,
      );
      return undefined;
    }
    const raw = (data: string): ArgoArtifact => ({ name: binding.name, raw: { data } });
    switch (b.kind) {
      case "invalid": // reported by the validator, which then gives no graph
        return undefined;
      case "literal":
        return raw(stringifyExactJson(b.value ?? null, 0));
      case "template":
        this.problem(b.at, `${what} is bound to the text '${b.text}'; on Argo an input can be a literal or a single reference: bind the text to a param instead`);
        return undefined;
      case "reference": {
        const r = b.reference;
        if (r.kind === "param") return raw(binding.type === "str" ? `{{=toJson(workflow.parameters['${r.name}'])}}` : `{{workflow.parameters.${r.name}}}`);
        if (r.kind === "item") return raw(binding.type === "str" ? `{{=toJson(inputs.parameters['${ITEM_PARAM}'])}}` : `{{inputs.parameters.${ITEM_PARAM}}}`);
        const producer = this.steps.get(r.step)!;
        if (producer.component.outputs.find((o) => o.name === r.output)?.type === "any") return undefined; // reported
        if (producer.foreach === group?.id) return { name: binding.name, from: `{{tasks.${producer.id}.outputs.artifacts.${r.output}}}` };
        if (producer.foreach === undefined && group) {
          const name = `${producer.id}-${r.output}`;
          this.record(this.groupArtifacts, group.id, name, `{{tasks.${producer.id}.outputs.artifacts.${r.output}}}`);
          return { name: binding.name, from: `{{inputs.artifacts.${name}}}` };
        }
        // Fan-in: every item's file under the producer's prefix, as one directory.
        return { name: binding.name, s3: { key: `{{workflow.name}}/${producer.id}/${r.output}` } };
      }
    }
  }

  /** Check: template names are unique (a group id may not equal `main` or a component template's name). */
  private checkTemplateNames(templates: readonly ArgoTemplate[]): void {
    const seen = new Set<string>();
    for (const t of templates) {
      if (seen.has(t.name)) {
        const group = this.groups.get(t.name);
        const plan = this.plans.find((p) => p.name === t.name);
        const at = group?.spec.at ?? plan?.steps[0].spec.at ?? { line: 1, column: 1 };
        this.problem(at, `two Argo templates would be named '${t.name}'; ${group ? `rename the foreach '${t.name}'` : "rename a notebook or a component"}`);
      }
      seen.add(t.name);
    }
  }
}

/**
 * Renders the typed DAG as an Argo Workflow (or WorkflowTemplate). Pure: the same graph and options
 * always give the same document. `problems` lists what Argo cannot run as written (the document is
 * still returned, for inspection).
 */
export function renderArgo(graph: WorkflowGraph, options: ArgoOptions = {}): ArgoRendering {
  const registry = (options.registry ?? "naaw").replace(/\/+$/, "");
  const builtinsImage = options.builtinsImage ?? `${registry}/naaw-builtins:${NAAW_VERSION}`;
  return new ArgoRenderer(graph, registry, builtinsImage, options.images).render(options);
}

/** The rendering as reviewable YAML (sorted keys, stable bytes) under a "generated" header. */
export function renderArgoYaml(graph: WorkflowGraph, options: ArgoOptions = {}): { readonly text: string; readonly problems: readonly string[] } {
  const { document, problems } = renderArgo(graph, options);
  return { text: toYaml(document, `# Generated by naaw render from ${graph.spec.file}. Do not edit.`), problems };
}
