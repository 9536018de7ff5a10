import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import { BUILTINS_IMAGE_NAME } from "../src/containerize/builtinsContext";
import { Catalog, loadCatalog } from "../src/containerize/catalog";
import { ImageOptions } from "../src/containerize/spec";
import { DiagnosticError } from "../src/diagnostics";
import { BuiltinsImage } from "./BuiltinsImage";
import { NotebookComponent, RegistryArgs } from "./NotebookComponent";

export interface ComponentCatalogArgs extends ImageOptions {
  /** The tagged notebooks whose components become images. */
  readonly notebooks: readonly string[];
  /** The notebooks already analyzed (`loadCatalog(notebooks)`), when the caller needed them first; otherwise analyzed here. */
  readonly catalog?: Catalog;
  /** Where images are pushed; without one they are built locally only. */
  readonly registry?: RegistryArgs;
  /**
   * Directory that receives the build contexts.
   * @default "build/components"
   */
  readonly contextRoot?: string;
  /** @default "linux/amd64" */
  readonly platform?: string;
}

/**
 * Every component of the given notebooks as a built (and, with a registry, pushed) image, and the
 * image of the built-in steps beside them: a workflow needs both, so the catalog always builds both.
 */
export class ComponentCatalog extends pulumi.ComponentResource {
  /**
   * Notebook component name → image reference (`<registry>/<name>:<hash>`). Only the notebook's
   * components: the built-ins image is `builtinsImage`, as the renderers take it (renderArgo's
   * `builtinsImage` option), and a key of its own here could meet a component's name.
   */
  public readonly images: pulumi.Output<Record<string, string>>;
  public readonly components: Readonly<Record<string, NotebookComponent>>;
  /** The built-in steps' image, `<registry>/naaw-builtins:<hash>`: renderArgo's `builtinsImage`. */
  public readonly builtinsImage: pulumi.Output<string>;
  public readonly builtins: BuiltinsImage;
  /** Every repository the catalog pushes to (the components' names and `naaw-builtins`), e.g. for one ECR repository each. */
  public readonly repositories: readonly string[];

  constructor(name: string, args: ComponentCatalogArgs, opts?: pulumi.ComponentResourceOptions) {
    super("naaw:index:ComponentCatalog", name, {}, opts);
    if (args.notebooks.length === 0) {
      throw new pulumi.RunError("ComponentCatalog: `notebooks` is empty; give at least one tagged notebook (stack config naaw:notebooks)");
    }
    let entries;
    try {
      entries = (args.catalog ?? loadCatalog(args.notebooks, { baseImage: args.baseImage })).entries;
    } catch (error) {
      // Notebook problems are the user's to fix: show them as diagnostics, not as a stack trace.
      if (error instanceof DiagnosticError) throw new pulumi.RunError(error.message);
      throw error;
    }
    const clash = entries.find((e) => e.spec.name === BUILTINS_IMAGE_NAME);
    if (clash) {
      throw new pulumi.RunError(
        `ComponentCatalog: component '${BUILTINS_IMAGE_NAME}' of ${clash.spec.notebook} has the name of the built-ins image, whose repository it would share; rename its tag (component:<another name>)`,
      );
    }
    const contextRoot = args.contextRoot ?? path.join("build", "components");
    const components: Record<string, NotebookComponent> = {};
    for (const entry of entries) {
      components[entry.spec.name] = new NotebookComponent(
        `${name}-${entry.spec.name}`,
        { entry, registry: args.registry, contextRoot, platform: args.platform },
        { parent: this },
      );
    }
    // Named after the image, which no component may be named (above), so no child name can clash.
    this.builtins = new BuiltinsImage(
      `${name}-${BUILTINS_IMAGE_NAME}`,
      { contextDir: path.join(contextRoot, BUILTINS_IMAGE_NAME), registry: args.registry, platform: args.platform },
      { parent: this },
    );
    this.components = components;
    this.images = pulumi.all(Object.fromEntries(Object.entries(components).map(([n, c]) => [n, c.imageRef])));
    this.builtinsImage = this.builtins.imageRef;
    this.repositories = [...Object.keys(components), BUILTINS_IMAGE_NAME];
    this.registerOutputs({ images: this.images, builtinsImage: this.builtinsImage });
  }
}
