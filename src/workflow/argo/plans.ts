import { dnsLabelOf } from "../emitter";
import { ArgoContext, TemplatePlan } from "./context";

/**
 * One container template per component, shared by every task that uses it. A step whose `retry` or
 * `resources` differ from the first step using the component gets its own variant, `<template>-<step>`:
 * both live on the template (a DAG task has no retryStrategy, and container resources are typed
 * quantities that cannot be templated).
 */
export function planTemplates(ctx: ArgoContext): void {
  const byKey = new Map<string, TemplatePlan>();
  for (const step of ctx.graph.steps) {
    const settings = JSON.stringify([step.spec.retry ?? null, step.spec.resources ?? null]);
    const key = `${step.component.uses}\n${settings}`;
    let plan = byKey.get(key);
    if (!plan) {
      const base = dnsLabelOf(step.component.uses);
      const taken = ctx.plans.some((p) => p.component.uses === step.component.uses);
      plan = { name: taken ? `${base}-${step.id}` : base, component: step.component, steps: [] };
      byKey.set(key, plan);
      ctx.plans.push(plan);
    }
    plan.steps.push(step);
    ctx.planOf.set(step.id, plan);
  }
}
