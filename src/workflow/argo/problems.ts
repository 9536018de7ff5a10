import { ArgoContext } from "./context";
import { ArgoTemplate } from "./model";

/*
 * Named checks for what a manifest cannot express, collected (not thrown) so that one rendering
 * reports every problem; the other problems are found where the bindings are resolved.
 */

/** Check: every value that crosses a step boundary has a file type (`any` has none). */
export function checkValueTypes(ctx: ArgoContext): void {
  for (const step of ctx.graph.steps) {
    const c = step.component;
    for (const value of [...c.inputs.map((v) => ({ ...v, what: "input" })), ...c.outputs.map((v) => ({ ...v, what: "output" }))]) {
      if (value.type !== "any") continue;
      ctx.problem(
        step.spec.at,
        `step '${step.id}' (${c.uses}): ${value.what} '${value.name}' has type any, so it has no fixed artifact path ` +
          `(${value.name}.npy or ${value.name}.json) on Argo; annotate it in the notebook, e.g. \`${value.name}: np.ndarray = …\``,
      );
    }
  }
}

/** Check: template names are unique (a group id may not equal `main` or a component template's name). */
export function checkTemplateNames(ctx: ArgoContext, templates: readonly ArgoTemplate[]): void {
  const seen = new Set<string>();
  for (const t of templates) {
    if (seen.has(t.name)) {
      const group = ctx.groups.get(t.name);
      const plan = ctx.plans.find((p) => p.name === t.name);
      const at = group?.spec.at ?? plan?.steps[0].spec.at ?? { line: 1, column: 1 };
      ctx.problem(at, `two Argo templates would be named '${t.name}'; ${group ? `rename the foreach '${t.name}'` : "rename a notebook or a component"}`);
    }
    seen.add(t.name);
  }
}
