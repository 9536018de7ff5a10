import { describeConstraints, describedWithConstraints } from "../paramConstraints";
import { formatReference } from "../references";
import { ParamDeclaration } from "../spec";
import { sortedAsText as sorted, valueJson } from "../emitter";
import { paramCarrier, parameterOf } from "./carriers";
import { CwlContext } from "./context";
import { GroupPlan } from "./model";
import { resolve } from "./resolve";

/** Step outputs no step reads: the workflow's results. */
export function finalOutputs(ctx: CwlContext): Record<string, object> {
  const outputs: Record<string, object> = {};
  for (const step of ctx.graph.steps) {
    for (const output of step.component.outputs) {
      const key = `${step.id}.${output.name}`;
      if (ctx.read.has(key)) continue;
      const resolved = resolve(ctx, { kind: "step", step: step.id, output: output.name }, undefined, "the workflow outputs");
      if (!resolved) continue;
      outputs[key] = { ...parameterOf(ctx, resolved.carrier), outputSource: resolved.source };
    }
  }
  return outputs;
}

export function paramInput(ctx: CwlContext, param: ParamDeclaration): object {
  const carrier = paramCarrier(ctx, param);
  // CWL carries a list's item type (paramCarrier); the rest of the constraints has no CWL form that
  // cwltool accepts here (an enum input cannot feed a tool's string input without a valueFrom on
  // every step that reads it), so the doc says them.
  const c = param.constraints;
  const carriesItems = c?.items !== undefined && !ctx.fileListParams.has(param.name);
  const unchecked = c ? describeConstraints(c, carriesItems ? ["items"] : []) : "";
  const itemsUnchecked = carriesItems ? describeConstraints({ ...c!.items!, items: undefined }) : "";
  const described = c ? describedWithConstraints(param.description, [unchecked, itemsUnchecked && `a list whose items are ${itemsUnchecked}`].filter((t) => t).join(", "), "CWL") : param.description;
  const docs = described ? [described] : [];
  const input: Record<string, unknown> = { ...parameterOf(ctx, carrier) };
  if (ctx.fileListParams.has(param.name)) {
    docs.push("A list of files in CWL (a foreach iterates over it): each item is staged and its path given to the steps.");
    if (Array.isArray(param.default) && param.default.length === 0) input.default = [];
    else if (param.default !== undefined && param.default !== null) docs.push(`naaw's default: ${valueJson(param.default)}.`);
  } else if (param.default !== undefined && param.default !== null) {
    input.default = param.default;
  }
  if (docs.length > 0) input.doc = docs.join(" ");
  return input;
}

export function groupStepObject(plan: GroupPlan): object {
  const inputs: Record<string, unknown> = { item: plan.itemSource };
  for (const [id, resolved] of plan.inputs) inputs[id] = resolved.source;
  return { run: plan.id, scatter: "item", in: inputs, out: sorted(plan.outputs.keys()) };
}

export function subworkflowObject(ctx: CwlContext, plan: GroupPlan): { id: string } & Record<string, unknown> {
  const inputs: Record<string, object> = { item: parameterOf(ctx, plan.item) };
  for (const [id, resolved] of plan.inputs) inputs[id] = parameterOf(ctx, resolved.carrier);
  const outputs: Record<string, object> = {};
  for (const [id, resolved] of plan.outputs) outputs[id] = { ...parameterOf(ctx, resolved.carrier), outputSource: resolved.source };
  ctx.checkIds(`the subworkflow of foreach '${plan.group.id}'`, [Object.keys(inputs), [...plan.steps.keys()], Object.keys(outputs)]);
  return {
    class: "Workflow",
    id: plan.id,
    label: `foreach ${plan.group.id}: one item of ${formatReference(plan.group.over)}`,
    ...(plan.stepExpressions || plan.multipleSources
      ? {
          requirements: {
            ...(plan.stepExpressions ? { StepInputExpressionRequirement: {} } : {}),
            ...(plan.multipleSources ? { MultipleInputFeatureRequirement: {} } : {}),
          },
        }
      : {}),
    inputs,
    outputs,
    steps: Object.fromEntries(plan.steps),
  };
}
