import * as fs from "fs";
import { Binding, Reference } from "../workflow/spec";
import { GraphStep, WorkflowGraph } from "../workflow/validate";
import { Task, taskKey } from "./taskGraph";
import { asParam, listValue, plainValue, StepValue } from "./values";
import { stringifyExactJson } from "../notebook/exactJson";

/** The items a foreach runs over: a list value's elements (a plain JSON list's too). */
export function itemsOf(value: StepValue): readonly StepValue[] {
  if (value.kind === "list") return value.items;
  if (value.kind === "value" && Array.isArray(value.value)) return value.value.map(plainValue);
  return [value];
}

/** Points of a tile from its JSON sidecar (`<stem>.json`), 0 when it has none. */
export function pointsOfItem(value: StepValue): number {
  if (value.kind !== "file") return 0;
  try {
    const sidecar = JSON.parse(fs.readFileSync(value.path.replace(/\.[^./]+$/, ".json"), "utf8")) as { point_count?: unknown };
    return typeof sidecar.point_count === "number" ? sidecar.point_count : 0;
  } catch {
    return 0;
  }
}

/** The values of one run: each finished step's outputs and each foreach group's items, and how a step's bindings resolve to them. */
export class RunValues {
  readonly outputs = new Map<string, Record<string, StepValue>>();
  readonly items = new Map<string, readonly StepValue[]>();

  constructor(
    private readonly graph: WorkflowGraph,
    private readonly params: Readonly<Record<string, unknown>>,
  ) {}

  resolveReference(reference: Reference, item: number | undefined, consumer?: GraphStep): StepValue {
    switch (reference.kind) {
      case "param":
        return plainValue(this.params[reference.name]);
      case "item": {
        const group = consumer?.foreach;
        return this.items.get(group!)![item!]!;
      }
      case "step": {
        const producer = this.graph.steps.find((s) => s.id === reference.step)!;
        const sameItem = producer.foreach !== undefined && producer.foreach === consumer?.foreach;
        if (producer.foreach !== undefined && !sameItem) {
          // A fan-in: the output of every item, in item order.
          const count = this.items.get(producer.foreach)?.length ?? 0;
          return listValue(Array.from({ length: count }, (_, i) => this.outputs.get(taskKey({ step: producer, item: i }))![reference.output]!));
        }
        return this.outputs.get(taskKey({ step: producer, item: sameItem ? item : undefined }))![reference.output]!;
      }
    }
  }

  resolveBinding(binding: Binding, task: Task): StepValue {
    switch (binding.kind) {
      case "literal":
        return plainValue(binding.value);
      case "reference":
        return this.resolveReference(binding.reference, task.item, task.step);
      case "template":
        return plainValue(
          binding.parts
            .map((part) => {
              if (typeof part === "string") return part;
              const value = this.resolveReference(part, task.item, task.step);
              if (value.kind === "file") return value.path;
              const plain = asParam(value, "any", "a template part");
              return typeof plain === "string" ? plain : stringifyExactJson(plain, 0);
            })
            .join(""),
        );
      case "invalid":
        throw new Error(`internal error: step '${task.step.id}' has an invalid binding ${binding.text}`);
    }
  }

  /**
   * A step's inputs and params from its bindings (the component's defaults first); throws on a value it
   * cannot take. For a step that runs in one request with the steps in `chained` (of its item), an input
   * bound to one of their outputs is named by its producer in `fromChain`, not resolved.
   */
  bindChained(task: Task, chained: ReadonlySet<string>): { inputs: Record<string, StepValue>; params: Record<string, unknown>; fromChain: Record<string, { step: string; output: string }> } {
    const step = task.step;
    const component = step.component;
    const inputs: Record<string, StepValue> = {};
    const params: Record<string, unknown> = {};
    const fromChain: Record<string, { step: string; output: string }> = {};
    for (const p of component.params) if (p.default !== undefined) params[p.name] = p.default;
    for (const binding of step.bindings) {
      const b = binding.binding;
      if (binding.slot === "input" && b.kind === "reference" && b.reference.kind === "step" && chained.has(b.reference.step)) {
        fromChain[binding.name] = { step: b.reference.step, output: b.reference.output };
        continue;
      }
      const value = this.resolveBinding(b, task);
      if (binding.slot === "input") inputs[binding.name] = value;
      else params[binding.name] = asParam(value, component.params.find((p) => p.name === binding.name)?.type ?? "any", `'${binding.name}' of step '${step.id}'`);
    }
    return { inputs, params, fromChain };
  }
}
