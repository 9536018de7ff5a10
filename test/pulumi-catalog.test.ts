import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { tempDir, writeNotebook } from "./helpers/notebooks";
import { isSecret, RecordedResource, recordResources, unwrapInput, valueOf } from "./helpers/pulumiMocks";

const REPO = path.resolve(__dirname, "..");

describe("Pulumi program: component images (mocks)", function () {
  this.timeout(120000);
  let recorded: RecordedResource[];
  let work: ReturnType<typeof tempDir>;
  let buildDir: string;

  before(() => {
    work = tempDir("naaw-pulumi-");
    buildDir = path.join(work.dir, "build");
    recorded = recordResources(
      {
        "naaw:notebooks": JSON.stringify([path.join(REPO, "notebooks", "lidar.ipynb")]),
        "naaw:registry": JSON.stringify({ server: "registry.example.org/naaw", username: "ci" }),
        "naaw:registryPassword": "s3cret",
        "naaw:buildDir": buildDir,
      },
      ["naaw:registryPassword"],
    );
  });

  after(() => work.cleanup());

  it("GIVEN the demo stack WHEN the program runs THEN one image per component, tagged with its content hash and pushed to the registry", async () => {
    // Import after the mocks are set: the program registers its resources on import.
    const program = await import("../index");
    const images = await valueOf(program.images as pulumi.Output<Record<string, string>>);
    const { loadCatalog } = await import("../src/containerize/catalog");
    const catalog = loadCatalog([path.join(REPO, "notebooks", "lidar.ipynb")]);
    const names = catalog.entries.map((e) => e.spec.name).sort();
    assert.deepStrictEqual(Object.keys(images).sort(), names);
    for (const entry of catalog.entries) {
      assert.strictEqual(images[entry.spec.name], `registry.example.org/naaw/${entry.spec.name}:${entry.hash}`);
    }

    const dockerImages = recorded.filter((r) => r.type === "docker:index/image:Image");
    assert.strictEqual(dockerImages.length, names.length);
    for (const image of dockerImages) {
      const component = path.basename(image.inputs.build.context);
      assert.strictEqual(image.name, `catalog-${component}-image`);
      assert.strictEqual(image.inputs.skipPush, false);
      // The password makes the whole registry block a secret in the state.
      const registry = unwrapInput(image.inputs.registry);
      assert.strictEqual(registry.secret, true);
      assert.strictEqual(registry.value.server, "registry.example.org/naaw");
      assert.strictEqual(registry.value.username, "ci");
      assert.strictEqual(image.inputs.build.platform, "linux/amd64");
      assert.strictEqual(image.inputs.build.dockerfile, path.join(buildDir, component, "Dockerfile"));
      // The context the image is built from is the one the hash was computed over.
      const entry = catalog.entries.find((e) => e.spec.name === component)!;
      for (const [file, content] of entry.context) {
        assert.strictEqual(fs.readFileSync(path.join(buildDir, component, file), "utf8"), content, `${component}/${file}`);
      }
    }
    const types = recorded.map((r) => r.type);
    assert.strictEqual(types.filter((t) => t === "naaw:index:ComponentCatalog").length, 1);
    assert.strictEqual(types.filter((t) => t === "naaw:index:NotebookComponent").length, names.length);
  });

  it("keeps the registry password a secret", async () => {
    const { ComponentCatalog } = await import("../components");
    const password = new pulumi.Config("naaw").requireSecret("registryPassword");
    assert.strictEqual(await isSecret(password), true);
    const dir = tempDir();
    try {
      const nb = writeNotebook(dir.dir, [{ tags: ["component:only"], source: "x = 1\n" }]);
      const catalog = new ComponentCatalog("secret", {
        notebooks: [nb],
        registry: { server: "r.example", password },
        contextRoot: path.join(dir.dir, "ctx"),
      });
      await valueOf(catalog.images);
      const image = recorded.find((r) => r.name === "secret-only-image")!;
      const registry = unwrapInput(image.inputs.registry);
      assert.strictEqual(registry.secret, true);
      assert.strictEqual(registry.value.password, "s3cret");
      assert.ok(!fs.readFileSync(path.join(dir.dir, "ctx", "only", "Dockerfile"), "utf8").includes("s3cret"));
    } finally {
      dir.cleanup();
    }
  });

  it("builds locally without pushing when no registry is given", async () => {
    const { ComponentCatalog } = await import("../components");
    const dir = tempDir();
    try {
      const nb = writeNotebook(dir.dir, [
        { tags: ["component:make"], source: "x = 1\n" },
        { tags: ["component:use"], source: "y = x + 1\n" },
      ]);
      const catalog = new ComponentCatalog("local", { notebooks: [nb], contextRoot: path.join(dir.dir, "ctx") });
      const images = await valueOf(catalog.images);
      assert.deepStrictEqual(Object.keys(images).sort(), ["make", "use"]);
      assert.match(images.make, /^make:[0-9a-f]{64}$/);
      const image = recorded.find((r) => r.name === "local-make-image")!;
      assert.strictEqual(image.inputs.skipPush, true);
      assert.strictEqual(image.inputs.registry, undefined);
    } finally {
      dir.cleanup();
    }
  });

  it("fails with the notebook's diagnostics, before any image is declared, when a notebook is broken", async () => {
    const { ComponentCatalog } = await import("../components");
    const dir = tempDir();
    try {
      const nb = writeNotebook(dir.dir, [{ tags: ["component:bad"], source: "y = undefined_name + 1\n" }]);
      const before = recorded.length;
      assert.throws(
        () => new ComponentCatalog("broken", { notebooks: [nb], contextRoot: path.join(dir.dir, "ctx") }),
        (e: Error) => e instanceof pulumi.RunError && /cell 0, line 1: error: component 'bad' reads 'undefined_name'/.test(e.message),
      );
      assert.ok(!recorded.slice(before).some((r) => r.type === "docker:index/image:Image"));
    } finally {
      dir.cleanup();
    }
  });
});
