import { RunProgress, submitAndWatch, workflowFromTemplate } from "../argo/run";
import { formatFailedStep } from "../argo/outcome";

/*
 * The run of a WorkflowTemplate as a resource: what the Pulumi dynamic provider of
 * components/ArgoWorkflow.ts does (through components/projectProvider.ts, which loads this module in
 * the engine's plain Node host). No Pulumi here: plain inputs in, plain outputs out.
 *
 * Identity: the run is named by the hash of the template and the params (`identity`). Pulumi calls
 * `create` only for a new identity, so `pulumi up` with nothing changed starts nothing, and a changed
 * notebook, workflow or param replaces the run with one new one. The Workflow also carries the
 * identity as a label, so a run that already exists on the cluster (an update that was interrupted,
 * or one that failed: it is not resubmitted unchanged) is watched or reported, never started twice.
 */

export interface ArgoRunInputs {
  /** Kubeconfig YAML (a secret in Pulumi's state). */
  readonly kubeconfig: string;
  readonly context?: string;
  readonly namespace: string;
  /** The WorkflowTemplate the run is made from. */
  readonly templateName: string;
  /** The workflow's params, as Argo's string parameters. */
  readonly parameters: Readonly<Record<string, string>>;
  readonly identity: string;
  /** false: return once the Workflow exists (`naaw:wait: false`). */
  readonly wait: boolean;
  /** How often the run is polled; a failure is reported within one poll. @default 5000 */
  readonly pollIntervalMs?: number;
  /** How long the API may be unreachable before the update gives up (the run goes on). @default 300000 */
  readonly apiTimeoutMs?: number;
}

export interface ArgoRunOutputs extends ArgoRunInputs {
  readonly workflowName: string;
  readonly phase: string;
  readonly message?: string;
  readonly startedAt?: string;
  readonly finishedAt?: string;
}

async function run(inputs: ArgoRunInputs): Promise<ArgoRunOutputs> {
  const outcome = await submitAndWatch({
    kubeconfig: inputs.kubeconfig,
    context: inputs.context,
    namespace: inputs.namespace,
    workflow: workflowFromTemplate(inputs.templateName, { ...inputs.parameters }, inputs.identity),
    identity: inputs.identity,
    wait: inputs.wait,
    pollIntervalMs: inputs.pollIntervalMs ?? 5000,
    apiTimeoutMs: inputs.apiTimeoutMs ?? 300_000,
    onProgress: (p) => {
      // The dynamic provider host's stderr reaches `pulumi up` as diagnostics.
      const line = progressLine(p);
      if (line) process.stderr.write(`${line}\n`);
    },
  });
  return {
    ...inputs,
    workflowName: outcome.name,
    phase: outcome.phase,
    ...(outcome.message ? { message: outcome.message } : {}),
    ...(outcome.startedAt ? { startedAt: outcome.startedAt } : {}),
    ...(outcome.finishedAt ? { finishedAt: outcome.finishedAt } : {}),
  };
}

/** One line for `pulumi up`'s diagnostics: phase changes, failed steps, API trouble; not every poll. */
function progressLine(p: RunProgress): string | undefined {
  const lines: string[] = [];
  if (p.phaseChanged) lines.push(`naaw: workflow ${p.name} ${p.phase}${p.reused ? " (started earlier, same identity)" : ""}, ${p.podsDone}/${p.podsTotal} pods done`);
  for (const f of p.newlyRetrying) lines.push(`naaw: retrying ${formatFailedStep(f)}`);
  for (const f of p.newlyFailed) lines.push(`naaw: failed ${formatFailedStep(f)}`);
  if (p.apiProblem) lines.push(`naaw: the Kubernetes API did not answer: ${p.apiProblem}`);
  return lines.length > 0 ? lines.join("\n") : undefined;
}

/** The keys whose change means a different run. */
const RUN_KEYS = ["identity", "namespace", "templateName"] as const;

export const argoRunResource = {
  async create(inputs: ArgoRunInputs): Promise<{ id: string; outs: ArgoRunOutputs }> {
    const outs = await run(inputs);
    return { id: outs.workflowName, outs };
  },

  async diff(_id: string, olds: ArgoRunOutputs, news: ArgoRunInputs): Promise<{ changes: boolean; replaces: string[]; deleteBeforeReplace: boolean }> {
    const replaces = RUN_KEYS.filter((k) => olds[k] !== news[k]);
    return { changes: replaces.length > 0, replaces: [...replaces], deleteBeforeReplace: false };
  },

  /**
   * Nothing: the Workflow object goes with its TTL (the bus's workflow defaults) or with the cluster,
   * and its results are in the artifact store, which outlives it.
   */
  async delete(): Promise<void> {},
};
