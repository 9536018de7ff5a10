import * as path from "path";
import { DiagnosticSink, formatDiagnostic } from "../diagnostics";
import { checkBuiltinRules } from "../workflow/paramRules";
import { WorkflowGraph } from "../workflow/validate";
import { BUILTIN_STEPS, unwritableDirectory } from "./builtinSteps";
import { ParamConstraints, shown, valueProblem, valueProblemMessage } from "../workflow/paramConstraints";
import { Position, WorkflowType } from "../workflow/spec";
import { fits, literalType } from "../workflow/types";
import { loadYaml, YamlSyntaxError } from "../workflow/yamlPositions";

/** What a param value is checked against: a workflow's declaration or a built-in's param. */
export interface ParamSlot {
  readonly name: string;
  readonly type: WorkflowType;
  readonly default?: unknown;
  /** What values must be (a workflow param's `minimum`, `enum`, `items`, …). */
  readonly constraints?: ParamConstraints;
  /** Where the param is declared, for messages about its value. */
  readonly at?: Position;
}

/**
 * A `--set` that names no param, has no `=`, or gives a value of the wrong type or outside the
 * param's constraints (then `at` is where the param is declared).
 */
export class ParamValueError extends Error {
  constructor(
    message: string,
    readonly at?: Position,
  ) {
    super(message);
  }
}

/**
 * A `--set NAME=VALUE` value as the param's type wants it: a `str` takes the text as it is; every
 * other type reads the text as YAML (so `10`, `2.5`, `true`, `[1, 3]` and `{a: 1}` mean what they say).
 */
function parseValue(declaration: ParamSlot, text: string, shownSetting: string): unknown {
  if (declaration.type === "str" || declaration.type === "any") return text;
  let value: unknown;
  try {
    value = loadYaml(text, "--set");
  } catch (error) {
    if (!(error instanceof YamlSyntaxError)) throw error;
    // An alias bomb is refused as in a workflow file; other YAML errors just mean a value of another kind.
    const why = error.message.startsWith("invalid YAML") ? "" : `: ${error.message}`;
    throw new ParamValueError(`--set ${shownSetting}: '${shown(text)}' is not a ${declaration.type} value${why}`);
  }
  if (!fits(literalType(value), declaration.type)) {
    const examples: Record<string, string> = { int: "10", float: "2.5", bool: "true", list: "[1, 3, 4]", dict: "{a: 1}", ndarray: "(an array file)" };
    const example = examples[declaration.type.startsWith("list") ? "list" : declaration.type] ?? "";
    throw new ParamValueError(`--set ${shownSetting}: param '${declaration.name}' is a ${declaration.type}, but '${shown(text)}' is a ${literalType(value)}; give e.g. ${declaration.name}=${example}`);
  }
  return value;
}

function checkConstraints(declaration: ParamSlot, value: unknown, shownSetting: string): void {
  const problem = declaration.constraints && value !== null ? valueProblem(value, declaration.constraints) : undefined;
  if (problem && declaration.constraints) {
    throw new ParamValueError(`--set ${shownSetting}: ${valueProblemMessage(declaration.name, value, problem, declaration.constraints)}`, declaration.at);
  }
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
    if (equals <= 0) throw new ParamValueError(`--set ${shown(setting)}: expected NAME=VALUE`);
    const name = setting.slice(0, equals);
    const declaration = byName.get(name);
    if (!declaration) {
      const known = declarations.map((d) => d.name).join(", ") || "none";
      throw new ParamValueError(`--set ${shown(setting)}: ${workflow} has no param '${name}' (its params: ${known})`);
    }
    const text = setting.slice(equals + 1);
    const value = parseValue(declaration, text, shown(setting));
    checkConstraints(declaration, value, shown(setting));
    values[name] = value;
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

/** Why a run cannot start with these params: one line each, ready to print (exit code 2). */
export class RunParamsError extends Error {
  constructor(readonly lines: readonly string[]) {
    super(lines.join("\n"));
  }
}

export interface RunParams {
  readonly params: Record<string, unknown>;
  /** Where the run's report (and, for a workflow with an `out` param, its results) goes. */
  readonly outDir: string;
}

/** The params the command line gives, with the flag that gave each. */
function commandLineParams(settings: readonly string[], outFromFlag: boolean): Map<string, string> {
  const names = new Map(settings.filter((s) => s.indexOf("=") > 0).map((s) => [s.slice(0, s.indexOf("=")), "--set"]));
  if (outFromFlag) names.set("out", "--out");
  return names;
}

/**
 * Everything `naaw run` checks of its params before anything runs or is written: `--out` and
 * `--set out=` agree; each `--set` value has its param's type and meets its declaration; the
 * built-ins' own rules hold for the run's values (a tile edge that is a multiple of the cell size);
 * the output directories can be written. Throws RunParamsError with every line to print.
 */
export function resolveRunParams(graph: WorkflowGraph, settings: readonly string[], out: string | undefined, workflow: string): RunParams {
  const declaresOut = graph.params.some((p) => p.name === "out");
  const setOut = settings.filter((s) => s.startsWith("out=")).map((s) => s.slice(4));
  if (out !== undefined && declaresOut && setOut.some((dir) => path.resolve(dir) !== path.resolve(out))) {
    const other = setOut.find((dir) => path.resolve(dir) !== path.resolve(out));
    throw new RunParamsError([`naaw: --out ${out} and --set out=${other} name two output directories for one run; give one of them`]);
  }
  const outFromFlag = out !== undefined && declaresOut && setOut.length === 0;
  const all = outFromFlag ? [...settings, `out=${out}`] : [...settings];
  let params: Record<string, unknown>;
  try {
    params = resolveParams(graph.params, all, workflow);
  } catch (error) {
    if (!(error instanceof ParamValueError)) throw error;
    throw new RunParamsError([error.at ? formatDiagnostic({ severity: "error", file: workflow, line: error.at.line, column: error.at.column, message: error.message }) : `naaw: ${error.message}`]);
  }
  const outDir = path.resolve(out ?? (typeof params.out === "string" ? params.out : "out"));
  const sink = new DiagnosticSink(workflow);
  checkBuiltinRules(graph.steps, graph.params, { value: (name) => params[name], fromCommandLine: commandLineParams(settings, outFromFlag) }, sink, (step) =>
    step.component.builtin ? BUILTIN_STEPS[step.component.name]?.preflight : undefined,
  );
  // In file order, as `naaw validate` prints its diagnostics.
  const lines = [...sink.diagnostics].sort((x, y) => (x.line ?? 0) - (y.line ?? 0) || (x.column ?? 0) - (y.column ?? 0)).map(formatDiagnostic);
  // The report goes to outDir even when no step writes there (a workflow without an `out` param).
  const reportProblem = lines.length === 0 ? unwritableDirectory(outDir) : undefined;
  if (reportProblem) lines.push(`naaw: ${out !== undefined ? `--out ${out}` : outDir}: the run's report cannot be written there: ${reportProblem}; give a directory that can be written with --out`);
  if (lines.length > 0) throw new RunParamsError(lines);
  return { params, outDir };
}
