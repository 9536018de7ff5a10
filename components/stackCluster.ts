import * as pulumi from "@pulumi/pulumi";
import { formatPlan } from "../src/plan/format";
import { planWorkflow, WorkflowPlan } from "../src/plan/planWorkflow";
import { PlanInputError } from "../src/plan/request";
import { settingsFromConfig } from "../src/plan/settings";
import { compileWorkflow } from "../src/workflow/compile";
import { formatDiagnostic } from "../src/diagnostics";
import { AwsCluster } from "./AwsCluster";
import type { Cluster } from "./Cluster";
import { ExistingCluster } from "./ExistingCluster";
import { OpenStackCluster } from "./OpenStackCluster";

export const CLUSTER_KINDS = ["aws", "openstack", "existing"] as const;
export type ClusterKind = (typeof CLUSTER_KINDS)[number];

/** The stack's `naaw:` config as the planner reads it: Pulumi keeps lists and objects as JSON text. */
function naawConfig(): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const [key, text] of Object.entries(pulumi.runtime.allConfig())) {
    if (!key.startsWith("naaw:")) continue;
    let value: unknown = text;
    if (/^\s*[[{]/.test(text)) {
      try {
        value = JSON.parse(text);
      } catch {
        // not JSON after all: the planner's own check names the key
      }
    }
    values[key.slice(5)] = value;
  }
  return values;
}

/**
 * The plan the stack's cluster is sized from, by the same function as `naaw plan --stack` (so the
 * preview and the terminal show the same table). An infeasible plan fails the update before any
 * resource exists, with the planner's one line (the minimum budget or deadline that would work).
 */
export function stackPlan(defaultWorkflow: string): WorkflowPlan {
  const where = `stack ${pulumi.getStack()}`;
  try {
    const settings = settingsFromConfig(naawConfig(), where);
    const workflow = settings.workflow ?? defaultWorkflow;
    const { graph, diagnostics } = compileWorkflow(workflow);
    if (!graph) throw new pulumi.RunError(diagnostics.map(formatDiagnostic).join("\n"));
    const planned = planWorkflow(workflow, graph, settings);
    if (!planned.plan.feasible) throw new pulumi.RunError(`naaw: ${planned.plan.reason}`);
    return planned;
  } catch (error) {
    if (error instanceof PlanInputError) throw new pulumi.RunError(`naaw: ${error.message}`);
    throw error;
  }
}

/** The plan's table, as `naaw plan` prints it: shown by `pulumi preview` and `pulumi up`. */
export function planTable(planned: WorkflowPlan): string {
  return formatPlan(planned.plan, { workflow: planned.workflow, calibrationFile: planned.calibrationFile });
}

/** The cluster of the stack's kind: AWS and OpenStack sized from the plan (images: one ECR repository each on AWS). */
export function stackCluster(kind: ClusterKind, name: string, planned: WorkflowPlan | undefined, images: readonly string[], opts?: pulumi.ComponentResourceOptions): Cluster {
  const plan = (): WorkflowPlan["plan"] => {
    if (!planned) throw new pulumi.RunError(`naaw:cluster ${kind} is sized from the stack's plan, and there is none`);
    return planned.plan;
  };
  switch (kind) {
    case "aws":
      return new AwsCluster(name, { plan: plan(), images }, opts);
    case "openstack":
      return new OpenStackCluster(name, { plan: plan() }, opts);
    case "existing":
      return new ExistingCluster(name, {}, opts);
  }
}
