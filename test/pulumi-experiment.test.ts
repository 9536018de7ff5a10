// The Pulumi program (index.ts) for every committed stack, under mocks: the whole resource graph,
// the images in the WorkflowTemplate equal to the built images, capacity equal to the plan, the Argo
// release's values, no plain secret anywhere, and the failures a preview must show before anything
// exists (over budget, bad params, a bad scheduling policy).
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import * as pulumi from "@pulumi/pulumi";
import { awsMockCalls, awsMockState, installRecordingMocks, isSecret, RecordedResource, settled, unwrapInput, valueOf } from "./helpers/pulumiMocks";
import { tempDir } from "./helpers/notebooks";
import { argoValidators } from "./helpers/argoSchema";

const REPO = path.resolve(__dirname, "..");
const PROGRAM = path.join(REPO, "index.ts");

const KUBECONFIG = `apiVersion: v1
kind: Config
current-context: kind-naaw
clusters: [{ name: kind-naaw, cluster: { server: "https://127.0.0.1:6443" } }]
contexts: [{ name: kind-naaw, context: { cluster: kind-naaw, user: kind-naaw } }]
users: [{ name: kind-naaw, user: { token: kind-token-value } }]
`;
const MAGNUM_KUBECONFIG = KUBECONFIG.replace(/kind-naaw/g, "magnum").replace("kind-token-value", "magnum-token-value");

/** What a user sets with `pulumi config set` on top of the committed stack file (site-specific, or secret). */
const USER_CONFIG: Record<string, Record<string, string>> = {
  local: {},
  kind: { "naaw:artifactAccessKey": "kind-access-key", "naaw:artifactSecretKey": "kind-secret-key-value" },
  dev: { "naaw:publicAccessCidrs": JSON.stringify(["198.51.100.7/32"]) },
  "aws-lidar": { "naaw:publicAccessCidrs": JSON.stringify(["198.51.100.7/32"]) },
  "openstack-lidar": {
    "naaw:externalNetwork": "public",
    "naaw:apiAllowedCidrs": JSON.stringify(["192.0.2.0/24"]),
    "naaw:magnumImage": "fedora-coreos-40",
    "naaw:artifacts": JSON.stringify({ endpoint: "https://object.example.org" }),
    "naaw:registry": JSON.stringify({ server: "harbor.example.org/naaw", username: "robot" }),
    "naaw:registryPassword": "harbor-password-value",
  },
};
const SECRET_KEYS = ["naaw:artifactAccessKey", "naaw:artifactSecretKey", "naaw:registryPassword"];
/** Every secret value above, and the ones the mocked clouds hand back: none may appear in plain text. */
const SECRET_VALUES = ["kind-access-key", "kind-secret-key-value", "harbor-password-value", "kind-token-value", "magnum-token-value", "ec2-secret-value", "ecr-token-value"];

/** The stack file's config as Pulumi hands it to the program: every value a string, objects as JSON. */
function stackConfig(stack: string): Record<string, string> {
  const doc = yaml.load(fs.readFileSync(path.join(REPO, "stacks", `Pulumi.${stack}.yaml`), "utf8")) as { config: Record<string, unknown> };
  return Object.fromEntries(Object.entries(doc.config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
}

const state = (args: pulumi.runtime.MockResourceArgs): Record<string, any> => {
  const s = awsMockState(args);
  if (args.type === "openstack:containerinfra/cluster:Cluster") s.kubeconfig = { rawConfig: MAGNUM_KUBECONFIG };
  if (args.type === "openstack:identity/ec2CredentialV3:Ec2CredentialV3") Object.assign(s, { access: "ec2-access", secret: "ec2-secret-value" });
  if (args.type === "openstack:objectstorage/container:Container") s.name = args.inputs.name;
  if (args.type === "pulumi-nodejs:dynamic:ArgoRun") Object.assign(s, { workflowName: `${args.inputs.templateName}-x7k2p`, phase: "Succeeded" });
  return s;
};

const answer = (args: pulumi.runtime.MockCallArgs): Record<string, any> | undefined => {
  const aws = awsMockCalls(args);
  if (aws) return aws;
  if (args.token === "openstack:networking/getNetwork:getNetwork") return { id: "ext-net-id", name: args.inputs.name, external: true };
  if (args.token === "openstack:compute/getFlavor:getFlavor") return { id: `${args.inputs.name}-id`, name: args.inputs.name };
  return undefined;
};

interface ProgramRun {
  readonly outputs: Record<string, any>;
  readonly recorded: RecordedResource[];
  /** Resource name → its parent's name, from a stack transformation (mocks do not report parents). */
  readonly parents: Map<string, string | undefined>;
}

/** What the last runStack recorded, even when the program threw. */
let lastRecorded: RecordedResource[] = [];

/** Runs index.ts afresh for a stack, with the user's config on top, recording every resource and its parent. */
async function runStack(stack: string, extra: Record<string, string> = {}, work?: string, preview = false): Promise<ProgramRun> {
  const config = { ...stackConfig(stack), ...USER_CONFIG[stack], ...extra };
  if (work) config["naaw:buildDir"] = path.join(work, "build");
  pulumi.runtime.setAllConfig(config, SECRET_KEYS.filter((k) => k in config));
  const recorded: RecordedResource[] = [];
  lastRecorded = recorded;
  installRecordingMocks(recorded, state, answer, preview);
  // The mocks drop a resource's parent; the registration request has it (as a URN).
  const parents = new Map<string, string | undefined>();
  const monitor = (pulumi.runtime as any).getMonitor();
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req: any, callback: any) => {
    const parent: string = req.getParent();
    parents.set(req.getName(), parent ? parent.slice(parent.lastIndexOf("::") + 2) : undefined);
    return register(req, callback);
  };
  (pulumi.runtime as any).getStack = () => stack;
  delete require.cache[require.resolve(PROGRAM)];
  const outputs = await import(PROGRAM);
  return { outputs, recorded, parents };
}

function only(recorded: readonly RecordedResource[], type: string): RecordedResource {
  const found = recorded.filter((r) => r.type === type);
  assert.strictEqual(found.length, 1, `one ${type}, got ${found.length}: ${found.map((r) => r.name).join(", ")}`);
  return found[0];
}

function countByType(recorded: readonly RecordedResource[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of recorded) counts[r.type] = (counts[r.type] ?? 0) + 1;
  return counts;
}

/** Every string anywhere in a value, secrets unwrapped only where they are not marked secret. */
function plainStrings(value: unknown, out: string[] = []): string[] {
  const { secret, value: inner } = unwrapInput(value);
  if (secret) return out;
  if (typeof inner === "string") out.push(inner);
  else if (Array.isArray(inner)) inner.forEach((v) => plainStrings(v, out));
  else if (inner && typeof inner === "object") Object.values(inner).forEach((v) => plainStrings(v, out));
  return out;
}

function assertNoPlainSecrets(run: ProgramRun): void {
  for (const r of run.recorded) {
    const text = plainStrings(r.inputs).join("\n");
    for (const secret of SECRET_VALUES) assert.ok(!text.includes(secret), `${r.type} ${r.name} holds '${secret}' in plain text`);
  }
}

async function assertOutputsSafe(outputs: Record<string, any>): Promise<void> {
  for (const [key, value] of Object.entries(outputs)) {
    if (!pulumi.Output.isInstance(value)) {
      const text = JSON.stringify(value ?? null);
      for (const secret of SECRET_VALUES) assert.ok(!text.includes(secret), `output ${key} holds '${secret}'`);
      continue;
    }
    const resolved = JSON.stringify((await valueOf(value as pulumi.Output<unknown>)) ?? null);
    const hasSecret = SECRET_VALUES.some((s) => resolved.includes(s));
    if (hasSecret) assert.strictEqual(await isSecret(value), true, `output ${key} holds a secret and is not marked secret`);
  }
}

/** The WorkflowTemplate as the program deploys it, as a manifest. */
function templateManifest(template: RecordedResource): Record<string, unknown> {
  return { apiVersion: template.inputs.apiVersion, kind: template.inputs.kind, metadata: template.inputs.metadata, spec: template.inputs.spec };
}

let validators: ReturnType<typeof argoValidators> | undefined;
/** The template against Argo's schema (strict: unknown fields are errors too). */
function validateArgo(manifest: unknown): string[] {
  validators ??= argoValidators(true);
  return validators.workflowTemplate(manifest);
}

function containerImages(manifest: any): string[] {
  return (manifest.spec.templates as any[]).filter((t) => t.container).map((t) => t.container.image as string);
}

describe("Pulumi program: one experiment per stack (mocks)", function () {
  this.timeout(300000);
  let work: ReturnType<typeof tempDir>;
  let kubeconfigFile: string;
  let savedKubeconfig: string | undefined;

  before(() => {
    work = tempDir("naaw-pulumi-experiment-");
    kubeconfigFile = path.join(work.dir, "kubeconfig");
    fs.writeFileSync(kubeconfigFile, KUBECONFIG);
    savedKubeconfig = process.env.KUBECONFIG;
    process.env.KUBECONFIG = kubeconfigFile;
  });
  after(() => {
    if (savedKubeconfig === undefined) delete process.env.KUBECONFIG;
    else process.env.KUBECONFIG = savedKubeconfig;
    work.cleanup();
  });

  it("declares in Pulumi.yaml the keys index.ts reads, with their defaults", () => {
    const project = yaml.load(fs.readFileSync(path.join(REPO, "Pulumi.yaml"), "utf8")) as { config: Record<string, { type: string; default?: unknown }> };
    assert.strictEqual(project.config.target.default, "local");
    assert.strictEqual(project.config.wait.type, "boolean");
    assert.strictEqual(project.config.wait.default, true);
    assert.strictEqual(project.config.schedulingPolicy.default, "default");
    const source = fs.readFileSync(PROGRAM, "utf8");
    const read = [...source.matchAll(/config\.(?:get|getBoolean|getNumber|getObject<[^>]*>|getSecret)\("([A-Za-z]+)"/g)].map((m) => m[1]);
    const objects = ["params", "registry", "notebooks"];
    for (const key of read) {
      if (key === "cluster" || key === "registryPassword" || key === "baseImage" || key === "buildDir" || key === "workers") continue;
      assert.ok(key in project.config || objects.includes(key), `index.ts reads naaw:${key}, which Pulumi.yaml does not declare`);
    }
  });

  it("GIVEN the aws-lidar stack WHEN previewed THEN EKS, Karpenter at the plan's capacity, Argo, the template with the built images, the spot policy and one run, all under one Experiment", async () => {
    const run = await runStack("aws-lidar", {}, work.dir);
    const plan = run.outputs.plan as { instanceType: string; nodes: number; spot: boolean; parallelism: number; totalCost: number };
    assert.ok(plan.totalCost <= 500 && plan.spot, JSON.stringify(plan));
    await valueOf(run.outputs.phase);
    await settled(run.recorded);

    const counts = countByType(run.recorded);
    assert.strictEqual(counts["naaw:index:Experiment"], 1);
    for (const type of ["naaw:index:AwsCluster", "naaw:index:ComponentCatalog", "naaw:index:WorkflowBus", "naaw:index:ArgoWorkflow", "aws:eks/cluster:Cluster", "aws:ec2/natGateway:NatGateway", "kubernetes:argoproj.io/v1alpha1:WorkflowTemplate", "pulumi-nodejs:dynamic:ArgoRun"]) {
      assert.strictEqual(counts[type], 1, `one ${type}: ${JSON.stringify(counts)}`);
    }
    assert.strictEqual(counts["kubernetes:helm.sh/v3:Release"], 2, "Karpenter and Argo Workflows");
    const experiment = run.recorded.find((r) => r.type === "naaw:index:Experiment")!.name;
    for (const child of ["naaw:index:AwsCluster", "naaw:index:ComponentCatalog", "naaw:index:WorkflowBus", "naaw:index:ArgoWorkflow"]) {
      assert.strictEqual(run.parents.get(run.recorded.find((r) => r.type === child)!.name), experiment, `${child}'s parent`);
    }
    assert.strictEqual(run.parents.get(only(run.recorded, "kubernetes:argoproj.io/v1alpha1:WorkflowTemplate").name), run.recorded.find((r) => r.type === "naaw:index:ArgoWorkflow")!.name);

    // Capacity equals the plan.
    const pool = only(run.recorded, "kubernetes:karpenter.sh/v1:NodePool");
    const requirements = pool.inputs.spec.template.spec.requirements as { key: string; values: string[] }[];
    assert.deepStrictEqual(requirements.find((r) => r.key === "karpenter.sh/capacity-type")?.values, ["spot"]);
    const { loadAwsPrices } = await import("../src/plan/prices/catalog");
    const vcpus = loadAwsPrices().offers.find((o) => o.instanceType === plan.instanceType && o.region === "eu-west-1")!.vcpus;
    assert.strictEqual(pool.inputs.spec.limits.cpu, String(vcpus * plan.nodes));

    // The Argo release: pinned chart, client auth, ClusterIP, S3 through the pod role, spot defaults.
    const argo = run.recorded.find((r) => r.type === "kubernetes:helm.sh/v3:Release" && r.inputs.chart === "argo-workflows")!;
    assert.strictEqual(argo.inputs.version, "1.1.1");
    assert.strictEqual(argo.inputs.repositoryOpts.repo, "https://argoproj.github.io/argo-helm");
    const values = argo.inputs.values;
    assert.deepStrictEqual(values.server.authModes, ["client"]);
    assert.strictEqual(values.server.serviceType, "ClusterIP");
    assert.strictEqual(values.useStaticCredentials, false);
    assert.strictEqual(values.artifactRepository.s3.useSDKCreds, true);
    assert.strictEqual(values.artifactRepository.s3.endpoint, "s3.eu-west-1.amazonaws.com");
    assert.strictEqual(values.artifactRepository.s3.accessKeySecret, undefined);
    assert.strictEqual(values.crds.full, true);
    assert.strictEqual(values.images.tag, "v4.1.2");
    assert.strictEqual(values.controller.parallelism, plan.parallelism);
    assert.strictEqual(values.controller.workflowDefaults.spec.podMetadata.annotations["karpenter.sh/do-not-disrupt"], "true");
    assert.ok(values.controller.workflowDefaults.spec.tolerations.some((t: { key: string }) => t.key === "naaw.io/workflow"), "the workflow taint is tolerated");
    assert.strictEqual(values.workflow.serviceAccount.name, "naaw-workflow");
    // Pod Identity: the workflow and the server service accounts get the pod role, no annotation needed.
    const identities = run.recorded.filter((r) => r.type === "aws:eks/podIdentityAssociation:PodIdentityAssociation").map((r) => `${r.inputs.namespace}/${r.inputs.serviceAccount}`);
    assert.ok(identities.includes(`naaw/${values.workflow.serviceAccount.name}`), identities.join(", "));
    assert.ok(identities.includes(`argo/${values.server.serviceAccount.name}`), identities.join(", "));

    // The template names exactly the images the catalog built, and passes Argo's schema.
    const template = templateManifest(only(run.recorded, "kubernetes:argoproj.io/v1alpha1:WorkflowTemplate"));
    const built = run.recorded.filter((r) => r.type === "docker:index/image:Image").map((r) => r.inputs.imageName as string);
    const images = containerImages(template);
    assert.ok(images.length >= 3);
    for (const image of images) assert.ok(built.includes(image), `${image} is not one of the built images: ${built.join(", ")}`);
    assert.ok(images.some((i) => /\/naaw-builtins:[0-9a-f]+$/.test(i)), "the built-ins run in their own image");
    assert.ok(images.every((i) => i.startsWith("123456789012.dkr.ecr.eu-west-1.amazonaws.com/")), images.join(", "));
    assert.deepStrictEqual(validateArgo(template), []);
    assert.strictEqual((template.metadata as any).namespace, "naaw");
    assert.strictEqual((template.spec as any).serviceAccountName, "naaw-workflow");
    // The stack's scheduling policy (spot): pods retry on node loss only, and carry do-not-disrupt.
    assert.strictEqual((template.metadata as any).annotations["naaw.dev/scheduling-policy"], "spot");
    const pods = ((template.spec as any).templates as any[]).filter((t) => t.container);
    assert.ok(pods.every((t) => t.retryStrategy?.expression), "every pod template retries on node loss only");
    assert.strictEqual((template.spec as any).podMetadata.annotations["karpenter.sh/do-not-disrupt"], "true");

    // The run: from the template, with every param, awaited, its identity the template's and params' hash.
    const argoRun = only(run.recorded, "pulumi-nodejs:dynamic:ArgoRun");
    assert.strictEqual(argoRun.inputs.templateName, "lidar");
    assert.strictEqual(argoRun.inputs.wait, true);
    assert.deepStrictEqual(Object.keys(argoRun.inputs.parameters).sort(), ["cell_size", "crs", "height_classes", "input", "norm_cell_size", "out", "tile_size"]);
    const { runIdentity } = await import("../src/argo/identity");
    const { namespace: _namespace, ...rendered } = template.metadata as Record<string, unknown>;
    assert.strictEqual(argoRun.inputs.identity, runIdentity({ ...template, metadata: rendered }, argoRun.inputs.parameters));
    assert.strictEqual(unwrapInput(argoRun.inputs.kubeconfig).secret, true);
    assert.strictEqual(typeof argoRun.inputs.__provider, "string");

    assert.strictEqual(await valueOf(run.outputs.workflowName), "lidar-x7k2p");
    assert.match(await valueOf(run.outputs.results), /^s3:\/\/.+\/ahn3\/rasters\/$/);
    assert.match(await valueOf(run.outputs.download), /^aws s3 cp --recursive s3:\/\//);
    assert.match(run.outputs.argoUi, /kubectl -n argo port-forward svc\/argo-workflows-server 2746:2746/);
    assert.strictEqual(await isSecret(run.outputs.kubeconfig), true);
    assertNoPlainSecrets(run);
    await assertOutputsSafe(run.outputs);
  });

  it("GIVEN pulumi preview (a dry run) of aws-lidar THEN the plan's table is printed and the WorkflowTemplate already names the images it will run", async () => {
    const logged: string[] = [];
    const log = console.log;
    console.log = (...args: unknown[]) => void logged.push(args.join(" "));
    let run: ProgramRun;
    try {
      run = await runStack("aws-lidar", {}, work.dir, true);
      await settled(lastRecorded);
    } finally {
      console.log = log;
    }
    assert.ok(pulumi.runtime.isDryRun());
    const table = logged.join("\n");
    assert.match(table, /Chosen: \d+ × [a-z0-9]+\.\w+ \(spot\)/, "the plan's table, as naaw plan --stack prints it");
    assert.match(table, /Cost breakdown \(USD\)/);
    const template = templateManifest(only(run!.recorded, "kubernetes:argoproj.io/v1alpha1:WorkflowTemplate"));
    assert.ok(containerImages(template).every((i) => /^123456789012\.dkr\.ecr\.eu-west-1\.amazonaws\.com\/.+:[0-9a-f]{64}$/.test(i)), containerImages(template).join(", "));
  });

  it("GIVEN the openstack-lidar stack THEN Magnum has the plan's flavor and count, Argo reads the store with a credentials secret, and no secret is plain", async () => {
    const run = await runStack("openstack-lidar", {}, work.dir);
    await valueOf(run.outputs.phase);
    await settled(run.recorded);
    const magnum = only(run.recorded, "openstack:containerinfra/cluster:Cluster");
    assert.strictEqual(magnum.inputs.nodeCount, run.outputs.plan.nodes);
    assert.strictEqual(magnum.inputs.flavor, run.outputs.plan.instanceType);
    const argo = run.recorded.find((r) => r.type === "kubernetes:helm.sh/v3:Release" && r.inputs.chart === "argo-workflows")!;
    assert.strictEqual(argo.inputs.values.useStaticCredentials, true);
    assert.deepStrictEqual(argo.inputs.values.artifactRepository.s3.accessKeySecret, { name: "naaw-artifact-credentials", key: "accessKey" });
    assert.strictEqual(argo.inputs.values.artifactRepository.s3.endpoint, "object.example.org");
    const template = templateManifest(only(run.recorded, "kubernetes:argoproj.io/v1alpha1:WorkflowTemplate"));
    for (const image of containerImages(template)) assert.ok(image.startsWith("harbor.example.org/naaw/"), image);
    assert.deepStrictEqual(validateArgo(template), []);
    assertNoPlainSecrets(run);
    await assertOutputsSafe(run.outputs);
  });

  it("GIVEN the kind stack (a cluster that exists) THEN no cloud resource, Argo and the run on the kubeconfig's context, secrets kept secret", async () => {
    const run = await runStack("kind", {}, work.dir);
    await valueOf(run.outputs.phase);
    await settled(run.recorded);
    assert.ok(!run.recorded.some((r) => r.type.startsWith("aws:") || r.type.startsWith("openstack:")), "no cloud resource");
    only(run.recorded, "naaw:index:ExistingCluster");
    only(run.recorded, "kubernetes:argoproj.io/v1alpha1:WorkflowTemplate");
    const argoRun = only(run.recorded, "pulumi-nodejs:dynamic:ArgoRun");
    assert.strictEqual(argoRun.inputs.context, "kind-naaw", "the run uses the stack's context, as the provider does");
    assert.strictEqual(run.outputs.plan, undefined, "an existing cluster is not planned");
    assertNoPlainSecrets(run);
    await assertOutputsSafe(run.outputs);
  });

  it("GIVEN the local stack THEN one local run of the workflow and no image, cluster or Argo", async () => {
    const run = await runStack("local");
    await settled(run.recorded);
    const counts = countByType(run.recorded);
    assert.deepStrictEqual(Object.keys(counts).sort(), ["naaw:index:Experiment", "pulumi-nodejs:dynamic:LocalRun"].sort(), JSON.stringify(counts));
    const local = only(run.recorded, "pulumi-nodejs:dynamic:LocalRun");
    assert.strictEqual(path.basename(local.inputs.workflow), "lidar.yaml");
  });

  it("GIVEN wait false THEN the run is launched without waiting", async () => {
    const run = await runStack("kind", { "naaw:wait": "false" }, work.dir);
    await valueOf(run.outputs.phase);
    await settled(run.recorded);
    assert.strictEqual(only(run.recorded, "pulumi-nodejs:dynamic:ArgoRun").inputs.wait, false);
  });

  for (const [what, extra, message] of [
    ["a budget no plan fits", { "naaw:budget": "1" }, /naaw: .*budget.*/],
    ["a param of the wrong type", { "naaw:params": JSON.stringify({ cell_size: "ten" }) }, /naaw:params: .*cell_size/],
    ["an unknown param", { "naaw:params": JSON.stringify({ cellsize: 10 }) }, /naaw:params: .*no param 'cellsize'/],
    ["a tile size that is not a multiple of the cell size", { "naaw:params": JSON.stringify({ tile_size: 2005 }) }, /tile_size/],
    ["an unknown scheduling policy", { "naaw:schedulingPolicy": "fastest" }, /naaw:schedulingPolicy: unknown scheduling policy 'fastest'/],
    ["the old naaw:cluster key", { "naaw:cluster": "aws" }, /naaw:cluster is now naaw:target/],
  ] as const) {
    it(`GIVEN ${what} WHEN previewed THEN it fails with one line before any resource exists`, async () => {
      await assert.rejects(
        () => runStack("aws-lidar", extra as Record<string, string>, work.dir),
        (error: Error) => {
          assert.match(error.message, message);
          assert.ok(!/\n\s+at /.test(error.message), "no stack trace");
          return true;
        },
      );
      await settled(lastRecorded);
      assert.deepStrictEqual(lastRecorded.map((r) => r.type), [], "nothing is registered");
    });
  }
});
