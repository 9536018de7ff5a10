import { gunzipSync } from "zlib";
import { compareText } from "../textOrder";

/*
 * Reading an Argo Workflow's status (argoproj.io/v1alpha1, as the controller writes it): its phase,
 * its nodes (the DAG, task groups, retries and pods), which steps failed, for which tile and why.
 *
 * Our renderings (src/workflow/argo.ts) pass every container template its step id as the input
 * parameter `naaw-step`, and every foreach group's DAG template the current element as `item`, so
 * a failed pod names its step itself, and its tile is the `item` of the nearest enclosing DAG
 * (found through `boundaryID`). For a failed container Argo sets the node's message to
 * `main: <Reason> (exit code N)`, followed by `: <termination message>` when the container wrote
 * one (workflow/controller/operator.go, inferFailedReason); the NaaW runtime writes its one-line
 * error there (runtime/python/naaw_runtime/__main__.py), so that is the component's message.
 */

export const FINISHED_PHASES: ReadonlySet<string> = new Set(["Succeeded", "Failed", "Error"]);
const FAILED_NODE_PHASES: ReadonlySet<string> = new Set(["Failed", "Error"]);
const DONE_NODE_PHASES: ReadonlySet<string> = new Set(["Succeeded", "Failed", "Error", "Skipped", "Omitted"]);

/** The input parameter carrying the step id on every container template of our renderings. */
export const STEP_PARAMETER = "naaw-step";
/** The input parameter carrying a foreach group's current element (a tile key). */
export const ITEM_PARAMETER = "item";

/** One entry of `status.nodes`, as far as we read it. */
export interface ArgoNode {
  readonly id: string;
  readonly name?: string;
  readonly displayName?: string;
  readonly type?: string;
  readonly templateName?: string;
  readonly phase?: string;
  readonly message?: string;
  readonly boundaryID?: string;
  readonly children?: readonly string[];
  readonly inputs?: { readonly parameters?: readonly { readonly name: string; readonly value?: string }[] };
  readonly startedAt?: string;
  readonly finishedAt?: string;
}

/** A step that failed: its id, the tile it ran on (inside a foreach), the component's message, Argo's node id. */
export interface FailedStep {
  readonly step: string;
  readonly tile?: string;
  readonly message: string;
  readonly node: string;
}

/**
 * Why a pending pod cannot start, as Argo copies the container's waiting reason into the node's
 * message (`ImagePullBackOff: Back-off pulling image "…"`, operator.go getPendingReason).
 */
const STUCK_REASONS = /^(ErrImagePull|ImagePullBackOff|InvalidImageName|ErrImageNeverPull|CreateContainerConfigError|CreateContainerError)\b/;
/** Reasons that no wait can mend. */
const HOPELESS_REASONS: ReadonlySet<string> = new Set(["InvalidImageName", "ErrImageNeverPull"]);

/** A pod that cannot start: its step, tile and Argo's message, and whether waiting could help. */
export interface StuckPod extends FailedStep {
  readonly reason: string;
  readonly hopeless: boolean;
}

/** What a Workflow object says about its run. */
export interface WorkflowState {
  readonly name: string;
  readonly namespace: string;
  /** Argo's phase; "Pending" also while the controller has not picked the Workflow up yet. */
  readonly phase: string;
  readonly message?: string;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  /** Pods (the units of work) finished and known so far; the total grows as foreach groups expand. */
  readonly podsDone: number;
  readonly podsTotal: number;
  /** Steps failed for good (not about to be retried). */
  readonly failed: readonly FailedStep[];
  /** Pod attempts that failed but will be retried (a retryStrategy), by node id. */
  readonly retrying: readonly FailedStep[];
  /** Pods that cannot start (an image that cannot be pulled, a missing secret): Argo waits on them, without end. */
  readonly stuck: readonly StuckPod[];
  /** The nodes are not in the object (Argo offloaded them to its database): failed steps cannot be named from here. */
  readonly nodesOffloaded: boolean;
  readonly labels: Readonly<Record<string, string>>;
  readonly creationTimestamp?: string;
}

function record(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function text(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

/**
 * The nodes of a status: `status.nodes`, or `status.compressedNodes` (base64 of gzipped JSON, which
 * Argo writes instead when the object grows too large). Undefined when neither is readable.
 */
export function statusNodes(status: Record<string, unknown>): Record<string, ArgoNode> | undefined {
  if (status.nodes !== undefined && status.nodes !== null) return record(status.nodes) as Record<string, ArgoNode>;
  const compressed = text(status.compressedNodes);
  if (compressed === undefined) return undefined;
  try {
    return record(JSON.parse(gunzipSync(Buffer.from(compressed, "base64")).toString("utf8"))) as Record<string, ArgoNode>;
  } catch {
    return undefined;
  }
}

function parameter(node: ArgoNode | undefined, name: string): string | undefined {
  const found = node?.inputs?.parameters?.find((p) => p.name === name);
  return found?.value;
}

/**
 * The component's message in a failed node's message: Argo's `main: Error (exit code 1): <text>`
 * gives `<text>`; without a termination message, Argo's own words (`Error (exit code 1)`,
 * `OOMKilled (exit code 137)`, `pod deleted`) with the container name dropped.
 */
export function componentMessage(nodeMessage: string | undefined): string {
  if (!nodeMessage) return "failed (Argo gave no message)";
  const match = /^(?:[a-z0-9-]+: )?([A-Za-z]+ \(exit code -?\d+\))(?:: ([\s\S]*))?$/.exec(nodeMessage.trim());
  if (!match) return nodeMessage.trim();
  const [, reason, terminationMessage] = match;
  return terminationMessage?.trim() ? terminationMessage.trim() : `${reason}; the container wrote no termination message, see its log`;
}

/** Generic messages Argo puts on the DAG and group nodes above a failed pod: they say nothing new. */
function isGenericParentMessage(message: string): boolean {
  return /^child '[^']*' failed$/.test(message) || /^No more retries left$/.test(message) || /^retryStrategy\.limit/.test(message);
}

function stepOf(node: ArgoNode, nodes: Record<string, ArgoNode>): FailedStep {
  let tile = parameter(node, ITEM_PARAMETER);
  const seen = new Set<string>();
  for (let boundary = node.boundaryID; tile === undefined && boundary && !seen.has(boundary); boundary = nodes[boundary]?.boundaryID) {
    seen.add(boundary);
    tile = parameter(nodes[boundary], ITEM_PARAMETER);
  }
  const step = parameter(node, STEP_PARAMETER) ?? node.displayName ?? node.templateName ?? node.name ?? node.id;
  return { step, ...(tile !== undefined ? { tile } : {}), message: componentMessage(node.message), node: node.id };
}

/**
 * Failed steps in a node map: each failed or errored Pod, except an attempt its Retry node is still
 * retrying (those are `retrying`) or an earlier attempt of a Retry node that failed (its last
 * attempt stands for it). When no pod failed (a bad `withParam`, an invalid template), the failed
 * nodes whose message says more than "child failed".
 */
export function failedSteps(nodes: Record<string, ArgoNode>): { failed: FailedStep[]; retrying: FailedStep[] } {
  const parentOf = new Map<string, string>();
  for (const node of Object.values(nodes)) for (const child of node.children ?? []) parentOf.set(child, node.id);
  const failed: FailedStep[] = [];
  const retrying: FailedStep[] = [];
  const byStart = (a: ArgoNode, b: ArgoNode) => compareText(a.startedAt ?? "", b.startedAt ?? "") || compareText(a.id, b.id);
  const pods = Object.values(nodes)
    .filter((n) => n.type === "Pod" && FAILED_NODE_PHASES.has(n.phase ?? ""))
    .sort(byStart);
  for (const pod of pods) {
    const parent = nodes[parentOf.get(pod.id) ?? ""];
    if (parent?.type === "Retry") {
      if (!FAILED_NODE_PHASES.has(parent.phase ?? "")) {
        if (parent.phase !== "Succeeded") retrying.push(stepOf(pod, nodes));
        continue;
      }
      const attempts = parent.children ?? [];
      if (attempts[attempts.length - 1] !== pod.id) continue;
    }
    failed.push(stepOf(pod, nodes));
  }
  if (failed.length === 0) {
    for (const node of Object.values(nodes).sort(byStart)) {
      if (node.type === "Pod" || !FAILED_NODE_PHASES.has(node.phase ?? "") || !node.message || isGenericParentMessage(node.message)) continue;
      failed.push(stepOf(node, nodes));
    }
  }
  return { failed, retrying };
}

/** Pending pods whose message says they cannot start. */
export function stuckPods(nodes: Record<string, ArgoNode>): StuckPod[] {
  const stuck: StuckPod[] = [];
  for (const node of Object.values(nodes)) {
    if (node.type !== "Pod" || node.phase !== "Pending" || !node.message) continue;
    const reason = STUCK_REASONS.exec(node.message)?.[1];
    if (!reason) continue;
    stuck.push({ ...stepOf(node, nodes), message: `cannot start: ${node.message.trim()}`, reason, hopeless: HOPELESS_REASONS.has(reason) });
  }
  return stuck.sort((a, b) => compareText(a.node, b.node));
}

/** The run as a Workflow object (from the API) describes it. */
export function workflowState(workflow: unknown, namespace: string): WorkflowState {
  const object = record(workflow);
  const metadata = record(object.metadata);
  const status = record(object.status);
  const nodes = statusNodes(status);
  const pods = nodes ? Object.values(nodes).filter((n) => n.type === "Pod") : [];
  const { failed, retrying } = nodes ? failedSteps(nodes) : { failed: [], retrying: [] };
  const labels = record(metadata.labels) as Record<string, string>;
  return {
    name: text(metadata.name) ?? "",
    namespace: text(metadata.namespace) ?? namespace,
    phase: text(status.phase) ?? "Pending",
    ...(text(status.message) ? { message: text(status.message) } : {}),
    ...(text(status.startedAt) ? { startedAt: text(status.startedAt) } : {}),
    ...(text(status.finishedAt) ? { finishedAt: text(status.finishedAt) } : {}),
    podsDone: pods.filter((p) => DONE_NODE_PHASES.has(p.phase ?? "")).length,
    podsTotal: pods.length,
    failed,
    retrying,
    stuck: nodes ? stuckPods(nodes) : [],
    nodesOffloaded: nodes === undefined && text(status.offloadNodeStatusVersion) !== undefined,
    labels,
    ...(text(metadata.creationTimestamp) ? { creationTimestamp: text(metadata.creationTimestamp) } : {}),
  };
}

export function isFinished(state: WorkflowState): boolean {
  return FINISHED_PHASES.has(state.phase);
}
