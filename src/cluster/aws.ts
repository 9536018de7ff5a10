import { BUILTINS_IMAGE_NAME } from "../containerize/builtinsContext";
/**
 * The AWS cluster's decisions, as pure functions: names, tags, the Karpenter NodePool from the plan,
 * the IAM and bucket policies, lifecycle rules and the config check. No Pulumi import: unit-tested alone.
 * Sizes come from the plan (`plan.chosen`); nothing here re-decides them.
 */
import type { IEC2NodeClass } from "@kubernetes-models/karpenter/karpenter.k8s.aws/v1/EC2NodeClass";
import type { INodePool } from "@kubernetes-models/karpenter/karpenter.sh/v1/NodePool";
import type { Plan } from "../plan/plan";
import { KARPENTER_AMI_ALIAS } from "./awsVersions";

/** A config value that cannot work: names the key and what it expects. Thrown before any resource exists. */
export class AwsConfigError extends Error {
  /** Pulumi's RunError marker (duck-typed, src/ has no Pulumi import): `pulumi up` prints the message, no stack. */
  readonly __pulumiRunError = true;
  constructor(readonly key: string, message: string) {
    super(`${key}: ${message}`);
    this.name = "AwsConfigError";
  }
}

/** Availability zones used per region (two or three), so the program needs no provider call. */
export const REGION_ZONES: Readonly<Record<string, readonly string[]>> = {
  "us-east-1": ["us-east-1a", "us-east-1b", "us-east-1c"],
  "eu-west-1": ["eu-west-1a", "eu-west-1b", "eu-west-1c"],
  "eu-central-1": ["eu-central-1a", "eu-central-1b", "eu-central-1c"],
};

/** Control-plane log types EKS accepts. */
export const EKS_LOG_TYPES = ["api", "audit", "authenticator", "controllerManager", "scheduler"] as const;

/** The workflow taint: only workflow pods tolerate it. */
export const WORKFLOW_TAINT = { key: "naaw.io/workflow", value: "true", effect: "NoSchedule" } as const;

/** Raw config, as strings (or absent), keyed by the full `naaw:` key. */
export interface AwsRawConfig {
  readonly publicAccessCidrs?: string;
  readonly privateEndpoint?: string;
  readonly clusterLogTypes?: string;
  readonly adminRoleArn?: string;
  readonly intermediateDays?: string;
  readonly ecrKeepImages?: string;
}

/** Checked config. */
export interface AwsSettings {
  readonly region: string;
  readonly zones: readonly string[];
  /** Who may reach the public API endpoint; empty only when `privateEndpoint`. */
  readonly publicAccessCidrs: readonly string[];
  /** `naaw:privateEndpoint=true`: the program runs inside the VPC, the API endpoint is private only. */
  readonly privateEndpoint: boolean;
  readonly clusterLogTypes: readonly string[];
  readonly adminRoleArn?: string;
  readonly intermediateDays: number;
  readonly ecrKeepImages: number;
  readonly instanceType: string;
  readonly spot: boolean;
  readonly cpuLimit: number;
  readonly arch: "amd64" | "arm64";
  /** The workflow nodes' root volume, GiB: the plan's `nodeVolumeGiB` (its tile batch pods' disk and the system's). */
  readonly nodeVolumeGiB: number;
}

const CIDR = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}\/(3[0-2]|[12]?\d)$/;

function jsonList(key: string, raw: string | undefined): string[] {
  if (raw === undefined || raw === "") return [];
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new AwsConfigError(key, `expects a JSON list of strings, got '${raw}'`);
  }
  if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) throw new AwsConfigError(key, `expects a JSON list of strings, got '${raw}'`);
  return value as string[];
}

function positiveInt(key: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new AwsConfigError(key, `expects a whole number of at least 1, got '${raw}'`);
  return n;
}

/**
 * Who reaches the cluster's API, made explicit: `pulumi up` installs Argo through that API (the next
 * step of the program), so a private-only endpoint works only when the program runs inside the VPC.
 * Either `naaw:publicAccessCidrs` names who may reach the public endpoint (0.0.0.0/0 only when written
 * there literally), or `naaw:privateEndpoint=true` says the program runs inside the VPC; never both.
 */
function endpointChoice(rawPrivate: string | undefined, cidrs: readonly string[]): boolean {
  if (rawPrivate !== undefined && rawPrivate !== "" && rawPrivate !== "true" && rawPrivate !== "false") {
    throw new AwsConfigError("naaw:privateEndpoint", `expects true or false, got '${rawPrivate}'`);
  }
  const isPrivate = rawPrivate === "true";
  if (isPrivate && cidrs.length > 0) {
    throw new AwsConfigError("naaw:privateEndpoint", `is true (API reachable only inside the VPC) but naaw:publicAccessCidrs opens the public endpoint to ${cidrs.join(", ")}: unset one of them`);
  }
  if (!isPrivate && cidrs.length === 0) {
    throw new AwsConfigError(
      "naaw:publicAccessCidrs",
      "is not set, and pulumi up installs Argo through the cluster's API: set it to the CIDRs of the machine that runs pulumi " +
        "(e.g. `pulumi config set --path 'naaw:publicAccessCidrs[0]' 203.0.113.7/32`), or set naaw:privateEndpoint to true when the program runs inside the VPC",
    );
  }
  return isPrivate;
}

/** Checks the plan and config; throws `AwsConfigError` naming the key. */
export function awsSettings(plan: Plan, raw: AwsRawConfig, zones?: readonly string[]): AwsSettings {
  const region = plan.request.region;
  if (plan.request.cloud !== "aws") throw new AwsConfigError("naaw:cloud", `expects 'aws' for an AwsCluster, got '${plan.request.cloud}'`);
  const known = REGION_ZONES[region];
  if (!known && !zones) throw new AwsConfigError("naaw:region", `unknown region '${region}' (known: ${Object.keys(REGION_ZONES).join(", ")})`);
  const azs = zones ?? known!;
  if (azs.length < 2 || azs.length > 3) throw new AwsConfigError("availabilityZones", `expects two or three zones, got ${azs.length}`);
  if (!plan.feasible || !plan.chosen) throw new AwsConfigError("naaw:plan", `the plan is infeasible: ${plan.reason ?? "no candidate fits"}`);
  const cidrs = jsonList("naaw:publicAccessCidrs", raw.publicAccessCidrs);
  for (const c of cidrs) if (!CIDR.test(c)) throw new AwsConfigError("naaw:publicAccessCidrs", `'${c}' is not an IPv4 CIDR (like 203.0.113.0/24)`);
  const privateEndpoint = endpointChoice(raw.privateEndpoint, cidrs);
  const logs = jsonList("naaw:clusterLogTypes", raw.clusterLogTypes);
  for (const l of logs) if (!(EKS_LOG_TYPES as readonly string[]).includes(l)) throw new AwsConfigError("naaw:clusterLogTypes", `'${l}' is not one of ${EKS_LOG_TYPES.join(", ")}`);
  if (raw.adminRoleArn !== undefined && raw.adminRoleArn !== "" && !/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/.test(raw.adminRoleArn)) {
    throw new AwsConfigError("naaw:adminRoleArn", `expects an IAM role ARN (arn:aws:iam::123456789012:role/name), got '${raw.adminRoleArn}'`);
  }
  const { machine, nodes, spot } = plan.chosen.candidate;
  return {
    region,
    zones: azs,
    publicAccessCidrs: cidrs,
    privateEndpoint,
    clusterLogTypes: logs,
    adminRoleArn: raw.adminRoleArn || undefined,
    intermediateDays: positiveInt("naaw:intermediateDays", raw.intermediateDays, 7),
    ecrKeepImages: positiveInt("naaw:ecrKeepImages", raw.ecrKeepImages, 10),
    instanceType: machine.name,
    spot,
    cpuLimit: machine.vcpus * nodes,
    arch: machine.arch === "arm64" ? "arm64" : "amd64",
    nodeVolumeGiB: plan.chosen.nodeVolumeGiB,
  };
}

/** Tags on every AWS resource. */
export function awsTags(name: string, stack: string): Record<string, string> {
  return {
    "app.kubernetes.io/name": "naaw",
    "app.kubernetes.io/instance": name,
    "app.kubernetes.io/managed-by": "pulumi",
    "naaw:stack": stack,
  };
}

/** The instance family of a type: `c7i.2xlarge` -> `c7i`. */
export function instanceFamily(instanceType: string): string {
  return instanceType.split(".")[0]!;
}

/** The tag Karpenter selects the nodes' subnets and security group by; the program puts it on both. */
export const DISCOVERY_TAG_KEY = "karpenter.sh/discovery";

/** The discovery tag for a cluster: on its private subnets and its cluster security group. */
export function discoveryTag(clusterName: string): Record<string, string> {
  return { [DISCOVERY_TAG_KEY]: clusterName };
}

/** The Karpenter NodePool spec (karpenter.sh/v1) for workflow pods, from the plan; typed by @kubernetes-models/karpenter. */
export function nodePoolSpec(s: AwsSettings, nodeClassName: string): INodePool["spec"] {
  return {
    template: {
      metadata: { labels: { "naaw.io/workflow": "true" } },
      spec: {
        nodeClassRef: { group: "karpenter.k8s.aws", kind: "EC2NodeClass", name: nodeClassName },
        requirements: [
          { key: "karpenter.k8s.aws/instance-family", operator: "In", values: [instanceFamily(s.instanceType)] },
          { key: "node.kubernetes.io/instance-type", operator: "In", values: [s.instanceType] },
          { key: "kubernetes.io/arch", operator: "In", values: [s.arch] },
          { key: "karpenter.sh/capacity-type", operator: "In", values: [s.spot ? "spot" : "on-demand"] },
        ],
        taints: [{ ...WORKFLOW_TAINT }],
      },
    },
    limits: { cpu: String(s.cpuLimit) },
    disruption: { consolidationPolicy: "WhenEmpty", consolidateAfter: "1m" },
  };
}

/** The root device of the AL2023 EKS AMIs (KARPENTER_AMI_ALIAS): Karpenter's own default mapping names it. */
export const ROOT_DEVICE = "/dev/xvda";

/**
 * The EC2NodeClass spec (karpenter.k8s.aws/v1): nodes run as `role`, in the subnets and with the
 * security group that carry the cluster's discovery tag (the private subnets and the EKS cluster
 * security group, both tagged by the program), on a gp3 root volume of `rootVolumeGiB` (the plan's
 * `nodeVolumeGiB`; Karpenter's default would be 20Gi). The kubelet's emptyDirs, where a tile batch
 * pod's pieces land, live on it, and Karpenter counts it as the node's ephemeral storage when it
 * places pods by their ephemeral-storage requests.
 */
export function ec2NodeClassSpec(role: string, clusterName: string, tags: Readonly<Record<string, string>>, rootVolumeGiB: number): IEC2NodeClass["spec"] {
  return {
    role,
    amiSelectorTerms: [{ alias: KARPENTER_AMI_ALIAS }],
    blockDeviceMappings: [{ deviceName: ROOT_DEVICE, rootVolume: true, ebs: { volumeSize: `${rootVolumeGiB}Gi`, volumeType: "gp3", encrypted: true, deleteOnTermination: true } }],
    subnetSelectorTerms: [{ tags: discoveryTag(clusterName) }],
    securityGroupSelectorTerms: [{ tags: discoveryTag(clusterName) }],
    // IMDSv2 only, one hop: pods cannot reach the node role's credentials through the metadata service.
    metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 },
    tags: { ...tags },
  };
}

/** The scheduling facts workflow pods carry. */
export function workflowScheduling(s: AwsSettings) {
  return {
    nodeSelector: { "naaw.io/workflow": "true", "karpenter.sh/capacity-type": s.spot ? "spot" : "on-demand" },
    tolerations: [{ key: WORKFLOW_TAINT.key, operator: "Equal" as const, value: WORKFLOW_TAINT.value, effect: WORKFLOW_TAINT.effect }],
    capacityType: (s.spot ? "spot" : "on-demand") as "spot" | "on-demand",
  };
}

/** The Argo server's policy: it shows artifacts and logs in the UI, so it reads the artifact bucket and nothing else. */
export function artifactReadPolicy(artifactBucketArn: string): Record<string, unknown> {
  return {
    Version: "2012-10-17",
    Statement: [
      { Sid: "ArtifactsList", Effect: "Allow", Action: ["s3:ListBucket", "s3:GetBucketLocation"], Resource: [artifactBucketArn] },
      { Sid: "ArtifactsRead", Effect: "Allow", Action: ["s3:GetObject"], Resource: [`${artifactBucketArn}/*`] },
    ],
  };
}

/** The workflow pod role's policy: the artifact bucket read/write, the input bucket read-only when given. */
export function podRolePolicy(artifactBucketArn: string, inputBucketArn?: string): Record<string, unknown> {
  const statements: Record<string, unknown>[] = [
    { Sid: "ArtifactsList", Effect: "Allow", Action: ["s3:ListBucket", "s3:GetBucketLocation"], Resource: [artifactBucketArn] },
    { Sid: "ArtifactsObjects", Effect: "Allow", Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"], Resource: [`${artifactBucketArn}/*`] },
  ];
  if (inputBucketArn) {
    statements.push({ Sid: "InputList", Effect: "Allow", Action: ["s3:ListBucket", "s3:GetBucketLocation"], Resource: [inputBucketArn] });
    statements.push({ Sid: "InputRead", Effect: "Allow", Action: ["s3:GetObject"], Resource: [`${inputBucketArn}/*`] });
  }
  return { Version: "2012-10-17", Statement: statements };
}

/** Denies every request to the bucket that is not over TLS. */
export function tlsOnlyBucketPolicy(bucketArn: string): Record<string, unknown> {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "DenyInsecureTransport",
        Effect: "Deny",
        Principal: "*",
        Action: "s3:*",
        Resource: [bucketArn, `${bucketArn}/*`],
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      },
    ],
  };
}

/** Prefixes of the artifact bucket: intermediates expire, results stay. */
export const INTERMEDIATE_PREFIX = "intermediate/";

/** Lifecycle rules (the shape of aws.s3.BucketLifecycleConfiguration's `rules`). */
export function lifecycleRules(intermediateDays: number) {
  return [
    { id: "expire-intermediates", status: "Enabled", filter: { prefix: INTERMEDIATE_PREFIX }, expiration: { days: intermediateDays } },
    { id: "abort-incomplete-uploads", status: "Enabled", filter: { prefix: "" }, abortIncompleteMultipartUpload: { daysAfterInitiation: 1 } },
  ];
}

/** ECR lifecycle policy keeping the last `keep` images. */
export function ecrLifecyclePolicy(keep: number): Record<string, unknown> {
  return {
    rules: [{ rulePriority: 1, description: `keep the last ${keep} images`, selection: { tagStatus: "any", countType: "imageCountMoreThan", countNumber: keep }, action: { type: "expire" } }],
  };
}

/** A trust policy for an AWS service principal (Pod Identity adds sts:TagSession). */
export function assumeRolePolicy(service: string): Record<string, unknown> {
  const actions = service === "pods.eks.amazonaws.com" ? ["sts:AssumeRole", "sts:TagSession"] : ["sts:AssumeRole"];
  return { Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: service }, Action: actions }] };
}

/** Subnet CIDRs in 10.0.0.0/16: private /19s from the bottom, public /24s from 10.0.192.0. */
export function subnetCidrs(zoneCount: number): { private: string[]; public: string[] } {
  const priv: string[] = [];
  const pub: string[] = [];
  for (let i = 0; i < zoneCount; i++) {
    priv.push(`10.0.${i * 32}.0/19`);
    pub.push(`10.0.${192 + i}.0/24`);
  }
  return { private: priv, public: pub };
}

/** ECR repository names: one per component plus the built-ins' image, lower case. */
export function ecrRepositoryNames(prefix: string, images: readonly string[]): string[] {
  return [...new Set([...images, BUILTINS_IMAGE_NAME])].map((i) => `${prefix}/${i}`.toLowerCase());
}

/** Kubeconfig (YAML-compatible JSON) for the cluster, authenticating with `aws eks get-token`. */
export function kubeconfig(clusterName: string, endpoint: string, caData: string, region: string): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: clusterName, cluster: { server: endpoint, "certificate-authority-data": caData } }],
    contexts: [{ name: clusterName, context: { cluster: clusterName, user: clusterName } }],
    "current-context": clusterName,
    users: [
      {
        name: clusterName,
        user: { exec: { apiVersion: "client.authentication.k8s.io/v1beta1", command: "aws", args: ["eks", "get-token", "--cluster-name", clusterName, "--region", region] } },
      },
    ],
  });
}
