import * as path from "path";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { BUS_NAMES } from "../src/bus/argoChart";
import { argoRunParameters, StackParamsError } from "../src/bus/runParameters";
import { BUILTINS_IMAGE_NAME } from "../src/containerize/builtinsContext";
import { Catalog, loadCatalog } from "../src/containerize/catalog";
import { DiagnosticError, formatDiagnostic } from "../src/diagnostics";
import type { WorkflowPlan } from "../src/plan/planWorkflow";
import type { SchedulingPolicy } from "../src/schedule/policy";
import { compileWorkflow } from "../src/workflow/compile";
import type { WorkflowGraph } from "../src/workflow/validate";
import { ArgoWorkflow } from "./ArgoWorkflow";
import type { Cluster } from "./Cluster";
import { ComponentCatalog } from "./ComponentCatalog";
import { LocalRun } from "./LocalRun";
import type { RegistryArgs } from "./NotebookComponent";
import { stackCluster } from "./stackCluster";
import { WorkflowBus } from "./WorkflowBus";

export const TARGETS = ["local", "kubernetes", "aws", "openstack"] as const;
export type Target = (typeof TARGETS)[number];

export interface ExperimentArgs {
  /** `local`: the embedded runner on this machine; `kubernetes`: a cluster that exists; `aws`, `openstack`: one the plan sizes. */
  readonly target: Target;
  /** The workflow file, relative to the project. @example "workflows/lidar.yaml" */
  readonly workflow: string;
  /** The tagged notebooks whose components become images (cluster targets). */
  readonly notebooks: readonly string[];
  /** The run's params (`naaw:params`), checked against the workflow's declarations. */
  readonly params: Readonly<Record<string, unknown>>;
  /** The plan (aws, openstack): the cluster is sized from it, the policy reads it. */
  readonly planned?: WorkflowPlan;
  readonly policy: SchedulingPolicy;
  /** false: `pulumi up` returns once the run is submitted. @default true */
  readonly wait?: boolean;
  readonly baseImage?: string;
  readonly buildDir?: string;
  /** kubernetes/openstack: where images go (AWS: the cluster's ECR). */
  readonly registry?: RegistryArgs;
  /** local: the run's workers. */
  readonly workers?: number;
}

/** The workflow compiled, or the update fails with its diagnostics before anything is made. */
export function compiledWorkflow(file: string): WorkflowGraph {
  const { graph, diagnostics } = compileWorkflow(file);
  if (!graph) throw new pulumi.RunError(diagnostics.map(formatDiagnostic).join("\n"));
  return graph;
}

function checkedParameters(graph: WorkflowGraph, params: Readonly<Record<string, unknown>>, workflow: string): Record<string, string> {
  try {
    return argoRunParameters(graph, params, workflow);
  } catch (error) {
    if (error instanceof StackParamsError) throw new pulumi.RunError(error.message);
    throw error;
  }
}

/**
 * One experiment: plan → cluster → component images → Argo → the run, or the embedded runner on this
 * machine. `index.ts` only reads the stack's config and makes one of these.
 */
export class Experiment extends pulumi.ComponentResource {
  /** The run's outputs, by target: the Workflow (cluster) or the rasters' paths (local). */
  public readonly outputs: Record<string, pulumi.Output<unknown> | unknown>;
  public readonly cluster?: Cluster;

  constructor(name: string, args: ExperimentArgs, opts?: pulumi.ComponentResourceOptions) {
    // Everything that can be checked is checked before the component exists.
    const graph = compiledWorkflow(args.workflow);
    const parameters = checkedParameters(graph, args.params, args.workflow);
    super("naaw:index:Experiment", name, {}, opts);
    const parent = { parent: this };

    if (args.target === "local") {
      const run = new LocalRun(
        `${name}-local`,
        { workflow: path.resolve(args.workflow), params: { ...args.params }, ...(args.workers ? { workers: args.workers } : {}) },
        parent,
      );
      this.outputs = { rasters: run.rasters, report: run.report, outDir: run.outDir };
      this.registerOutputs(this.outputs);
      return;
    }

    // The images' names first (AWS makes one registry each), the images once the registry exists.
    // The notebooks are analyzed once: their names size the registries, their entries become the images.
    const notebooks = analyzedNotebooks(args.notebooks, args.baseImage);
    const componentNames = [...notebooks.entries.map((e) => e.spec.name), BUILTINS_IMAGE_NAME];
    const clusterKind = args.target === "kubernetes" ? "existing" : args.target;
    const cluster = stackCluster(clusterKind, `${name}-cluster`, args.planned, componentNames, parent);
    this.cluster = cluster;
    const catalog = new ComponentCatalog(
      `${name}-catalog`,
      {
        notebooks: args.notebooks,
        catalog: notebooks,
        baseImage: args.baseImage,
        contextRoot: args.buildDir,
        registry: args.target === "aws" ? ecrRegistry(cluster, this) : { ...args.registry, server: args.registry?.server ?? cluster.registryServer },
      },
      parent,
    );
    const bus = new WorkflowBus(`${name}-bus`, { cluster, parallelism: args.planned?.plan.chosen?.parallelism }, parent);
    const workflow = new ArgoWorkflow(
      `${name}-workflow`,
      {
        graph,
        cluster,
        bus,
        images: catalog.images,
        builtinsImage: catalog.builtinsImage,
        parameters,
        policy: args.policy,
        planContext: args.planned ? { plan: args.planned.plan } : {},
        wait: args.wait,
      },
      parent,
    );
    this.outputs = {
      images: catalog.images,
      workflowName: workflow.workflowName,
      phase: workflow.phase,
      results: workflow.results,
      argoUi: workflow.uiCommand,
      download: workflow.downloadCommand,
      kubeconfig: cluster.kubeconfig,
      artifactBucket: cluster.artifacts.bucket,
      workflowNamespace: bus.namespace,
      argoNamespace: BUS_NAMES.argoNamespace,
    };
    this.registerOutputs(this.outputs);
  }
}

function analyzedNotebooks(notebooks: readonly string[], baseImage: string | undefined): Catalog {
  try {
    return loadCatalog(notebooks, { baseImage });
  } catch (error) {
    if (error instanceof DiagnosticError) throw new pulumi.RunError(error.message);
    throw error;
  }
}

/** ECR: the cluster's registry, with a short-lived token the program asks for (never in config). */
function ecrRegistry(cluster: Cluster, parent: pulumi.Resource): RegistryArgs {
  const token = aws.ecr.getAuthorizationTokenOutput({}, { parent });
  return { server: cluster.registryServer, username: token.userName, password: pulumi.secret(token.password) };
}
