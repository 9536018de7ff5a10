import type { ArgoDocument } from "../workflow/argo";
import { allowedPaths, firstDifference, shown, withoutSchedulingFields } from "./fields";
import { boundariesByTemplate, hasToleration, podTemplates, SchedulableTemplate, withTolerations, workflowSpec } from "./manifest";
import { ClusterScheduling, SchedulingContext, SchedulingPolicy, SchedulingPolicyError, Toleration } from "./policy";

/** The workflow annotation that names the policy that placed its pods. */
export const POLICY_ANNOTATION = "naaw.dev/scheduling-policy";

/** A Kubernetes quantity (apimachinery's resource.Quantity grammar): `500m`, `2Gi`, `1.5`, `1e3`. */
const QUANTITY = /^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[KMGTPE]i|[numkMGTPE]|[eE][+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))?$/;

/**
 * The cluster's facts on a manifest (in place): its nodeSelector merged into the workflow's (and into
 * any template's own, which would otherwise replace the workflow's: Argo takes a template's
 * nodeSelector, else its DAG's, else the workflow's), its tolerations added the same way. With no
 * facts (an existing cluster, no stack) nothing changes.
 */
export function applyClusterFacts(manifest: ArgoDocument, cluster: ClusterScheduling): ArgoDocument {
  const selector = cluster.nodeSelector;
  const spec = workflowSpec(manifest);
  if (Object.keys(selector).length > 0) {
    spec.nodeSelector = { ...spec.nodeSelector, ...selector };
    for (const t of manifest.spec.templates as SchedulableTemplate[]) {
      if (t.nodeSelector && Object.keys(t.nodeSelector).length > 0) t.nodeSelector = { ...t.nodeSelector, ...selector };
    }
  }
  if (cluster.tolerations.length > 0) {
    spec.tolerations = withTolerations(spec.tolerations, cluster.tolerations);
    for (const t of manifest.spec.templates as SchedulableTemplate[]) {
      if (t.tolerations && t.tolerations.length > 0) t.tolerations = withTolerations(t.tolerations, cluster.tolerations);
    }
  }
  return manifest;
}

function describeToleration(t: Toleration): string {
  return `${t.key ?? "*"}${t.operator === "Exists" ? "" : `=${t.value ?? ""}`}:${t.effect ?? "*"}`;
}

/**
 * Where a pod template's pods get a field from, as Argo decides it (workflow/controller/workflowpod.go
 * addSchedulingConstraints): the template's own, else its DAG's, else the workflow's. A template run
 * from two DAGs has one source per DAG.
 */
function effectiveSources<T>(own: T | undefined, boundaries: readonly SchedulableTemplate[], pick: (t: SchedulableTemplate) => T | undefined, workflow: T | undefined, present: (v: T | undefined) => boolean): (T | undefined)[] {
  if (present(own)) return [own];
  if (boundaries.length === 0) return [workflow];
  return boundaries.map((b) => (present(pick(b)) ? pick(b) : workflow));
}

/** Problems of the cluster's facts after a policy: a pod template that lost a selector entry or a toleration. */
function clusterFactProblems(manifest: ArgoDocument, cluster: ClusterScheduling): string[] {
  const problems: string[] = [];
  const spec = workflowSpec(manifest);
  const boundaries = boundariesByTemplate(manifest);
  const nonEmptyMap = (v: Record<string, string> | undefined) => v !== undefined && Object.keys(v).length > 0;
  const nonEmptyList = (v: Toleration[] | undefined) => v !== undefined && v.length > 0;
  for (const t of podTemplates(manifest)) {
    const dags = boundaries.get(t.name) ?? [];
    for (const [key, value] of Object.entries(cluster.nodeSelector)) {
      const sources = effectiveSources(t.nodeSelector, dags, (b) => b.nodeSelector, spec.nodeSelector, nonEmptyMap);
      if (sources.some((s) => s?.[key] !== value)) {
        problems.push(`template '${t.name}' lost the cluster's nodeSelector ${key}=${value}, so its pods would not land on the nodes sized for them; keep the cluster's entries when setting a nodeSelector`);
      }
    }
    for (const wanted of cluster.tolerations) {
      const sources = effectiveSources(t.tolerations, dags, (b) => b.tolerations, spec.tolerations, nonEmptyList);
      if (sources.some((s) => !hasToleration(s, wanted))) {
        problems.push(`template '${t.name}' lost the cluster's toleration ${describeToleration(wanted)}, so its pods could not run on the workflow nodes; add to the tolerations, do not replace them`);
      }
    }
  }
  return problems;
}

/** Values of the scheduling fields that Argo or Kubernetes would refuse at submission. */
function valueProblems(manifest: ArgoDocument): string[] {
  const problems: string[] = [];
  const spec = workflowSpec(manifest);
  const positiveInteger = (v: unknown) => typeof v === "number" && Number.isInteger(v) && v >= 1;
  if (spec.parallelism !== undefined && !positiveInteger(spec.parallelism)) problems.push(`spec.parallelism is ${shown(spec.parallelism)}; it must be a whole number of pods, at least 1`);
  for (const t of manifest.spec.templates as SchedulableTemplate[]) {
    if (t.parallelism !== undefined && !positiveInteger(t.parallelism)) problems.push(`template '${t.name}': parallelism is ${shown(t.parallelism)}; it must be a whole number of pods, at least 1`);
    // The template's container, and each container of a containerSet (a tile batch pod).
    const containers = [...(t.container ? [{ at: "", resources: t.container.resources }] : []), ...(t.containerSet?.containers ?? []).map((c) => ({ at: ` container '${c.name}'`, resources: c.resources }))];
    for (const { at, resources } of containers) {
      for (const kind of ["requests", "limits"] as const) {
        for (const [name, quantity] of Object.entries(resources?.[kind] ?? {})) {
          if (typeof quantity !== "string" || !QUANTITY.test(quantity)) {
            problems.push(`template '${t.name}'${at}: resources.${kind}.${name} is ${shown(quantity)}; it must be a Kubernetes quantity as a string, like "500m" or "2Gi"`);
          }
        }
      }
    }
    const limit = t.retryStrategy?.limit;
    if (limit !== undefined && !(typeof limit === "string" && /^[0-9]+$/.test(limit)) && !(typeof limit === "number" && Number.isInteger(limit) && limit >= 0)) {
      problems.push(`template '${t.name}': retryStrategy.limit is ${shown(limit)}; it must be a whole number of retries ("3")`);
    }
  }
  return problems;
}

function isManifest(value: unknown): value is ArgoDocument {
  const v = value as ArgoDocument | null;
  return typeof v === "object" && v !== null && typeof v.spec === "object" && v.spec !== null && Array.isArray(v.spec.templates);
}

/**
 * Runs a policy on a manifest and checks what it did. The policy gets a deep copy with the cluster's
 * facts already applied (so `manifest` is never changed); the answer is refused, naming the policy
 * and the first field, if it changed anything that is not a scheduling field (src/schedule/fields.ts),
 * gave a value Argo would refuse, or dropped the cluster's nodeSelector or tolerations from a pod.
 * The result carries the policy's name in the workflow annotation `naaw.dev/scheduling-policy`
 * (after the names of policies applied before it).
 */
export function applyPolicy(policy: SchedulingPolicy, manifest: ArgoDocument, context: SchedulingContext): ArgoDocument {
  const name = policy.name;
  const placed = applyClusterFacts(structuredClone(manifest), context.cluster);
  let result: unknown;
  try {
    result = policy.apply(structuredClone(placed), context);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new SchedulingPolicyError(message.startsWith(`scheduling policy '${name}'`) ? message : `scheduling policy '${name}': ${message}`);
  }
  if (!isManifest(result)) {
    throw new SchedulingPolicyError(`scheduling policy '${name}' returned ${result === undefined ? "nothing" : shown(result)} instead of the manifest; apply() must return the Argo manifest it was given, changed`);
  }
  const difference = firstDifference(withoutSchedulingFields(placed), withoutSchedulingFields(result));
  if (difference) {
    throw new SchedulingPolicyError(
      `scheduling policy '${name}' changed ${difference.path} (${shown(difference.before)} -> ${shown(difference.after)}), which is not a scheduling field. ` +
        `A policy may change only ${allowedPaths().join(", ")}`,
    );
  }
  const problems = [...valueProblems(result), ...clusterFactProblems(result, context.cluster)];
  if (problems.length > 0) throw new SchedulingPolicyError(`scheduling policy '${name}':\n  ${problems.join("\n  ")}`);
  // Policies applied one after another are all named, in order (`budget,spot`).
  const earlier = result.metadata.annotations?.[POLICY_ANNOTATION];
  const names = earlier ? `${earlier},${name}` : name;
  result.metadata = { ...result.metadata, annotations: { ...result.metadata.annotations, [POLICY_ANNOTATION]: names } };
  return result;
}
