import { ValueType } from "../notebook/pythonAnalysis";
import { WorkflowType } from "./spec";
import { fits, isList, literalType } from "./types";
import { stringifyExactJson } from "../notebook/exactJson";

/**
 * What a param's values must be, in JSON Schema's vocabulary (`minimum: 0`, `enum: [a, b]`,
 * `items: {type: int}`), declared on the param in the workflow file. `naaw validate` checks the
 * default against it, `naaw run --set` the given value, and renderers carry what their engine can.
 * Relations between params (a multiple of, divides) are not declarable here: the built-ins state
 * them (src/workflow/builtinRules.ts).
 */
export interface ValueConstraints {
  readonly minimum?: number;
  readonly exclusiveMinimum?: number;
  readonly maximum?: number;
  readonly exclusiveMaximum?: number;
  readonly enum?: readonly unknown[];
  readonly pattern?: string;
}

/** The constraints of a list's items: their type, and the value constraints each item meets. */
export interface ItemConstraints extends ValueConstraints {
  readonly type: ValueType;
}

export interface ParamConstraints extends ValueConstraints {
  readonly items?: ItemConstraints;
}

const NUMERIC = ["minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"] as const;
/** Every keyword a param may carry, in the order problems are reported. */
export const CONSTRAINT_KEYWORDS = [...NUMERIC, "enum", "pattern", "items"] as const;
export type ConstraintKeyword = (typeof CONSTRAINT_KEYWORDS)[number];

function valueConstraintsOf(raw: Record<string, unknown>): ValueConstraints {
  const out: Record<string, unknown> = {};
  for (const keyword of [...NUMERIC, "enum", "pattern"] as const) if (raw[keyword] !== undefined) out[keyword] = raw[keyword];
  return out as ValueConstraints;
}

/** The constraints of a param as the schema-checked YAML gives them, or undefined when it has none. */
export function constraintsOf(raw: Record<string, unknown>): ParamConstraints | undefined {
  const own = valueConstraintsOf(raw);
  const items = raw.items as Record<string, unknown> | undefined;
  const constraints: ParamConstraints = { ...own, ...(items ? { items: { ...valueConstraintsOf(items), type: items.type as ValueType } } : {}) };
  return Object.keys(constraints).length > 0 ? constraints : undefined;
}

/** Values as messages show them: JSON, cut short (a list given on the command line can be long). */
export function shown(value: unknown): string {
  const text = typeof value === "string" ? value : value === undefined ? "undefined" : stringifyExactJson(value, 0);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** Like `shown`, but a string in quotes: for values inside a message's sentence. */
export function shownJson(value: unknown): string {
  const text = value === undefined ? String(value) : stringifyExactJson(value, 0);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function isNumeric(type: WorkflowType): boolean {
  return type === "int" || type === "float";
}

/** A pattern as JSON Schema means it: unanchored, Unicode (ajv's `u` flag). */
function regex(pattern: string): RegExp | undefined {
  try {
    return new RegExp(pattern, "u");
  } catch {
    return undefined;
  }
}

/**
 * What is wrong with a declaration itself: a keyword that does not apply to the param's type, a
 * pattern that is not a regular expression, an empty range, an enum value of another type.
 * Returned as the keyword and a message, so the caller can point at that keyword's line.
 */
export function declarationProblems(type: WorkflowType, constraints: ValueConstraints & { items?: ItemConstraints }, what = "the param"): { keyword: ConstraintKeyword; message: string }[] {
  const problems: { keyword: ConstraintKeyword; message: string }[] = [];
  for (const keyword of NUMERIC) {
    if (constraints[keyword] !== undefined && !isNumeric(type)) problems.push({ keyword, message: `'${keyword}' applies to int and float values, and ${what} is ${type}` });
  }
  if (constraints.pattern !== undefined) {
    if (type !== "str") problems.push({ keyword: "pattern", message: `'pattern' applies to str values, and ${what} is ${type}` });
    else if (!regex(constraints.pattern)) problems.push({ keyword: "pattern", message: `'pattern' ${shownJson(constraints.pattern)} is not a regular expression` });
  }
  if (constraints.enum !== undefined) {
    if (!["str", "int", "float", "bool"].includes(type)) problems.push({ keyword: "enum", message: `'enum' applies to str, int, float and bool values, and ${what} is ${type}` });
    else {
      const wrong = constraints.enum.find((v) => !fits(literalType(v), type));
      if (wrong !== undefined) problems.push({ keyword: "enum", message: `'enum' value ${shownJson(wrong)} is ${a(literalType(wrong))}, not ${a(type)} like ${what}` });
    }
  }
  const low = constraints.minimum ?? constraints.exclusiveMinimum;
  const high = constraints.maximum ?? constraints.exclusiveMaximum;
  if (low !== undefined && high !== undefined && isNumeric(type)) {
    const empty = low > high || (low === high && (constraints.exclusiveMinimum !== undefined || constraints.exclusiveMaximum !== undefined));
    if (empty) problems.push({ keyword: constraints.maximum !== undefined ? "maximum" : "exclusiveMaximum", message: `no value is both ${describeRange(constraints).join(" and ")}` });
  }
  if (constraints.items !== undefined) {
    if (!isList(type)) problems.push({ keyword: "items", message: `'items' applies to list values, and ${what} is ${type}` });
    else {
      for (const inner of declarationProblems(constraints.items.type, { ...constraints.items, items: undefined }, "each item")) {
        problems.push({ keyword: "items", message: `items: ${inner.message}` });
      }
    }
  }
  return problems;
}

function describeRange(c: ValueConstraints): string[] {
  const parts: string[] = [];
  if (c.exclusiveMinimum !== undefined) parts.push(`greater than ${c.exclusiveMinimum}`);
  if (c.minimum !== undefined) parts.push(`at least ${c.minimum}`);
  if (c.exclusiveMaximum !== undefined) parts.push(`less than ${c.exclusiveMaximum}`);
  if (c.maximum !== undefined) parts.push(`at most ${c.maximum}`);
  return parts;
}

/**
 * The constraints in words, for renderings that cannot carry them (`greater than 0`, `a list of int
 * values at least 0`), leaving out the keywords in `omit` (the ones the engine carries).
 */
export function describeConstraints(c: ParamConstraints, omit: readonly ("enum" | "items")[] = []): string {
  const parts = describeRange(c);
  if (c.enum !== undefined && !omit.includes("enum")) parts.push(`one of ${c.enum.map(shownJson).join(", ")}`);
  if (c.pattern !== undefined) parts.push(`a text matching ${c.pattern}`);
  if (c.items !== undefined && !omit.includes("items")) {
    const inner = describeConstraints({ ...c.items, items: undefined });
    parts.push(`a list of ${c.items.type}${inner ? ` values ${inner}` : ""}`);
  }
  return parts.join(", ");
}

/** What is wrong with a value: what it is, and what to give instead. */
export interface ValueProblem {
  readonly keyword: ConstraintKeyword;
  readonly what: string;
  readonly fix: string;
}

function scalarProblem(value: unknown, c: ValueConstraints): ValueProblem | undefined {
  if (typeof value === "number") {
    if (c.exclusiveMinimum !== undefined && !(value > c.exclusiveMinimum)) return { keyword: "exclusiveMinimum", what: `is not greater than ${c.exclusiveMinimum}`, fix: `give a value greater than ${c.exclusiveMinimum}` };
    if (c.minimum !== undefined && !(value >= c.minimum)) return { keyword: "minimum", what: `is less than ${c.minimum}`, fix: `give a value of at least ${c.minimum}` };
    if (c.exclusiveMaximum !== undefined && !(value < c.exclusiveMaximum)) return { keyword: "exclusiveMaximum", what: `is not less than ${c.exclusiveMaximum}`, fix: `give a value less than ${c.exclusiveMaximum}` };
    if (c.maximum !== undefined && !(value <= c.maximum)) return { keyword: "maximum", what: `is more than ${c.maximum}`, fix: `give a value of at most ${c.maximum}` };
  }
  if (c.enum !== undefined && !c.enum.some((allowed) => allowed === value)) {
    const choices = c.enum.map(shownJson).join(", ");
    return { keyword: "enum", what: `is not one of ${choices}`, fix: `give one of ${choices}` };
  }
  if (c.pattern !== undefined && typeof value === "string" && !regex(c.pattern)?.test(value)) {
    return { keyword: "pattern", what: `does not match the param's pattern`, fix: `give a value that matches it` };
  }
  return undefined;
}

/**
 * The first constraint a value breaks, or undefined when it meets them all. The value's own type is
 * checked by the caller (`fits`); here a list's items are checked against `items.type`.
 */
export function valueProblem(value: unknown, constraints: ParamConstraints): ValueProblem | undefined {
  const own = scalarProblem(value, constraints);
  if (own) return own;
  const items = constraints.items;
  if (items === undefined || !Array.isArray(value)) return undefined;
  for (let i = 0; i < value.length; i++) {
    const item = value[i];
    const actual = literalType(item);
    if (!fits(actual, items.type) || item === null) {
      return { keyword: "items", what: `has item ${i} ${shownJson(item)}, which is ${item === null ? "null" : a(actual)}, not ${a(items.type)}`, fix: `give a list of ${items.type} values, e.g. [${[1, 3, 4, 5].map((n) => (items.type === "str" ? `"${n}"` : n)).join(", ")}]` };
    }
    const inner = scalarProblem(item, items);
    if (inner) return { keyword: "items", what: `has item ${i} ${shownJson(item)}, which ${inner.what}`, fix: `give items that are ${describeConstraints({ ...items, items: undefined })}` };
  }
  return undefined;
}

/** The keyword as it is declared, for messages: `exclusiveMinimum: 0`, `items: {type: int, minimum: 0}`. */
export function declared(keyword: ConstraintKeyword, constraints: ParamConstraints): string {
  if (keyword !== "items") return `${keyword}: ${JSON.stringify(constraints[keyword])}`;
  const items = constraints.items!;
  const keywords = [...NUMERIC, "enum", "pattern"] as const;
  const fields = [`type: ${items.type}`, ...keywords.filter((k) => items[k] !== undefined).map((k) => `${k}: ${JSON.stringify(items[k])}`)];
  return `items: {${fields.join(", ")}}`;
}

/** `an int`, `a str`: the type names of the messages, with their article. */
function a(type: string): string {
  return `${/^[aeiou]/.test(type) ? "an" : "a"} ${type}`;
}

/**
 * The message for a param value that breaks its declaration:
 * `param 'cell_size' = 0 is not greater than 0 (exclusiveMinimum: 0); give a value greater than 0`.
 */
export function valueProblemMessage(name: string, value: unknown, problem: ValueProblem, constraints: ParamConstraints): string {
  return `param '${name}' = ${shownJson(value)} ${problem.what} (${declared(problem.keyword, constraints)}); ${problem.fix}`;
}

/**
 * A param's description in a rendering, followed by what the engine cannot check of it:
 * `Raster cell size in metres. Must be greater than 0 (naaw validate and naaw run check this; Argo does not).`
 */
export function describedWithConstraints(description: string | undefined, unchecked: string, engine: string): string {
  const parts = description ? [/[.!?]$/.test(description) ? description : `${description}.`] : [];
  if (unchecked) parts.push(`Must be ${unchecked} (naaw validate and naaw run check this; ${engine} does not).`);
  return parts.join(" ");
}
