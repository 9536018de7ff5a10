import { WorkflowType } from "../spec";
import { elementOf, valueFileExtension } from "../types";
import { Carrier } from "./model";

/** A workflow type as a plain CWL type (int → long: CWL's int is 32-bit), or undefined for ndarray. */
export function plainCwlType(type: WorkflowType): unknown | undefined {
  switch (type) {
    case "str":
      return "string";
    case "int":
      // CWL's `int` is 32-bit; a Python int is not.
      return "long";
    case "float":
      return "double";
    case "bool":
      return "boolean";
    case "dict":
    case "any":
      return "Any";
    case "ndarray":
      return undefined;
    default: {
      const element = elementOf(type);
      if (element === undefined) return undefined;
      const items = element === "any" ? "Any" : plainCwlType(element);
      return items === undefined ? undefined : { type: "array", items };
    }
  }
}

/** The extension a value of a type is written with, or undefined for `any` (either). */
export function extensionOf(type: WorkflowType): "npy" | "json" | undefined {
  return type === "any" ? undefined : valueFileExtension(type);
}

/** Text for a CWL string that is interpolated: `$(`, `${` and `\` are literal. */
export function escapeInterpolation(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\$([({])/g, "\\$$$1");
}

export function isFileCarrier(carrier: Carrier): boolean {
  return carrier.kind === "value" || carrier.kind === "path";
}

