import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { ARGO_CHART, argoChartValues, argoUiCommand, BUS_NAMES } from "../src/bus/argoChart";
import type { Cluster } from "./Cluster";

export interface WorkflowBusArgs {
  /** The cluster to install Argo Workflows on (any kind: the bus never asks which). */
  readonly cluster: Cluster;
  /** The plan's tile pods at once (`Estimate.parallelism`); unset on a cluster that was not planned. */
  readonly parallelism?: number;
  /** Hours a finished Workflow object is kept (its results stay in the artifact store). @default 72 */
  readonly ttlHours?: number;
}

/**
 * Argo Workflows from its Helm chart (a `helm.v3.Release`, which runs the chart's CRD hook: see
 * src/bus/argoChart.ts), configured for the cluster's artifact store and the plan: the server in
 * `client` auth mode behind a ClusterIP service, the workflow service account with the chart's
 * least-privilege executor role, workflow defaults that put pods on the planned capacity.
 */
export class WorkflowBus extends pulumi.ComponentResource {
  /** The namespace workflows run in. */
  public readonly namespace: pulumi.Output<string>;
  /** The service account of workflow pods. */
  public readonly serviceAccount: string = BUS_NAMES.workflowServiceAccount;
  /** The Release's status (`deployed` once Argo is up). */
  public readonly status: pulumi.Output<string>;
  /** The command that opens the Argo UI on http://localhost:2746. */
  public readonly uiCommand: string = argoUiCommand();
  /** The chart values as installed (plain data: nothing secret is in them). */
  public readonly values: pulumi.Output<Record<string, unknown>>;

  constructor(name: string, args: WorkflowBusArgs, opts?: pulumi.ComponentResourceOptions) {
    super("naaw:index:WorkflowBus", name, {}, opts);
    const { cluster } = args;
    const onCluster = { parent: this, provider: cluster.provider };

    const argoNamespace = new k8s.core.v1.Namespace(`${name}-argo`, { metadata: { name: BUS_NAMES.argoNamespace } }, onCluster);
    this.namespace = cluster.workflowNamespace;

    const auth = cluster.artifacts.auth;
    this.values = pulumi
      .all([this.namespace, cluster.artifacts.bucket, cluster.artifacts.endpoint, cluster.artifacts.region, auth.kind === "secret" ? auth.secretName : ""])
      .apply(([workflowNamespace, bucket, endpoint, region, secretName]) =>
        argoChartValues({
          workflowNamespace,
          artifacts: { bucket, endpoint, region, auth: auth.kind === "role" ? { kind: "role" } : { kind: "secret", secretName } },
          scheduling: cluster.scheduling,
          parallelism: args.parallelism,
          ttlHours: args.ttlHours,
        }),
      );
    const release = new k8s.helm.v3.Release(
      `${name}-argo-workflows`,
      {
        name: BUS_NAMES.releaseName,
        chart: ARGO_CHART.chart,
        version: ARGO_CHART.version,
        repositoryOpts: { repo: ARGO_CHART.repo },
        namespace: argoNamespace.metadata.name,
        values: this.values,
        // Helm waits for the controller and server to be ready, so a run submitted next finds Argo up.
        waitForJobs: true,
        timeout: 600,
      },
      onCluster,
    );
    this.status = release.status.status;
    this.registerOutputs({ namespace: this.namespace, status: this.status, uiCommand: this.uiCommand });
  }
}
