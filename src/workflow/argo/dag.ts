import { formatReference } from "../references";
import { GraphForeach, GraphStep } from "../validate";
import { sortedByName } from "../emitter";
import { fileItem, inputBinding } from "./artifacts";
import { ArgoContext } from "./context";
import { ArgoArtifact, ArgoParameter, ArgoTask, ArgoTemplate } from "./model";
import { ITEM_PARAM, STEP_PARAM } from "./layout";
import { paramBinding, parameterText } from "./params";

/*
 * The DAGs: a `main` DAG with one task per top-level step and one per foreach group; each group is a
 * task over `withParam` (the list a step produced) running a DAG template named after the group, so
 * the manifest is the same size for 1 tile or 100,000 (the Workflow's status is not: see scale.ts).
 */

/** The main DAG; makes every group's inner tasks on the way (groupTemplate reads them). */
export function mainTemplate(ctx: ArgoContext): ArgoTemplate {
  const tasks: ArgoTask[] = [];
  const emitted = new Set<string>();
  for (const step of ctx.graph.steps) {
    if (step.foreach === undefined) {
      tasks.push(stepTask(ctx, step, undefined));
      continue;
    }
    if (emitted.has(step.foreach)) continue;
    emitted.add(step.foreach);
    tasks.push(groupTask(ctx, ctx.groups.get(step.foreach)!));
  }
  return { name: "main", dag: { tasks } };
}

/** The task that runs a foreach group once per element of its list. */
export function groupTask(ctx: ArgoContext, group: GraphForeach): ArgoTask {
  // Resolve the inner steps first: they record which outer values the group must be given.
  ctx.innerTasks.set(group.id, ctx.graph.steps.filter((s) => s.foreach === group.id).map((s) => stepTask(ctx, s, group)));
  const over = parameterText(ctx, group.over, undefined, group.spec.foreach.at, `foreach '${group.id}'`);
  const inner = new Set(group.steps);
  const dependencies = new Set(group.dependencies);
  for (const s of ctx.graph.steps.filter((x) => x.foreach === group.id)) {
    for (const d of s.dependencies) if (d !== group.id && !inner.has(d)) dependencies.add(d);
  }
  const parameters: ArgoParameter[] = [
    { name: ITEM_PARAM, value: "{{item}}" },
    ...sortedByName([...(ctx.groupParams.get(group.id) ?? new Map<string, string>())].map(([name, value]) => ({ name, value }))),
  ];
  const artifacts = sortedByName([...(ctx.groupArtifacts.get(group.id) ?? new Map<string, string>())].map(([name, from]) => ({ name, from })));
  return {
    name: group.id,
    template: group.id,
    ...(dependencies.size > 0 ? { dependencies: [...dependencies].sort() } : {}),
    withParam: over ?? "[]",
    arguments: { parameters, ...(artifacts.length > 0 ? { artifacts } : {}) },
  };
}

/** A foreach group's DAG template: one item's run of the group's steps. Made after mainTemplate. */
export function groupTemplate(ctx: ArgoContext, group: GraphForeach): ArgoTemplate {
  const parameters: ArgoParameter[] = [
    { name: ITEM_PARAM, description: `one element of ${formatReference(group.over)}` },
    ...sortedByName([...(ctx.groupParams.get(group.id)?.keys() ?? [])].map((name) => ({ name }))),
  ];
  const artifacts = sortedByName([...(ctx.groupArtifacts.get(group.id)?.keys() ?? [])].map((name) => ({ name })));
  const outputs = sortedByName([...(ctx.groupOutputs.get(group.id) ?? new Map<string, string>())].map(([name, parameter]) => ({ name, valueFrom: { parameter } })));
  return {
    name: group.id,
    inputs: { parameters, ...(artifacts.length > 0 ? { artifacts } : {}) },
    ...(outputs.length > 0 ? { outputs: { parameters: outputs } } : {}),
    dag: { tasks: ctx.innerTasks.get(group.id) ?? [] },
  };
}

/** The task of one step, in the main DAG (group undefined) or in its group's DAG. */
export function stepTask(ctx: ArgoContext, step: GraphStep, group: GraphForeach | undefined): ArgoTask {
  const plan = ctx.planOf.get(step.id)!;
  const parameters: ArgoParameter[] = [{ name: STEP_PARAM, value: step.id }];
  const artifacts: ArgoArtifact[] = [];
  for (const binding of step.bindings) {
    if (binding.slot === "param") {
      const file = fileItem(ctx, step, binding, group);
      if (file) {
        parameters.push({ name: binding.name, value: file.path });
        artifacts.push(...file.artifacts);
        continue;
      }
      const value = paramBinding(ctx, step, binding, group);
      if (value !== undefined) parameters.push({ name: binding.name, value });
    } else {
      const artifact = inputBinding(ctx, step, binding, group);
      if (artifact) artifacts.push(artifact);
    }
  }
  const dependencies = step.dependencies.filter((d) => d !== group?.id && (group === undefined || group.steps.includes(d)));
  return {
    name: step.id,
    template: plan.name,
    ...(dependencies.length > 0 ? { dependencies: [...dependencies].sort() } : {}),
    arguments: { parameters: sortedByName(parameters), ...(artifacts.length > 0 ? { artifacts: sortedByName(artifacts) } : {}) },
  };
}
