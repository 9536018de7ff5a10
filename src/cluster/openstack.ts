import type { Plan } from "../plan/plan";
import { ArtifactStoreSettings, checkArtifactStore, checkRegistry, ClusterConfigError, DEFAULT_NAMESPACE } from "./existing";

/** The Kubernetes API port, behind Magnum's API load balancer. */
export const API_PORT = 6443;
export const DEFAULT_SUBNET_CIDR = "10.42.0.0/24";
export const DEFAULT_MASTER_COUNT = 1;
/** Swift's S3 API takes any region name; RegionOne is OpenStack's default. */
export const DEFAULT_OPENSTACK_REGION = "RegionOne";

/** OpenStack config, checked before any resource. */
export interface OpenStackSettings {
  /** `naaw:externalNetwork`: the provider network the router and the API load balancer use. @example "public" */
  readonly externalNetwork: string;
  /** `naaw:apiAllowedCidrs`: who may reach the API (port 6443). @example ["192.0.2.0/24"] */
  readonly apiAllowedCidrs: readonly string[];
  /** `naaw:masterCount`. @default 1 */
  readonly masterCount: number;
  /** `naaw:masterFlavor`. @default the cloud's Magnum default (the plan sizes workers only) */
  readonly masterFlavor?: string;
  /** `naaw:magnumImage`: the Glance image Magnum boots (Fedora CoreOS). @example "fedora-coreos-38" */
  readonly image: string;
  /** `naaw:keypair`: an SSH keypair for the nodes. @default none */
  readonly keypair?: string;
  /** `naaw:subnetCidr`. @default "10.42.0.0/24" */
  readonly subnetCidr: string;
  /** `naaw:dnsNameservers`. @default none (the cloud's) */
  readonly dnsNameservers: readonly string[];
  /** `naaw:artifacts`: the cloud's S3 API endpoint, and optionally the container's name and region. */
  readonly artifacts: ArtifactStoreSettings;
  readonly registryServer: string;
  /** `naaw:namespace`. @default "naaw" */
  readonly namespace: string;
}

/** What the plan decided, as Magnum takes it. */
export interface OpenStackSizing {
  readonly flavor: string;
  readonly nodeCount: number;
  readonly minNodeCount: number;
  readonly maxNodeCount: number;
  /** GB of each node's boot volume: the plan's `nodeVolumeGiB` (its tile batch pods' disk and the system's). */
  readonly bootVolumeGB: number;
}

type Raw = Readonly<Record<string, unknown>>;

function structured(value: unknown): unknown {
  if (typeof value === "string" && /^\s*\[/.test(value)) {
    try {
      return JSON.parse(value);
    } catch {
      return value;
    }
  }
  return value;
}

function stringList(value: unknown): string[] | undefined {
  const v = structured(value);
  if (Array.isArray(v) && v.every((s) => typeof s === "string")) return v as string[];
  if (typeof v === "string") return v.split(",").map((s) => s.trim()).filter(Boolean);
  return undefined;
}

const IPV4_CIDR = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}\/(3[0-2]|[12]?\d)$/;
const IPV6_CIDR = /^[0-9a-f:]+\/(12[0-8]|1[01]\d|\d?\d)$/i;

export function isCidr(value: string): boolean {
  return IPV4_CIDR.test(value) || (value.includes(":") && IPV6_CIDR.test(value));
}

/** The OpenStack settings, every problem at once. */
export function openStackSettings(raw: Raw): OpenStackSettings {
  const problems: string[] = [];
  const text = (key: string) => (typeof raw[key] === "string" && (raw[key] as string).trim() !== "" ? (raw[key] as string) : undefined);
  const externalNetwork = text("externalNetwork");
  if (!externalNetwork) problems.push("naaw:externalNetwork is missing: set it to the name of the cloud's external (provider) network, e.g. `openstack network list --external`");
  const cidrs = stringList(raw.apiAllowedCidrs);
  if (raw.apiAllowedCidrs === undefined || !cidrs || cidrs.length === 0) {
    problems.push("naaw:apiAllowedCidrs is missing: set it to the CIDRs that may reach the Kubernetes API (port 6443), e.g. [\"192.0.2.0/24\"]; nothing else is opened");
  } else {
    for (const c of cidrs.filter((c) => !isCidr(c))) problems.push(`naaw:apiAllowedCidrs has '${c}', which is not a CIDR (e.g. 192.0.2.0/24)`);
  }
  let masterCount = DEFAULT_MASTER_COUNT;
  if (raw.masterCount !== undefined) {
    masterCount = Number(raw.masterCount);
    if (!Number.isInteger(masterCount) || masterCount < 1 || masterCount % 2 === 0) problems.push(`naaw:masterCount must be an odd whole number (1, 3, 5: etcd needs a majority), got '${String(raw.masterCount)}'`);
  }
  const image = text("magnumImage");
  if (!image) problems.push("naaw:magnumImage is missing: set it to the Glance image Magnum's Kubernetes driver boots (e.g. fedora-coreos-38)");
  const subnetCidr = text("subnetCidr") ?? DEFAULT_SUBNET_CIDR;
  if (!IPV4_CIDR.test(subnetCidr)) problems.push(`naaw:subnetCidr must be an IPv4 CIDR such as ${DEFAULT_SUBNET_CIDR}, got '${subnetCidr}'`);
  const dns = raw.dnsNameservers === undefined ? [] : stringList(raw.dnsNameservers);
  if (!dns) problems.push(`naaw:dnsNameservers must be a list of IP addresses, got '${String(raw.dnsNameservers)}'`);
  const artifacts = checkArtifactStore(raw, problems, { requireBucket: false });
  const registryServer = checkRegistry(raw, problems);
  const namespace = text("namespace") ?? DEFAULT_NAMESPACE;
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(namespace)) problems.push(`naaw:namespace must be a Kubernetes namespace name, got '${namespace}'`);
  if (problems.length > 0) throw new ClusterConfigError(problems);
  return {
    externalNetwork: externalNetwork!,
    apiAllowedCidrs: cidrs!,
    masterCount,
    masterFlavor: text("masterFlavor"),
    image: image!,
    keypair: text("keypair"),
    subnetCidr,
    dnsNameservers: dns ?? [],
    // An S3 region is optional for Swift; the OpenStack default reads better than us-east-1.
    artifacts: { ...artifacts!, region: typeof (structured(raw.artifacts) as Record<string, unknown>)?.region === "string" ? artifacts!.region : DEFAULT_OPENSTACK_REGION },
    registryServer: registryServer!,
    namespace,
  };
}

/**
 * The plan's sizing, taken as it is: its flavor, its node count as the start, the autoscaler
 * between one node (idle) and the plan's count (the cap the plan priced).
 */
export function openStackSizing(plan: Plan): OpenStackSizing {
  if (plan.request.cloud !== "openstack") throw new ClusterConfigError([`the plan is for ${plan.request.cloud}, not OpenStack: set naaw:cloud to openstack and naaw:openstackFlavors`]);
  if (!plan.feasible || !plan.chosen) throw new ClusterConfigError([`the plan is infeasible (${plan.reason ?? "no candidate"}): change naaw:budget, naaw:deadlineHours or naaw:openstackFlavors and re-plan`]);
  const { machine, nodes } = plan.chosen.candidate;
  return { flavor: machine.name, nodeCount: nodes, minNodeCount: 1, maxNodeCount: nodes, bootVolumeGB: plan.chosen.nodeVolumeGiB };
}

/**
 * Magnum labels: the autoscaler around the plan, and the API load balancer reachable from outside
 * (`pulumi up` installs Argo through it) but only from `naaw:apiAllowedCidrs`. Magnum makes the
 * nodes' and the load balancer's security groups itself; `master_lb_allowed_cidrs` (comma-delimited;
 * empty means 0.0.0.0/0) is what limits who reaches the API (Magnum user guide, Kubernetes labels).
 * `boot_volume_size`: the nodes boot from a Cinder volume of the plan's size, so the root filesystem,
 * where the kubelet keeps emptyDirs (a tile batch pod's pieces), holds the plan's disk whatever the
 * flavor's own disk. Magnum's `docker_volume_size` would not do: it holds only the container images.
 */
export function magnumLabels(sizing: OpenStackSizing, settings: Pick<OpenStackSettings, "apiAllowedCidrs">): Record<string, string> {
  if (settings.apiAllowedCidrs.length === 0) throw new ClusterConfigError(["naaw:apiAllowedCidrs is empty: Magnum would open the API to 0.0.0.0/0; set the CIDRs that may reach it"]);
  return {
    auto_scaling_enabled: "true",
    max_node_count: String(sizing.maxNodeCount),
    min_node_count: String(sizing.minNodeCount),
    master_lb_floating_ip_enabled: "true",
    master_lb_allowed_cidrs: settings.apiAllowedCidrs.join(","),
    boot_volume_size: String(sizing.bootVolumeGB),
  };
}

/** A flavor the program will ask Nova for, and the config key it came from. */
export interface FlavorUse {
  readonly flavor: string;
  readonly key: "naaw:openstackFlavors" | "naaw:masterFlavor";
}

/** The flavors to look up before any node boots: the plan's worker flavor, and the master flavor when configured. */
export function flavorsToCheck(sizing: OpenStackSizing, settings: Pick<OpenStackSettings, "masterFlavor">): FlavorUse[] {
  const uses: FlavorUse[] = [{ flavor: sizing.flavor, key: "naaw:openstackFlavors" }];
  if (settings.masterFlavor && settings.masterFlavor !== sizing.flavor) uses.push({ flavor: settings.masterFlavor, key: "naaw:masterFlavor" });
  return uses;
}

/** The message when Neutron has no such external network. */
export function missingExternalNetworkMessage(network: string, cause: string): string {
  return `naaw:externalNetwork: no external network named '${network}' in this cloud; list them with \`openstack network list --external\` and set naaw:externalNetwork to one (${cause.split("\n")[0]})`;
}

/** The message when Nova has no such flavor. */
export function missingFlavorMessage(use: FlavorUse, cause: string): string {
  const what = use.key === "naaw:openstackFlavors" ? "the plan picked it from naaw:openstackFlavors" : "naaw:masterFlavor names it";
  return `${use.key}: flavor '${use.flavor}' does not exist in this cloud (${what}); list the cloud's flavors with \`openstack flavor list\` and fix ${use.key} (${cause.split("\n")[0]})`;
}

/** The artifact container's name: the configured bucket, else one derived from the component's name. */
export function artifactContainerName(componentName: string, configured: string): string {
  if (configured) return configured;
  return `naaw-${componentName.toLowerCase().replace(/[^a-z0-9-]/g, "-")}-artifacts`.slice(0, 63).replace(/-+$/, "");
}
