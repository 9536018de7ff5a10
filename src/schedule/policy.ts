import type { Calibration } from "../plan/calibration";
import type { Plan } from "../plan/plan";
import type { ArgoDocument } from "../workflow/argo";

/*
 * Scheduling policies: the distributed workflow bus's way of placing a rendered workflow's pods.
 * A policy gets the Argo manifest the experiment manager rendered and returns it with scheduling
 * fields set (parallelism, requests and limits, node selectors, tolerations, affinity, priority,
 * retry strategy, pod metadata) and nothing else changed: `applyPolicy` (./apply.ts) checks that.
 * docs/scheduling.md says how to write one.
 */

/** A Kubernetes toleration (core/v1 Toleration). */
export interface Toleration {
  readonly key?: string;
  readonly operator?: "Equal" | "Exists";
  readonly value?: string;
  readonly effect?: "NoSchedule" | "NoExecute" | "PreferNoSchedule";
  /** NoExecute only: how long a pod stays bound to a node that got the taint. */
  readonly tolerationSeconds?: number;
}

/**
 * What a workflow pod must carry to land on the capacity sized for it: the cluster's own facts
 * (components/Cluster.ts `WorkflowScheduling` has this shape). `applyPolicy` puts them on every
 * manifest before the policy runs, so no policy has to remember them, and checks that they are
 * still in force after it.
 * @example { nodeSelector: { "naaw.io/workflow": "true", "karpenter.sh/capacity-type": "spot" }, tolerations: [{ key: "naaw.io/workflow", operator: "Equal", value: "true", effect: "NoSchedule" }], capacityType: "spot" }
 */
export interface ClusterScheduling {
  readonly nodeSelector: Readonly<Record<string, string>>;
  readonly tolerations: readonly Toleration[];
  /** The market of the workflow nodes, as the plan chose. */
  readonly capacityType: "spot" | "on-demand";
}

/** Scheduling on a cluster that says nothing: no selector, no taint, on-demand (an existing cluster, a local test). */
export const NO_CLUSTER_FACTS: ClusterScheduling = { nodeSelector: {}, tolerations: [], capacityType: "on-demand" };

/** What a policy may know besides the manifest. */
export interface SchedulingContext {
  /** The planner's answer for the stack (`plan.chosen` is the chosen cluster); undefined without a plan. */
  readonly plan?: Plan;
  /** Measured CPU seconds and peak memory per step; `plan.calibration` when unset. */
  readonly calibration?: Calibration;
  readonly cluster: ClusterScheduling;
}

/**
 * A scheduling policy. `apply` gets its own deep copy of the manifest: it may change it in place and
 * return it, or return a new one. Only scheduling fields may differ in what it returns.
 */
export interface SchedulingPolicy {
  /** Short name, shown in errors and in the manifest's `naaw.dev/scheduling-policy` annotation. @example "budget" */
  readonly name: string;
  /** One sentence: what the policy sets and why. */
  readonly description: string;
  apply(manifest: ArgoDocument, context: SchedulingContext): ArgoDocument;
}

/** A policy that cannot run on this manifest or context, or a policy that changed what it may not. */
export class SchedulingPolicyError extends Error {
  override readonly name = "SchedulingPolicyError";
}
