import type { DataVolume } from "./volume";

/** A machine a candidate can be built from: an EC2 offer or an OpenStack flavor. */
export interface MachineType {
  readonly name: string;
  readonly vcpus: number;
  readonly memoryGiB: number;
  /** Per hour in the plan's currency; undefined for an OpenStack flavor without a configured price. */
  readonly price?: number;
  /** Per hour; undefined where there is no spot market (OpenStack) or no price. */
  readonly spotPrice?: number;
  readonly arch?: string;
}

/** A flavor from stack config (`naaw:openstackFlavors`). */
export interface OpenStackFlavor {
  readonly name: string;
  readonly vcpus: number;
  readonly memoryGiB: number;
  readonly pricePerHour?: number;
}

export type Objective = "time" | "cost";
export type InputLocation = "s3" | "internet";

/**
 * The model's fixed figures: what the calibration cannot measure here. Each is a stated assumption,
 * shown with the plan, and each can be set from stack config (`naaw:<name>`).
 */
export interface ModelAssumptions {
  /** EC2 launch to a Ready kubelet, with Karpenter. */
  readonly nodeBootSeconds: number;
  /** Component images pulled on a new node (they share the base layers). */
  readonly imagePullSeconds: number;
  /** Bytes of images a node pulls: through the NAT gateway (ECR without interface endpoints). */
  readonly imageGBPerNode: number;
  /** `pulumi up` to a usable cluster (EKS control plane, system nodes, Argo): billed as fixed time. */
  readonly clusterCreateHours: number;
  /** Scheduling a pod and starting its container with the image cached. */
  readonly podStartSeconds: number;
  /** Pods the Argo controller creates per second (its client QPS and the API server bound it). */
  readonly argoPodsPerSecond: number;
  /** Artifact transfer between a pod and S3, MB/s. */
  readonly s3MBPerSecondPerPod: number;
  /** A cloud vCPU's speed relative to a core of the calibration machine (1: the same). */
  readonly cpuSpeedFactor: number;
  /** CPU the kubelet, the OS and daemonsets (VPC CNI, kube-proxy) keep on every node. */
  readonly reservedCpuPerNode: number;
  /** Memory kept on every node: a fixed part plus a fraction (eviction threshold, kube-reserved). */
  readonly reservedMemoryGiB: number;
  readonly reservedMemoryFraction: number;
  /** Pods request this much more memory than the calibration's peak. */
  readonly memoryHeadroom: number;
  /** The fraction of tile work run again after spot interruptions. */
  readonly spotInterruptionOverhead: number;
  /** The on-demand system node group for Argo, Karpenter and CoreDNS. */
  readonly systemNodes: number;
  readonly systemNodeType: string;
  /** EKS support tier: `standard` needs `upgradePolicy.supportType: STANDARD` (the API's default is extended). */
  readonly controlPlaneSupport: "standard" | "extended";
  /**
   * Disk every workflow node keeps for itself besides the pods' requests, GiB: the OS (the EKS AL2023
   * AMI's root filesystem uses about 4 GB), the images containerd pulls and unpacks (the built-ins, the
   * tile steps' Python images and Argo's executor: several GB, held compressed and unpacked), and logs.
   */
  readonly systemDiskGB: number;
  /** The kubelet evicts pods when the node's filesystem has less than this fraction free (its default hard threshold, nodefs.available<10%). */
  readonly diskEvictionFraction: number;
  /** Pods request this much more disk than their pieces, window and rasters add up to (the bytes a point are the calibration sample's). */
  readonly diskHeadroom: number;
  /** A node stays this long after its last pod before Karpenter removes it. */
  readonly emptyNodeSeconds: number;
  /** The results are downloaded once to the internet (egress). */
  readonly downloadResults: boolean;
  /** S3 reads the input in ranges of this size (one GET each). */
  readonly inputReadChunkMiB: number;
}

export const DEFAULT_ASSUMPTIONS: ModelAssumptions = {
  nodeBootSeconds: 90,
  imagePullSeconds: 30,
  imageGBPerNode: 0.5,
  clusterCreateHours: 0.25,
  podStartSeconds: 4,
  argoPodsPerSecond: 10,
  s3MBPerSecondPerPod: 100,
  cpuSpeedFactor: 1,
  reservedCpuPerNode: 0.25,
  reservedMemoryGiB: 1,
  reservedMemoryFraction: 0.05,
  memoryHeadroom: 1.25,
  spotInterruptionOverhead: 0.05,
  systemNodes: 2,
  systemNodeType: "m7i.large",
  controlPlaneSupport: "standard",
  systemDiskGB: 20,
  diskEvictionFraction: 0.1,
  diskHeadroom: 1.25,
  emptyNodeSeconds: 60,
  downloadResults: true,
  inputReadChunkMiB: 8,
};

/** What the user asks for. */
export interface PlanRequest {
  readonly cloud: "aws" | "openstack";
  /** An AWS region; for OpenStack the cloud's name from config (shown only). */
  readonly region: string;
  readonly volume: DataVolume;
  readonly budget?: number;
  readonly deadlineHours?: number;
  readonly objective: Objective;
  /** Whether spot capacity may be used (AWS). */
  readonly spot: boolean;
  readonly inputLocation: InputLocation;
  /** Tile edges (metres) to try; the workflow's `tile_size` default when not given. */
  readonly tileSizes: readonly number[];
  /** Restrict the machine types (all of the region's when not given). */
  readonly instanceTypes?: readonly string[];
  /** CPU architectures the component images are built for (an arm64 node cannot run an x86_64-only image). */
  readonly architectures: readonly string[];
  /** The most workflow nodes (a quota, or Karpenter's limit). */
  readonly maxNodes: number;
  readonly currency: string;
  readonly assumptions: ModelAssumptions;
  /**
   * `naaw:ebsGBPerNode`, when the stack fixes the workflow nodes' root volume (GiB, what EBS calls GB):
   * a candidate whose nodes need more disk is left out. Unset: the planner sizes the volume.
   */
  readonly nodeVolumeGB?: number;
}

/** A value of the request that cannot be planned with: one line, exit 2. */
export class PlanInputError extends Error {}
