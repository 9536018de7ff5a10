import { Binding, Reference, WorkflowType } from "../spec";
import { GraphStep, ResolvedBinding } from "../validate";
import { CwlContext } from "./context";

/* What the rendering must know before it emits: which outputs are read, which list params are files. */

/** Records every `step.output` that a binding or a foreach reads (the rest are the workflow's outputs). */
export function collectReads(ctx: CwlContext): void {
  const note = (reference: Reference): void => {
    if (reference.kind === "step") ctx.read.add(`${reference.step}.${reference.output}`);
  };
  for (const step of ctx.graph.steps) {
    for (const b of step.bindings) {
      if (b.binding.kind === "reference") note(b.binding.reference);
      if (b.binding.kind === "template") for (const part of b.binding.parts) if (typeof part !== "string") note(part);
    }
  }
  for (const group of ctx.graph.foreach) note(group.over);
}

/** A list param is a list of files when it is only iterated over and its items only feed str params. */
export function classifyParams(ctx: CwlContext): void {
  const otherUse = new Set<string>();
  for (const step of ctx.graph.steps) {
    for (const b of step.bindings) {
      const refs = b.binding.kind === "reference" ? [b.binding.reference] : b.binding.kind === "template" ? b.binding.parts.filter((p): p is Reference => typeof p !== "string") : [];
      for (const r of refs) if (r.kind === "param") otherUse.add(r.name);
    }
  }
  const verdicts = new Map<string, boolean>();
  for (const group of ctx.graph.foreach) {
    if (group.over.kind !== "param") continue;
    const param = ctx.params.get(group.over.name);
    if (!param) continue;
    const itemUses = ctx.graph.steps
      .filter((s) => s.foreach === group.id)
      .flatMap((s) => s.bindings.filter((b) => usesItem(b.binding)).map((b) => ({ step: s, b })));
    const feedsPaths =
      (param.type === "list" || param.type === "any") &&
      !otherUse.has(param.name) &&
      itemUses.length > 0 &&
      itemUses.every(({ step, b }) => b.binding.kind === "reference" && b.slot === "param" && slotType(step, b) === "str");
    verdicts.set(param.name, (verdicts.get(param.name) ?? true) && feedsPaths);
  }
  for (const [name, files] of verdicts) if (files) ctx.fileListParams.add(name);
}

/** Whether a binding reads the foreach item. */
export function usesItem(binding: Binding): boolean {
  if (binding.kind === "reference") return binding.reference.kind === "item";
  if (binding.kind === "template") return binding.parts.some((p) => typeof p !== "string" && p.kind === "item");
  return false;
}

/** The declared type of the input or param a binding fills (`any` when the component has none). */
export function slotType(step: GraphStep, binding: ResolvedBinding): WorkflowType {
  const slot = binding.slot === "input" ? step.component.inputs.find((i) => i.name === binding.name) : step.component.params.find((p) => p.name === binding.name);
  return slot?.type ?? "any";
}
