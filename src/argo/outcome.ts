import { RUN_IDENTITY_LABEL } from "./identity";
import { FailedStep, WorkflowState } from "./status";

/** How a run ended (or stood, when not waited for). */
export interface RunOutcome {
  readonly name: string;
  readonly namespace: string;
  /** Argo's phase: Pending, Running, Succeeded, Failed or Error ("Pending" also before the controller saw it). */
  readonly phase: string;
  readonly message?: string;
  readonly failed: readonly FailedStep[];
  /** The run existed before this submit (same identity): nothing was created. */
  readonly reused: boolean;
  readonly startedAt?: string;
  readonly finishedAt?: string;
}

export function outcomeOf(state: WorkflowState, reused: boolean): RunOutcome {
  return {
    name: state.name,
    namespace: state.namespace,
    phase: state.phase,
    ...(state.message !== undefined ? { message: state.message } : {}),
    failed: state.failed,
    reused,
    ...(state.startedAt !== undefined ? { startedAt: state.startedAt } : {}),
    ...(state.finishedAt !== undefined ? { finishedAt: state.finishedAt } : {}),
  };
}

/** The failed steps listed in full; past this many, a count (a country-wide run can fail thousands of tiles at once). */
const LISTED_FAILURES = 20;

/** `step load, tile 0_1: component 'load' failed at lidar.ipynb cell 4, line 2: ValueError: ...` */
export function formatFailedStep(failure: FailedStep): string {
  return `step ${failure.step}${failure.tile !== undefined ? `, tile ${failure.tile}` : ""}: ${failure.message}`;
}

/** Where to read more: the Argo CLI and kubectl commands for this run's logs. */
export function logsHint(namespace: string, name: string): string {
  return (
    `logs: \`argo -n ${namespace} logs ${name}\` or \`kubectl -n ${namespace} logs -l workflows.argoproj.io/workflow=${name} -c main --prefix\`; ` +
    `steps and pods: \`argo -n ${namespace} get ${name}\``
  );
}

/** What the failure message needs besides the outcome. */
export interface FailureContext {
  readonly identity: string;
  readonly nodesOffloaded: boolean;
  /** Set when the run did not fail but its pods cannot start: how long they were given. */
  readonly cannotStartFor?: string;
}

function failureMessage(outcome: RunOutcome, context: FailureContext): string {
  const { name, namespace } = outcome;
  const still = outcome.phase !== "Failed" && outcome.phase !== "Error";
  const head = context.cannotStartFor
    ? `workflow ${name} (namespace ${namespace}): pods cannot start (an image that cannot be pulled: check the images' registry prefix and that they were pushed; or a missing secret); ` +
      `Argo would wait on them for ever, this watch gave them ${context.cannotStartFor} (stop the run: \`argo -n ${namespace} stop ${name}\`)`
    : still
    ? `workflow ${name} (namespace ${namespace}): a step failed; the workflow cannot succeed and is finishing the pods already running (stop it now: \`argo -n ${namespace} stop ${name}\`)`
    : `workflow ${name} (namespace ${namespace}) ended ${outcome.phase}${outcome.message ? `: ${outcome.message}` : ""}`;
  const lines = [head];
  if (outcome.reused) {
    lines.push(
      `this is an earlier run of the same workflow and parameters (label ${RUN_IDENTITY_LABEL}=${context.identity}); to run it again, delete it: \`kubectl -n ${namespace} delete workflow ${name}\``,
    );
  }
  for (const failure of outcome.failed.slice(0, LISTED_FAILURES)) lines.push(`  ${formatFailedStep(failure)}`);
  if (outcome.failed.length > LISTED_FAILURES) lines.push(`  ... and ${outcome.failed.length - LISTED_FAILURES} more failed steps (\`argo -n ${namespace} get ${name}\` lists them)`);
  if (outcome.failed.length === 0 && context.nodesOffloaded) {
    lines.push(`  Argo keeps this workflow's nodes in its database (node status offloading), so the failed steps are not in the object: \`argo -n ${namespace} get ${name}\` lists them`);
  }
  lines.push(logsHint(namespace, name));
  return lines.join("\n");
}

/**
 * A run that failed: one line per failed step (`step S, tile T: message`) and how to see its logs.
 * `outcome` has the whole story for a caller that formats it itself.
 */
export class RunFailedError extends Error {
  constructor(
    readonly outcome: RunOutcome,
    context: FailureContext,
  ) {
    super(failureMessage(outcome, context));
    this.name = "RunFailedError";
  }
}
