import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { Experiment, Target, TARGETS } from "./components/Experiment";
import { planTable, stackPlan } from "./components/stackCluster";
import { loadSchedulingPolicy } from "./components/schedulingPolicy";

/*
 * One experiment per stack: `pulumi preview -s <stack>` shows the plan's cost table (the numbers of
 * `naaw plan --stack`) before anything exists; `pulumi up` builds the component images, makes the
 * cluster the plan sized, installs Argo, runs the workflow and returns when it has ended. The config
 * keys are declared, with types and defaults, in Pulumi.yaml; stacks/ holds one file per experiment.
 */
const config = new pulumi.Config("naaw");

if (config.get("cluster") !== undefined) {
  throw new pulumi.RunError("naaw:cluster is now naaw:target (local, kubernetes, aws or openstack; an existing cluster is `kubernetes`): rename the key in the stack's file");
}
const target = config.get("target") ?? "local";
if (!(TARGETS as readonly string[]).includes(target)) {
  throw new pulumi.RunError(`naaw:target must be one of ${TARGETS.join(", ")}; got '${target}' (local runs on this machine, kubernetes on a cluster that exists)`);
}
const workflow = config.get("workflow") ?? "workflows/lidar.yaml";

// AWS and OpenStack are sized from the plan; an experiment over budget fails here, before any
// resource exists, with the minimum budget that would do.
const planned = target === "aws" || target === "openstack" ? stackPlan(workflow) : undefined;
if (planned) void pulumi.log.info(planTable(planned));

interface RegistryConfig {
  readonly server: string;
  readonly username?: string;
}
const registry = config.getObject<RegistryConfig>("registry");

const experiment = new Experiment(pulumi.getStack(), {
  target: target as Target,
  workflow,
  notebooks: config.getObject<string[]>("notebooks") ?? ["notebooks/lidar.ipynb"],
  params: config.getObject<Record<string, unknown>>("params") ?? {},
  planned,
  policy: loadSchedulingPolicy(config.get("schedulingPolicy") ?? "default", path.resolve(".")),
  wait: config.getBoolean("wait") ?? true,
  baseImage: config.get("baseImage"),
  buildDir: config.get("buildDir"),
  workers: config.getNumber("workers"),
  registry: registry && { server: registry.server, username: registry.username, password: config.getSecret("registryPassword") },
});

/** The plan the cluster was sized from: machine, nodes, hours and cost. */
export const plan = planned?.plan.chosen && {
  instanceType: planned.plan.chosen.candidate.machine.name,
  nodes: planned.plan.chosen.candidate.nodes,
  spot: planned.plan.chosen.candidate.spot,
  parallelism: planned.plan.chosen.parallelism,
  makespanHours: planned.plan.chosen.makespanHours,
  totalCost: planned.plan.chosen.totalCost,
};
/** Cluster targets: component images, the run (name, phase), where its results are, how to look. */
export const images = experiment.outputs.images;
export const workflowName = experiment.outputs.workflowName;
export const phase = experiment.outputs.phase;
export const results = experiment.outputs.results;
export const argoUi = experiment.outputs.argoUi;
export const download = experiment.outputs.download;
/** The cluster's kubeconfig (a secret), for `kubectl` and `argo`. */
export const kubeconfig = experiment.outputs.kubeconfig;
export const artifactBucket = experiment.outputs.artifactBucket;
/** Where the workflows run and where Argo is (`naaw submit --stack` reads them). */
export const workflowNamespace = experiment.outputs.workflowNamespace;
export const argoNamespace = experiment.outputs.argoNamespace;
/** Local target: the rasters' paths and the run report. */
export const rasters = experiment.outputs.rasters;
export const report = experiment.outputs.report;
