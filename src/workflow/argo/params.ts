import { describeConstraints, describedWithConstraints } from "../paramConstraints";
import { formatReference } from "../references";
import { Position, Reference } from "../spec";
import { GraphForeach, GraphStep, ResolvedBinding, WorkflowGraph } from "../validate";
import { valueText } from "../emitter";
import { ArgoContext } from "./context";
import { ArgoParameter } from "./model";
import { ITEM_PARAM } from "./layout";

/*
 * Parameters: the workflow's arguments, and the value a task passes for a param of its component.
 * Output parameters (`valueFrom.path`) are declared only for outputs that some step needs as a param
 * or iterates over (recorded in ctx.parameterOutputs); a str output's file holds JSON, `"abc"`, so a
 * param bound to it unwraps it with the expression `jsonpath(…, '$')`. A step after a foreach that
 * reads an inner step's output gets Argo's aggregation of the withParam task's output parameters
 * into a JSON list (fan-in).
 */

/**
 * A workflow param as an argument: an `enum` is Argo's own (it refuses any other value at submit);
 * the rest of a param's constraints Argo has no field for, so its description says them.
 */
export function workflowParameter(p: WorkflowGraph["params"][number]): ArgoParameter {
  const c = p.constraints;
  const description = c ? describedWithConstraints(p.description, describeConstraints(c, ["enum"]), "Argo") : p.description;
  return {
    name: p.name,
    ...(p.default !== undefined ? { value: valueText(p.default, p.type) } : {}),
    ...(c?.enum ? { enum: c.enum.map((v) => valueText(v, p.type)) } : {}),
    ...(description ? { description } : {}),
  };
}

/** The value a task passes for a param binding, or undefined when it has none (reported). */
export function paramBinding(ctx: ArgoContext, step: GraphStep, binding: ResolvedBinding, group: GraphForeach | undefined): string | undefined {
  const b = binding.binding;
  const slotType = step.component.params.find((p) => p.name === binding.name)?.type ?? binding.type;
  const what = `step '${step.id}' (${step.component.uses}): param '${binding.name}'`;
  switch (b.kind) {
    case "invalid": // reported by the validator, which then gives no graph
      return undefined;
    case "literal":
      return valueText(b.value, slotType);
    case "reference":
      return parameterText(ctx, b.reference, group, b.at, what);
    case "template": {
      let text = "";
      for (const part of b.parts) {
        if (typeof part === "string") {
          text += part;
          continue;
        }
        const piece = parameterText(ctx, part, group, b.at, what);
        if (piece === undefined) return undefined;
        text += piece;
      }
      return text;
    }
  }
}

/**
 * The Argo text of a reference used as a param (or a withParam list) in `group`'s DAG (undefined:
 * the main DAG). A str output is JSON in its file (`"abc"`), so it is unwrapped with `jsonpath`.
 */
export function parameterText(ctx: ArgoContext, reference: Reference, group: GraphForeach | undefined, at: Position, what: string): string | undefined {
  switch (reference.kind) {
    case "param":
      return `{{workflow.parameters.${reference.name}}}`;
    case "item":
      return `{{inputs.parameters.${ITEM_PARAM}}}`;
    case "step": {
      const producer = ctx.steps.get(reference.step)!;
      const output = producer.component.outputs.find((o) => o.name === reference.output)!;
      if (output.type === "ndarray" || output.type === "any") {
        if (output.type === "ndarray") {
          ctx.problem(at, `${what} reads ${formatReference(reference)}, an ndarray, which cannot be passed as a parameter; bind it to an input of the component`);
        }
        return undefined;
      }
      ctx.parameterOutputs.add(`${producer.id}.${output.name}`);
      const direct = output.type === "str"
        ? `{{=jsonpath(tasks['${producer.id}'].outputs.parameters['${output.name}'], '$')}}`
        : `{{tasks.${producer.id}.outputs.parameters.${output.name}}}`;
      if (producer.foreach === group?.id) return direct;
      const name = `${producer.id}-${output.name}`;
      if (producer.foreach === undefined && group) {
        ctx.record(ctx.groupParams, group.id, name, direct);
        return `{{inputs.parameters.${name}}}`;
      }
      // Fan-in: the main DAG reads an inner step's output, aggregated by Argo over the items.
      ctx.record(ctx.groupOutputs, producer.foreach!, name, `{{tasks.${producer.id}.outputs.parameters.${output.name}}}`);
      return `{{tasks.${producer.foreach}.outputs.parameters.${name}}}`;
    }
  }
}
