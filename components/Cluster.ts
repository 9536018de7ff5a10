import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

/**
 * Where workflow artifacts live and how pods reach them: the same shape on every cloud, so the
 * workflow bus never asks which one it is on.
 */
export interface ArtifactStore {
  /** Bucket (S3) or container (Swift's S3 API, MinIO) name. @example "naaw-ahn3-artifacts-1a2b3c" */
  readonly bucket: pulumi.Output<string>;
  /** S3-compatible endpoint. @example "https://s3.eu-west-1.amazonaws.com" */
  readonly endpoint: pulumi.Output<string>;
  /** @example "eu-west-1" */
  readonly region: pulumi.Output<string>;
  /**
   * How pods authenticate: a role for the workflow service account (AWS: IRSA / Pod Identity), or a
   * Kubernetes secret holding `accessKey` / `secretKey` (everywhere else).
   */
  readonly auth:
    | { readonly kind: "role"; readonly roleArn: pulumi.Output<string> }
    | { readonly kind: "secret"; readonly secretName: pulumi.Output<string>; readonly accessKey: pulumi.Output<string>; readonly secretKey: pulumi.Output<string> };
}

/** What a workflow pod must carry to land on the capacity sized for it. */
export interface WorkflowScheduling {
  readonly nodeSelector: Readonly<Record<string, string>>;
  readonly tolerations: readonly { readonly key: string; readonly operator: "Equal" | "Exists"; readonly value?: string; readonly effect: "NoSchedule" | "NoExecute" | "PreferNoSchedule" }[];
  /** "spot" or "on-demand", as the plan chose. */
  readonly capacityType: "spot" | "on-demand";
}

/** The one interface of AwsCluster, OpenStackCluster and ExistingCluster. */
export interface Cluster {
  /** A provider for everything deployed onto the cluster. */
  readonly provider: k8s.Provider;
  /** The cluster's kubeconfig, always a secret output. */
  readonly kubeconfig: pulumi.Output<string>;
  /** The kubeconfig's context to use, when not its current one (an existing cluster's `naaw:kubeContext`). */
  readonly kubeContext?: string;
  readonly artifacts: ArtifactStore;
  /** Registry host (and path) that images are pushed to. @example "123456789012.dkr.ecr.eu-west-1.amazonaws.com/naaw" */
  readonly registryServer: pulumi.Output<string>;
  readonly scheduling: WorkflowScheduling;
  /** The namespace workflow pods run in (it holds the artifact credentials, and the pod role is bound to it). */
  readonly workflowNamespace: pulumi.Output<string>;
}
