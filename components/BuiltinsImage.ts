import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import { BUILTINS_IMAGE_NAME, BuiltinsContext, renderBuiltinsContext } from "../src/containerize/builtinsContext";
import { BuildContextError, writeFileContext } from "../src/containerize/fileContext";
import { contextImage } from "./contextImage";
import { RegistryArgs } from "./NotebookComponent";

export interface BuiltinsImageArgs {
  /**
   * Directory the build context is written to.
   * @default "build/components/naaw-builtins"
   */
  readonly contextDir?: string;
  /** Where the image is pushed. Without a registry the image is built locally and not pushed. */
  readonly registry?: RegistryArgs;
  /**
   * Target platform of the image.
   * @default "linux/amd64"
   */
  readonly platform?: string;
  /**
   * The context to build, when the caller has rendered it already.
   * @default renderBuiltinsContext() over this project
   */
  readonly context?: BuiltinsContext;
}

/**
 * The image the built-in steps (split, merge) run in: Node 20 and the compiled `naaw`, from
 * images/builtins/Dockerfile and a context the program makes (src/containerize/builtinsContext.ts),
 * tagged with that context's hash like a notebook component, so a changed built-in gives a new image
 * and anything else gives the same one.
 */
export class BuiltinsImage extends pulumi.ComponentResource {
  /** `<registry>/naaw-builtins:<hash>` (or `naaw-builtins:<hash>` without a registry). */
  public readonly imageRef: pulumi.Output<string>;
  public readonly hash: string;
  public readonly contextDir: string;
  public readonly image: docker.Image;

  constructor(name: string, args: BuiltinsImageArgs = {}, opts?: pulumi.ComponentResourceOptions) {
    super("naaw:index:BuiltinsImage", name, {}, opts);
    let built: BuiltinsContext;
    try {
      built = args.context ?? renderBuiltinsContext();
    } catch (error) {
      // A missing dependency or a broken tsconfig.build.json is the user's to fix: a message, not a stack trace.
      if (error instanceof BuildContextError) throw new pulumi.RunError(`the built-ins image: ${error.message}`);
      throw error;
    }
    this.hash = built.hash;
    this.contextDir = args.contextDir ?? path.join("build", "components", BUILTINS_IMAGE_NAME);
    writeFileContext(this.contextDir, built.context);

    this.image = contextImage(`${name}-image`, { name: BUILTINS_IMAGE_NAME, hash: built.hash, contextDir: this.contextDir, registry: args.registry, platform: args.platform }, this);
    this.imageRef = this.image.imageName;
    this.registerOutputs({ imageRef: this.imageRef, hash: this.hash });
  }
}
