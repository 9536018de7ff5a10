import type { ArgoDocument, ArgoRetryStrategy, ArgoTemplate } from "../workflow/argo";
import type { Toleration } from "./policy";

/*
 * Typed access to the scheduling fields of a rendered manifest. The renderer's types
 * (src/workflow/argo.ts) carry only what it writes; these add what a policy may set, with the
 * names and shapes of Argo v4.1's Template and WorkflowSpec.
 */

/** Pod metadata (Argo's `Metadata`: a template's `metadata`, the workflow's `spec.podMetadata`). */
export interface PodMetadata {
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
}

/** A Kubernetes core/v1 Affinity, kept as data (policies build it; Argo's schema checks it). */
export type Affinity = Record<string, unknown>;

/** What a policy may set on one template. */
export interface TemplateScheduling {
  parallelism?: number;
  nodeSelector?: Record<string, string>;
  tolerations?: Toleration[];
  affinity?: Affinity;
  priorityClassName?: string;
  schedulerName?: string;
  retryStrategy?: ArgoRetryStrategy;
  metadata?: PodMetadata;
  activeDeadlineSeconds?: number;
}

/** What a policy may set on the whole workflow (each is the default of every pod's template). */
export interface WorkflowScheduling {
  parallelism?: number;
  nodeSelector?: Record<string, string>;
  tolerations?: Toleration[];
  affinity?: Affinity;
  podPriorityClassName?: string;
  /** The controller's queue order among workflows (not a pod priority). */
  priority?: number;
  schedulerName?: string;
  retryStrategy?: ArgoRetryStrategy;
  podMetadata?: PodMetadata;
  podDisruptionBudget?: Record<string, unknown>;
  activeDeadlineSeconds?: number;
}

/** A template that runs a pod (a container, a containerSet, or Argo's data template), with its scheduling fields typed. */
export type PodTemplate = ArgoTemplate & TemplateScheduling;
/** Any template (a DAG too), with its scheduling fields typed. */
export type SchedulableTemplate = ArgoTemplate & TemplateScheduling;

/** The workflow's spec with its scheduling fields typed. */
export function workflowSpec(manifest: ArgoDocument): ArgoDocument["spec"] & WorkflowScheduling {
  return manifest.spec as ArgoDocument["spec"] & WorkflowScheduling;
}

/**
 * The templates that run pods, in manifest order: one per component variant in a naaw rendering,
 * and in the batched rendering also the split's pods (a data template lists the input) and the
 * tile batches' containerSets.
 */
export function podTemplates(manifest: ArgoDocument): PodTemplate[] {
  return manifest.spec.templates.filter((t) => t.container !== undefined || t.containerSet !== undefined || t.data !== undefined);
}

/**
 * The step a containerSet's container runs: its `--step` argument (the chain runner's), else its
 * name; the batched rendering names the last step's container `main`, as Argo wants.
 */
export function containerStep(container: { readonly name: string; readonly args?: readonly string[] }): string {
  const at = container.args?.indexOf("--step") ?? -1;
  return at >= 0 && container.args![at + 1] !== undefined ? container.args![at + 1]! : container.name;
}

/** The DAG templates. */
export function dagTemplates(manifest: ArgoDocument): SchedulableTemplate[] {
  return manifest.spec.templates.filter((t) => t.dag !== undefined);
}

/**
 * The steps that run each pod template: a naaw rendering names every task after its step id
 * (src/workflow/argo.ts), so these are the ids the calibration measured.
 */
export function stepsByTemplate(manifest: ArgoDocument): Map<string, string[]> {
  const pods = new Set(podTemplates(manifest).map((t) => t.name));
  const steps = new Map<string, string[]>();
  const labelled = new Map(manifest.spec.templates.map((t) => [t.name, t.metadata?.labels?.["naaw.dev/step"]]));
  for (const dag of dagTemplates(manifest)) {
    for (const task of dag.dag!.tasks) {
      if (!pods.has(task.template)) continue;
      // The batched rendering's split pods carry the step they stand for (list, plan, batches, buckets: `split`).
      const step = labelled.get(task.template) ?? task.name;
      const known = steps.get(task.template) ?? [];
      if (!known.includes(step)) steps.set(task.template, [...known, step]);
    }
  }
  return steps;
}

/** The DAG templates whose tasks run each pod template (Argo's "boundary" templates of its pods). */
export function boundariesByTemplate(manifest: ArgoDocument): Map<string, SchedulableTemplate[]> {
  const boundaries = new Map<string, SchedulableTemplate[]>();
  for (const dag of dagTemplates(manifest)) {
    for (const task of dag.dag!.tasks) {
      const list = boundaries.get(task.template) ?? [];
      if (!list.includes(dag)) list.push(dag);
      boundaries.set(task.template, list);
    }
  }
  return boundaries;
}

/** Sets pod annotations on every pod of the workflow (`spec.podMetadata`), keeping the ones there. */
export function annotatePods(manifest: ArgoDocument, annotations: Readonly<Record<string, string>>): void {
  const spec = workflowSpec(manifest);
  spec.podMetadata = { ...spec.podMetadata, annotations: { ...spec.podMetadata?.annotations, ...annotations } };
}

function sameToleration(a: Toleration, b: Toleration): boolean {
  return a.key === b.key && (a.operator ?? "Equal") === (b.operator ?? "Equal") && a.value === b.value && a.effect === b.effect && a.tolerationSeconds === b.tolerationSeconds;
}

/** `tolerations` with each of `more` appended unless an identical one is there already. */
export function withTolerations(tolerations: readonly Toleration[] | undefined, more: readonly Toleration[]): Toleration[] {
  const out = [...(tolerations ?? [])];
  for (const t of more) if (!out.some((o) => sameToleration(o, t))) out.push({ ...t });
  return out;
}

/** Whether `tolerations` holds one identical to `wanted`. */
export function hasToleration(tolerations: readonly Toleration[] | undefined, wanted: Toleration): boolean {
  return (tolerations ?? []).some((t) => sameToleration(t, wanted));
}
