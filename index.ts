import * as pulumi from "@pulumi/pulumi";
import { ComponentCatalog } from "./components";
import { clusterKind, planTable, stackCluster, stackPlan } from "./components/stackCluster";
import { DEFAULT_BASE_IMAGE } from "./src/containerize/spec";

/** Stack config, namespace `naaw` (stacks/Pulumi.<stack>.yaml). */
const config = new pulumi.Config("naaw");

interface RegistryConfig {
  readonly server: string;
  readonly username?: string;
}

// The cluster (naaw:cluster: aws, openstack or existing; unset: images only). AWS and OpenStack are
// sized from the stack's plan, which the preview prints as `naaw plan --stack` does; a plan over
// budget fails here, before any resource exists.
const kind = clusterKind(config.get("cluster"));
const planned = kind === "aws" || kind === "openstack" ? stackPlan("workflows/lidar.yaml") : undefined;
if (planned) void pulumi.log.info(planTable(planned));

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
const cluster = kind ? stackCluster(kind, "cluster", planned, Object.keys(catalog.components)) : undefined;

/** The cluster's kubeconfig (a secret), for `kubectl` and `argo`. */
export const kubeconfig = cluster?.kubeconfig;
/** Where the workflow's artifacts go. */
export const artifactBucket = cluster?.artifacts.bucket;
/** The plan the cluster was sized from: machine, nodes, hours and cost. */
export const plan = planned?.plan.chosen && {
  instanceType: planned.plan.chosen.candidate.machine.name,
  nodes: planned.plan.chosen.candidate.nodes,
  spot: planned.plan.chosen.candidate.spot,
  makespanHours: planned.plan.chosen.makespanHours,
  totalCost: planned.plan.chosen.totalCost,
};
