import * as fs from "fs";
import * as path from "path";
import { WorkflowGraph } from "../workflow/validate";
import { calibrationPath, readCalibration, staleComponents } from "./calibration";
import { formatPlan } from "./format";
import { Plan, planJson, planRun } from "./plan";
import { loadAwsPrices } from "./prices/catalog";
import { PlanInputError } from "./request";
import { buildRequest, PlanSettings, readStackSettings } from "./settings";
import { resolveDataVolume } from "./volume";

/** A workflow param's default, as the planner needs it (the input, the tile and cell sizes). */
export function paramDefault(graph: WorkflowGraph, name: string): unknown {
  return graph.params.find((p) => p.name === name)?.default;
}

export interface WorkflowPlan {
  readonly plan: Plan;
  readonly workflow: string;
  readonly calibrationFile: string;
}

/**
 * The plan of a compiled workflow for settings (flags, a stack's `naaw:` keys, or Pulumi config read
 * by `settingsFromConfig`): its calibration beside it, the data (default: the workflow's `input`),
 * the shipped prices. `naaw plan`, `npm run render` and the Pulumi program all call this.
 */
export function planWorkflow(workflow: string, graph: WorkflowGraph, settings: PlanSettings): WorkflowPlan {
  const calibrationFile = calibrationPath(workflow);
  const calibration = readCalibration(calibrationFile);
  const data = settings.data ?? String(paramDefault(graph, "input") ?? "");
  const volume = resolveDataVolume(data, { density: settings.pointDensity });
  const request = buildRequest(settings, volume, Number(paramDefault(graph, "tile_size") ?? 500));
  const cellSize = Number(paramDefault(graph, "cell_size") ?? 0);
  const misaligned = cellSize > 0 ? request.tileSizes.filter((t) => Math.abs(t / cellSize - Math.round(t / cellSize)) > 1e-9) : [];
  if (misaligned.length > 0) throw new PlanInputError(`--tile-size ${misaligned.join(",")}: a tile edge must be a multiple of the workflow's cell_size (${cellSize} m)`);
  const plan = planRun({
    request,
    calibration,
    staleComponents: staleComponents(calibration, graph),
    aws: request.cloud === "aws" ? loadAwsPrices() : undefined,
    flavors: settings.openstackFlavors,
  });
  return { plan, workflow, calibrationFile };
}

/**
 * The committed review rendering of a stack's plan (`workflows/rendered/<workflow>.plan.txt` and
 * `.plan.json`): what `npm run render` writes, so a change of a notebook, a workflow or a price shows
 * as a diff of the cost. `graph` is the stack's workflow compiled (`compileWorkflow(workflow)`).
 */
export function renderStackPlan(stack: string, graph: WorkflowGraph, workflow: string, stacksDir = "stacks"): { text: string; json: string } {
  const settings = readStackSettings(stack, stacksDir);
  const planned = planWorkflow(settings.workflow ?? workflow, graph, settings);
  return {
    text: formatPlan(planned.plan, { workflow: planned.workflow, calibrationFile: planned.calibrationFile }),
    json: JSON.stringify(planJson(planned.plan), null, 2) + "\n",
  };
}

/**
 * The committed plans of a workflow: one `<workflow>.plan.<stack>.txt` per stack under `stacksDir`
 * whose `naaw:workflow` is this workflow, as `naaw plan --stack <stack>` prints it. `npm run render`
 * writes them beside the renderings and a test checks they are fresh, so a change of a notebook, a
 * workflow, a calibration or a price shows in review as a diff of the cost (Infracost's pull-request
 * comment, for a Pulumi program).
 */
export function committedPlans(workflow: string, graph: WorkflowGraph, stacksDir = "stacks"): Map<string, string> {
  const base = workflow.split("/").pop()!.replace(/\.ya?ml$/, "");
  const plans = new Map<string, string>();
  const stacks = fs.existsSync(stacksDir) ? fs.readdirSync(stacksDir).filter((f) => /^Pulumi\..+\.yaml$/.test(f)).map((f) => f.slice(7, -5)).sort() : [];
  for (const stack of stacks) {
    const settings = readStackSettings(stack, stacksDir);
    if (path.normalize(settings.workflow ?? "") !== path.normalize(workflow)) continue;
    // Only a stack that names a cloud is planned (local and existing-cluster stacks buy nothing).
    if (settings.cloud === undefined) continue;
    plans.set(`${base}.plan.${stack}.txt`, renderStackPlan(stack, graph, workflow, stacksDir).text);
  }
  return plans;
}
