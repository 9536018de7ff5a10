import * as path from "path";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { runIdentity } from "../src/argo/identity";
import { argoUiCommand } from "../src/bus/argoChart";
import type { ArgoRunInputs } from "../src/bus/argoRunResource";
import { applyPolicy } from "../src/schedule/apply";
import type { SchedulingContext, SchedulingPolicy } from "../src/schedule/policy";
import { ArgoDocument, batchingForParallelism, renderArgo } from "../src/workflow/argo";
import type { WorkflowGraph } from "../src/workflow/validate";
import type { Cluster } from "./Cluster";
import { projectProvider } from "./projectProvider";
import type { WorkflowBus } from "./WorkflowBus";

export interface ArgoWorkflowArgs {
  /** The typed DAG (`compileWorkflow(...).graph`). */
  readonly graph: WorkflowGraph;
  readonly cluster: Cluster;
  readonly bus: WorkflowBus;
  /** Component name → the image reference the catalog built and pushed. */
  readonly images: pulumi.Input<Record<string, string>>;
  /** The built-in steps' image reference. */
  readonly builtinsImage: pulumi.Input<string>;
  /** The run's Argo parameters, every param of the workflow (`argoRunParameters`). */
  readonly parameters: Readonly<Record<string, string>>;
  readonly policy: SchedulingPolicy;
  /** What the policy knows: the plan and calibration (the cluster's facts are added here). */
  readonly planContext?: Omit<SchedulingContext, "cluster">;
  /** false: `pulumi up` returns once the run is submitted. @default true */
  readonly wait?: boolean;
  /** Poll interval of the watch, for tests. @default 5000 */
  readonly pollIntervalMs?: number;
}

/** The template as deployed: the rendering with the catalog's images, the scheduling policy applied. */
export function deployedTemplate(
  graph: WorkflowGraph,
  images: Readonly<Record<string, string>>,
  builtinsImage: string,
  serviceAccountName: string,
  policy: SchedulingPolicy,
  context: SchedulingContext,
): ArgoDocument {
  // Batched (docs/argo-scale.md): one pod per tile batch, as many batches as the plan runs pods at once.
  const batching = batchingForParallelism(context.plan?.chosen?.parallelism);
  const { document, problems } = renderArgo(graph, { template: true, images, builtinsImage, serviceAccountName, batching });
  if (problems.length > 0) throw new pulumi.RunError(`${graph.spec.file} cannot run on Argo:\n${problems.join("\n")}`);
  return applyPolicy(policy, document, context);
}

/** The run: a dynamic resource whose create submits the Workflow and watches it to the end. */
class ArgoRun extends pulumi.dynamic.Resource {
  public declare readonly workflowName: pulumi.Output<string>;
  public declare readonly phase: pulumi.Output<string>;
  public declare readonly identity: pulumi.Output<string>;

  constructor(name: string, inputs: { [K in keyof ArgoRunInputs]: pulumi.Input<ArgoRunInputs[K]> }, opts: pulumi.CustomResourceOptions) {
    super(
      projectProvider(path.resolve(__dirname, "..", "src", "bus", "argoRunResource.ts"), "argoRunResource"),
      name,
      { ...inputs, workflowName: undefined, phase: undefined },
      { ...opts, additionalSecretOutputs: ["kubeconfig"] },
      undefined,
      "ArgoRun",
    );
  }
}

/**
 * The experiment manager's rendering deployed as a WorkflowTemplate (declarative: `pulumi preview`
 * diffs it), and one run of it with the stack's params, awaited: a failed run fails the update with
 * the failed step, its tile and the component's message.
 */
export class ArgoWorkflow extends pulumi.ComponentResource {
  public readonly templateName: pulumi.Output<string>;
  /** The Workflow's name (`<workflow>-<suffix>`) and its last phase seen. */
  public readonly workflowName: pulumi.Output<string>;
  public readonly phase: pulumi.Output<string>;
  /** Hash of the template and the params: the same identity never runs twice. */
  public readonly identity: pulumi.Output<string>;
  /** Where the results are, `s3://<bucket>/<out>/`. */
  public readonly results: pulumi.Output<string>;
  public readonly uiCommand: string = argoUiCommand();
  /** The command that downloads the rasters. */
  public readonly downloadCommand: pulumi.Output<string>;

  constructor(name: string, args: ArgoWorkflowArgs, opts?: pulumi.ComponentResourceOptions) {
    // What Argo cannot run is known before any image exists: fail before anything is made.
    const { problems } = renderArgo(args.graph, { template: true, batching: batchingForParallelism(args.planContext?.plan?.chosen?.parallelism) });
    if (problems.length > 0) throw new pulumi.RunError(`${args.graph.spec.file} cannot run on Argo:\n${problems.join("\n")}`);
    super("naaw:index:ArgoWorkflow", name, {}, opts);
    const { cluster, bus, graph } = args;
    const context: SchedulingContext = { ...args.planContext, cluster: cluster.scheduling };
    const document = pulumi
      .all([pulumi.output(args.images), pulumi.output(args.builtinsImage)])
      .apply(([images, builtinsImage]) => deployedTemplate(graph, images, builtinsImage, bus.serviceAccount, args.policy, context));

    const template = new k8s.apiextensions.CustomResource(
      `${name}-template`,
      {
        apiVersion: "argoproj.io/v1alpha1",
        kind: "WorkflowTemplate",
        metadata: pulumi.all([document, bus.namespace]).apply(([d, namespace]) => ({ ...d.metadata, namespace })),
        spec: document.apply((d) => d.spec),
      },
      { parent: this, provider: cluster.provider, dependsOn: [bus] },
    );
    this.templateName = template.metadata.name;
    this.identity = document.apply((d) => runIdentity(d, args.parameters));

    const run = new ArgoRun(
      `${name}-run`,
      {
        kubeconfig: cluster.kubeconfig,
        ...(cluster.kubeContext ? { context: cluster.kubeContext } : {}),
        namespace: bus.namespace,
        templateName: this.templateName,
        parameters: args.parameters,
        identity: this.identity,
        wait: args.wait ?? true,
        ...(args.pollIntervalMs ? { pollIntervalMs: args.pollIntervalMs } : {}),
      },
      { parent: this, dependsOn: [template] },
    );
    this.workflowName = run.workflowName;
    this.phase = run.phase;

    const out = args.parameters.out ?? "out";
    this.results = pulumi.interpolate`s3://${cluster.artifacts.bucket}/${out.replace(/^\/+|\/+$/g, "")}/`;
    this.downloadCommand = pulumi
      .all([this.results, cluster.artifacts.endpoint, cluster.artifacts.auth.kind])
      .apply(([results, endpoint, auth]) => `aws s3 cp --recursive ${auth === "role" ? "" : `--endpoint-url ${endpoint} `}${results} ./${path.posix.basename(out) || "out"}`);
    this.registerOutputs({
      templateName: this.templateName,
      workflowName: this.workflowName,
      phase: this.phase,
      identity: this.identity,
      results: this.results,
      uiCommand: this.uiCommand,
      downloadCommand: this.downloadCommand,
    });
  }
}
