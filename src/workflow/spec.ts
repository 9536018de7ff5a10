import { ValueType } from "../notebook/pythonAnalysis";
import type { ParamConstraints } from "./paramConstraints";
import { Position } from "./yamlPositions";

export type { Position };

/** A value type in a workflow: a component's types, plus lists of them from fan-in. */
export type WorkflowType = ValueType | `list[${ValueType}]`;

/** A `${{ … }}` reference. */
export type Reference =
  | { readonly kind: "param"; readonly name: string }
  | { readonly kind: "step"; readonly step: string; readonly output: string }
  | { readonly kind: "item" };

/** What a `with:` entry binds: a literal, one reference, or a string with references inside. */
export type Binding =
  | { readonly kind: "literal"; readonly value: unknown; readonly at: Position }
  | { readonly kind: "reference"; readonly reference: Reference; readonly text: string; readonly at: Position }
  | { readonly kind: "template"; readonly parts: readonly (string | Reference)[]; readonly text: string; readonly at: Position }
  /** A `${{ … }}` that is not a reference: already reported, bound to nothing. */
  | { readonly kind: "invalid"; readonly text: string; readonly at: Position };

export interface ParamDeclaration {
  readonly name: string;
  readonly type: ValueType;
  readonly default?: unknown;
  readonly description?: string;
  /** `minimum`, `enum`, `pattern`, `items: {type: int}`, … as declared (JSON Schema's vocabulary). */
  readonly constraints?: ParamConstraints;
  /** Where the param's name is. */
  readonly at: Position;
  /** Where each of its fields' values is (`default`, `minimum`, `items`, …), for diagnostics on them. */
  readonly fieldsAt: ReadonlyMap<string, Position>;
}

export interface RetrySpec {
  readonly limit: number;
  /** First delay, doubling on each retry (Argo's backoff). */
  readonly backoff?: string;
}

export interface ResourcesSpec {
  readonly cpu?: string;
  readonly memory?: string;
}

export interface StepSpec {
  readonly kind: "step";
  readonly id: string;
  /** `<notebook>/<component>` or `builtin/<name>`. */
  readonly uses: string;
  readonly with: ReadonlyMap<string, Binding>;
  readonly retry?: RetrySpec;
  readonly resources?: ResourcesSpec;
  readonly at: Position;
  readonly usesAt: Position;
  /** Position of each `with:` key, for "unknown input" diagnostics. */
  readonly withKeysAt: ReadonlyMap<string, Position>;
}

export interface ForeachSpec {
  readonly kind: "foreach";
  readonly id: string;
  readonly foreach: Binding;
  readonly steps: readonly StepSpec[];
  readonly at: Position;
}

/** A workflow file as written, every element with its position. */
export interface WorkflowSpec {
  readonly file: string;
  readonly name: string;
  readonly description: string;
  readonly params: readonly ParamDeclaration[];
  readonly steps: readonly (StepSpec | ForeachSpec)[];
}
