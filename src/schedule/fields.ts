/*
 * Which fields of an Argo manifest are scheduling fields, and the check that a policy changed no
 * other: both manifests with the scheduling fields blanked must be structurally equal. Anything not
 * listed here (the DAG, tasks, dependencies, arguments, inputs and outputs, a container's image,
 * command, args, security context and mounts, the workflow's metadata) is the experiment manager's.
 */

/** Scheduling fields of `spec` (Argo's WorkflowSpec). */
export const WORKFLOW_FIELDS = [
  "parallelism",
  "nodeSelector",
  "tolerations",
  "affinity",
  "podPriorityClassName",
  "priority",
  "schedulerName",
  "retryStrategy",
  "podMetadata",
  "podDisruptionBudget",
  "activeDeadlineSeconds",
] as const;

/** Scheduling fields of each of `spec.templates` (Argo's Template). */
export const TEMPLATE_FIELDS = [
  "parallelism",
  "nodeSelector",
  "tolerations",
  "affinity",
  "priorityClassName",
  "schedulerName",
  "retryStrategy",
  "metadata",
  "activeDeadlineSeconds",
] as const;

/** Scheduling fields of a template's `container`. */
export const CONTAINER_FIELDS = ["resources"] as const;

/** The allowed paths, as a reader sees them in an error. */
export function allowedPaths(): string[] {
  return [
    ...WORKFLOW_FIELDS.map((f) => `spec.${f}`),
    ...TEMPLATE_FIELDS.map((f) => `spec.templates[*].${f}`),
    ...CONTAINER_FIELDS.map((f) => `spec.templates[*].container.${f}`),
    ...CONTAINER_FIELDS.map((f) => `spec.templates[*].containerSet.containers[*].${f}`),
  ];
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A copy of the manifest without its scheduling fields (the input is not changed). */
export function withoutSchedulingFields(manifest: unknown): unknown {
  const copy = JSON.parse(JSON.stringify(manifest ?? null)) as unknown;
  if (!isObject(copy) || !isObject(copy.spec)) return copy;
  const spec = copy.spec;
  for (const f of WORKFLOW_FIELDS) delete spec[f];
  if (Array.isArray(spec.templates)) {
    for (const template of spec.templates) {
      if (!isObject(template)) continue;
      for (const f of TEMPLATE_FIELDS) delete template[f];
      if (isObject(template.container)) for (const f of CONTAINER_FIELDS) delete template.container[f];
      const set = template.containerSet;
      if (isObject(set) && Array.isArray(set.containers)) for (const c of set.containers) if (isObject(c)) for (const f of CONTAINER_FIELDS) delete c[f];
    }
  }
  return copy;
}

/** The first place two JSON values differ: a path (`spec.templates[name=lidar-load].container.image`) and both sides. */
export interface Difference {
  readonly path: string;
  /** undefined: absent on that side. */
  readonly before: unknown;
  readonly after: unknown;
}

/** `[3]`, or `[name=lidar-load]` for an element that has a name (templates, tasks, parameters, artifacts). */
function elementSegment(element: unknown, index: number): string {
  return isObject(element) && typeof element.name === "string" ? `[name=${element.name}]` : `[${index}]`;
}

/** The first difference of two JSON values in document order (object keys sorted), or undefined when equal. */
export function firstDifference(before: unknown, after: unknown, path = ""): Difference | undefined {
  if (Array.isArray(before) && Array.isArray(after)) {
    const n = Math.max(before.length, after.length);
    for (let i = 0; i < n; i++) {
      const at = `${path}${elementSegment(i < before.length ? before[i] : after[i], i)}`;
      if (i >= before.length) return { path: at, before: undefined, after: after[i] };
      if (i >= after.length) return { path: at, before: before[i], after: undefined };
      const d = firstDifference(before[i], after[i], at);
      if (d) return d;
    }
    return undefined;
  }
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    for (const key of keys) {
      const at = path ? `${path}.${key}` : key;
      if (!(key in after) || after[key] === undefined) {
        if (before[key] !== undefined) return { path: at, before: before[key], after: undefined };
        continue;
      }
      if (!(key in before) || before[key] === undefined) return { path: at, before: undefined, after: after[key] };
      const d = firstDifference(before[key], after[key], at);
      if (d) return d;
    }
    return undefined;
  }
  return Object.is(before, after) ? undefined : { path: path || "(the manifest)", before, after };
}

/** A value in an error message: JSON, shortened. */
export function shown(value: unknown): string {
  if (value === undefined) return "absent";
  const text = JSON.stringify(value as Json);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
