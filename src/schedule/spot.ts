import type { ArgoDocument, ArgoRetryStrategy } from "../workflow/argo";
import { Affinity, annotatePods, podTemplates, withTolerations, workflowSpec } from "./manifest";
import { SchedulingContext, SchedulingPolicy, Toleration } from "./policy";

/*
 * `spot`: pods that survive the loss of a spot node.
 *
 * A spot node can be taken back at two minutes' notice. Karpenter then drains it (the pods are
 * deleted: Argo marks the step Error, "pod deleted", workflow/controller/operator.go), or the kubelet
 * shuts down gracefully (the pod fails with "Pod was terminated in response to imminent node
 * shutdown.", Kubernetes' nodeshutdown manager), or the node simply vanishes (the pod is deleted
 * once the node is gone or its NoExecute taint runs out). Each of these is retried on another
 * node; a component's own failure (its container exits non-zero, OOMKilled) is not, since it would
 * fail again: the runtime's bad-input exit code 2 in particular.
 */

/** Karpenter's label for the market of a node; a spot-only pool may taint its nodes with it. */
const CAPACITY_TYPE = "karpenter.sh/capacity-type";

/** How often a step is retried after losing its node. */
export const NODE_LOSS_RETRIES = 3;

/**
 * True when the last attempt ended because of its node, not its component: Argo's own errors
 * (status Error: the pod was deleted, its init or wait container failed), the kubelet's graceful
 * shutdown, a node-pressure eviction. Argo's expr language; `matches` is an RE2 regular expression.
 */
export const NODE_LOSS_EXPRESSION =
  "lastRetry.status == 'Error' || lastRetry.message matches 'pod deleted|imminent node shutdown|The node was low on resource'";

export const SPOT_TOLERATIONS: readonly Toleration[] = [
  // A spot-only NodePool tainted karpenter.sh/capacity-type=spot:NoSchedule keeps other pods off it.
  { key: CAPACITY_TYPE, operator: "Equal", value: "spot", effect: "NoSchedule" },
  // A node that stops answering evicts its pods after 30 s instead of Kubernetes' default 300 s,
  // so a lost node's steps are retried elsewhere 4.5 minutes sooner.
  { key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute", tolerationSeconds: 30 },
  { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute", tolerationSeconds: 30 },
];

/** Karpenter must not consolidate away a node a step is running on (a spot interruption still can). */
export const DO_NOT_DISRUPT = { "karpenter.sh/do-not-disrupt": "true" } as const;

/** The condition under which a retry policy retries, as an expression over `lastRetry.status`. */
function policyCondition(retryPolicy: string): string | undefined {
  switch (retryPolicy) {
    case "Always":
      return "true";
    case "OnFailure":
      return "lastRetry.status == 'Failed'";
    case "OnError":
      return "lastRetry.status == 'Error'";
    default:
      return undefined; // OnTransientError: Argo's own test, not expressible
  }
}

/**
 * A template's retry strategy with node loss added. A template that already retries (the workflow's
 * `retry:`) keeps its own condition and limit for its own failures, and gets node-loss retries on top:
 * `retries` (the retries made so far) bounds the first part by the template's own limit.
 */
export function withNodeLossRetries(existing: ArgoRetryStrategy | undefined): ArgoRetryStrategy {
  if (!existing) {
    return { limit: String(NODE_LOSS_RETRIES), retryPolicy: "Always", expression: NODE_LOSS_EXPRESSION, backoff: { duration: "10s", factor: "2" } };
  }
  const condition = policyCondition(existing.retryPolicy ?? "OnFailure");
  if (condition === undefined) return existing;
  const own = existing.expression ? (condition === "true" ? `(${existing.expression})` : `${condition} && (${existing.expression})`) : condition;
  // No limit: Argo retries without end, for its own failures and so for node loss too.
  if (existing.limit === undefined) return { ...existing, retryPolicy: "Always", expression: `(${own}) || (${NODE_LOSS_EXPRESSION})` };
  const ownLimit = Number(existing.limit);
  return {
    ...existing,
    limit: String(Math.max(ownLimit, NODE_LOSS_RETRIES)),
    retryPolicy: "Always",
    expression: `(asInt(retries) < ${ownLimit} && ${own}) || (${NODE_LOSS_EXPRESSION})`,
  };
}

/** Prefer spot nodes where the pool offers both markets (Karpenter tries a preference first). */
function preferSpot(affinity: Affinity | undefined): Affinity {
  const nodeAffinity = (affinity?.nodeAffinity ?? {}) as Record<string, unknown>;
  const preferred = (nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution ?? []) as unknown[];
  return {
    ...affinity,
    nodeAffinity: {
      ...nodeAffinity,
      preferredDuringSchedulingIgnoredDuringExecution: [...preferred, { weight: 100, preference: { matchExpressions: [{ key: CAPACITY_TYPE, operator: "In", values: ["spot"] }] } }],
    },
  };
}

export const spotPolicy: SchedulingPolicy = {
  name: "spot",
  description: "spot tolerations, karpenter.sh/do-not-disrupt on every pod, and retries when a step loses its node (node deleted, imminent node shutdown, pod deleted), never when its component fails",
  apply(manifest: ArgoDocument, context: SchedulingContext): ArgoDocument {
    const spec = workflowSpec(manifest);
    spec.tolerations = withTolerations(spec.tolerations, SPOT_TOLERATIONS);
    // Where the cluster pins the market (its nodeSelector says on-demand or spot) a preference would
    // only contradict or repeat it.
    if (!(CAPACITY_TYPE in context.cluster.nodeSelector)) spec.affinity = preferSpot(spec.affinity);
    annotatePods(manifest, DO_NOT_DISRUPT);
    for (const template of podTemplates(manifest)) {
      template.retryStrategy = withNodeLossRetries(template.retryStrategy);
      // A template with its own tolerations ignores the workflow's (Argo takes the first it finds).
      if (template.tolerations && template.tolerations.length > 0) template.tolerations = withTolerations(template.tolerations, SPOT_TOLERATIONS);
    }
    return manifest;
  },
};
