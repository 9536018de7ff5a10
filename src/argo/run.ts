import { randomBytes } from "crypto";
import { KubeApiError, RunRequestError } from "./errors";
import { checkIdentity, RUN_IDENTITY_LABEL, SUBMISSION_LABEL } from "./identity";
import { RunTarget, workflowsClient, WorkflowsClient } from "./kubeClient";
import { Clock, realClock, secondsText, withRetry } from "./retry";
import { outcomeOf, RunFailedError, RunOutcome } from "./outcome";
import { FailedStep, isFinished, WorkflowState, workflowState } from "./status";
import { compareText } from "../textOrder";

/*
 * Submitting an Argo Workflow and watching it to its end through the Kubernetes API: what
 * `pulumi up` (components/ArgoWorkflow.ts, through a dynamic provider) and `naaw submit` share.
 *
 * Why not `pulumi.com/waitFor`: it only waits for a condition and never sees a failure (it waits out
 * its timeout, pulumi-kubernetes issue 4428). Here a step that fails for good ends the watch at the
 * next poll (a few seconds), with the step, the tile and the component's message.
 *
 * Idempotent: the Workflow carries its run identity as a label; when one with that identity exists
 * in the namespace, nothing is created and that run is watched (or its end reported). A create whose
 * answer was lost is retried only after looking for the Workflow it may have made.
 */

export { RunFailedError } from "./outcome";
export type { RunOutcome } from "./outcome";
export type { FailedStep } from "./status";
export type { RunTarget } from "./kubeClient";
export type { Clock } from "./retry";
export { ApiUnreachableError, KubeApiError, RunRequestError } from "./errors";
export { runIdentity, workflowFromTemplate, RUN_IDENTITY_LABEL } from "./identity";

/** What a watch reports as it goes: phase changes, pods done of known, steps newly failed. */
export interface RunProgress {
  readonly name: string;
  readonly namespace: string;
  readonly phase: string;
  /** True on the first report and whenever the phase changed since the last one. */
  readonly phaseChanged: boolean;
  readonly podsDone: number;
  readonly podsTotal: number;
  /** Steps failed for good since the last report. */
  readonly newlyFailed: readonly FailedStep[];
  /** Pod attempts failed since the last report that Argo will retry. */
  readonly newlyRetrying: readonly FailedStep[];
  /** Pods newly seen unable to start (an image that cannot be pulled): Argo waits on them. */
  readonly newlyStuck: readonly FailedStep[];
  /** The run existed before this submit (same identity). */
  readonly reused: boolean;
  /** Set when an API call just failed and will be retried: what went wrong. */
  readonly apiProblem?: string;
}

export interface RunRequest extends RunTarget {
  /** The Workflow manifest to create (with metadata.generateName or name), e.g. from workflowFromTemplate. */
  readonly workflow: Record<string, unknown>;
  /** The run identity (runIdentity()), put on the Workflow as the label naaw.dev/run-identity. */
  readonly identity: string;
  /** False: return right after creating (or finding) the Workflow, with its phase as first seen. */
  readonly wait: boolean;
  readonly onProgress?: (progress: RunProgress) => void;
  /** Time between two looks at the Workflow. @default 5000 */
  readonly pollIntervalMs?: number;
  /** How long the API may stay unreachable (or answer 5xx/429) before the watch gives up. @default 300000 */
  readonly apiTimeoutMs?: number;
  /** How long one API request may go unanswered. @default the smaller of 30000 and apiTimeoutMs */
  readonly requestTimeoutMs?: number;
  /**
   * End the watch as soon as a step has failed for good, even while other pods still run (Argo's DAG
   * can no longer succeed; our renderings never continue on failure). @default true
   */
  readonly failFast?: boolean;
  /**
   * How long a pod may stay unable to start (ImagePullBackOff, a missing secret) before the watch
   * ends as failed: Argo itself waits on such a pod for ever. @default 300000
   */
  readonly stuckTimeoutMs?: number;
  /** False: always create a new run, even when one with this identity exists. @default true */
  readonly reuse?: boolean;
  /** For tests: the clock the polls and backoff use. */
  readonly clock?: Clock;
}

export const DEFAULT_POLL_INTERVAL_MS = 5_000;
export const DEFAULT_API_TIMEOUT_MS = 300_000;
export const DEFAULT_STUCK_TIMEOUT_MS = 300_000;
const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
/** A poll interval past this could not report a failure within a minute. */
const MAX_POLL_INTERVAL_MS = 60_000;

function checkRequest(req: RunRequest): void {
  checkIdentity(req.identity);
  const w = req.workflow as { apiVersion?: unknown; kind?: unknown; metadata?: { name?: unknown; generateName?: unknown } };
  if (w?.apiVersion !== "argoproj.io/v1alpha1" || w?.kind !== "Workflow") {
    throw new RunRequestError(`the manifest to submit must be an argoproj.io/v1alpha1 Workflow, got ${String(w?.apiVersion)} ${String(w?.kind)}`);
  }
  if (typeof w.metadata?.generateName !== "string" && typeof w.metadata?.name !== "string") {
    throw new RunRequestError("the Workflow to submit needs metadata.generateName (or metadata.name)");
  }
  for (const [key, value] of [
    ["pollIntervalMs", req.pollIntervalMs],
    ["apiTimeoutMs", req.apiTimeoutMs],
    ["requestTimeoutMs", req.requestTimeoutMs],
    ["stuckTimeoutMs", req.stuckTimeoutMs],
  ] as const) {
    if (value !== undefined && !(Number.isFinite(value) && value > 0)) throw new RunRequestError(`${key} must be a positive number of milliseconds, got ${value}`);
  }
  if ((req.pollIntervalMs ?? 0) > MAX_POLL_INTERVAL_MS) {
    throw new RunRequestError(`pollIntervalMs ${req.pollIntervalMs} is more than a minute: a failed step would be reported late`);
  }
}

/** The manifest with the identity and submission labels added, in the target namespace (a copy). */
function labelled(workflow: Record<string, unknown>, labels: Record<string, string>, namespace: string): Record<string, unknown> {
  const copy = structuredClone(workflow) as { metadata?: { namespace?: string; labels?: Record<string, string> } } & Record<string, unknown>;
  copy.metadata = { ...(copy.metadata ?? {}), namespace, labels: { ...(copy.metadata?.labels ?? {}), ...labels } };
  return copy;
}

/** The newest of the Workflows a label selector finds (a --rerun may have made several with one identity). */
async function newest(client: WorkflowsClient, selector: string): Promise<Record<string, unknown> | undefined> {
  const items = await client.list(selector);
  const created = (w: Record<string, unknown>) => String((w.metadata as { creationTimestamp?: unknown } | undefined)?.creationTimestamp ?? "");
  return items.sort((a, b) => compareText(created(b), created(a)))[0];
}

function watchHint(namespace: string, name: string): string {
  return `watch it with \`kubectl -n ${namespace} get workflow ${name} -w\` or \`argo -n ${namespace} watch ${name}\``;
}

/** Says what a 404 on create or list means: no such namespace, or no Argo on the cluster. */
function explainMissingApi(error: unknown, client: WorkflowsClient): never {
  if (error instanceof KubeApiError && error.status === 404) {
    throw new KubeApiError(
      `${error.message}; namespace '${client.namespace}' does not exist on the cluster at ${client.server}, or Argo Workflows is not installed there (no workflows.argoproj.io resource: \`kubectl get crd workflows.argoproj.io\`)`,
      false,
      404,
    );
  }
  throw error;
}

/**
 * Creates the Workflow (or finds the run with the same identity) and, with `wait`, watches it until it
 * ends. Resolves with the outcome of a Succeeded run; rejects with RunFailedError when it ends
 * Failed or Error (or, with failFast, as soon as a step failed for good), with ApiUnreachableError
 * when the API stays away longer than apiTimeoutMs, with KubeApiError when the API refuses
 * (credentials, permissions, a Workflow deleted while watched), with RunRequestError on bad input.
 */
export async function submitAndWatch(req: RunRequest): Promise<RunOutcome> {
  checkRequest(req);
  const clock = req.clock ?? realClock;
  const apiTimeoutMs = req.apiTimeoutMs ?? DEFAULT_API_TIMEOUT_MS;
  const pollIntervalMs = req.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
  const client = workflowsClient(req, { requestTimeoutMs: req.requestTimeoutMs ?? Math.min(DEFAULT_REQUEST_TIMEOUT_MS, apiTimeoutMs) });
  const namespace = client.namespace;
  const nonce = randomBytes(8).toString("hex");
  const manifest = labelled(req.workflow, { [RUN_IDENTITY_LABEL]: req.identity, [SUBMISSION_LABEL]: nonce }, namespace);

  let name: string | undefined;
  let reused = false;
  let last: WorkflowState | undefined;
  const seenFailed = new Set<string>();
  const seenRetrying = new Set<string>();
  const seenStuck = new Set<string>();
  const report = (state: WorkflowState, apiProblem?: string) => {
    if (!req.onProgress) return;
    const newlyFailed = state.failed.filter((f) => !seenFailed.has(f.node));
    const newlyRetrying = state.retrying.filter((f) => !seenRetrying.has(f.node));
    const newlyStuck = state.stuck.filter((f) => !seenStuck.has(`${f.node}:${f.reason}`));
    const phaseChanged = last === undefined || last.phase !== state.phase;
    const countsChanged = last === undefined || last.podsDone !== state.podsDone || last.podsTotal !== state.podsTotal;
    newlyFailed.forEach((f) => seenFailed.add(f.node));
    newlyRetrying.forEach((f) => seenRetrying.add(f.node));
    newlyStuck.forEach((f) => seenStuck.add(`${f.node}:${f.reason}`));
    if (phaseChanged || countsChanged || newlyFailed.length || newlyRetrying.length || newlyStuck.length || apiProblem) {
      const strip = ({ step, tile, message, node }: FailedStep): FailedStep => ({ step, ...(tile !== undefined ? { tile } : {}), message, node });
      req.onProgress({
        name: state.name,
        namespace,
        phase: state.phase,
        phaseChanged,
        podsDone: state.podsDone,
        podsTotal: state.podsTotal,
        newlyFailed,
        newlyRetrying,
        newlyStuck: newlyStuck.map(strip),
        reused,
        ...(apiProblem ? { apiProblem } : {}),
      });
    }
  };
  const policy = {
    clock,
    timeoutMs: apiTimeoutMs,
    onRetry: (error: KubeApiError, delayMs: number) => {
      if (last) report(last, `${error.message}; trying again in ${secondsText(delayMs)}`);
    },
    describeGivingUp: (error: KubeApiError, forMs: number) =>
      name
        ? `lost the Kubernetes API at ${client.server} for ${secondsText(forMs)} while watching workflow ${name} in namespace ${namespace} (last: ${error.message}); ` +
          `the run goes on on the cluster: ${watchHint(namespace, name)}`
        : `could not reach the Kubernetes API at ${client.server} for ${secondsText(forMs)} to submit the workflow (last: ${error.message}); ` +
          `if a run was made all the same, \`kubectl -n ${namespace} get workflows -l ${RUN_IDENTITY_LABEL}=${req.identity}\` lists it`,
  };

  let object: Record<string, unknown> | undefined;
  if (req.reuse !== false) {
    object = await withRetry(() => newest(client, `${RUN_IDENTITY_LABEL}=${req.identity}`), policy).catch((e) => explainMissingApi(e, client));
    reused = object !== undefined;
  }
  if (!object) {
    let tried = false;
    object = await withRetry(async () => {
      // A create whose answer was lost may have made the Workflow: look for it before making another.
      if (tried) {
        const made = await newest(client, `${SUBMISSION_LABEL}=${nonce}`);
        if (made) return made;
      }
      tried = true;
      try {
        return await client.create(manifest);
      } catch (error) {
        // generateName rarely collides; the API server then answers 409 and another try is right.
        if (error instanceof KubeApiError && error.status === 409 && !(manifest.metadata as { name?: string }).name) throw new KubeApiError(error.message, true, 409);
        throw error;
      }
    }, policy).catch((e) => explainMissingApi(e, client));
  }
  let state = workflowState(object, namespace);
  name = state.name;
  if (!name) throw new KubeApiError(`the API server created a Workflow but returned no name (namespace ${namespace})`, false);
  report(state);
  last = state;

  const failFast = req.failFast !== false;
  const stuckTimeoutMs = req.stuckTimeoutMs ?? DEFAULT_STUCK_TIMEOUT_MS;
  // Since when each pod that cannot start has been seen so (by node id).
  const stuckSince = new Map<string, number>();
  const hopelessNow = (): FailedStep[] => {
    const now = clock.now();
    for (const id of [...stuckSince.keys()]) if (!state.stuck.some((s) => s.node === id)) stuckSince.delete(id);
    for (const s of state.stuck) if (!stuckSince.has(s.node)) stuckSince.set(s.node, now);
    return state.stuck
      .filter((s) => s.hopeless || now - stuckSince.get(s.node)! >= stuckTimeoutMs)
      .map(({ step, tile, message, node }) => ({ step, ...(tile !== undefined ? { tile } : {}), message, node }));
  };
  let cannotStart = hopelessNow();
  if (req.wait) {
    while (!isFinished(state) && !(failFast && state.failed.length > 0) && cannotStart.length === 0) {
      await clock.sleep(pollIntervalMs);
      const current = name;
      object = await withRetry(() => client.get(current), policy).catch((error) => {
        if (error instanceof KubeApiError && error.status === 404) {
          throw new KubeApiError(`workflow ${current} was deleted from namespace ${namespace} while being watched (by someone, or by its TTL)`, false, 404);
        }
        // Refused mid-run (an expired token, a revoked role): the run itself is not affected.
        if (error instanceof KubeApiError) throw new KubeApiError(`${error.message}; workflow ${current} goes on on the cluster: ${watchHint(namespace, current)}`, false, error.status);
        throw error;
      });
      state = workflowState(object, namespace);
      report(state);
      last = state;
      cannotStart = hopelessNow();
    }
  }
  if (req.wait && state.failed.length === 0 && cannotStart.length > 0 && !isFinished(state)) {
    throw new RunFailedError(
      { ...outcomeOf(state, reused), failed: cannotStart },
      { identity: req.identity, nodesOffloaded: false, cannotStartFor: secondsText(stuckTimeoutMs) },
    );
  }
  const outcome = outcomeOf(state, reused);
  if (req.wait && (state.phase === "Failed" || state.phase === "Error" || (failFast && state.failed.length > 0))) {
    throw new RunFailedError(outcome, { identity: req.identity, nodesOffloaded: state.nodesOffloaded });
  }
  return outcome;
}

/** Deletes a run's Workflow (its pods go with it); a Workflow already gone is fine. */
export async function deleteRun(target: RunTarget, name: string, options: { readonly apiTimeoutMs?: number; readonly clock?: Clock } = {}): Promise<void> {
  const apiTimeoutMs = options.apiTimeoutMs ?? DEFAULT_API_TIMEOUT_MS;
  const client = workflowsClient(target, { requestTimeoutMs: Math.min(DEFAULT_REQUEST_TIMEOUT_MS, apiTimeoutMs) });
  await withRetry(() => client.delete(name), {
    clock: options.clock ?? realClock,
    timeoutMs: apiTimeoutMs,
    describeGivingUp: (error, forMs) =>
      `could not reach the Kubernetes API at ${client.server} for ${secondsText(forMs)} to delete workflow ${name} in namespace ${client.namespace} (last: ${error.message}); ` +
      `delete it later with \`kubectl -n ${client.namespace} delete workflow ${name}\``,
  });
}
