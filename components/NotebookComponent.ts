import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import { CatalogEntry } from "../src/containerize/catalog";
import { writeBuildContext } from "../src/containerize/context";
import { contextImage } from "./contextImage";

/** A registry to push component images to. */
export interface RegistryArgs {
  /** Registry host (and optional path), e.g. `123456789012.dkr.ecr.eu-west-1.amazonaws.com/naaw`. */
  readonly server: pulumi.Input<string>;
  readonly username?: pulumi.Input<string>;
  /** Set it from a secret (`pulumi config set --secret naaw:registryPassword …`), never in plain config. */
  readonly password?: pulumi.Input<string>;
}

export interface NotebookComponentArgs {
  /** The component as analyzed from its notebook: spec, build context and content hash. */
  readonly entry: CatalogEntry;
  /**
   * Directory under which the build context is written, one subdirectory per component.
   * @default "build/components"
   */
  readonly contextRoot?: string;
  /** Where the image is pushed. Without a registry the image is built locally and not pushed. */
  readonly registry?: RegistryArgs;
  /**
   * Target platform of the image.
   * @default "linux/amd64"
   */
  readonly platform?: string;
}

/**
 * One notebook component as a container image tagged with the hash of its build context: the tag
 * changes exactly when something that goes into the image changes, so `pulumi preview` shows a
 * rebuild only for edited components.
 */
export class NotebookComponent extends pulumi.ComponentResource {
  /** `<registry>/<name>:<hash>` (or `<name>:<hash>` without a registry). */
  public readonly imageRef: pulumi.Output<string>;
  public readonly hash: string;
  public readonly contextDir: string;
  public readonly image: docker.Image;

  constructor(name: string, args: NotebookComponentArgs, opts?: pulumi.ComponentResourceOptions) {
    super("naaw:index:NotebookComponent", name, {}, opts);
    const { entry } = args;
    this.hash = entry.hash;
    this.contextDir = path.join(args.contextRoot ?? path.join("build", "components"), entry.spec.name);
    writeBuildContext(this.contextDir, entry.context);

    this.image = contextImage(`${name}-image`, { name: entry.spec.name, hash: entry.hash, contextDir: this.contextDir, registry: args.registry, platform: args.platform }, this);
    this.imageRef = this.image.imageName;
    this.registerOutputs({ imageRef: this.imageRef, hash: this.hash });
  }
}
