import { formatReference } from "../references";
import { Reference } from "../spec";
import { elementOf } from "../types";
import { GraphForeach } from "../validate";
import { outputCarrier, outputId, paramCarrier } from "./carriers";
import { CwlContext } from "./context";
import { JSON_LIST_ID } from "./library";
import { Carrier, GroupPlan, Resolved } from "./model";

/* References as CWL sources, and the plan of each foreach subworkflow that records what it needs. */

export function planGroup(ctx: CwlContext, group: GraphForeach): GroupPlan {
  const over = resolve(ctx, group.over, undefined, `foreach '${group.id}'`);
  let item: Carrier = { kind: "plain", type: group.itemType };
  let itemSource = over?.source ?? "";
  if (over) {
    if (over.carrier.kind === "array") item = over.carrier.of;
    else if (over.carrier.kind === "plain") item = { kind: "plain", type: elementOf(over.carrier.type) ?? "any" };
    else if (over.carrier.kind === "value" && over.carrier.type !== "ndarray") {
      // A list that a component wrote as JSON: an ExpressionTool reads it into an array to scatter over.
      const stepId = `${group.id}.items`;
      ctx.jsonListSteps.set(stepId, { run: JSON_LIST_ID, in: { list: over.source }, out: ["items"] });
      itemSource = `${stepId}/items`;
      item = { kind: "plain", type: elementOf(over.carrier.type) ?? "any" };
    } else {
      ctx.problem(`foreach '${group.id}' iterates over ${formatReference(group.over)}, which is not a list in CWL`);
    }
  }
  return { group, id: `#foreach-${group.id}`, item, itemSource, inputs: new Map(), outputs: new Map(), steps: new Map(), stepExpressions: false, multipleSources: false };
}

/**
 * A reference as a CWL source in the main workflow (plan undefined) or in a foreach's subworkflow,
 * registering the subworkflow inputs and outputs it needs.
 */
export function resolve(ctx: CwlContext, reference: Reference, plan: GroupPlan | undefined, where: string): Resolved | undefined {
  switch (reference.kind) {
    case "param": {
      const param = ctx.params.get(reference.name);
      if (!param) return undefined;
      const outer: Resolved = { source: param.name, carrier: paramCarrier(ctx, param) };
      if (!plan) return outer;
      plan.inputs.set(param.name, outer);
      return { source: param.name, carrier: outer.carrier };
    }
    case "item":
      if (!plan) return undefined;
      return { source: "item", carrier: plan.item };
    case "step": {
      const target = ctx.steps.get(reference.step);
      if (!target) {
        ctx.problem(`${where}: ${formatReference(reference)} names no step of the graph`);
        return undefined;
      }
      const carrier = outputCarrier(target, reference.output);
      const own: Resolved = { source: `${target.id}/${outputId(target.component, reference.output)}`, carrier };
      const key = `${target.id}.${reference.output}`;
      if (target.foreach === undefined) {
        if (!plan) return own;
        plan.inputs.set(key, own);
        return { source: key, carrier };
      }
      if (plan && plan.group.id === target.foreach) return own;
      if (plan) {
        ctx.problem(`${where}: ${formatReference(reference)} runs in another foreach`);
        return undefined;
      }
      const inner = ctx.plans.get(target.foreach);
      if (!inner) return undefined;
      inner.outputs.set(key, own);
      return { source: `${target.foreach}/${key}`, carrier: { kind: "array", of: carrier } };
    }
  }
}
