import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { tempDir, writeNotebook } from "./helpers/notebooks";
import { isSecret, RecordedResource, recordResources, settled, unwrapInput, valueOf } from "./helpers/pulumiMocks";

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

  it("GIVEN the demo notebook and a registry WHEN the catalog is made THEN one image per component and one for the built-ins, each tagged with its content hash and pushed", async () => {
    const { ComponentCatalog } = await import("../components/ComponentCatalog");
    const { loadCatalog } = await import("../src/containerize/catalog");
    const { renderBuiltinsContext, BUILTINS_IMAGE_NAME } = await import("../src/containerize/builtinsContext");
    const notebook = path.join(REPO, "notebooks", "lidar.ipynb");
    const made = new ComponentCatalog("catalog", {
      notebooks: [notebook],
      registry: { server: "registry.example.org/naaw", username: "ci", password: new pulumi.Config("naaw").requireSecret("registryPassword") },
      contextRoot: buildDir,
    });
    const images = await valueOf(made.images);
    const builtinsImage = await valueOf(made.builtinsImage);
    await settled(recorded);
    const catalog = loadCatalog([notebook]);
    const names = catalog.entries.map((e) => e.spec.name).sort();
    // `images` keeps meaning the notebook's components; the built-ins have their own output.
    assert.deepStrictEqual(Object.keys(images).sort(), names);
    for (const entry of catalog.entries) {
      assert.strictEqual(images[entry.spec.name], `registry.example.org/naaw/${entry.spec.name}:${entry.hash}`);
    }
    const builtins = renderBuiltinsContext();
    assert.strictEqual(builtinsImage, `registry.example.org/naaw/${BUILTINS_IMAGE_NAME}:${builtins.hash}`);
    assert.deepStrictEqual([...made.repositories].sort(), [...names, BUILTINS_IMAGE_NAME].sort());

    const dockerImages = recorded.filter((r) => r.type === "docker:index/image:Image" && r.name.startsWith("catalog-"));
    assert.strictEqual(dockerImages.length, names.length + 1);
    for (const image of dockerImages) {
      const component = path.basename(image.inputs.build.context);
      // catalog-<component>-image, and catalog-naaw-builtins-image for the built-ins.
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
      if (component === BUILTINS_IMAGE_NAME) {
        assert.strictEqual(image.inputs.imageName, builtinsImage);
        for (const [file, content] of builtins.context) {
          assert.ok(fs.readFileSync(path.join(buildDir, component, file)).equals(content), `${component}/${file}`);
        }
        continue;
      }
      const entry = catalog.entries.find((e) => e.spec.name === component)!;
      assert.strictEqual(image.inputs.imageName, images[component]);
      for (const [file, content] of entry.context) {
        assert.strictEqual(fs.readFileSync(path.join(buildDir, component, file), "utf8"), content, `${component}/${file}`);
      }
    }
    const ours = recorded.filter((r) => r.name === "catalog" || r.name.startsWith("catalog-"));
    const types = ours.map((r) => r.type);
    assert.strictEqual(types.filter((t) => t === "naaw:index:ComponentCatalog").length, 1);
    assert.strictEqual(types.filter((t) => t === "naaw:index:NotebookComponent").length, names.length);
    assert.strictEqual(types.filter((t) => t === "naaw:index:BuiltinsImage").length, 1);
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
      await settled(recorded);
      const builtins = unwrapInput(recorded.find((r) => r.name === "secret-naaw-builtins-image")!.inputs.registry);
      assert.deepStrictEqual([builtins.secret, builtins.value.password], [true, "s3cret"]);
      assert.ok(!fs.readFileSync(path.join(dir.dir, "ctx", "naaw-builtins", "package.json"), "utf8").includes("s3cret"));
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
      // The built-ins image too: built, not pushed, named without a registry.
      assert.match(await valueOf(catalog.builtinsImage), /^naaw-builtins:[0-9a-f]{64}$/);
      await settled(recorded);
      const builtins = recorded.find((r) => r.name === "local-naaw-builtins-image")!;
      assert.strictEqual(builtins.inputs.skipPush, true);
      assert.strictEqual(builtins.inputs.registry, undefined);
      assert.strictEqual(builtins.inputs.build.context, path.join(dir.dir, "ctx", "naaw-builtins"));
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

  it("refuses a notebook component named like the built-ins image, before any image is declared", async () => {
    const { ComponentCatalog } = await import("../components");
    const dir = tempDir();
    try {
      const nb = writeNotebook(dir.dir, [{ tags: ["component:naaw-builtins"], source: "x = 1\n" }]);
      const before = recorded.length;
      assert.throws(
        () => new ComponentCatalog("clash", { notebooks: [nb], contextRoot: path.join(dir.dir, "ctx") }),
        (e: Error) => e instanceof pulumi.RunError && /component 'naaw-builtins' of .*nb\.ipynb has the name of the built-ins image.*rename its tag/.test(e.message),
      );
      assert.ok(!recorded.slice(before).some((r) => r.type === "docker:index/image:Image"));
    } finally {
      dir.cleanup();
    }
  });
});
