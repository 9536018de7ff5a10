import { ComponentInterface } from "../catalog";
import { ParamDeclaration, WorkflowType } from "../spec";
import { GraphStep } from "../validate";
import { CwlContext } from "./context";
import { SIDECAR } from "./library";
import { Carrier } from "./model";
import { plainCwlType } from "./values";

/* How each value is carried in CWL (a plain value, a value file, a path, an array) and its CWL type. */

/**
 * A built-in's `list[str]` output names files: in CWL it is a File array collected from
 * `outputs/NAME/`, its elements with their sidecars where ComponentInterface.files lists them.
 */
export function builtinFileList(component: ComponentInterface, output: string): { glob: string; secondaryFiles?: readonly object[] } | undefined {
  if (!component.builtin || component.outputs.find((o) => o.name === output)?.type !== "list[str]") return undefined;
  const extensions = component.files?.fileLists?.[output];
  if (!extensions) return { glob: `outputs/${output}/*` };
  const [file, ...sidecars] = extensions;
  return {
    glob: `outputs/${output}/*${file}`,
    ...(sidecars.length > 0 ? { secondaryFiles: sidecars.map((ext) => ({ pattern: `^${ext}`, required: true })) } : {}),
  };
}

/** How a workflow param is carried: a list of files, or a plain value (optional when its default is null). */
export function paramCarrier(ctx: CwlContext, param: ParamDeclaration): Carrier {
  if (ctx.fileListParams.has(param.name)) return { kind: "array", of: { kind: "path", secondaryFiles: [SIDECAR] } };
  // A list whose items are declared (`items: {type: int}`) is an array of that CWL type (long[]), not Any[].
  const items = param.type === "list" ? param.constraints?.items?.type : undefined;
  return { kind: "plain", type: items ? (`list[${items}]` as WorkflowType) : param.type, optional: param.default === null };
}

/** How a step's output is carried: a built-in's file list as paths, anything else as its value file. */
export function outputCarrier(step: GraphStep, output: string): Carrier {
  const fileList = builtinFileList(step.component, output);
  if (fileList) return { kind: "array", of: { kind: "path", ...(fileList.secondaryFiles ? { secondaryFiles: [SIDECAR] } : {}) } };
  const type = step.component.outputs.find((o) => o.name === output)?.type ?? "any";
  return { kind: "value", type };
}

/** The id of a component's output in its tool: its name, unless an input or param has that name. */
export function outputId(component: ComponentInterface, output: string): string {
  const taken = [...component.inputs, ...component.params].some((v) => v.name === output);
  return taken ? `${output}-out` : output;
}

/** `type` (and `secondaryFiles`) of a workflow-level parameter carried this way. */
export function parameterOf(ctx: CwlContext, carrier: Carrier): { type: unknown; secondaryFiles?: readonly object[] } {
  switch (carrier.kind) {
    case "plain": {
      const type = plainCwlType(carrier.type);
      if (type === undefined) ctx.problem(`a plain value of type ${carrier.type} has no CWL type`);
      return { type: carrier.optional ? ["null", type ?? "Any"] : (type ?? "Any") };
    }
    case "value":
      return { type: "File" };
    case "path":
      return { type: "File", ...(carrier.secondaryFiles ? { secondaryFiles: carrier.secondaryFiles } : {}) };
    case "array": {
      const inner = parameterOf(ctx, carrier.of);
      return { type: { type: "array", items: inner.type }, ...(inner.secondaryFiles ? { secondaryFiles: inner.secondaryFiles } : {}) };
    }
  }
}
