import * as k8s from "@pulumi/kubernetes";
import * as openstack from "@pulumi/openstack";
import * as pulumi from "@pulumi/pulumi";
import { artifactContainerName, flavorsToCheck, magnumLabels, missingExternalNetworkMessage, missingFlavorMessage, openStackSettings, openStackSizing } from "../src/cluster/openstack";
import type { Plan } from "../src/plan/plan";
import type { ArtifactStore, Cluster, WorkflowScheduling } from "./Cluster";
import { stackConfig } from "./stackConfig";

/** The `naaw:` keys an OpenStack cluster reads. */
export const OPENSTACK_CLUSTER_KEYS = ["externalNetwork", "apiAllowedCidrs", "masterCount", "masterFlavor", "magnumImage", "keypair", "subnetCidr", "dnsNameservers", "artifacts", "registry", "namespace"] as const;

export interface OpenStackClusterArgs {
  /** The planner's plan for OpenStack (`planWorkflow(...).plan`): flavor and node count come from it, never re-decided here. */
  readonly plan: Plan;
}

/** A Magnum Kubernetes cluster sized by the plan, on its own network, with Swift (S3 API) for artifacts. */
export class OpenStackCluster extends pulumi.ComponentResource implements Cluster {
  public readonly provider: k8s.Provider;
  public readonly kubeconfig: pulumi.Output<string>;
  public readonly artifacts: ArtifactStore;
  public readonly registryServer: pulumi.Output<string>;
  public readonly scheduling: WorkflowScheduling;
  /** The namespace workflow pods run in (it holds the artifact credentials). */
  public readonly workflowNamespace: pulumi.Output<string>;
  /** The plan the cluster was sized from. */
  public readonly plan: Plan;
  public readonly nodeFlavor: string;
  public readonly nodeCount: number;
  /**
   * Resolves once the cloud has the external network and every flavor the cluster asks for; rejects
   * with a message naming the config key and the missing name. The router, template and cluster wait
   * for it, so nothing boots on a typo.
   */
  public readonly cloudChecked: Promise<void>;

  constructor(name: string, args: OpenStackClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    // Checked before the component itself is registered: bad config leaves no resource behind.
    const settings = openStackSettings(stackConfig(OPENSTACK_CLUSTER_KEYS));
    const sizing = openStackSizing(args.plan);
    super("naaw:index:OpenStackCluster", name, {}, opts);
    this.plan = args.plan;
    this.nodeFlavor = sizing.flavor;
    this.nodeCount = sizing.nodeCount;
    const parent = { parent: this };

    const externalId = openstack.networking.getNetwork({ name: settings.externalNetwork, external: true }, parent).then(
      (network) => network.id,
      (error: unknown) => {
        throw new pulumi.RunError(missingExternalNetworkMessage(settings.externalNetwork, error instanceof Error ? error.message : String(error)));
      },
    );
    const external = { id: pulumi.output(externalId) };
    const network = new openstack.networking.Network(`${name}-network`, { adminStateUp: true }, parent);
    const subnet = new openstack.networking.Subnet(
      `${name}-subnet`,
      { networkId: network.id, cidr: settings.subnetCidr, ipVersion: 4, dnsNameservers: [...settings.dnsNameservers] },
      parent,
    );
    const router = new openstack.networking.Router(`${name}-router`, { externalNetworkId: external.id, adminStateUp: true }, parent);
    const routerInterface = new openstack.networking.RouterInterface(`${name}-router-interface`, { routerId: router.id, subnetId: subnet.id }, parent);

    // No security group of our own: Magnum makes the nodes' and the API load balancer's groups and
    // attaches them; who reaches the API is limited by the master_lb_allowed_cidrs label instead.

    // Each flavor the plan (or naaw:masterFlavor) names must exist before anything boots on it.
    const flavorsChecked = Promise.all(
      flavorsToCheck(sizing, settings).map((use) =>
        openstack.compute.getFlavor({ name: use.flavor }, parent).then(
          () => undefined,
          (error: unknown) => {
            throw new pulumi.RunError(missingFlavorMessage(use, error instanceof Error ? error.message : String(error)));
          },
        ),
      ),
    );
    this.cloudChecked = Promise.all([externalId, flavorsChecked]).then(() => undefined);
    const afterCheck = (flavor: string): pulumi.Output<string> => pulumi.output(this.cloudChecked.then(() => flavor));

    const labels = magnumLabels(sizing, settings);
    const template = new openstack.containerinfra.ClusterTemplate(
      `${name}-template`,
      {
        coe: "kubernetes",
        image: settings.image,
        flavor: afterCheck(sizing.flavor),
        masterFlavor: settings.masterFlavor === undefined ? undefined : afterCheck(settings.masterFlavor),
        externalNetworkId: external.id,
        fixedNetwork: network.id,
        fixedSubnet: subnet.id,
        masterLbEnabled: true,
        floatingIpEnabled: false,
        networkDriver: "calico",
        labels,
      },
      parent,
    );
    const cluster = new openstack.containerinfra.Cluster(
      `${name}-cluster`,
      {
        clusterTemplateId: template.id,
        flavor: afterCheck(sizing.flavor),
        masterFlavor: settings.masterFlavor === undefined ? undefined : afterCheck(settings.masterFlavor),
        nodeCount: sizing.nodeCount,
        masterCount: settings.masterCount,
        labels,
        mergeLabels: true,
        keypair: settings.keypair,
        fixedNetwork: network.id,
        fixedSubnet: subnet.id,
      },
      { parent: this, dependsOn: [routerInterface], additionalSecretOutputs: ["kubeconfig"] },
    );
    this.kubeconfig = pulumi.secret(cluster.kubeconfig.rawConfig);
    this.provider = new k8s.Provider(`${name}-provider`, { kubeconfig: this.kubeconfig }, parent);

    // Swift's S3 API authenticates with EC2-style credentials of the project; the program makes them.
    const credentials = new openstack.identity.Ec2CredentialV3(`${name}-artifact-credentials`, {}, { parent: this, additionalSecretOutputs: ["access", "secret"] });
    const accessKey = pulumi.secret(credentials.access);
    const secretKey = pulumi.secret(credentials.secret);
    const container = new openstack.objectstorage.Container(`${name}-artifacts`, { name: artifactContainerName(name, settings.artifacts.bucket) }, parent);

    const k8sParent = { parent: this, provider: this.provider };
    const ns = new k8s.core.v1.Namespace(`${name}-namespace`, { metadata: { name: settings.namespace } }, k8sParent);
    this.workflowNamespace = ns.metadata.name;
    const secret = new k8s.core.v1.Secret(
      `${name}-artifact-credentials`,
      { metadata: { namespace: ns.metadata.name, name: "naaw-artifact-credentials" }, type: "Opaque", stringData: { accessKey, secretKey } },
      k8sParent,
    );
    this.artifacts = {
      bucket: container.name,
      endpoint: pulumi.output(settings.artifacts.endpoint),
      region: pulumi.output(settings.artifacts.region),
      auth: { kind: "secret", secretName: secret.metadata.name, accessKey, secretKey },
    };
    this.registryServer = pulumi.output(settings.registryServer);
    // Magnum's workers are one on-demand pool: nothing to select or tolerate.
    this.scheduling = { nodeSelector: {}, tolerations: [], capacityType: "on-demand" };

    this.registerOutputs({
      kubeconfig: this.kubeconfig,
      artifactBucket: this.artifacts.bucket,
      artifactEndpoint: this.artifacts.endpoint,
      artifactRegion: this.artifacts.region,
      artifactSecretName: secret.metadata.name,
      registryServer: this.registryServer,
      nodeFlavor: sizing.flavor,
      nodeCount: sizing.nodeCount,
    });
  }
}
