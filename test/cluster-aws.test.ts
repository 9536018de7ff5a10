import * as assert from "assert";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as ts from "typescript";
import { awsMockCalls, awsMockState, installRecordingMocks, isSecret, RecordedResource, settled, unwrapInput, valueOf } from "./helpers/pulumiMocks";
import { tagsMatch } from "./helpers/clusterSecurity";
import type { Plan } from "../src/plan/plan";
import { planWorkflow } from "../src/plan/planWorkflow";
import { compileWorkflow } from "../src/workflow/compile";
import { AwsConfigError, awsSettings, lifecycleRules, nodePoolSpec, podRolePolicy, tlsOnlyBucketPolicy } from "../src/cluster/aws";
import {
  ADDON_VERSIONS,
  compareVersions,
  EKS_STANDARD_SUPPORT_ENDS,
  KARPENTER_CHART_VERSION,
  KARPENTER_MIN_FOR_KUBERNETES,
  KUBERNETES_VERSION,
} from "../src/cluster/awsVersions";
import { openToTheWorld } from "./helpers/clusterSecurity";
import { validateKarpenter } from "./helpers/karpenterModels";

const WORKFLOW = path.resolve(__dirname, "..", "workflows", "lidar.yaml");
/** Config that reaches the API from one documentation network (the program now requires the choice). */
const PUBLIC = { publicAccessCidrs: JSON.stringify(["203.0.113.0/24"]) } as const;
/** The cluster security group EKS would create. */
const CLUSTER_SG = "sg-0eks1234";

/** awsMockState, plus the cluster security group id EKS reports. */
const mockState = (args: pulumi.runtime.MockResourceArgs): Record<string, any> => {
  const state = awsMockState(args);
  if (args.type === "aws:eks/cluster:Cluster") state.vpcConfig = { ...args.inputs.vpcConfig, clusterSecurityGroupId: CLUSTER_SG };
  // AWS names a role it is given no name for; the mock names it after the resource.
  if (args.type === "aws:iam/role:Role") state.name = args.inputs.name ?? args.name;
  return state;
};

function lidarPlan(): Plan {
  const { graph } = compileWorkflow(WORKFLOW);
  return planWorkflow(WORKFLOW, graph!, { cloud: "aws", region: "eu-west-1", spot: true, data: "2TB", inputLocation: "s3" } as any).plan;
}

const policyOf = (r: RecordedResource) => JSON.parse(unwrapInput(r.inputs.policy).value);

/** TypeScript's complaints about each snippet, compiled in one program as files in test/ (so they see node_modules and src/). */
function typeErrors(snippets: Readonly<Record<string, string>>): Record<string, string[]> {
  const files = Object.fromEntries(Object.entries(snippets).map(([name, code]) => [path.resolve(__dirname, `__karpenter_${name}__.ts`), code]));
  const options: ts.CompilerOptions = { strict: true, noEmit: true, skipLibCheck: true, module: ts.ModuleKind.CommonJS, moduleResolution: ts.ModuleResolutionKind.Node10, target: ts.ScriptTarget.ES2022, lib: ["lib.es2022.d.ts"], types: ["node"] };
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (name, version, ...rest) => (name in files ? ts.createSourceFile(name, files[name]!, version) : getSourceFile.call(host, name, version, ...rest));
  host.fileExists = (name) => name in files || fileExists.call(host, name);
  host.readFile = (name) => (name in files ? files[name] : readFile.call(host, name));
  const program = ts.createProgram(Object.keys(files), options, host);
  const errors = (file: string) => ts.getPreEmitDiagnostics(program, program.getSourceFile(file)).map((d) => ts.flattenDiagnosticMessageText(d.messageText, " "));
  return Object.fromEntries(Object.keys(snippets).map((name) => [name, errors(path.resolve(__dirname, `__karpenter_${name}__.ts`))]));
}

describe("AwsCluster: decisions (no Pulumi)", function () {
  this.timeout(120000);
  const plan = lidarPlan();

  it("GIVEN the lidar plan WHEN settings are checked THEN instance type, capacity and CPU limit are the plan's", () => {
    const s = awsSettings(plan, PUBLIC);
    const c = plan.chosen!.candidate;
    assert.strictEqual(s.instanceType, c.machine.name);
    assert.strictEqual(s.spot, c.spot);
    assert.strictEqual(s.cpuLimit, c.machine.vcpus * c.nodes);
    assert.strictEqual(s.nodeVolumeGiB, plan.chosen!.nodeVolumeGiB, "the root volume is the plan's");
    assert.strictEqual(s.intermediateDays, 7);
    assert.deepStrictEqual(s.publicAccessCidrs, ["203.0.113.0/24"]);
    assert.strictEqual(s.privateEndpoint, false);
    const spec = nodePoolSpec(s, "nc") as any;
    assert.deepStrictEqual(spec.disruption, { consolidationPolicy: "WhenEmpty", consolidateAfter: "1m" });
    assert.deepStrictEqual(spec.template.spec.requirements.find((r: any) => r.key === "kubernetes.io/arch").values, [c.machine.arch === "arm64" ? "arm64" : "amd64"]);
  });

  it("GIVEN a spot plan WHEN the NodePool is built THEN its capacity type is spot", () => {
    const chosen = plan.chosen!;
    const spot = awsSettings({ ...plan, chosen: { ...chosen, candidate: { ...chosen.candidate, spot: true } } }, PUBLIC);
    const spec = nodePoolSpec(spot, "nc") as any;
    assert.deepStrictEqual(spec.template.spec.requirements.find((r: any) => r.key === "karpenter.sh/capacity-type").values, ["spot"]);
  });

  it("GIVEN bad config WHEN checked THEN the error names the key", () => {
    assert.throws(() => awsSettings(plan, { publicAccessCidrs: '["10.0.0.0/33"]' }), (e: Error) => e instanceof AwsConfigError && /naaw:publicAccessCidrs/.test(e.message));
    assert.throws(() => awsSettings(plan, { ...PUBLIC, intermediateDays: "0" }), /naaw:intermediateDays/);
    assert.throws(() => awsSettings(plan, { ...PUBLIC, clusterLogTypes: '["bogus"]' }), /naaw:clusterLogTypes/);
    assert.throws(() => awsSettings({ ...plan, request: { ...plan.request, region: "mars-north-1" } }, PUBLIC), /naaw:region/);
    assert.throws(() => awsSettings({ ...plan, feasible: false, chosen: undefined, reason: "too small a budget" }, PUBLIC), /naaw:plan.*too small a budget/);
  });

  it("GIVEN neither public CIDRs nor privateEndpoint WHEN checked THEN it names both keys and what to set", () => {
    assert.throws(
      () => awsSettings(plan, {}),
      (e: Error) =>
        e instanceof AwsConfigError &&
        e.key === "naaw:publicAccessCidrs" &&
        /pulumi up installs Argo through the cluster's API/.test(e.message) &&
        /naaw:publicAccessCidrs\[0\]' 203\.0\.113\.7\/32/.test(e.message) &&
        /naaw:privateEndpoint to true when the program runs inside the VPC/.test(e.message),
    );
    assert.strictEqual(awsSettings(plan, { privateEndpoint: "true" }).privateEndpoint, true);
    assert.deepStrictEqual(awsSettings(plan, { privateEndpoint: "true" }).publicAccessCidrs, []);
    const message = (re: RegExp) => (e: Error) => re.test(e.message);
    assert.throws(() => awsSettings(plan, { ...PUBLIC, privateEndpoint: "true" }), message(/^naaw:privateEndpoint: is true .* but naaw:publicAccessCidrs opens the public endpoint to 203\.0\.113\.0\/24/));
    assert.throws(() => awsSettings(plan, { privateEndpoint: "yes" }), message(/^naaw:privateEndpoint: expects true or false, got 'yes'/));
    // 0.0.0.0/0 only when written literally.
    assert.deepStrictEqual(awsSettings(plan, { publicAccessCidrs: '["0.0.0.0/0"]' }).publicAccessCidrs, ["0.0.0.0/0"]);
  });

  it("GIVEN the pinned versions THEN Kubernetes stays on standard support, kube-proxy is its build and Karpenter supports it", () => {
    const ends = EKS_STANDARD_SUPPORT_ENDS[KUBERNETES_VERSION];
    assert.ok(ends, `no standard-support end recorded for ${KUBERNETES_VERSION}`);
    const daysLeft = (Date.parse(`${ends}T00:00:00Z`) - Date.now()) / 86400e3;
    assert.ok(daysLeft > 60, `EKS ${KUBERNETES_VERSION} leaves standard support on ${ends} (${Math.floor(daysLeft)} days): bump src/cluster/awsVersions.ts before extended support bills 6x`);
    const longest = Object.entries(EKS_STANDARD_SUPPORT_ENDS).sort((a, b) => a[1].localeCompare(b[1])).pop()![0];
    assert.strictEqual(KUBERNETES_VERSION, longest, "the pinned version is the one on standard support the longest");
    assert.ok(ADDON_VERSIONS["kube-proxy"]!.startsWith(`v${KUBERNETES_VERSION}.`), ADDON_VERSIONS["kube-proxy"]);
    assert.deepStrictEqual(Object.keys(ADDON_VERSIONS).sort(), ["coredns", "eks-pod-identity-agent", "kube-proxy", "vpc-cni"]);
    for (const [addon, version] of Object.entries(ADDON_VERSIONS)) assert.match(version, /^v\d+\.\d+\.\d+-eksbuild\.\d+$/, addon);
    const minimum = KARPENTER_MIN_FOR_KUBERNETES[KUBERNETES_VERSION];
    assert.ok(minimum, `Karpenter's matrix has no row for ${KUBERNETES_VERSION}`);
    assert.ok(compareVersions(KARPENTER_CHART_VERSION, minimum!) >= 0, `Karpenter ${KARPENTER_CHART_VERSION} < ${minimum}, the oldest that supports Kubernetes ${KUBERNETES_VERSION}`);
  });

  it("GIVEN a NodePool or EC2NodeClass spec with a misspelled field or value THEN TypeScript refuses it (the types src/cluster/aws.ts returns)", () => {
    const header = `import type { INodePool } from "@kubernetes-models/karpenter/karpenter.sh/v1/NodePool";
import type { IEC2NodeClass } from "@kubernetes-models/karpenter/karpenter.k8s.aws/v1/EC2NodeClass";
import { ec2NodeClassSpec, nodePoolSpec } from "../src/cluster/aws";
export const fromSrc: [INodePool["spec"], IEC2NodeClass["spec"]] = [nodePoolSpec({} as any, "n"), ec2NodeClassSpec("role", "c", {}, 100)];
const template = { spec: { nodeClassRef: { group: "karpenter.k8s.aws", kind: "EC2NodeClass", name: "n" }, requirements: [] } };
`;
    const errors = typeErrors({
      ok: `${header}export const ok: INodePool["spec"] = { template, limits: { cpu: "8" }, disruption: { consolidationPolicy: "WhenEmpty", consolidateAfter: "1m" } };`,
      field: `${header}export const bad: INodePool["spec"] = { template, limitz: { cpu: "8" } };`,
      operator: `${header}export const bad: INodePool["spec"] = { template: { spec: { ...template.spec, requirements: [{ key: "kubernetes.io/arch", operator: "in", values: ["amd64"] }] } } };`,
      nodeClass: `${header}export const bad: IEC2NodeClass["spec"] = { role: "r", amiSelectorTerms: [{ alias: "al2023@latest" }], subnetSelectorTerms: [], securityGroupSelectorTerm: [] };`,
    });
    assert.deepStrictEqual(errors.ok, []);
    assert.match(errors.field!.join("\n"), /'limitz' does not exist/);
    assert.match(errors.operator!.join("\n"), /"in"/);
    assert.match(errors.nodeClass!.join("\n"), /'securityGroupSelectorTerm' does not exist/);
    // Values the types leave as plain strings (consolidationPolicy, durations) are checked by Karpenter's schema: see the mocks test.
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
    installRecordingMocks(recorded, mockState, awsMockCalls);
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
    assert.deepStrictEqual(openToTheWorld(recorded), [], "nothing open to the world with publicAccessCidrs 203.0.113.0/24");
  });

  it("GIVEN ingress open to the world in any form WHEN checked THEN the checker reports each (it can fail)", () => {
    const r = (type: string, inputs: Record<string, any>): RecordedResource => ({ type, name: type.split(":").pop()!, inputs, custom: true });
    const found = openToTheWorld([
      r("aws:ec2/securityGroup:SecurityGroup", { ingress: [{ protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: ["0.0.0.0/0"] }], egress: [{ cidrBlocks: ["0.0.0.0/0"] }] }),
      r("aws:ec2/securityGroupRule:SecurityGroupRule", { type: "ingress", protocol: "tcp", fromPort: 443, toPort: 443, ipv6CidrBlocks: ["::/0"] }),
      r("aws:ec2/securityGroupRule:SecurityGroupRule", { type: "egress", protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] }),
      r("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", { ipProtocol: "tcp", fromPort: 80, toPort: 80, cidrIpv4: "0.0.0.0/0" }),
      r("aws:eks/cluster:Cluster", { vpcConfig: { endpointPublicAccess: true } }),
      r("aws:eks/cluster:Cluster", { vpcConfig: { endpointPublicAccess: false } }),
    ]);
    assert.deepStrictEqual(found.map((f) => f.what), [
      "ingress tcp 22-22 from 0.0.0.0/0",
      "ingress tcp 443-443 from ::/0",
      "ingress tcp 80-80 from 0.0.0.0/0",
      "public API endpoint from 0.0.0.0/0 (no publicAccessCidrs)",
    ]);
  });

  it("GIVEN the EC2NodeClass WHEN its selectors are matched against what the program tags THEN they select exactly the private subnets and the EKS cluster security group", () => {
    const [nodeClass] = byType("kubernetes:karpenter.k8s.aws/v1:EC2NodeClass");
    const spec = nodeClass!.inputs.spec;
    const subnets = byType("aws:ec2/subnet:Subnet");
    const selected = subnets.filter((sn) => spec.subnetSelectorTerms.some((t: any) => t.tags && tagsMatch(sn.inputs.tags, t.tags))).map((sn) => sn.name).sort();
    assert.deepStrictEqual(selected, subnets.filter((sn) => sn.name.includes("-private-")).map((sn) => sn.name).sort());
    assert.ok(selected.length >= 2);
    // The cluster security group is EKS's; the program's only hold on it is the tag it puts on it.
    const sgTags = byType("aws:ec2/tag:Tag").filter((t) => t.inputs.resourceId === CLUSTER_SG);
    const sgTagMap = Object.fromEntries(sgTags.map((t) => [t.inputs.key, t.inputs.value]));
    assert.ok(spec.securityGroupSelectorTerms.length > 0);
    for (const term of spec.securityGroupSelectorTerms) {
      assert.ok(term.tags && !term.id && !term.name, JSON.stringify(term));
      assert.ok(tagsMatch(sgTagMap, term.tags), `${JSON.stringify(term.tags)} not on ${CLUSTER_SG} (${JSON.stringify(sgTagMap)})`);
      // No other resource the program makes carries it but the private subnets.
      const others = recorded.filter((x) => x.inputs.tags && tagsMatch(x.inputs.tags, term.tags) && x.type !== "aws:ec2/subnet:Subnet");
      assert.deepStrictEqual(others.map((x) => x.name), []);
    }
    assert.strictEqual(spec.role, "naaw-karpenter-node-role");
    // The nodes' root volume (where a tile batch pod's pieces land) is the plan's size, not Karpenter's 20Gi default.
    assert.ok(plan.chosen!.nodeVolumeGiB > 20, `${plan.chosen!.nodeVolumeGiB} GiB`);
    assert.deepStrictEqual(spec.blockDeviceMappings, [
      { deviceName: "/dev/xvda", rootVolume: true, ebs: { volumeSize: `${plan.chosen!.nodeVolumeGiB}Gi`, volumeType: "gp3", encrypted: true, deleteOnTermination: true } },
    ]);
    // Karpenter makes the instance profile for spec.role itself: the program makes none.
    assert.strictEqual(byType("aws:iam/instanceProfile:InstanceProfile").length, 0);
  });

  it("GIVEN the NodePool and EC2NodeClass WHEN validated against Karpenter's schema THEN both are valid, and a corrupted copy is not", () => {
    for (const t of ["kubernetes:karpenter.sh/v1:NodePool", "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"]) {
      const [r] = byType(t);
      const { apiVersion, kind, metadata, spec } = r!.inputs;
      assert.strictEqual(validateKarpenter({ apiVersion, kind, metadata, spec } as any), undefined, t);
    }
    const pool = byType("kubernetes:karpenter.sh/v1:NodePool")[0]!.inputs;
    const bad = JSON.parse(JSON.stringify({ apiVersion: pool.apiVersion, kind: pool.kind, metadata: pool.metadata, spec: pool.spec }));
    bad.spec.disruption.consolidationPolicy = "WhenEmty";
    assert.match(validateKarpenter(bad) ?? "", /consolidationPolicy must be equal to one of the allowed values/);
    const noRef = JSON.parse(JSON.stringify(bad));
    noRef.spec.disruption.consolidationPolicy = "WhenEmpty";
    delete noRef.spec.template.spec.nodeClassRef;
    assert.match(validateKarpenter(noRef) ?? "", /nodeClassRef/);
  });

  it("GIVEN config WHEN the control plane is registered THEN standard support, API auth, public access only from the configured CIDRs, logging, admin entry, pinned add-ons", () => {
    const [eks] = byType("aws:eks/cluster:Cluster");
    assert.deepStrictEqual(eks!.inputs.upgradePolicy, { supportType: "STANDARD" });
    assert.strictEqual(eks!.inputs.accessConfig.authenticationMode, "API");
    // Whoever runs pulumi up installs Karpenter through the API: it must be admitted.
    assert.strictEqual(eks!.inputs.accessConfig.bootstrapClusterCreatorAdminPermissions, true);
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

  it("GIVEN images WHEN registries are registered THEN one immutable, scanned repository per image plus the built-ins, each with a lifecycle policy", () => {
    const repos = byType("aws:ecr/repository:Repository");
    assert.deepStrictEqual(repos.map((r) => r.inputs.name).sort(), ["naaw/lidar-split", "naaw/lidar-tile", "naaw/naaw-builtins"]);
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

  it("GIVEN naaw:privateEndpoint=true WHEN the control plane is registered THEN its endpoint is private only, nothing open to the world", async () => {
    pulumi.runtime.setAllConfig({ "naaw:privateEndpoint": "true" });
    const { AwsCluster } = await import("../components/AwsCluster");
    new AwsCluster("naawpriv", { plan, images: [] });
    await settled(recorded);
    const mine = recorded.filter((r) => r.name.startsWith("naawpriv"));
    const eks = mine.find((r) => r.name === "naawpriv-eks")!;
    assert.strictEqual(eks.inputs.vpcConfig.endpointPublicAccess, false);
    assert.strictEqual(eks.inputs.vpcConfig.endpointPrivateAccess, true);
    assert.strictEqual(eks.inputs.vpcConfig.publicAccessCidrs, undefined);
    assert.deepStrictEqual(openToTheWorld(mine), []);
    assert.strictEqual(mine.find((r) => r.name === "naawpriv-artifacts-lifecycle")!.inputs.rules[0].expiration.days, 7);
  });

  it("GIVEN publicAccessCidrs 0.0.0.0/0 written literally WHEN registered THEN the API endpoint is the one thing open to the world", async () => {
    pulumi.runtime.setAllConfig({ "naaw:publicAccessCidrs": JSON.stringify(["0.0.0.0/0"]) });
    const { AwsCluster } = await import("../components/AwsCluster");
    new AwsCluster("naawopen", { plan, images: [] });
    await settled(recorded);
    const mine = recorded.filter((r) => r.name.startsWith("naawopen"));
    assert.deepStrictEqual(openToTheWorld(mine).map((f) => [f.resource, f.what]), [["naawopen-eks", "public API endpoint from 0.0.0.0/0"]]);
  });

  it("GIVEN neither publicAccessCidrs nor privateEndpoint WHEN the component is built THEN it fails naming the keys before any resource", async () => {
    const before = recorded.length;
    pulumi.runtime.setAllConfig({});
    const { AwsCluster } = await import("../components/AwsCluster");
    assert.throws(() => new AwsCluster("nochoice", { plan, images: [] }), (e: Error) => /^naaw:publicAccessCidrs: is not set.*naaw:privateEndpoint/.test(e.message) && (e as any).__pulumiRunError === true);
    await settled(recorded);
    assert.strictEqual(recorded.length, before);
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
    pulumi.runtime.setAllConfig({ "naaw:privateEndpoint": "true" });
    assert.throws(() => new AwsCluster("bad2", { plan: { ...plan, feasible: false, chosen: undefined, reason: "budget" }, images: [] }), /naaw:plan/);
    await settled(recorded);
    assert.strictEqual(recorded.length, before);
  });
});
