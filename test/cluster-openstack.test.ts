import * as assert from "assert";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { ClusterConfigError } from "../src/cluster/existing";
import { flavorsToCheck, magnumLabels, openStackSettings, openStackSizing } from "../src/cluster/openstack";
import type { Plan } from "../src/plan/plan";
import { planWorkflow } from "../src/plan/planWorkflow";
import { readStackSettings } from "../src/plan/settings";
import { compileWorkflow } from "../src/workflow/compile";
import { installRecordingMocks, isSecret, RecordedResource, settled, unwrapInput, valueOf } from "./helpers/pulumiMocks";

const REPO = path.resolve(__dirname, "..");
const KUBECONFIG = "apiVersion: v1\nkind: Config\nclusters: [{name: m, cluster: {server: 'https://203.0.113.10:6443'}}]\ncontexts: [{name: m, context: {cluster: m, user: m}}]\nusers: [{name: m, user: {token: t}}]\ncurrent-context: m\n";

/** The committed OpenStack stack's plan (AHN3 on the configured flavors), as `naaw plan --stack openstack-lidar` makes it. */
function ahn3OpenStackPlan(): Plan {
  const workflow = path.join(REPO, "workflows", "lidar.yaml");
  const { graph } = compileWorkflow(workflow);
  return planWorkflow(workflow, graph!, readStackSettings("openstack-lidar", path.join(REPO, "stacks"))).plan;
}

const GOOD: Record<string, string> = {
  externalNetwork: "public",
  apiAllowedCidrs: JSON.stringify(["192.0.2.0/24"]),
  magnumImage: "fedora-coreos-38",
  artifacts: JSON.stringify({ endpoint: "https://object.cloud.example.org" }),
  registry: JSON.stringify({ server: "harbor.cloud.example.org/naaw" }),
};

/** The flavors the mocked cloud has: the committed stack's three. */
const CLOUD_FLAVORS = ["m1.xlarge", "m1.2xlarge", "hm1.2xlarge"];

/**
 * Pulumi's mocks, recording every resource; only the external network lookup and flavor lookups of
 * `flavors` are answered (Nova's "no flavor" is an error, as the provider reports it).
 */
function mockOpenStack(config: Record<string, string>, flavors: readonly string[] = CLOUD_FLAVORS): { recorded: RecordedResource[]; calls: string[] } {
  const recorded: RecordedResource[] = [];
  const calls: string[] = [];
  pulumi.runtime.setAllConfig(Object.fromEntries(Object.entries(config).map(([k, v]) => [`naaw:${k}`, v])), []);
  installRecordingMocks(
    recorded,
    (args) => {
      const state: Record<string, any> = { ...args.inputs };
      if (args.type === "openstack:containerinfra/cluster:Cluster") state.kubeconfig = { rawConfig: KUBECONFIG, host: "https://203.0.113.10:6443", clientCertificate: "", clientKey: "", clusterCaCertificate: "" };
      if (args.type === "openstack:identity/ec2CredentialV3:Ec2CredentialV3") Object.assign(state, { access: "ec2-access", secret: "ec2-secret" });
      return state;
    },
    (args) => {
      calls.push(`${args.token} ${args.inputs.name}`);
      if (args.token === "openstack:networking/getNetwork:getNetwork" && args.inputs.name === "public") return { id: "ext-net-id", name: "public", external: true };
      if (args.token === "openstack:compute/getFlavor:getFlavor") {
        if (flavors.includes(args.inputs.name)) return { id: `${args.inputs.name}-id`, name: args.inputs.name, vcpus: 8, ram: 32768 };
        throw new Error(`Your query returned no results. Please change your search criteria and try again.`);
      }
      return undefined;
    },
  );
  return { recorded, calls };
}

describe("OpenStack cluster config and sizing (no Pulumi)", function () {
  this.timeout(120000);

  it("takes the plan's flavor and node count, the autoscaler between one node and the plan's count", () => {
    const plan = ahn3OpenStackPlan();
    assert.ok(plan.chosen, plan.reason);
    const sizing = openStackSizing(plan);
    assert.strictEqual(sizing.flavor, plan.chosen!.candidate.machine.name);
    assert.strictEqual(sizing.nodeCount, plan.chosen!.candidate.nodes);
    assert.deepStrictEqual(magnumLabels(sizing, { apiAllowedCidrs: ["192.0.2.0/24", "198.51.100.0/24"] }), {
      auto_scaling_enabled: "true",
      min_node_count: "1",
      max_node_count: String(plan.chosen!.candidate.nodes),
      master_lb_floating_ip_enabled: "true",
      master_lb_allowed_cidrs: "192.0.2.0/24,198.51.100.0/24",
      boot_volume_size: String(plan.chosen!.nodeVolumeGiB),
    });
    // An empty list would be Magnum's default, 0.0.0.0/0: refused rather than rendered.
    assert.throws(() => magnumLabels(sizing, { apiAllowedCidrs: [] }), /naaw:apiAllowedCidrs is empty/);
    assert.deepStrictEqual(flavorsToCheck(sizing, { masterFlavor: "m1.large" }), [
      { flavor: sizing.flavor, key: "naaw:openstackFlavors" },
      { flavor: "m1.large", key: "naaw:masterFlavor" },
    ]);
  });

  it("refuses a plan that is not for OpenStack or is infeasible", () => {
    const plan = ahn3OpenStackPlan();
    assert.throws(() => openStackSizing({ ...plan, request: { ...plan.request, cloud: "aws" } }), /the plan is for aws, not OpenStack: set naaw:cloud/);
    assert.throws(() => openStackSizing({ ...plan, feasible: false, chosen: undefined, reason: "too slow" }), /the plan is infeasible \(too slow\)/);
  });

  it("defaults: one master, the OpenStack region, no DNS override", () => {
    const s = openStackSettings(GOOD);
    assert.strictEqual(s.masterCount, 1);
    assert.strictEqual(s.artifacts.region, "RegionOne");
    assert.deepStrictEqual(s.apiAllowedCidrs, ["192.0.2.0/24"]);
  });

  for (const [what, override, message] of [
    ["a missing external network", { externalNetwork: undefined }, /^naaw:externalNetwork is missing/],
    ["no API CIDRs", { apiAllowedCidrs: undefined }, /^naaw:apiAllowedCidrs is missing/],
    ["an API CIDR that is not one", { apiAllowedCidrs: "192.0.2.0/33" }, /^naaw:apiAllowedCidrs has '192\.0\.2\.0\/33', which is not a CIDR/],
    ["an even master count", { masterCount: "2" }, /^naaw:masterCount must be an odd whole number/],
    ["an artifact endpoint that is not a URL", { artifacts: JSON.stringify({ endpoint: "object.cloud" }) }, /^naaw:artifacts\.endpoint must be an http\(s\) URL/],
  ] as const) {
    it(`refuses ${what}, naming the key`, () => {
      const raw: Record<string, unknown> = { ...GOOD, ...override };
      assert.throws(() => openStackSettings(raw), (e: Error) => e instanceof ClusterConfigError && message.test(e.message));
    });
  }
});

describe("OpenStackCluster (mocks)", function () {
  this.timeout(120000);

  it("GIVEN the openstack-lidar plan WHEN built THEN Magnum gets the plan's flavor and nodes, the API is open only to the configured CIDRs, secrets stay secret", async () => {
    const plan = ahn3OpenStackPlan();
    const { recorded, calls } = mockOpenStack(GOOD);
    const { OpenStackCluster } = await import("../components/OpenStackCluster");
    const cluster = new OpenStackCluster("ahn3", { plan });
    assert.strictEqual(await isSecret(cluster.kubeconfig), true);
    assert.strictEqual(await valueOf(cluster.kubeconfig), KUBECONFIG);
    assert.strictEqual(await valueOf(cluster.registryServer), "harbor.cloud.example.org/naaw");
    assert.strictEqual(await valueOf(cluster.artifacts.endpoint), "https://object.cloud.example.org");
    assert.strictEqual(await valueOf(cluster.artifacts.bucket), "naaw-ahn3-artifacts");
    assert.strictEqual(cluster.artifacts.auth.kind, "secret");
    if (cluster.artifacts.auth.kind === "secret") {
      assert.strictEqual(await isSecret(cluster.artifacts.auth.accessKey), true);
      assert.strictEqual(await isSecret(cluster.artifacts.auth.secretKey), true);
      await valueOf(cluster.artifacts.auth.secretName);
    }
    await cluster.cloudChecked;
    await settled(recorded);
    const { machine, nodes } = plan.chosen!.candidate;
    assert.deepStrictEqual([...new Set(calls)].sort(), [`openstack:compute/getFlavor:getFlavor ${machine.name}`, "openstack:networking/getNetwork:getNetwork public"]);

    const byType = (t: string) => recorded.filter((r) => r.type === t);
    const one = (t: string) => {
      const found = byType(t);
      assert.strictEqual(found.length, 1, `${t}: ${found.length}`);
      return found[0];
    };
    one("naaw:index:OpenStackCluster");
    assert.strictEqual(one("openstack:networking/router:Router").inputs.externalNetworkId, "ext-net-id");
    one("openstack:networking/network:Network");
    one("openstack:networking/subnet:Subnet");
    one("openstack:networking/routerInterface:RouterInterface");

    const magnum = one("openstack:containerinfra/cluster:Cluster");
    assert.strictEqual(magnum.inputs.flavor, machine.name);
    assert.strictEqual(magnum.inputs.nodeCount, nodes);
    assert.strictEqual(magnum.inputs.masterCount, 1);
    const labels = { auto_scaling_enabled: "true", min_node_count: "1", max_node_count: String(nodes), master_lb_floating_ip_enabled: "true", master_lb_allowed_cidrs: "192.0.2.0/24", boot_volume_size: String(plan.chosen!.nodeVolumeGiB) };
    assert.deepStrictEqual(magnum.inputs.labels, labels);
    const template = one("openstack:containerinfra/clusterTemplate:ClusterTemplate");
    assert.strictEqual(template.inputs.flavor, machine.name);
    assert.strictEqual(template.inputs.coe, "kubernetes");
    assert.strictEqual(template.inputs.externalNetworkId, "ext-net-id");
    // The allowed CIDRs only work behind Magnum's API load balancer.
    assert.strictEqual(template.inputs.masterLbEnabled, true);
    assert.deepStrictEqual(template.inputs.labels, labels);

    // No security group of ours: Magnum attaches its own; an unattached group would restrict nothing.
    assert.deepStrictEqual(recorded.filter((r) => /secGroup/i.test(r.type)).map((r) => r.type), []);

    one("openstack:identity/ec2CredentialV3:Ec2CredentialV3");
    assert.strictEqual(one("openstack:objectstorage/container:Container").inputs.name, "naaw-ahn3-artifacts");
    const provider = one("pulumi:providers:kubernetes");
    assert.strictEqual(unwrapInput(provider.inputs.kubeconfig).secret, true);
    const secret = one("kubernetes:core/v1:Secret");
    const data = unwrapInput(secret.inputs.stringData);
    const access = data.secret ? { secret: true, value: data.value.accessKey } : unwrapInput(data.value.accessKey);
    const key = data.secret ? { secret: true, value: data.value.secretKey } : unwrapInput(data.value.secretKey);
    assert.deepStrictEqual([access, key], [{ secret: true, value: "ec2-access" }, { secret: true, value: "ec2-secret" }]);
    for (const r of recorded) assert.ok(r.name.startsWith("ahn3-") || r.name === "ahn3", r.name);
  });

  it("opens the API to 0.0.0.0/0 only when config says so", async () => {
    const plan = ahn3OpenStackPlan();
    const { recorded } = mockOpenStack({ ...GOOD, apiAllowedCidrs: "0.0.0.0/0" });
    const { OpenStackCluster } = await import("../components/OpenStackCluster");
    const cluster = new OpenStackCluster("open", { plan });
    await cluster.cloudChecked;
    await settled(recorded);
    const magnum = recorded.find((r) => r.type === "openstack:containerinfra/cluster:Cluster")!;
    assert.strictEqual(magnum.inputs.labels.master_lb_allowed_cidrs, "0.0.0.0/0");
  });

  for (const [what, config, flavors, message] of [
    ["the plan's flavor is not in the cloud", GOOD, ["m1.small"], /^naaw:openstackFlavors: flavor '(m1\.xlarge|m1\.2xlarge|hm1\.2xlarge)' does not exist in this cloud \(the plan picked it from naaw:openstackFlavors\); .*openstack flavor list/],
    ["naaw:masterFlavor is not in the cloud", { ...GOOD, masterFlavor: "m9.huge" }, CLOUD_FLAVORS, /^naaw:masterFlavor: flavor 'm9\.huge' does not exist in this cloud \(naaw:masterFlavor names it\)/],
  ] as const) {
    it(`GIVEN ${what} THEN it fails naming the key and the flavor, and no Magnum template or cluster is made`, async () => {
      const plan = ahn3OpenStackPlan();
      const { recorded } = mockOpenStack(config, flavors);
      const { OpenStackCluster } = await import("../components/OpenStackCluster");
      const cluster = new OpenStackCluster("noflavor", { plan });
      await assert.rejects(cluster.cloudChecked, (e: Error) => message.test(e.message));
      await settled(recorded);
      assert.deepStrictEqual(recorded.filter((r) => r.type.startsWith("openstack:containerinfra/")).map((r) => r.type), []);
    });
  }

  it("GIVEN an external network the cloud does not have THEN it fails naming naaw:externalNetwork, and no router or Magnum cluster is made", async () => {
    const plan = ahn3OpenStackPlan();
    const { recorded } = mockOpenStack({ ...GOOD, externalNetwork: "publik" });
    const { OpenStackCluster } = await import("../components/OpenStackCluster");
    const cluster = new OpenStackCluster("nonet", { plan });
    await assert.rejects(cluster.cloudChecked, (e: Error) => /^naaw:externalNetwork: no external network named 'publik' in this cloud; .*openstack network list --external/.test(e.message));
    await settled(recorded);
    assert.deepStrictEqual(recorded.filter((r) => /router|containerinfra/.test(r.type)).map((r) => r.type), []);
  });

  it("GIVEN no external network THEN it fails naming naaw:externalNetwork before any resource is registered", async () => {
    const plan = ahn3OpenStackPlan();
    const { externalNetwork: _, ...rest } = GOOD;
    const { recorded, calls } = mockOpenStack(rest);
    const { OpenStackCluster } = await import("../components/OpenStackCluster");
    assert.throws(() => new OpenStackCluster("bad", { plan }), (e: Error) => e.message.startsWith("naaw:externalNetwork is missing"));
    await settled(recorded);
    assert.deepStrictEqual(recorded, []);
    assert.deepStrictEqual(calls, []);
  });
});
