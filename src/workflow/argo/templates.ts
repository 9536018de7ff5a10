import { valueFileExtension } from "../types";
import { GraphStep } from "../validate";
import { sortedByName, valueText } from "../emitter";
import { ArgoContext, TemplatePlan } from "./context";
import { ArgoArtifact, ArgoContainer, ArgoParameter, ArgoRetryStrategy, ArgoTemplate } from "./model";
import { COMPONENT_DIR, CONTAINER_SECURITY, FILES_DIR, INPUTS_DIR, OUTPUTS_DIR, STEP_PARAM, TMP, isDirectoryInput, itemFileArtifact } from "./layout";

/*
 * The container template of a component (one per TemplatePlan). Unbound params: the template
 * declares every param of the component as an input parameter and passes all of them to the runtime
 * (`--param NAME={{inputs.parameters.NAME}}`); a param that a step does not bind takes the
 * component's own default as the input parameter's `default`, so every task of the template gets
 * exactly what the local runner gives it. A param without a default is a required input parameter
 * (validation already made every step bind it). Made after the tasks (dag.ts): which outputs need
 * output parameters and which params take file items is known only then.
 */
export function containerTemplate(ctx: ArgoContext, plan: TemplatePlan): ArgoTemplate {
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
  const itemFiles = new Map(plan.steps.flatMap((s) => [...(ctx.fileParams.get(s.id) ?? [])]));
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
  const needed = new Set(plan.steps.flatMap((s) => c.outputs.filter((o) => ctx.parameterOutputs.has(`${s.id}.${o.name}`)).map((o) => o.name)));
  const outputParameters: ArgoParameter[] = c.outputs
    .filter((o) => needed.has(o.name))
    .map((o) => ({ name: o.name, valueFrom: { path: `${OUTPUTS_DIR}/${o.name}.json` } }));

  const paramArgs = c.params.flatMap((p) => [
    "--param",
    `${p.name}=${fetch.has(p.name) || store.has(p.name) ? `${FILES_DIR}/${p.name}` : `{{inputs.parameters.${p.name}}}`}`,
  ]);
  const io = ["--inputs", INPUTS_DIR, "--outputs", OUTPUTS_DIR];
  const container: ArgoContainer = c.builtin
    ? { image: ctx.builtinsImage, command: ["naaw", "builtin", c.name], args: [...io, ...paramArgs], ...containerCommon(first) }
    : {
        // The catalog's content hash: the image holds exactly this component's build context.
        image: ctx.images[c.name] ?? `${ctx.registry}/${c.name}:${c.entry!.hash}`,
        command: ["python3", "-m", "naaw_runtime"],
        args: ["run", "--component", COMPONENT_DIR, ...io, ...paramArgs],
        ...containerCommon(first),
      };
  const retryStrategy = retryStrategyOf(first);
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
    ...(retryStrategy ? { retryStrategy } : {}),
  };
}

/** Every container template, sorted by name (they follow `main` and the group DAGs). */
export function containerTemplates(ctx: ArgoContext, lowered: ReadonlySet<string> = new Set()): ArgoTemplate[] {
  return sortedByName(ctx.plans.filter((p) => p.steps.some((s) => !lowered.has(s.id))).map((p) => containerTemplate(ctx, p)));
}

/** The step's `retry` as Argo's retryStrategy, or undefined without one. */
export function retryStrategyOf(step: GraphStep): ArgoRetryStrategy | undefined {
  const retry = step.spec.retry;
  if (!retry) return undefined;
  return {
    limit: String(retry.limit),
    // Always: a preempted or evicted pod (an Error, not a Failure) is retried too;
    // exit code 2 is the runtime's "bad input", which fails again however often it runs.
    retryPolicy: "Always",
    expression: "lastRetry.exitCode != '2'",
    ...(retry.backoff ? { backoff: { duration: retry.backoff, factor: "2" } } : {}),
  };
}

export function containerCommon(step: GraphStep): Pick<ArgoContainer, "resources" | "securityContext" | "volumeMounts"> {
  const r = step.spec.resources;
  const requests: Record<string, string> = {};
  if (r?.cpu !== undefined) requests.cpu = String(r.cpu);
  if (r?.memory !== undefined) requests.memory = String(r.memory);
  // Memory is a hard limit (a pod over it is killed, not slowed); CPU is left unlimited so that a
  // step can use an idle core.
  const resources = Object.keys(requests).length > 0 ? { requests, ...(r?.memory !== undefined ? { limits: { memory: String(r.memory) } } : {}) } : undefined;
  return { ...(resources ? { resources } : {}), securityContext: { ...CONTAINER_SECURITY }, volumeMounts: [{ name: "tmp", mountPath: TMP }] };
}

