import { DiagnosticSink } from "../diagnostics";
import { Cell } from "./notebook";

/** What a cell is to NaaW, from its Jupyter tags. */
export type CellRole =
  | { readonly kind: "parameters" }
  | { readonly kind: "imports" }
  | { readonly kind: "component"; readonly name: string }
  | { readonly kind: "skip" }
  | { readonly kind: "untagged" };

const COMPONENT_TAG = "component:";
const COMPONENT_NAME = /^[a-z][a-z0-9_-]{0,62}$/;

/**
 * The role a cell's tags give it. Conflicting tags (two components, or `parameters` with a
 * component) are errors: a cell can only run in one place.
 */
export function cellRole(cell: Cell, sink: DiagnosticSink): CellRole {
  if (cell.kind !== "code") return { kind: "untagged" };
  const roles: CellRole[] = [];
  for (const tag of cell.tags) {
    if (tag === "parameters") roles.push({ kind: "parameters" });
    else if (tag === "imports") roles.push({ kind: "imports" });
    else if (tag === "skip") roles.push({ kind: "skip" });
    else if (tag.startsWith(COMPONENT_TAG)) {
      const name = tag.slice(COMPONENT_TAG.length);
      if (!COMPONENT_NAME.test(name)) {
        sink.error(
          `tag '${tag}': a component name must start with a lowercase letter and use only a-z, 0-9, '_' and '-' (it names an image and a service)`,
          { cell: cell.index },
        );
        continue;
      }
      roles.push({ kind: "component", name });
    }
  }
  if (roles.some((r) => r.kind === "skip")) return { kind: "skip" };
  if (roles.length > 1) {
    const described = roles.map((r) => (r.kind === "component" ? `component:${r.name}` : r.kind)).join(", ");
    sink.error(`the cell has conflicting tags (${described}); give it one of them`, { cell: cell.index });
  }
  return roles[0] ?? { kind: "untagged" };
}
