import { ValueType } from "../notebook/pythonAnalysis";
import { WorkflowType } from "./spec";

export function listOf(type: WorkflowType): WorkflowType {
  return type.startsWith("list[") ? "list" : (`list[${type}]` as WorkflowType);
}

/** The element type of a list type (`any` for a plain `list`), or undefined for a non-list. */
export function elementOf(type: WorkflowType): WorkflowType | undefined {
  if (type === "list" || type === "any") return "any";
  const match = /^list\[(\w+)\]$/.exec(type);
  return match ? (match[1] as ValueType) : undefined;
}

export function isList(type: WorkflowType): boolean {
  return type === "list" || type.startsWith("list[");
}

/** Whether a value of type `source` may bind a slot of type `target`. */
export function fits(source: WorkflowType, target: WorkflowType): boolean {
  if (source === target || source === "any" || target === "any") return true;
  if (source === "int" && target === "float") return true;
  if (isList(source) && isList(target)) {
    const s = elementOf(source)!;
    const t = elementOf(target)!;
    return fits(s, t);
  }
  return false;
}

/** The type of a literal in a workflow file (YAML gives numbers, strings, bools, lists, maps). */
export function literalType(value: unknown): WorkflowType {
  if (value === null || value === undefined) return "any";
  if (typeof value === "boolean") return "bool";
  if (typeof value === "number") return Number.isInteger(value) ? "int" : "float";
  if (typeof value === "bigint") return "int"; // an integer beyond 2**53, kept exact (src/notebook/exactJson.ts)
  if (typeof value === "string") return "str";
  if (Array.isArray(value)) return "list";
  return "dict";
}

/** The file a value of this type crosses a step boundary as: `.npy` for arrays, `.json` for the rest. */
export function valueFileExtension(type: WorkflowType): "npy" | "json" {
  return type === "ndarray" ? "npy" : "json";
}
