import * as pulumi from "@pulumi/pulumi";
import { loadCatalog } from "../src/containerize/catalog";
import { ImageOptions } from "../src/containerize/spec";
import { DiagnosticError } from "../src/diagnostics";
import { NotebookComponent, RegistryArgs } from "./NotebookComponent";

export interface ComponentCatalogArgs extends ImageOptions {
  /** The tagged notebooks whose components become images. */
  readonly notebooks: readonly string[];
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

/** Every component of the given notebooks as a built (and, with a registry, pushed) image. */
export class ComponentCatalog extends pulumi.ComponentResource {
  /** Component name → image reference (`<registry>/<name>:<hash>`). */
  public readonly images: pulumi.Output<Record<string, string>>;
  public readonly components: Readonly<Record<string, NotebookComponent>>;

  constructor(name: string, args: ComponentCatalogArgs, opts?: pulumi.ComponentResourceOptions) {
    super("naaw:index:ComponentCatalog", name, {}, opts);
    if (args.notebooks.length === 0) {
      throw new pulumi.RunError("ComponentCatalog: `notebooks` is empty; give at least one tagged notebook (stack config naaw:notebooks)");
    }
    let entries;
    try {
      entries = loadCatalog(args.notebooks, { baseImage: args.baseImage }).entries;
    } catch (error) {
      // Notebook problems are the user's to fix: show them as diagnostics, not as a stack trace.
      if (error instanceof DiagnosticError) throw new pulumi.RunError(error.message);
      throw error;
    }
    const components: Record<string, NotebookComponent> = {};
    for (const entry of entries) {
      components[entry.spec.name] = new NotebookComponent(
        `${name}-${entry.spec.name}`,
        { entry, registry: args.registry, contextRoot: args.contextRoot, platform: args.platform },
        { parent: this },
      );
    }
    this.components = components;
    this.images = pulumi.all(Object.fromEntries(Object.entries(components).map(([n, c]) => [n, c.imageRef])));
    this.registerOutputs({ images: this.images });
  }
}
