import { formatDiagnostic, DiagnosticSink } from "../diagnostics";
import { ApiUnreachableError, KubeApiError, RunFailedError, RunOutcome, RunProgress, RunRequestError, runIdentity, submitAndWatch } from "../argo/run";
import { defaultKubeconfig, kubeconfigFromFile, kubeconfigFromStack, KubeconfigSource } from "../argo/kubeconfigSource";
import { loadKubeConfig } from "../argo/kubeClient";
import { formatFailedStep } from "../argo/outcome";
import { stringifyExactJson } from "../notebook/exactJson";
import { ParamValueError, resolveParams } from "../local/params";
import { formatSeconds } from "../local/progress";
import { ArgoParameter, renderArgo } from "../workflow/argo";
import { checkBuiltinRules } from "../workflow/paramRules";
import { WorkflowGraph } from "../workflow/validate";
import { UsageError } from "./output";
import { compileOrReport } from "./validate";

/*
 * What `naaw submit WORKFLOW` does: render the workflow as an Argo Workflow, submit it to a cluster
 * that exists and watch it to its end (src/argo/run.ts, the code `pulumi up` uses too). Exit codes:
 * 0 the run succeeded (or was submitted, with --no-wait); 1 it failed; 2 bad input; 3 the cluster
 * could not be reached or refused, so the run's end is unknown; 130 interrupted (the run goes on).
 * Its options are ./submit.ts, loaded at every start; this module, with the Kubernetes client, is
 * loaded only when the verb runs.
 */

export interface SubmitCliOptions {
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly namespace?: string;
  readonly stack?: string;
  readonly set: string[];
  readonly registry: string;
  readonly serviceAccount?: string;
  readonly wait: boolean;
  readonly rerun?: boolean;
  readonly notebooks?: string;
  readonly pollInterval: number;
  readonly apiTimeout: number;
  readonly perTile?: boolean;
  readonly tileBatches: number;
}

const EXIT_FAILED = 1;
const EXIT_BAD_INPUT = 2;
const EXIT_CLUSTER = 3;
const EXIT_INTERRUPTED = 130;

function kubeconfigSource(options: SubmitCliOptions): KubeconfigSource {
  if (options.stack !== undefined && options.kubeconfig !== undefined) {
    throw new RunRequestError("--stack and --kubeconfig both name a kubeconfig: give one of them");
  }
  if (options.stack !== undefined) return kubeconfigFromStack(options.stack);
  if (options.kubeconfig !== undefined) return kubeconfigFromFile(options.kubeconfig, options.context);
  return defaultKubeconfig(options.context);
}

/** A param value as Argo passes it (as the renderer writes defaults): a str verbatim, anything else as JSON. */
function argoText(value: unknown, type: string): string {
  return type === "str" && typeof value === "string" ? value : stringifyExactJson(value ?? null, 0);
}

/**
 * The `--set` values, checked as `naaw run` checks them (type, constraints, the built-ins' rules),
 * as Argo parameter text; the workflow's own defaults stay in the rendered manifest.
 */
function argoParameters(graph: WorkflowGraph, settings: readonly string[], workflow: string): Record<string, string> {
  let values: Record<string, unknown>;
  try {
    values = resolveParams(graph.params, settings, workflow);
  } catch (error) {
    if (!(error instanceof ParamValueError)) throw error;
    throw new UsageError(error.at ? formatDiagnostic({ severity: "error", file: workflow, line: error.at.line, column: error.at.column, message: error.message }) : error.message, EXIT_BAD_INPUT);
  }
  const given = new Set(settings.map((s) => s.slice(0, s.indexOf("="))));
  const sink = new DiagnosticSink(workflow);
  checkBuiltinRules(graph.steps, graph.params, { value: (name) => values[name], fromCommandLine: new Map([...given].map((n) => [n, "--set"])) }, sink);
  const errors = sink.diagnostics.filter((d) => d.severity === "error");
  if (errors.length) throw new UsageError(errors.map(formatDiagnostic).join("\n"), EXIT_BAD_INPUT);
  const parameters: Record<string, string> = {};
  for (const param of graph.params) parameters[param.name] = argoText(values[param.name], param.type);
  return parameters;
}

/** Progress lines on stderr: one per phase change, failed step, retried attempt and API trouble; pod counts at most every 10 s. */
function progressPrinter(stream: NodeJS.WritableStream): { report: (p: RunProgress) => void; name: () => string | undefined } {
  let name: string | undefined;
  let lastCounts = 0;
  let lastCountText = "";
  return {
    name: () => name,
    report: (p) => {
      const counts = p.podsTotal ? ` (${p.podsDone}/${p.podsTotal} pods done)` : "";
      if (name === undefined) {
        name = p.name;
        stream.write(
          p.reused
            ? `naaw: ${p.name} in namespace ${p.namespace} is an earlier run of the same workflow and params: watching it (--rerun starts a new one)\n`
            : `naaw: submitted ${p.name} to namespace ${p.namespace}\n`,
        );
      }
      if (p.phaseChanged) stream.write(`${p.name}: ${p.phase}${counts}\n`);
      else if (counts && counts !== lastCountText && Date.now() - lastCounts >= 10_000) {
        stream.write(`${p.name}: ${p.phase}${counts}\n`);
        lastCounts = Date.now();
      }
      lastCountText = counts;
      for (const f of p.newlyRetrying) stream.write(`${p.name}: attempt failed, Argo retries it: ${formatFailedStep(f)}\n`);
      for (const f of p.newlyStuck) stream.write(`${p.name}: waiting: ${formatFailedStep(f)}\n`);
      for (const f of p.newlyFailed) stream.write(`${p.name}: failed: ${formatFailedStep(f)}\n`);
      if (p.apiProblem) stream.write(`${p.name}: ${p.apiProblem}\n`);
    },
  };
}

function duration(outcome: RunOutcome): string {
  if (!outcome.startedAt || !outcome.finishedAt) return "";
  const ms = Date.parse(outcome.finishedAt) - Date.parse(outcome.startedAt);
  return Number.isFinite(ms) && ms >= 0 ? ` in ${formatSeconds(ms / 1000)}` : "";
}

export async function submit(workflow: string, options: SubmitCliOptions): Promise<void> {
  let source: KubeconfigSource;
  let namespace: string;
  try {
    source = kubeconfigSource(options);
    // Checked before the workflow is compiled: a wrong context is found at once.
    const kc = loadKubeConfig({ kubeconfig: source.text, context: options.context, namespace: "default" });
    namespace = options.namespace ?? source.namespace ?? kc.getContextObject(kc.getCurrentContext())?.namespace ?? "default";
  } catch (error) {
    if (error instanceof RunRequestError) throw new UsageError(error.message, EXIT_BAD_INPUT);
    throw error;
  }
  const { graph } = await compileOrReport(workflow, options.notebooks);
  if (!graph) {
    process.exitCode = EXIT_BAD_INPUT;
    return;
  }
  const parameters = argoParameters(graph, options.set, workflow);
  const rendering = renderArgo(graph, {
    registry: options.registry,
    ...(options.serviceAccount ? { serviceAccountName: options.serviceAccount } : {}),
    ...(options.perTile ? {} : { batching: { tileBatches: options.tileBatches } }),
  });
  if (rendering.problems.length > 0) throw new UsageError(`cannot render ${workflow} for Argo:\n${rendering.problems.join("\n")}`, EXIT_BAD_INPUT);
  const document = structuredClone(rendering.document);
  const declared = ((document.spec.arguments as { parameters?: ArgoParameter[] } | undefined)?.parameters ?? []) as ArgoParameter[];
  for (const p of declared) if (p.name in parameters) p.value = parameters[p.name];
  // The identity covers the whole manifest (images carry content hashes) and the params' values.
  const identity = runIdentity(rendering.document, parameters);

  const printer = progressPrinter(process.stderr);
  const onSigint = () => {
    const name = printer.name();
    process.stderr.write(
      name
        ? `\nnaaw: stopped watching ${name}; the run goes on on the cluster: \`kubectl -n ${namespace} get workflow ${name} -w\` or \`argo -n ${namespace} watch ${name}\`; stop it with \`argo -n ${namespace} stop ${name}\`\n`
        : `\nnaaw: interrupted before a run was seen; \`kubectl -n ${namespace} get workflows -l naaw.dev/run-identity=${identity}\` lists one if it was made\n`,
    );
    process.exit(EXIT_INTERRUPTED);
  };
  process.once("SIGINT", onSigint);
  try {
    const outcome = await submitAndWatch({
      kubeconfig: source.text,
      ...(options.context !== undefined ? { context: options.context } : {}),
      namespace,
      workflow: document as unknown as Record<string, unknown>,
      identity,
      wait: options.wait,
      reuse: !options.rerun,
      onProgress: printer.report,
      pollIntervalMs: options.pollInterval * 1000,
      apiTimeoutMs: options.apiTimeout * 1000,
    });
    if (!options.wait) {
      if (outcome.phase === "Failed" || outcome.phase === "Error") {
        // An earlier run with the same identity, already failed: not a success, even without waiting.
        throw new RunFailedError(outcome, { identity, nodesOffloaded: false });
      }
      process.stdout.write(
        `${outcome.name}: ${outcome.reused ? "already there" : "submitted"} (${outcome.phase}); watch it with \`argo -n ${namespace} watch ${outcome.name}\` or \`kubectl -n ${namespace} get workflow ${outcome.name} -w\`\n`,
      );
      return;
    }
    const out = parameters.out !== undefined ? `; results under key '${parameters.out}' of the cluster's artifact repository` : "";
    process.stdout.write(`${outcome.name}: ${outcome.phase}${duration(outcome)}${out}\n`);
  } catch (error) {
    if (error instanceof RunFailedError) throw new UsageError(error.message, EXIT_FAILED);
    if (error instanceof RunRequestError) throw new UsageError(error.message, EXIT_BAD_INPUT);
    if (error instanceof ApiUnreachableError || error instanceof KubeApiError) throw new UsageError(error.message, EXIT_CLUSTER);
    throw error;
  } finally {
    process.removeListener("SIGINT", onSigint);
  }
}

