import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { Plan } from "../src/plan/plan";
import {
  assumeRolePolicy,
  awsSettings,
  awsTags,
  discoveryTag,
  DISCOVERY_TAG_KEY,
  ec2NodeClassSpec,
  ecrLifecyclePolicy,
  artifactReadPolicy,
  ecrRepositoryNames,
  kubeconfig as renderKubeconfig,
  lifecycleRules,
  nodePoolSpec,
  podRolePolicy,
  subnetCidrs,
  tlsOnlyBucketPolicy,
  workflowScheduling,
} from "../src/cluster/aws";
import { ADDON_VERSIONS, KARPENTER_CHART_VERSION, KUBERNETES_VERSION } from "../src/cluster/awsVersions";
import { BUS_NAMES } from "../src/bus/argoChart";
import type { ArtifactStore, Cluster, WorkflowScheduling } from "./Cluster";

// The pins (Kubernetes, add-ons, Karpenter chart) and where each was checked: src/cluster/awsVersions.ts.
export { ADDON_VERSIONS, KARPENTER_AMI_ALIAS, KARPENTER_CHART_VERSION, KUBERNETES_VERSION } from "../src/cluster/awsVersions";
/** The system node group: Argo, Karpenter, CoreDNS. On demand, never spot. */
export const SYSTEM_NODES = { instanceType: "m7i.large", count: 2 } as const;

export interface AwsClusterArgs {
  /** The planner's plan (`planWorkflow(...).plan`): instance type, spot, nodes. Sizes are read, never re-decided. */
  readonly plan: Plan;
  /** Component image names: one ECR repository each, plus `builtins`. @example ["lidar-split", "lidar-tile"] */
  readonly images: readonly string[];
  /** Two or three zones; default: the region's list in src/cluster/aws.ts (no provider call). @example ["eu-west-1a", "eu-west-1b"] */
  readonly availabilityZones?: readonly string[];
  /** The input bucket, read-only for workflow pods, when the input is in S3. @example "ahn3-laz" */
  readonly inputBucket?: string;
  /** Namespace and service account of workflow pods (the Pod Identity association). */
  readonly workflowNamespace?: string;
  readonly workflowServiceAccount?: string;
}

const TOKEN = "naaw:index:AwsCluster";

export class AwsCluster extends pulumi.ComponentResource implements Cluster {
  public readonly provider: k8s.Provider;
  public readonly kubeconfig: pulumi.Output<string>;
  public readonly artifacts: ArtifactStore;
  public readonly registryServer: pulumi.Output<string>;
  public readonly scheduling: WorkflowScheduling;
  public readonly workflowNamespace: pulumi.Output<string>;
  public readonly clusterName: pulumi.Output<string>;
  public readonly plan: Plan;

  constructor(name: string, args: AwsClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    // Checked before any resource exists (the component itself included).
    const config = new pulumi.Config("naaw");
    const s = awsSettings(
      args.plan,
      {
        publicAccessCidrs: config.get("publicAccessCidrs"),
        privateEndpoint: config.get("privateEndpoint"),
        clusterLogTypes: config.get("clusterLogTypes"),
        adminRoleArn: config.get("adminRoleArn"),
        intermediateDays: config.get("intermediateDays"),
        ecrKeepImages: config.get("ecrKeepImages"),
      },
      args.availabilityZones,
    );
    super(TOKEN, name, {}, opts);
    const parent = { parent: this };
    const tags = awsTags(name, pulumi.getStack());
    const discovery = { ...tags, ...discoveryTag(name) };
    const json = (v: unknown) => JSON.stringify(v);

    // Network: private subnets for nodes, public ones for the single NAT gateway.
    const vpc = new aws.ec2.Vpc(`${name}-vpc`, { cidrBlock: "10.0.0.0/16", enableDnsHostnames: true, enableDnsSupport: true, tags: { ...tags, Name: `${name}-vpc` } }, parent);
    const cidrs = subnetCidrs(s.zones.length);
    const publicSubnets = s.zones.map(
      (az, i) =>
        new aws.ec2.Subnet(`${name}-public-${i}`, { vpcId: vpc.id, availabilityZone: az, cidrBlock: cidrs.public[i]!, mapPublicIpOnLaunch: false, tags: { ...tags, "kubernetes.io/role/elb": "1" } }, parent),
    );
    const privateSubnets = s.zones.map(
      (az, i) =>
        new aws.ec2.Subnet(`${name}-private-${i}`, { vpcId: vpc.id, availabilityZone: az, cidrBlock: cidrs.private[i]!, tags: { ...discovery, "kubernetes.io/role/internal-elb": "1" } }, parent),
    );
    const igw = new aws.ec2.InternetGateway(`${name}-igw`, { vpcId: vpc.id, tags }, parent);
    const eip = new aws.ec2.Eip(`${name}-nat-eip`, { domain: "vpc", tags }, parent);
    // One NAT gateway, not one per zone: it is billed by the hour.
    const nat = new aws.ec2.NatGateway(`${name}-nat`, { allocationId: eip.id, subnetId: publicSubnets[0]!.id, tags }, { parent: this, dependsOn: [igw] });
    const publicRt = new aws.ec2.RouteTable(`${name}-public-rt`, { vpcId: vpc.id, routes: [{ cidrBlock: "0.0.0.0/0", gatewayId: igw.id }], tags }, parent);
    const privateRt = new aws.ec2.RouteTable(`${name}-private-rt`, { vpcId: vpc.id, routes: [{ cidrBlock: "0.0.0.0/0", natGatewayId: nat.id }], tags }, parent);
    publicSubnets.forEach((sn, i) => new aws.ec2.RouteTableAssociation(`${name}-public-rta-${i}`, { subnetId: sn.id, routeTableId: publicRt.id }, parent));
    privateSubnets.forEach((sn, i) => new aws.ec2.RouteTableAssociation(`${name}-private-rta-${i}`, { subnetId: sn.id, routeTableId: privateRt.id }, parent));
    // S3 traffic (artifacts, input) never crosses the NAT: the planner prices it that way.
    new aws.ec2.VpcEndpoint(`${name}-s3-endpoint`, { vpcId: vpc.id, serviceName: `com.amazonaws.${s.region}.s3`, vpcEndpointType: "Gateway", routeTableIds: [privateRt.id], tags }, parent);

    // EKS control plane.
    const clusterRole = new aws.iam.Role(`${name}-cluster-role`, { assumeRolePolicy: json(assumeRolePolicy("eks.amazonaws.com")), tags }, parent);
    const clusterPolicy = new aws.iam.RolePolicyAttachment(`${name}-cluster-policy`, { role: clusterRole.name, policyArn: "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy" }, parent);
    const cluster = new aws.eks.Cluster(
      `${name}-eks`,
      {
        name,
        version: KUBERNETES_VERSION,
        roleArn: clusterRole.arn,
        // Extended support costs six times as much and is the default for API-created clusters.
        upgradePolicy: { supportType: "STANDARD" },
        // The identity that runs `pulumi up` installs Karpenter (and next, Argo) through this API, so it
        // gets an admin access entry; naaw:adminRoleArn adds one more. Nothing else is granted.
        accessConfig: { authenticationMode: "API", bootstrapClusterCreatorAdminPermissions: true },
        vpcConfig: {
          subnetIds: privateSubnets.map((sn) => sn.id),
          // Nodes always reach the API privately; the public endpoint exists only for the configured CIDRs.
          endpointPrivateAccess: true,
          endpointPublicAccess: !s.privateEndpoint,
          ...(s.privateEndpoint ? {} : { publicAccessCidrs: [...s.publicAccessCidrs] }),
        },
        enabledClusterLogTypes: [...s.clusterLogTypes],
        tags,
      },
      { parent: this, dependsOn: [clusterPolicy] },
    );
    this.clusterName = cluster.name;
    // EKS makes the cluster security group (nodes and control plane; ingress only from itself); the
    // program tags it so Karpenter's EC2NodeClass selects it by tag, as it selects the private subnets.
    new aws.ec2.Tag(`${name}-cluster-sg-discovery`, { resourceId: cluster.vpcConfig.clusterSecurityGroupId, key: DISCOVERY_TAG_KEY, value: name }, parent);

    if (s.adminRoleArn) {
      const admin = new aws.eks.AccessEntry(`${name}-admin`, { clusterName: cluster.name, principalArn: s.adminRoleArn, type: "STANDARD", tags }, parent);
      new aws.eks.AccessPolicyAssociation(
        `${name}-admin-policy`,
        { clusterName: cluster.name, principalArn: s.adminRoleArn, policyArn: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy", accessScope: { type: "cluster" } },
        { parent: this, dependsOn: [admin] },
      );
    }

    // System nodes (Argo, Karpenter, CoreDNS): small, on demand.
    const nodeRole = new aws.iam.Role(`${name}-system-node-role`, { assumeRolePolicy: json(assumeRolePolicy("ec2.amazonaws.com")), tags }, parent);
    const nodePolicies = ["AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly"];
    const nodeAttachments = nodePolicies.map(
      (p) => new aws.iam.RolePolicyAttachment(`${name}-system-node-${p}`, { role: nodeRole.name, policyArn: `arn:aws:iam::aws:policy/${p}` }, parent),
    );
    const systemNodes = new aws.eks.NodeGroup(
      `${name}-system-nodes`,
      {
        clusterName: cluster.name,
        nodeRoleArn: nodeRole.arn,
        subnetIds: privateSubnets.map((sn) => sn.id),
        instanceTypes: [SYSTEM_NODES.instanceType],
        capacityType: "ON_DEMAND",
        scalingConfig: { desiredSize: SYSTEM_NODES.count, minSize: SYSTEM_NODES.count, maxSize: SYSTEM_NODES.count },
        labels: { "naaw.io/system": "true" },
        tags,
      },
      { parent: this, dependsOn: nodeAttachments },
    );
    const addons = Object.entries(ADDON_VERSIONS).map(
      ([addon, version]) =>
        new aws.eks.Addon(`${name}-addon-${addon}`, { clusterName: cluster.name, addonName: addon, addonVersion: version, resolveConflictsOnUpdate: "OVERWRITE", tags }, { parent: this, dependsOn: addon === "coredns" ? [systemNodes] : [] }),
    );

    // Karpenter: the node role its nodes run as, its controller role, the interruption queue.
    const karpenterNodeRole = new aws.iam.Role(`${name}-karpenter-node-role`, { assumeRolePolicy: json(assumeRolePolicy("ec2.amazonaws.com")), tags }, parent);
    [...nodePolicies, "AmazonSSMManagedInstanceCore"].forEach(
      (p) => new aws.iam.RolePolicyAttachment(`${name}-karpenter-node-${p}`, { role: karpenterNodeRole.name, policyArn: `arn:aws:iam::aws:policy/${p}` }, parent),
    );
    // No instance profile here: given `spec.role`, Karpenter makes and tags its own (its policy below allows that).
    new aws.eks.AccessEntry(`${name}-karpenter-node-access`, { clusterName: cluster.name, principalArn: karpenterNodeRole.arn, type: "EC2_LINUX", tags }, parent);

    const queue = new aws.sqs.Queue(`${name}-karpenter-interruption`, { messageRetentionSeconds: 300, sqsManagedSseEnabled: true, tags }, parent);
    new aws.sqs.QueuePolicy(
      `${name}-karpenter-interruption-policy`,
      {
        queueUrl: queue.url,
        policy: queue.arn.apply((arn) =>
          json({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: ["events.amazonaws.com", "sqs.amazonaws.com"] }, Action: "sqs:SendMessage", Resource: arn }] }),
        ),
      },
      parent,
    );
    const interruptionEvents: Record<string, Record<string, unknown>> = {
      "spot-interruption": { source: ["aws.ec2"], "detail-type": ["EC2 Spot Instance Interruption Warning"] },
      rebalance: { source: ["aws.ec2"], "detail-type": ["EC2 Instance Rebalance Recommendation"] },
      "instance-state-change": { source: ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"] },
      "scheduled-change": { source: ["aws.health"], "detail-type": ["AWS Health Event"] },
    };
    for (const [event, pattern] of Object.entries(interruptionEvents)) {
      const rule = new aws.cloudwatch.EventRule(`${name}-karpenter-${event}`, { eventPattern: json(pattern), tags }, parent);
      new aws.cloudwatch.EventTarget(`${name}-karpenter-${event}-target`, { rule: rule.name, arn: queue.arn }, parent);
    }

    const controllerRole = new aws.iam.Role(`${name}-karpenter-controller-role`, { assumeRolePolicy: json(assumeRolePolicy("pods.eks.amazonaws.com")), tags }, parent);
    new aws.iam.RolePolicy(
      `${name}-karpenter-controller-policy`,
      {
        role: controllerRole.id,
        policy: pulumi.all([queue.arn, karpenterNodeRole.arn, cluster.arn]).apply(([queueArn, nodeRoleArn, clusterArn]) =>
          json({
            Version: "2012-10-17",
            Statement: [
              {
                Sid: "Ec2",
                Effect: "Allow",
                Action: [
                  "ec2:CreateFleet", "ec2:CreateLaunchTemplate", "ec2:CreateTags", "ec2:DeleteLaunchTemplate", "ec2:RunInstances", "ec2:TerminateInstances",
                  "ec2:DescribeAvailabilityZones", "ec2:DescribeImages", "ec2:DescribeInstances", "ec2:DescribeInstanceTypeOfferings", "ec2:DescribeInstanceTypes",
                  "ec2:DescribeLaunchTemplates", "ec2:DescribeSecurityGroups", "ec2:DescribeSpotPriceHistory", "ec2:DescribeSubnets", "pricing:GetProducts", "ssm:GetParameter",
                  // Also read by Karpenter 1.14 (its getting-started cloudformation.yaml, v1.14 docs).
                  "ec2:DescribeCapacityReservations", "ec2:DescribeInstanceStatus", "ec2:DescribePlacementGroups",
                ],
                Resource: "*",
              },
              { Sid: "Interruption", Effect: "Allow", Action: ["sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"], Resource: queueArn },
              { Sid: "PassNodeRole", Effect: "Allow", Action: "iam:PassRole", Resource: nodeRoleArn },
              { Sid: "InstanceProfiles", Effect: "Allow", Action: ["iam:CreateInstanceProfile", "iam:TagInstanceProfile", "iam:AddRoleToInstanceProfile", "iam:RemoveRoleFromInstanceProfile", "iam:DeleteInstanceProfile", "iam:GetInstanceProfile", "iam:ListInstanceProfiles"], Resource: "*" },
              { Sid: "Cluster", Effect: "Allow", Action: "eks:DescribeCluster", Resource: clusterArn },
            ],
          }),
        ),
      },
      parent,
    );
    new aws.eks.PodIdentityAssociation(`${name}-karpenter-identity`, { clusterName: cluster.name, namespace: "kube-system", serviceAccount: "karpenter", roleArn: controllerRole.arn, tags }, parent);

    // Kubeconfig (secret) and the provider for everything on the cluster.
    this.kubeconfig = pulumi.secret(
      pulumi.all([cluster.name, cluster.endpoint, cluster.certificateAuthority]).apply(([n, endpoint, ca]) => renderKubeconfig(n, endpoint, ca?.data ?? "", s.region)),
    );
    this.provider = new k8s.Provider(`${name}-k8s`, { kubeconfig: this.kubeconfig }, { parent: this, dependsOn: [systemNodes] });
    const onCluster = { parent: this, provider: this.provider };

    const karpenter = new k8s.helm.v3.Release(
      `${name}-karpenter`,
      {
        chart: "oci://public.ecr.aws/karpenter/karpenter",
        version: KARPENTER_CHART_VERSION,
        namespace: "kube-system",
        values: {
          settings: { clusterName: cluster.name, interruptionQueue: queue.name },
          serviceAccount: { name: "karpenter" },
          nodeSelector: { "naaw.io/system": "true" },
        },
      },
      { ...onCluster, dependsOn: addons },
    );
    const nodeClass = new k8s.apiextensions.CustomResource(
      `${name}-nodeclass`,
      {
        apiVersion: "karpenter.k8s.aws/v1",
        kind: "EC2NodeClass",
        metadata: { name: "naaw-workflow" },
        spec: karpenterNodeRole.name.apply((role) => ec2NodeClassSpec(role, name, tags, s.nodeVolumeGiB)),
      },
      { ...onCluster, dependsOn: [karpenter] },
    );
    new k8s.apiextensions.CustomResource(
      `${name}-nodepool`,
      { apiVersion: "karpenter.sh/v1", kind: "NodePool", metadata: { name: "naaw-workflow" }, spec: nodePoolSpec(s, "naaw-workflow") },
      { ...onCluster, dependsOn: [karpenter, nodeClass] },
    );

    // The artifact bucket: private, encrypted, TLS only, intermediates expire.
    const bucket = new aws.s3.Bucket(`${name}-artifacts`, { bucketPrefix: `${name}-artifacts-`.toLowerCase().slice(0, 37), tags }, parent);
    new aws.s3.BucketPublicAccessBlock(`${name}-artifacts-public-access`, { bucket: bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true }, parent);
    new aws.s3.BucketOwnershipControls(`${name}-artifacts-ownership`, { bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } }, parent);
    new aws.s3.BucketServerSideEncryptionConfiguration(
      `${name}-artifacts-sse`,
      { bucket: bucket.id, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms" }, bucketKeyEnabled: true }] },
      parent,
    );
    new aws.s3.BucketPolicy(`${name}-artifacts-tls-only`, { bucket: bucket.id, policy: bucket.arn.apply((arn) => json(tlsOnlyBucketPolicy(arn))) }, parent);
    new aws.s3.BucketLifecycleConfiguration(`${name}-artifacts-lifecycle`, { bucket: bucket.id, rules: lifecycleRules(s.intermediateDays) }, parent);

    // Registries: one per component plus the built-ins.
    const repos = ecrRepositoryNames(name, args.images).map((repoName) => {
      const slug = repoName.slice(name.length + 1).replace(/[^a-z0-9-]/g, "-");
      const repo = new aws.ecr.Repository(
        `${name}-ecr-${slug}`,
        { name: repoName, imageTagMutability: "IMMUTABLE", imageScanningConfiguration: { scanOnPush: true }, tags },
        parent,
      );
      new aws.ecr.LifecyclePolicy(`${name}-ecr-${slug}-lifecycle`, { repository: repo.name, policy: json(ecrLifecyclePolicy(s.ecrKeepImages)) }, parent);
      return repo;
    });
    // The account's registry, known before any repository exists (an invoke, answered in preview too), so
    // the first `pulumi preview` already shows the WorkflowTemplate with its images. The repositories
    // must exist before a push: through their URNs (known at once) the images depend on them.
    const account = aws.getCallerIdentityOutput({}, parent).accountId;
    this.registryServer = pulumi
      .all([account, ...repos.map((r) => r.urn)])
      .apply(([id]) => `${id}.dkr.ecr.${s.region}.amazonaws.com/${name.toLowerCase()}`);

    // The one role of workflow pods: the artifact bucket, the input bucket read-only.
    const podRole = new aws.iam.Role(`${name}-workflow-role`, { assumeRolePolicy: json(assumeRolePolicy("pods.eks.amazonaws.com")), tags }, parent);
    const inputArn = args.inputBucket ? `arn:aws:s3:::${args.inputBucket}` : undefined;
    new aws.iam.RolePolicy(`${name}-workflow-policy`, { role: podRole.id, policy: bucket.arn.apply((arn) => json(podRolePolicy(arn, inputArn))) }, parent);
    new aws.eks.PodIdentityAssociation(
      `${name}-workflow-identity`,
      { clusterName: cluster.name, namespace: args.workflowNamespace ?? "naaw", serviceAccount: args.workflowServiceAccount ?? BUS_NAMES.workflowServiceAccount, roleArn: podRole.arn, tags },
      parent,
    );

    // The Argo server reads artifacts for its UI: a role of its own that can only read them.
    const serverRole = new aws.iam.Role(`${name}-argo-server-role`, { assumeRolePolicy: json(assumeRolePolicy("pods.eks.amazonaws.com")), tags }, parent);
    new aws.iam.RolePolicy(`${name}-argo-server-policy`, { role: serverRole.id, policy: bucket.arn.apply((arn) => json(artifactReadPolicy(arn))) }, parent);
    new aws.eks.PodIdentityAssociation(
      `${name}-argo-server-identity`,
      { clusterName: cluster.name, namespace: BUS_NAMES.argoNamespace, serviceAccount: BUS_NAMES.serverServiceAccount, roleArn: serverRole.arn, tags },
      parent,
    );
    // The workflows' namespace, named as the pod identity association above names it.
    this.workflowNamespace = new k8s.core.v1.Namespace(`${name}-namespace`, { metadata: { name: args.workflowNamespace ?? "naaw" } }, onCluster).metadata.name;

    this.artifacts = {
      bucket: bucket.bucket,
      endpoint: pulumi.output(`https://s3.${s.region}.amazonaws.com`),
      region: pulumi.output(s.region),
      auth: { kind: "role", roleArn: podRole.arn },
    };
    this.scheduling = workflowScheduling(s);
    this.plan = args.plan;

    this.registerOutputs({ kubeconfig: this.kubeconfig, artifacts: this.artifacts, registryServer: this.registryServer, clusterName: this.clusterName });
  }
}
