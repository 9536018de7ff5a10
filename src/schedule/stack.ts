import * as fs from "fs";
import { load } from "js-yaml";
import * as path from "path";
import { AwsSettings, workflowScheduling } from "../cluster/aws";
import { planWorkflow } from "../plan/planWorkflow";
import { readStackSettings } from "../plan/settings";
import type { WorkflowGraph } from "../workflow/validate";
import { ClusterScheduling, NO_CLUSTER_FACTS, SchedulingContext } from "./policy";

/** Where a stack runs: `naaw:target`, else its `naaw:cloud` (stacks that predate the key), else local. */
function stackTarget(stack: string, stacksDir: string, cloud: string | undefined): string {
  const file = path.join(stacksDir, `Pulumi.${stack}.yaml`);
  const config = (load(fs.readFileSync(file, "utf8")) as { config?: Record<string, unknown> } | undefined)?.config ?? {};
  const target = config["naaw:target"];
  return typeof target === "string" ? target : cloud ?? "local";
}

/**
 * What a policy knows about a stack without deploying it, as `pulumi up` gives it: the plan (AWS and
 * OpenStack, which are sized from it: the same call as `naaw plan --stack`) and the scheduling facts
 * of the cluster kind the stack makes (src/cluster/). An existing cluster (`kubernetes`) and a local
 * run have no plan.
 */
export function stackSchedulingContext(stack: string, workflow: string, graph: WorkflowGraph, stacksDir = "stacks"): SchedulingContext {
  const settings = readStackSettings(stack, stacksDir);
  const target = stackTarget(stack, stacksDir, settings.cloud);
  // An existing cluster is not ours to label or taint (src/cluster/existing.ts); a local run has none.
  if (target !== "aws" && target !== "openstack") return { cluster: NO_CLUSTER_FACTS };
  // The workflow rendered, with its own calibration; the stack gives the data, budget and cloud.
  const plan = planWorkflow(workflow, graph, { ...settings, cloud: target }).plan;
  const spot = plan.chosen?.candidate.spot ?? false;
  // The AWS facts depend only on the market (the workflow NodePool's label and taint); Magnum's
  // nodes carry neither (components/OpenStackCluster.ts).
  const cluster: ClusterScheduling = target === "aws" ? workflowScheduling({ spot } as AwsSettings) : NO_CLUSTER_FACTS;
  return { plan, cluster };
}
