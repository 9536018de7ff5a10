import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { existingClusterSettings, EXISTING_SCHEDULING } from "../src/cluster/existing";
import type { ArtifactStore, Cluster, WorkflowScheduling } from "./Cluster";
import { ambientKubeconfig, stackConfig } from "./stackConfig";

/** The `naaw:` keys an existing cluster reads. */
export const EXISTING_CLUSTER_KEYS = ["kubeconfig", "kubeContext", "artifacts", "artifactAccessKey", "artifactSecretKey", "registry", "namespace"] as const;

/**
 * Nothing here: everything comes from the stack's config (`naaw:kubeconfig` or `naaw:kubeContext`,
 * `naaw:artifacts`, `naaw:artifactAccessKey`/`naaw:artifactSecretKey`, `naaw:registry.server`,
 * `naaw:namespace`), so that no secret is ever a prop in clear.
 */
export interface ExistingClusterArgs {}

/** A cluster that already exists (kind, k3d, an institute's), with an S3-compatible store and a registry. */
export class ExistingCluster extends pulumi.ComponentResource implements Cluster {
  public readonly provider: k8s.Provider;
  public readonly kubeconfig: pulumi.Output<string>;
  public readonly artifacts: ArtifactStore;
  public readonly registryServer: pulumi.Output<string>;
  public readonly scheduling: WorkflowScheduling;
  /** The namespace workflow pods run in. */
  public readonly workflowNamespace: pulumi.Output<string>;
  public readonly kubeContext?: string;

  constructor(name: string, args: ExistingClusterArgs = {}, opts?: pulumi.ComponentResourceOptions) {
    // Checked before the component itself is registered: bad config leaves no resource behind.
    const raw = stackConfig(EXISTING_CLUSTER_KEYS);
    const settings = existingClusterSettings(raw, raw.kubeconfig === undefined && raw.kubeContext !== undefined ? ambientKubeconfig() : undefined);
    super("naaw:index:ExistingCluster", name, args, opts);

    this.kubeconfig = pulumi.secret(settings.kubeconfig!);
    this.kubeContext = settings.context;
    this.provider = new k8s.Provider(`${name}-provider`, { kubeconfig: this.kubeconfig, context: settings.context }, { parent: this });
    const ns = new k8s.core.v1.Namespace(`${name}-namespace`, { metadata: { name: settings.namespace } }, { parent: this, provider: this.provider });
    this.workflowNamespace = ns.metadata.name;
    const accessKey = pulumi.secret(settings.accessKey);
    const secretKey = pulumi.secret(settings.secretKey);
    const credentials = new k8s.core.v1.Secret(
      `${name}-artifact-credentials`,
      { metadata: { namespace: ns.metadata.name, name: "naaw-artifact-credentials" }, type: "Opaque", stringData: { accessKey, secretKey } },
      { parent: this, provider: this.provider },
    );
    this.artifacts = {
      bucket: pulumi.output(settings.artifacts.bucket),
      endpoint: pulumi.output(settings.artifacts.endpoint),
      region: pulumi.output(settings.artifacts.region),
      auth: { kind: "secret", secretName: credentials.metadata.name, accessKey, secretKey },
    };
    this.registryServer = pulumi.output(settings.registryServer);
    this.scheduling = { nodeSelector: { ...EXISTING_SCHEDULING.nodeSelector }, tolerations: [], capacityType: EXISTING_SCHEDULING.capacityType };

    this.registerOutputs({
      kubeconfig: this.kubeconfig,
      namespace: this.workflowNamespace,
      artifactBucket: this.artifacts.bucket,
      artifactEndpoint: this.artifacts.endpoint,
      artifactRegion: this.artifacts.region,
      artifactSecretName: credentials.metadata.name,
      registryServer: this.registryServer,
    });
  }
}
