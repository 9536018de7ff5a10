import * as pulumi from "@pulumi/pulumi";
import { ComponentCatalog } from "./components";
import { DEFAULT_BASE_IMAGE } from "./src/containerize/spec";

/** Stack config, namespace `naaw` (stacks/Pulumi.<stack>.yaml). */
const config = new pulumi.Config("naaw");

interface RegistryConfig {
  readonly server: string;
  readonly username?: string;
}

const registryConfig = config.getObject<RegistryConfig>("registry");
const catalog = new ComponentCatalog("catalog", {
  notebooks: config.getObject<string[]>("notebooks") ?? ["notebooks/lidar.ipynb"],
  baseImage: config.get("baseImage") ?? DEFAULT_BASE_IMAGE,
  contextRoot: config.get("buildDir"),
  registry: registryConfig && {
    server: registryConfig.server,
    username: registryConfig.username,
    password: config.getSecret("registryPassword"),
  },
});

/** Component name → image reference, for workflows and for `pulumi stack output images`. */
export const images = catalog.images;
