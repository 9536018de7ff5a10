import * as assert from "assert";
import { ClusterConfigError, existingClusterSettings } from "../src/cluster/existing";
import { isSecret, RecordedResource, recordResources, unwrapInput, valueOf } from "./helpers/pulumiMocks";

const KUBECONFIG = `apiVersion: v1
kind: Config
current-context: kind-naaw
clusters:
  - name: kind-naaw
    cluster: { server: "https://127.0.0.1:6443" }
contexts:
  - name: kind-naaw
    context: { cluster: kind-naaw, user: kind-naaw }
users:
  - name: kind-naaw
    user: { token: abc }
`;

const GOOD: Record<string, string> = {
  kubeconfig: KUBECONFIG,
  artifacts: JSON.stringify({ endpoint: "http://minio.local:9000", bucket: "naaw-artifacts" }),
  artifactAccessKey: "AKIAEXAMPLE",
  artifactSecretKey: "s3cr3t-key",
  registry: JSON.stringify({ server: "localhost:5000/naaw" }),
};

const SECRET_KEYS = ["naaw:kubeconfig", "naaw:artifactAccessKey", "naaw:artifactSecretKey"];
const prefixed = (c: Record<string, string>) => Object.fromEntries(Object.entries(c).map(([k, v]) => [`naaw:${k}`, v]));

function problemsOf(raw: Record<string, unknown>): string[] {
  try {
    existingClusterSettings(raw);
  } catch (error) {
    assert.ok(error instanceof ClusterConfigError, String(error));
    return [...(error as ClusterConfigError).problems];
  }
  assert.fail("expected the config to be refused");
}

describe("existing cluster config (no Pulumi)", () => {
  it("GIVEN good config THEN the settings carry the defaults", () => {
    const s = existingClusterSettings(GOOD);
    assert.strictEqual(s.kubeconfig, KUBECONFIG);
    assert.deepStrictEqual(s.artifacts, { endpoint: "http://minio.local:9000", bucket: "naaw-artifacts", region: "us-east-1" });
    assert.strictEqual(s.registryServer, "localhost:5000/naaw");
    assert.strictEqual(s.namespace, "naaw");
  });

  it("refuses a kubeconfig that does not parse, naming the key", () => {
    const problems = problemsOf({ ...GOOD, kubeconfig: "clusters: [\n  - name: x\n bad" });
    assert.strictEqual(problems.length, 1);
    assert.match(problems[0], /^naaw:kubeconfig must be a kubeconfig \(YAML\); it does not parse/);
  });

  it("refuses YAML that is not a kubeconfig", () => {
    assert.match(problemsOf({ ...GOOD, kubeconfig: "clusters: []\n" })[0], /naaw:kubeconfig must be a kubeconfig with clusters, contexts and users; it has no clusters, no contexts, no users/);
  });

  it("refuses a context that the kubeconfig lacks", () => {
    assert.match(problemsOf({ ...GOOD, kubeContext: "prod" })[0], /naaw:kubeContext 'prod' is not a context of naaw:kubeconfig; it has kind-naaw/);
  });

  it("takes a context of the ambient kubeconfig, and refuses one when that cannot be read", () => {
    const { kubeconfig: _, ...noKubeconfig } = GOOD;
    const s = existingClusterSettings({ ...noKubeconfig, kubeContext: "kind-naaw" }, { path: "/home/u/.kube/config", text: KUBECONFIG });
    assert.strictEqual(s.context, "kind-naaw");
    const problems = (() => {
      try {
        existingClusterSettings({ ...noKubeconfig, kubeContext: "kind-naaw" }, { path: "/nowhere/config" });
      } catch (e) {
        return (e as ClusterConfigError).problems;
      }
      return [];
    })();
    assert.match(problems[0], /naaw:kubeContext 'kind-naaw' needs a kubeconfig: \/nowhere\/config cannot be read/);
  });

  it("refuses an artifact endpoint that is not an http(s) URL, naming the key", () => {
    assert.match(problemsOf({ ...GOOD, artifacts: JSON.stringify({ endpoint: "minio.local:9000", bucket: "b-1" }) })[0], /^naaw:artifacts\.endpoint must be an http\(s\) URL .*got 'minio\.local:9000'/);
    assert.match(problemsOf({ ...GOOD, artifacts: JSON.stringify({ endpoint: "ftp://x.org", bucket: "b-1" }) })[0], /^naaw:artifacts\.endpoint must be an http\(s\) URL/);
  });

  it("collects every problem: no cluster, no store, no credentials, no registry", () => {
    const problems = problemsOf({});
    assert.strictEqual(problems.length, 5, problems.join("\n"));
    for (const key of ["naaw:kubeconfig", "naaw:artifacts", "naaw:artifactAccessKey", "naaw:artifactSecretKey", "naaw:registry.server"]) {
      assert.ok(problems.some((p) => p.includes(key)), `${key} in ${problems.join("\n")}`);
    }
  });

  it("refuses a registry given as a URL and a bad bucket name", () => {
    assert.match(problemsOf({ ...GOOD, registry: JSON.stringify({ server: "https://r.example" }) })[0], /naaw:registry\.server must be a registry host/);
    assert.match(problemsOf({ ...GOOD, artifacts: JSON.stringify({ endpoint: "https://s3.x", bucket: "Bad_Bucket" }) })[0], /naaw:artifacts\.bucket must be a bucket name/);
  });
});

describe("ExistingCluster (mocks)", function () {
  this.timeout(120000);
  let recorded: RecordedResource[];

  it("GIVEN a kubeconfig and a store WHEN built THEN a provider, a namespace and a credentials secret, secrets kept secret", async () => {
    recorded = recordResources(prefixed(GOOD), SECRET_KEYS);
    const { ExistingCluster } = await import("../components/ExistingCluster");
    const cluster = new ExistingCluster("dev");
    assert.strictEqual(await isSecret(cluster.kubeconfig), true);
    assert.strictEqual(await valueOf(cluster.kubeconfig), KUBECONFIG);
    assert.strictEqual(await valueOf(cluster.artifacts.endpoint), "http://minio.local:9000");
    assert.strictEqual(await valueOf(cluster.artifacts.bucket), "naaw-artifacts");
    assert.strictEqual(await valueOf(cluster.registryServer), "localhost:5000/naaw");
    assert.deepStrictEqual(cluster.scheduling, { nodeSelector: {}, tolerations: [], capacityType: "on-demand" });
    assert.strictEqual(cluster.artifacts.auth.kind, "secret");
    if (cluster.artifacts.auth.kind === "secret") {
      assert.strictEqual(await isSecret(cluster.artifacts.auth.accessKey), true);
      assert.strictEqual(await isSecret(cluster.artifacts.auth.secretKey), true);
      assert.strictEqual(await valueOf(cluster.artifacts.auth.secretName), "naaw-artifact-credentials");
    }
    await valueOf(cluster.workflowNamespace);

    const byType = (t: string) => recorded.filter((r) => r.type === t);
    assert.strictEqual(byType("naaw:index:ExistingCluster").length, 1);
    const [provider] = byType("pulumi:providers:kubernetes");
    assert.strictEqual(provider.name, "dev-provider");
    assert.strictEqual(unwrapInput(provider.inputs.kubeconfig).secret, true);
    const [ns] = byType("kubernetes:core/v1:Namespace");
    assert.strictEqual(ns.name, "dev-namespace");
    assert.strictEqual(ns.inputs.metadata.name, "naaw");
    const [secret] = byType("kubernetes:core/v1:Secret");
    assert.strictEqual(secret.name, "dev-artifact-credentials");
    // Kubernetes marks the whole stringData secret; each value must be secret either way.
    const data = unwrapInput(secret.inputs.stringData);
    const access = data.secret ? { secret: true, value: data.value.accessKey } : unwrapInput(data.value.accessKey);
    const key = data.secret ? { secret: true, value: data.value.secretKey } : unwrapInput(data.value.secretKey);
    assert.deepStrictEqual([access, key], [{ secret: true, value: "AKIAEXAMPLE" }, { secret: true, value: "s3cr3t-key" }]);
    // No plain output carries the credentials.
    const plain = JSON.stringify(recorded.filter((r) => r.type !== "kubernetes:core/v1:Secret").map((r) => r.inputs));
    assert.ok(!plain.includes("s3cr3t-key"), plain);
  });

  for (const [what, override, key] of [
    ["a kubeconfig that does not parse", { kubeconfig: "{: nope" }, "naaw:kubeconfig"],
    ["an artifact endpoint that is not a URL", { artifacts: JSON.stringify({ endpoint: "not a url", bucket: "naaw-artifacts" }) }, "naaw:artifacts.endpoint"],
  ] as const) {
    it(`GIVEN ${what} THEN it fails naming ${key} before any resource is registered`, async () => {
      recorded = recordResources(prefixed({ ...GOOD, ...override }), SECRET_KEYS);
      const { ExistingCluster } = await import("../components/ExistingCluster");
      assert.throws(() => new ExistingCluster("bad"), (e: Error) => e.message.startsWith(key));
      await new Promise((r) => setTimeout(r, 50));
      assert.deepStrictEqual(recorded, []);
    });
  }
});
