import { stringifyExactJson } from "../../notebook/exactJson";
import { WorkflowType } from "../spec";

/**
 * A value as an engine hands it to the component runtime's `--param NAME=TEXT`: a str verbatim,
 * anything else as exact JSON (what the runtime parses; big ints keep every digit).
 */
export function valueText(value: unknown, type: WorkflowType): string {
  return type === "str" && typeof value === "string" ? value : stringifyExactJson(value ?? null, 0);
}

/** A value as the JSON text of a value file (`NAME.json`), exact for big ints; `undefined` is `null`. */
export function valueJson(value: unknown): string {
  return stringifyExactJson(value ?? null, 0);
}
