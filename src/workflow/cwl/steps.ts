import { formatReference } from "../references";
import { isList } from "../types";
import { GraphStep } from "../validate";
import { sortedAsText as sorted, valueJson } from "../emitter";
import { slotType as slotTypeOf } from "./analysis";
import { outputId } from "./carriers";
import { CwlContext } from "./context";
import { TAG_INPUT } from "./library";
import { GroupPlan, ToolUse } from "./model";
import { parseCpu, parseMemoryMiB } from "./quantities";
import { resolve } from "./resolve";
import { escapeInterpolation, isFileCarrier } from "./values";

/** The `in:` of a step, recording on its tool which input variants it needs. */
export function stepObject(ctx: CwlContext, step: GraphStep, tool: ToolUse, plan: GroupPlan | undefined): object {
  const inputs: Record<string, unknown> = {};
  const where = `step '${step.id}'`;
  for (const b of step.bindings) {
    const slotType = slotTypeOf(step, b);
    const what = `${where}: ${b.slot} '${b.name}'`;
    const binding = b.binding;
    if (binding.kind === "literal") {
      if (binding.value === null || binding.value === undefined) continue;
      if (b.slot === "param") {
        inputs[b.name] = { default: binding.value };
      } else if (!step.component.builtin && slotType !== "ndarray") {
        inputs[b.name] = { default: { class: "File", basename: `${b.name}.json`, contents: valueJson(binding.value) } };
      } else {
        ctx.problem(`${what} is bound to a literal, which CWL cannot hand to ${step.component.builtin ? "a built-in" : "an ndarray input"} as a file`);
      }
      continue;
    }
    if (binding.kind === "template") {
      if (b.slot !== "param") {
        ctx.problem(`${what} is bound to the text '${binding.text}': an input needs a value file, which CWL cannot write from text; bind it to a param`);
        continue;
      }
      // The references are the step input's sources; valueFrom splices them into the text.
      const pieces: (string | number)[] = [];
      const sources: string[] = [];
      for (const part of binding.parts) {
        if (typeof part === "string") {
          pieces.push(escapeInterpolation(part));
          continue;
        }
        const resolved = resolve(ctx, part, plan, what);
        if (!resolved) continue;
        if (resolved.carrier.kind !== "plain") {
          ctx.problem(`${what}: ${formatReference(part)} is a file in CWL and cannot be spliced into the text '${binding.text}'`);
          continue;
        }
        pieces.push(sources.length);
        sources.push(resolved.source);
      }
      const text = pieces.map((p) => (typeof p === "string" ? p : sources.length === 1 ? "$(self)" : `$(self[${p}])`)).join("");
      inputs[b.name] = sources.length === 0 ? { default: binding.text } : { source: sources.length === 1 ? sources[0] : sources, valueFrom: text };
      if (sources.length > 1) {
        if (plan) plan.multipleSources = true;
        else ctx.mainMultipleSources = true;
      }
      if (plan) plan.stepExpressions = true;
      else ctx.mainStepExpressions = true;
      continue;
    }
    if (binding.kind !== "reference") continue;
    const resolved = resolve(ctx, binding.reference, plan, what);
    if (!resolved) continue;
    const { carrier, source } = resolved;
    const from = binding.text;
    if (b.slot === "input") {
      const wantsList = isList(slotType) && step.component.builtin;
      if (carrier.kind === "value" && !wantsList) inputs[b.name] = source;
      else if (carrier.kind === "array" && carrier.of.kind === "value" && wantsList) inputs[b.name] = source;
      else if (carrier.kind === "array" && carrier.of.kind === "value") {
        ctx.problem(`${what} reads ${from}, one file per foreach item: the component runtime reads one ${b.name}.npy or .json, so gather the list with a built-in first`);
      } else if (carrier.kind === "plain") {
        ctx.problem(`${what} reads ${from}, a plain value: CWL cannot write it to the value file an input needs without JavaScript; make it a param of the component`);
      } else {
        ctx.problem(`${what} reads ${from}, which is a file path in CWL, not a value file`);
      }
      continue;
    }
    // A param: a plain value, the path of a file, or the contents of a JSON value file.
    if (carrier.kind === "plain") {
      inputs[b.name] = source;
    } else if (carrier.kind === "path" && slotType === "str") {
      inputs[`${b.name}-file`] = source;
      tool.fileParams.add(b.name);
    } else if (carrier.kind === "value" && carrier.type !== "ndarray") {
      inputs[`${b.name}-json`] = source;
      tool.jsonParams.add(b.name);
    } else {
      const kind = carrier.kind === "array" ? "a list of files" : carrier.kind === "path" ? "a file path" : "an ndarray file";
      ctx.problem(`${what} is ${slotType}, but ${from} is ${kind} in CWL, which cannot be passed as a --param value`);
    }
  }
  if (plan) {
    inputs[TAG_INPUT] = isFileCarrier(plan.item) ? { source: "item", valueFrom: "$(self.nameroot)" } : "item";
    if (isFileCarrier(plan.item)) plan.stepExpressions = true;
  }
  const object: Record<string, unknown> = {
    run: tool.id,
    in: inputs,
    out: sorted(step.component.outputs.map((o) => outputId(step.component, o.name))),
  };
  const resources = resourceRequirement(ctx, step);
  if (resources) object.requirements = { ResourceRequirement: resources };
  return object;
}

export function resourceRequirement(ctx: CwlContext, step: GraphStep): object | undefined {
  const spec = step.spec.resources;
  if (!spec) return undefined;
  const result: Record<string, number> = {};
  if (spec.cpu !== undefined) {
    const cores = parseCpu(String(spec.cpu));
    if (cores === undefined) ctx.problem(`step '${step.id}': cpu '${spec.cpu}' is not a CPU quantity`);
    else result.coresMin = cores;
  }
  if (spec.memory !== undefined) {
    const mib = parseMemoryMiB(String(spec.memory));
    if (mib === undefined) ctx.problem(`step '${step.id}': memory '${spec.memory}' is not a memory quantity`);
    else result.ramMin = mib;
  }
  return Object.keys(result).length > 0 ? result : undefined;
}
