import * as assert from "assert";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { awsMockState, installRecordingMocks, isSecret, RecordedResource, settled, unwrapInput, valueOf } from "./helpers/pulumiMocks";
import type { Plan } from "../src/plan/plan";
import { planWorkflow } from "../src/plan/planWorkflow";
import { compileWorkflow } from "../src/workflow/compile";
import { AwsConfigError, awsSettings, lifecycleRules, nodePoolSpec, podRolePolicy, tlsOnlyBucketPolicy } from "../src/cluster/aws";

const WORKFLOW = path.resolve(__dirname, "..", "workflows", "lidar.yaml");

function lidarPlan(): Plan {
  const { graph } = compileWorkflow(WORKFLOW);
  return planWorkflow(WORKFLOW, graph!, { cloud: "aws", region: "eu-west-1", spot: true, data: "2TB", inputLocation: "s3" } as any).plan;
}

const policyOf = (r: RecordedResource) => JSON.parse(unwrapInput(r.inputs.policy).value);

describe("AwsCluster: decisions (no Pulumi)", function () {
  this.timeout(120000);
  const plan = lidarPlan();

  it("GIVEN the lidar plan WHEN settings are checked THEN instance type, capacity and CPU limit are the plan's", () => {
    const s = awsSettings(plan, {});
    const c = plan.chosen!.candidate;
    assert.strictEqual(s.instanceType, c.machine.name);
    assert.strictEqual(s.spot, c.spot);
    assert.strictEqual(s.cpuLimit, c.machine.vcpus * c.nodes);
    assert.strictEqual(s.intermediateDays, 7);
    assert.deepStrictEqual(s.publicAccessCidrs, []);
    const spec = nodePoolSpec(s, "nc") as any;
    assert.deepStrictEqual(spec.disruption, { consolidationPolicy: "WhenEmpty", consolidateAfter: "1m" });
    assert.deepStrictEqual(spec.template.spec.requirements.find((r: any) => r.key === "kubernetes.io/arch").values, [c.machine.arch === "arm64" ? "arm64" : "amd64"]);
  });

  it("GIVEN a spot plan WHEN the NodePool is built THEN its capacity type is spot", () => {
    const chosen = plan.chosen!;
    const spot = awsSettings({ ...plan, chosen: { ...chosen, candidate: { ...chosen.candidate, spot: true } } }, {});
    const spec = nodePoolSpec(spot, "nc") as any;
    assert.deepStrictEqual(spec.template.spec.requirements.find((r: any) => r.key === "karpenter.sh/capacity-type").values, ["spot"]);
  });

  it("GIVEN bad config WHEN checked THEN the error names the key", () => {
    assert.throws(() => awsSettings(plan, { publicAccessCidrs: '["10.0.0.0/33"]' }), (e: Error) => e instanceof AwsConfigError && /naaw:publicAccessCidrs/.test(e.message));
    assert.throws(() => awsSettings(plan, { intermediateDays: "0" }), /naaw:intermediateDays/);
    assert.throws(() => awsSettings(plan, { clusterLogTypes: '["bogus"]' }), /naaw:clusterLogTypes/);
    assert.throws(() => awsSettings({ ...plan, request: { ...plan.request, region: "mars-north-1" } }, {}), /naaw:region/);
    assert.throws(() => awsSettings({ ...plan, feasible: false, chosen: undefined, reason: "too small a budget" }, {}), /naaw:plan.*too small a budget/);
  });

  it("GIVEN bucket ARNs WHEN policies are built THEN they name only those buckets, TLS-only denies insecure transport", () => {
    const p = podRolePolicy("arn:aws:s3:::a", "arn:aws:s3:::in") as any;
    const resources = new Set(p.Statement.flatMap((st: any) => st.Resource));
    assert.deepStrictEqual([...resources].sort(), ["arn:aws:s3:::a", "arn:aws:s3:::a/*", "arn:aws:s3:::in", "arn:aws:s3:::in/*"]);
    const inputActions = p.Statement.filter((st: any) => String(st.Resource[0]).startsWith("arn:aws:s3:::in")).flatMap((st: any) => st.Action);
    assert.ok(inputActions.every((a: string) => !/Put|Delete/.test(a)), "input bucket is read-only");
    const tls = tlsOnlyBucketPolicy("arn:aws:s3:::a") as any;
    assert.strictEqual(tls.Statement[0].Effect, "Deny");
    assert.deepStrictEqual(tls.Statement[0].Condition, { Bool: { "aws:SecureTransport": "false" } });
    assert.strictEqual(lifecycleRules(3)[0]!.expiration!.days, 3);
  });
});

describe("AwsCluster: resources (mocks)", function () {
  this.timeout(120000);
  const recorded: RecordedResource[] = [];
  const plan = lidarPlan();
  let cluster: import("../components/AwsCluster").AwsCluster;
  const byType = (t: string) => recorded.filter((r) => r.type === t);

  before(async () => {
    installRecordingMocks(recorded, awsMockState);
    pulumi.runtime.setAllConfig({
      "naaw:publicAccessCidrs": JSON.stringify(["203.0.113.0/24"]),
      "naaw:adminRoleArn": "arn:aws:iam::123456789012:role/admin",
      "naaw:clusterLogTypes": JSON.stringify(["api", "audit"]),
      "naaw:intermediateDays": "5",
    });
    const { AwsCluster } = await import("../components/AwsCluster");
    cluster = new AwsCluster("naaw", { plan, images: ["lidar-split", "lidar-tile"], inputBucket: "ahn3-input" });
    await valueOf(cluster.kubeconfig);
    await settled(recorded);
  });

  it("GIVEN the cluster WHEN registered THEN one NAT gateway, an S3 gateway endpoint on the private route table, and no open ingress", () => {
    assert.strictEqual(byType("aws:ec2/natGateway:NatGateway").length, 1);
    assert.strictEqual(byType("aws:ec2/eip:Eip").length, 1);
    const endpoints = byType("aws:ec2/vpcEndpoint:VpcEndpoint");
    assert.strictEqual(endpoints.length, 1);
    assert.strictEqual(endpoints[0]!.inputs.vpcEndpointType, "Gateway");
    assert.strictEqual(endpoints[0]!.inputs.serviceName, "com.amazonaws.eu-west-1.s3");
    assert.deepStrictEqual(endpoints[0]!.inputs.routeTableIds, ["naaw-private-rt-id"]);
    const subnets = byType("aws:ec2/subnet:Subnet");
    assert.ok(subnets.length >= 4 && subnets.length <= 6);
    for (const r of recorded.filter((r) => /securityGroup/.test(r.type))) {
      const ingress = [...(r.inputs.ingress ?? []), ...(r.inputs.type === "ingress" ? [r.inputs] : [])];
      for (const rule of ingress) assert.ok(!(rule.cidrBlocks ?? []).includes("0.0.0.0/0") && rule.cidrIpv4 !== "0.0.0.0/0", r.name);
    }
  });

  it("GIVEN config WHEN the control plane is registered THEN standard support, API auth, public access only from the configured CIDRs, logging, admin entry, pinned add-ons", () => {
    const [eks] = byType("aws:eks/cluster:Cluster");
    assert.deepStrictEqual(eks!.inputs.upgradePolicy, { supportType: "STANDARD" });
    assert.strictEqual(eks!.inputs.accessConfig.authenticationMode, "API");
    assert.deepStrictEqual(eks!.inputs.vpcConfig.publicAccessCidrs, ["203.0.113.0/24"]);
    assert.deepStrictEqual(eks!.inputs.enabledClusterLogTypes, ["api", "audit"]);
    const admin = byType("aws:eks/accessEntry:AccessEntry").find((r) => r.inputs.principalArn === "arn:aws:iam::123456789012:role/admin");
    assert.ok(admin);
    assert.strictEqual(byType("aws:eks/accessPolicyAssociation:AccessPolicyAssociation").length, 1);
    const addons = byType("aws:eks/addon:Addon");
    assert.deepStrictEqual(addons.map((a) => a.inputs.addonName).sort(), ["coredns", "eks-pod-identity-agent", "kube-proxy", "vpc-cni"]);
    assert.ok(addons.every((a) => /^v\d/.test(a.inputs.addonVersion)));
    const [ng] = byType("aws:eks/nodeGroup:NodeGroup");
    assert.strictEqual(ng!.inputs.capacityType, "ON_DEMAND");
    assert.deepStrictEqual(ng!.inputs.instanceTypes, ["m7i.large"]);
  });

  it("GIVEN the plan WHEN the NodePool is registered THEN its instance type, family, capacity type and limits.cpu are the plan's, with the workflow taint", () => {
    const c = plan.chosen!.candidate;
    const pool = byType("kubernetes:karpenter.sh/v1:NodePool");
    assert.strictEqual(pool.length, 1);
    const spec = pool[0]!.inputs.spec;
    const req = (key: string) => spec.template.spec.requirements.find((r: any) => r.key === key).values;
    assert.deepStrictEqual(req("node.kubernetes.io/instance-type"), [c.machine.name]);
    assert.deepStrictEqual(req("karpenter.k8s.aws/instance-family"), [c.machine.name.split(".")[0]]);
    assert.deepStrictEqual(req("karpenter.sh/capacity-type"), [c.spot ? "spot" : "on-demand"]);
    assert.strictEqual(spec.limits.cpu, String(c.machine.vcpus * c.nodes));
    assert.deepStrictEqual(spec.template.spec.taints, [{ key: "naaw.io/workflow", value: "true", effect: "NoSchedule" }]);
    assert.deepStrictEqual(spec.disruption, { consolidationPolicy: "WhenEmpty", consolidateAfter: "1m" });
    assert.strictEqual(cluster.scheduling.capacityType, c.spot ? "spot" : "on-demand");
    assert.strictEqual(byType("kubernetes:karpenter.k8s.aws/v1:EC2NodeClass").length, 1);
    assert.strictEqual(byType("kubernetes:helm.sh/v3:Release").length, 1);
    assert.strictEqual(byType("aws:cloudwatch/eventRule:EventRule").length, 4);
    assert.strictEqual(byType("aws:cloudwatch/eventTarget:EventTarget").length, 4);
  });

  it("GIVEN the artifact bucket WHEN registered THEN private, encrypted, TLS-only, intermediates expire after the configured days", () => {
    const [pab] = byType("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock");
    for (const k of ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"]) assert.strictEqual(pab!.inputs[k], true, k);
    assert.strictEqual(byType("aws:s3/bucketOwnershipControls:BucketOwnershipControls")[0]!.inputs.rule.objectOwnership, "BucketOwnerEnforced");
    const [sse] = byType("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration");
    assert.strictEqual(sse!.inputs.rules[0].applyServerSideEncryptionByDefault.sseAlgorithm, "aws:kms");
    const tls = policyOf(byType("aws:s3/bucketPolicy:BucketPolicy")[0]!);
    assert.strictEqual(tls.Statement[0].Effect, "Deny");
    assert.deepStrictEqual(tls.Statement[0].Resource, ["arn:aws:s3:::naaw-artifacts", "arn:aws:s3:::naaw-artifacts/*"]);
    const [lc] = byType("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration");
    assert.strictEqual(lc!.inputs.rules[0].expiration.days, 5);
  });

  it("GIVEN the workflow role WHEN its policy is registered THEN it names only the artifact and input bucket ARNs", () => {
    const policy = policyOf(recorded.find((r) => r.name === "naaw-workflow-policy")!);
    const resources = [...new Set(policy.Statement.flatMap((s: any) => s.Resource))].sort();
    assert.deepStrictEqual(resources, ["arn:aws:s3:::ahn3-input", "arn:aws:s3:::ahn3-input/*", "arn:aws:s3:::naaw-artifacts", "arn:aws:s3:::naaw-artifacts/*"]);
    assert.ok(byType("aws:eks/podIdentityAssociation:PodIdentityAssociation").some((r) => r.inputs.serviceAccount === "naaw-workflow"));
  });

  it("GIVEN images WHEN registries are registered THEN one immutable, scanned repository per image plus builtins, each with a lifecycle policy", () => {
    const repos = byType("aws:ecr/repository:Repository");
    assert.deepStrictEqual(repos.map((r) => r.inputs.name).sort(), ["naaw/builtins", "naaw/lidar-split", "naaw/lidar-tile"]);
    assert.ok(repos.every((r) => r.inputs.imageTagMutability === "IMMUTABLE" && r.inputs.imageScanningConfiguration.scanOnPush === true));
    assert.strictEqual(byType("aws:ecr/lifecyclePolicy:LifecyclePolicy").length, 3);
  });

  it("GIVEN the cluster WHEN the kubeconfig is read THEN it is secret and uses aws eks get-token", async () => {
    assert.strictEqual(await isSecret(cluster.kubeconfig), true);
    const kc = JSON.parse(await valueOf(cluster.kubeconfig));
    assert.strictEqual(kc.clusters[0].cluster.server, "https://eks.example");
    assert.deepStrictEqual(kc.users[0].user.exec.args.slice(0, 2), ["eks", "get-token"]);
    assert.ok(byType("pulumi:providers:kubernetes").length === 1);
  });

  it("GIVEN children WHEN registered THEN each is named after the component", () => {
    assert.ok(byType("naaw:index:AwsCluster").length === 1);
    for (const r of recorded) assert.ok(r.name.startsWith("naaw"), r.name);
  });

  it("GIVEN no publicAccessCidrs WHEN the control plane is registered THEN its endpoint is private only (no 0.0.0.0/0 default)", async () => {
    pulumi.runtime.setAllConfig({});
    const { AwsCluster } = await import("../components/AwsCluster");
    new AwsCluster("naawpriv", { plan, images: [] });
    await settled(recorded);
    const eks = recorded.find((r) => r.name === "naawpriv-eks")!;
    assert.strictEqual(eks.inputs.vpcConfig.endpointPublicAccess, false);
    assert.strictEqual(eks.inputs.vpcConfig.publicAccessCidrs, undefined);
    assert.strictEqual(recorded.find((r) => r.name === "naawpriv-artifacts-lifecycle")!.inputs.rules[0].expiration.days, 7);
  });

  it("GIVEN a public-access CIDR that is not a CIDR WHEN the component is built THEN it fails naming the key before any resource", async () => {
    const before = recorded.length;
    pulumi.runtime.setAllConfig({ "naaw:publicAccessCidrs": JSON.stringify(["0.0.0.0"]) });
    const { AwsCluster } = await import("../components/AwsCluster");
    assert.throws(() => new AwsCluster("bad", { plan, images: [] }), /naaw:publicAccessCidrs/);
    await settled(recorded);
    assert.strictEqual(recorded.length, before);
  });

  it("GIVEN an infeasible plan WHEN the component is built THEN it fails naming naaw:plan before any resource", async () => {
    const before = recorded.length;
    pulumi.runtime.setAllConfig({});
    const { AwsCluster } = await import("../components/AwsCluster");
    assert.throws(() => new AwsCluster("bad2", { plan: { ...plan, feasible: false, chosen: undefined, reason: "budget" }, images: [] }), /naaw:plan/);
    await settled(recorded);
    assert.strictEqual(recorded.length, before);
  });
});
