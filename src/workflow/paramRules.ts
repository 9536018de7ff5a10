import { DiagnosticSink } from "../diagnostics";
import { BuiltinRule, BUILTIN_RULES } from "./builtins";
import { ParamDeclaration, Position } from "./spec";
import type { GraphStep } from "./validate";

/**
 * Where the run's param values come from: the workflow's defaults (`naaw validate`), or the values a
 * run resolved (`naaw run`), with the names given on the command line.
 */
export interface ParamValues {
  /** The value of a workflow param, or undefined when it is not known (no default). */
  value(name: string): unknown;
  /** Params given on the command line, with the flag that gave them (`--set`, `--out`): messages say so. */
  readonly fromCommandLine?: ReadonlyMap<string, string>;
}

interface Known {
  readonly value: unknown;
  readonly label: string;
  readonly at: Position;
}

/**
 * The values a built-in step's params have before the run, each with how to name it and where it
 * was written: a literal under `with:`, a workflow param (at its default, or its declaration when
 * set on the command line), or the built-in's own default. A value that another step produces is
 * not known yet and is left out.
 */
function knownValues(step: GraphStep, params: ReadonlyMap<string, ParamDeclaration>, values: ParamValues): Map<string, Known> {
  const known = new Map<string, Known>();
  for (const p of step.component.params) {
    if (p.default !== undefined) known.set(p.name, { value: p.default, label: `'${p.name}' of step '${step.id}' (its default)`, at: step.spec.at });
  }
  for (const [name, binding] of step.spec.with) {
    known.delete(name);
    if (binding.kind === "literal") known.set(name, { value: binding.value, label: `'${name}' of step '${step.id}'`, at: binding.at });
    if (binding.kind !== "reference" || binding.reference.kind !== "param") continue;
    const declaration = params.get(binding.reference.name);
    const value = values.value(binding.reference.name);
    if (!declaration || value === undefined || value === null) continue;
    const flag = values.fromCommandLine?.get(declaration.name);
    known.set(name, {
      value,
      label: `param '${declaration.name}'${flag ? ` (${flag})` : ""}`,
      at: flag ? declaration.at : (declaration.fieldsAt.get("default") ?? declaration.at),
    });
  }
  return known;
}

/**
 * Runs the built-ins' own checks (BUILTIN_RULES) on the values known before the run, reporting each
 * problem where the offending value was written. Several steps sharing a param (split's and
 * merge's `crs`) report one problem once.
 */
export function checkBuiltinRules(
  steps: readonly GraphStep[],
  params: readonly ParamDeclaration[],
  values: ParamValues,
  sink: DiagnosticSink,
  /** Further checks of a step (`naaw run` adds the local checks: an output directory it can write). */
  extra?: (step: GraphStep) => BuiltinRule | undefined,
): void {
  const declarations = new Map(params.map((p) => [p.name, p]));
  const reported = new Set<string>();
  for (const step of steps) {
    const rules = [BUILTIN_RULES[step.component.uses], extra?.(step)].filter((r): r is BuiltinRule => r !== undefined);
    if (rules.length === 0) continue;
    const known = knownValues(step, declarations, values);
    const plain = new Map([...known].map(([name, k]) => [name, k.value]));
    const label = (param: string): string => known.get(param)?.label ?? `'${param}' of step '${step.id}'`;
    for (const problem of rules.flatMap((rule) => rule(plain, label))) {
      const at = known.get(problem.param)?.at ?? step.spec.at;
      const key = `${at.line}:${at.column}:${problem.message}`;
      if (reported.has(key)) continue;
      reported.add(key);
      sink.error(problem.message, { line: at.line, column: at.column });
    }
  }
}
