import * as docker from "@pulumi/docker";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import type { RegistryArgs } from "./NotebookComponent";

/**
 * The image of a build context written to `contextDir`: `<registry>/<name>:<hash>` (or `<name>:<hash>`
 * without a registry, built locally and not pushed). Shared by the notebook components and the
 * built-ins, whose tags are both their context's content hash.
 */
export function contextImage(
  resourceName: string,
  args: { readonly name: string; readonly hash: string; readonly contextDir: string; readonly registry?: RegistryArgs; readonly platform?: string },
  parent: pulumi.Resource,
): docker.Image {
  const repository = args.registry ? pulumi.interpolate`${args.registry.server}/${args.name}` : pulumi.output(args.name);
  return new docker.Image(
    resourceName,
    {
      imageName: pulumi.interpolate`${repository}:${args.hash}`,
      build: {
        context: args.contextDir,
        dockerfile: path.join(args.contextDir, "Dockerfile"),
        platform: args.platform ?? "linux/amd64",
      },
      skipPush: args.registry === undefined,
      ...(args.registry ? { registry: { server: args.registry.server, username: args.registry.username, password: args.registry.password } } : {}),
    },
    { parent },
  );
}
