import type { RecordedResource } from "./pulumiMocks";

/** One way the program opens something to the whole internet. */
export interface WorldOpening {
  readonly resource: string;
  readonly type: string;
  readonly what: string;
}

const WORLD = new Set(["0.0.0.0/0", "::/0"]);
const world = (cidrs: unknown): string[] => (Array.isArray(cidrs) ? cidrs : cidrs === undefined ? [] : [cidrs]).filter((c): c is string => typeof c === "string" && WORLD.has(c));

/**
 * Every ingress the recorded program opens to 0.0.0.0/0 or ::/0: inline `ingress` of
 * aws.ec2.SecurityGroup, aws.ec2.SecurityGroupRule of type ingress, aws.vpc.SecurityGroupIngressRule,
 * and the EKS API endpoint (public with no `publicAccessCidrs` is AWS's default, 0.0.0.0/0).
 * Egress is not counted: nodes must reach the registry and AWS APIs.
 */
export function openToTheWorld(recorded: readonly RecordedResource[]): WorldOpening[] {
  const found: WorldOpening[] = [];
  const add = (r: RecordedResource, what: string) => found.push({ resource: r.name, type: r.type, what });
  for (const r of recorded) {
    const i = r.inputs;
    if (r.type === "aws:ec2/securityGroup:SecurityGroup") {
      for (const rule of i.ingress ?? []) for (const c of [...world(rule.cidrBlocks), ...world(rule.ipv6CidrBlocks)]) add(r, `ingress ${rule.protocol} ${rule.fromPort}-${rule.toPort} from ${c}`);
    }
    if (r.type === "aws:ec2/securityGroupRule:SecurityGroupRule" && i.type === "ingress") {
      for (const c of [...world(i.cidrBlocks), ...world(i.ipv6CidrBlocks)]) add(r, `ingress ${i.protocol} ${i.fromPort}-${i.toPort} from ${c}`);
    }
    if (r.type === "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") {
      for (const c of [...world(i.cidrIpv4), ...world(i.cidrIpv6)]) add(r, `ingress ${i.ipProtocol} ${i.fromPort}-${i.toPort} from ${c}`);
    }
    if (r.type === "aws:eks/cluster:Cluster" && i.vpcConfig?.endpointPublicAccess !== false) {
      const cidrs = i.vpcConfig?.publicAccessCidrs;
      if (!Array.isArray(cidrs) || cidrs.length === 0) add(r, "public API endpoint from 0.0.0.0/0 (no publicAccessCidrs)");
      else for (const c of world(cidrs)) add(r, `public API endpoint from ${c}`);
    }
  }
  return found;
}

/** Whether a resource's tags carry every key/value of `selector` (how Karpenter's selector terms match). */
export function tagsMatch(tags: Record<string, string> | undefined, selector: Record<string, string>): boolean {
  return Object.entries(selector).every(([k, v]) => tags?.[k] === v);
}
