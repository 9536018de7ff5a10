import { load } from "js-yaml";
import { WorkflowType } from "../workflow/spec";
import { fits, literalType } from "../workflow/types";

/** What a param value is checked against: a workflow's declaration or a built-in's param. */
export interface ParamSlot {
  readonly name: string;
  readonly type: WorkflowType;
  readonly default?: unknown;
}

/** A `--set` that names no param, has no `=`, or gives a value of the wrong type. */
export class ParamValueError extends Error {}

/**
 * A `--set NAME=VALUE` value as the param's type wants it: a `str` takes the text as it is; every
 * other type reads the text as YAML (so `10`, `2.5`, `true`, `[1, 3]` and `{a: 1}` mean what they say).
 */
function parseValue(declaration: ParamSlot, text: string, shown: string): unknown {
  if (declaration.type === "str" || declaration.type === "any") return text;
  let value: unknown;
  try {
    value = load(text);
  } catch {
    throw new ParamValueError(`--set ${shown}: '${text}' is not a ${declaration.type} value`);
  }
  if (!fits(literalType(value), declaration.type)) {
    const examples: Record<string, string> = { int: "10", float: "2.5", bool: "true", list: "[1, 3, 4]", dict: "{a: 1}", ndarray: "(an array file)" };
    const example = examples[declaration.type.startsWith("list") ? "list" : declaration.type] ?? "";
    throw new ParamValueError(`--set ${shown}: param '${declaration.name}' is a ${declaration.type}, but '${text}' is a ${literalType(value)}; give e.g. ${declaration.name}=${example}`);
  }
  return value;
}

/**
 * The run's param values: each declared param's `--set` value, else its default. Unknown names and
 * params without a value are errors that list what the workflow declares.
 */
export function resolveParams(declarations: readonly ParamSlot[], settings: readonly string[], workflow: string): Record<string, unknown> {
  const byName = new Map(declarations.map((d) => [d.name, d]));
  const values: Record<string, unknown> = {};
  for (const setting of settings) {
    const equals = setting.indexOf("=");
    if (equals <= 0) throw new ParamValueError(`--set ${setting}: expected NAME=VALUE`);
    const name = setting.slice(0, equals);
    const declaration = byName.get(name);
    if (!declaration) {
      const known = declarations.map((d) => d.name).join(", ") || "none";
      throw new ParamValueError(`--set ${setting}: ${workflow} has no param '${name}' (its params: ${known})`);
    }
    values[name] = parseValue(declaration, setting.slice(equals + 1), setting);
  }
  for (const declaration of declarations) {
    if (declaration.name in values) continue;
    if (declaration.default === undefined) {
      throw new ParamValueError(`param '${declaration.name}' of ${workflow} has no default: give it with --set ${declaration.name}=VALUE`);
    }
    values[declaration.name] = declaration.default;
  }
  return values;
}
