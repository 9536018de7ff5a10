// The Pulumi program (index.ts) with `naaw:target` aws or openstack, under mocks: the stack's plan sizes the
// cluster through the same function as `naaw plan --stack`, and a plan over budget fails before any
// resource exists.
import * as assert from "assert";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { awsMockCalls, awsMockState, installRecordingMocks, isSecret, RecordedResource, settled, valueOf } from "./helpers/pulumiMocks";
import { tempDir } from "./helpers/notebooks";

const REPO = path.resolve(__dirname, "..");
const PROGRAM = path.join(REPO, "index.ts");

/** Runs index.ts afresh (another test may have imported it) with this config, recording every resource. */
async function runProgram(config: Record<string, string>, recorded: RecordedResource[]): Promise<Record<string, any>> {
  pulumi.runtime.setAllConfig(config, []);
  installRecordingMocks(recorded, awsMockState, awsMockCalls);
  delete require.cache[require.resolve(PROGRAM)];
  return import(PROGRAM);
}

describe("Pulumi program: the stack's cluster, sized by its plan (mocks)", function () {
  this.timeout(120000);
  let work: ReturnType<typeof tempDir>;
  const base = (): Record<string, string> => ({
    "naaw:notebooks": JSON.stringify([path.join(REPO, "notebooks", "lidar.ipynb")]),
    "naaw:buildDir": path.join(work.dir, "build"),
    "naaw:workflow": "workflows/lidar.yaml",
    "naaw:target": "aws",
    "naaw:cloud": "aws",
    "naaw:region": "eu-west-1",
    "naaw:spot": "true",
    "naaw:inputLocation": "s3",
    "naaw:dataVolume": "2TB",
    "naaw:budget": "500",
    "naaw:deadlineHours": "24",
    "naaw:publicAccessCidrs": JSON.stringify(["203.0.113.7/32"]),
  });

  before(() => (work = tempDir("naaw-pulumi-cluster-")));
  after(() => work.cleanup());

  it("GIVEN naaw:target aws WHEN the program runs THEN the NodePool is the plan's and the kubeconfig a secret output", async () => {
    const recorded: RecordedResource[] = [];
    const program = await runProgram(base(), recorded);
    const plan = program.plan as { instanceType: string; nodes: number; spot: boolean; totalCost: number };
    assert.ok(plan && plan.totalCost <= 500, JSON.stringify(plan));
    assert.strictEqual(await isSecret(program.kubeconfig), true);
    await valueOf(program.kubeconfig as pulumi.Output<string>);
    await settled(recorded);
    const pools = recorded.filter((r) => r.type === "kubernetes:karpenter.sh/v1:NodePool");
    assert.strictEqual(pools.length, 1);
    const requirements = pools[0].inputs.spec.template.spec.requirements as { key: string; values: string[] }[];
    assert.deepStrictEqual(requirements.find((r) => r.key === "node.kubernetes.io/instance-type")?.values, [plan.instanceType]);
    assert.deepStrictEqual(requirements.find((r) => r.key === "karpenter.sh/capacity-type")?.values, [plan.spot ? "spot" : "on-demand"]);
    const { loadAwsPrices } = await import("../src/plan/prices/catalog");
    const vcpus = loadAwsPrices().offers.find((o) => o.instanceType === plan.instanceType && o.region === "eu-west-1")!.vcpus;
    assert.strictEqual(pools[0].inputs.spec.limits.cpu, String(vcpus * plan.nodes));
    assert.ok(recorded.some((r) => r.type === "docker:index/image:Image"), "the images are built as before");
  });

  it("GIVEN a budget no plan fits WHEN the program runs THEN it fails with the minimum budget before any resource exists", async () => {
    const recorded: RecordedResource[] = [];
    await assert.rejects(runProgram({ ...base(), "naaw:dataVolume": "700e9points", "naaw:budget": "1" }, recorded), (error: Error) => {
      assert.match(error.message, /^naaw: no plan within 1\.00 USD .*\(--budget [\d.]+\)$/);
      return true;
    });
    assert.deepStrictEqual(recorded, [], "nothing registered");
  });

  for (const [what, override, message] of [
    ["an unknown instance type", { "naaw:instanceTypes": JSON.stringify(["c7i.mega"]) }, /unknown instance type 'c7i\.mega' in eu-west-1/],
    ["an unknown region", { "naaw:region": "mars-north-1" }, /mars-north-1/],
    ["no endpoint choice (neither naaw:publicAccessCidrs nor naaw:privateEndpoint)", { "naaw:publicAccessCidrs": "" }, /^naaw:publicAccessCidrs: is not set.*naaw:privateEndpoint to true/],
  ] as const) {
    it(`GIVEN ${what} WHEN the program runs THEN it fails naming it before any cluster resource exists`, async () => {
      const recorded: RecordedResource[] = [];
      await assert.rejects(runProgram({ ...base(), ...override }, recorded), (error: Error) => message.test(error.message));
      await settled(recorded);
      assert.deepStrictEqual(recorded.filter((r) => /^(aws:|naaw:index:AwsCluster)/.test(r.type)).map((r) => r.type), []);
    });
  }

  it("GIVEN flavors whose memory fits no tile's pods WHEN the program runs THEN the plan is refused before any resource exists", async () => {
    const recorded: RecordedResource[] = [];
    const config = {
      ...base(),
      "naaw:target": "openstack",
      "naaw:cloud": "openstack",
      "naaw:openstackFlavors": JSON.stringify([{ name: "m1.tiny", vcpus: 1, memoryGiB: 0.0625 }]),
    };
    delete (config as Record<string, string>)["naaw:budget"];
    await assert.rejects(runProgram(config, recorded), (error: Error) => /^naaw: no machine type fits one tile's pods; try a smaller tile size or a machine with more memory/.test(error.message));
    await settled(recorded);
    assert.deepStrictEqual(recorded.filter((r) => /^(openstack:|naaw:index:OpenStackCluster)/.test(r.type)).map((r) => r.type), []);
  });

  it("GIVEN an unknown naaw:target WHEN the program runs THEN the error names the key and the targets", async () => {
    const recorded: RecordedResource[] = [];
    await assert.rejects(runProgram({ ...base(), "naaw:target": "gcp" }, recorded), /naaw:target must be one of local, kubernetes, aws, openstack; got 'gcp'/);
    assert.deepStrictEqual(recorded, []);
  });
});
