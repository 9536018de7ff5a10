import { DiagnosticSink } from "../diagnostics";
import { ComponentInterface, WorkflowCatalog } from "./catalog";
import { declarationProblems, ParamConstraints, valueProblem, valueProblemMessage } from "./paramConstraints";
import { checkBuiltinRules } from "./paramRules";
import { formatReference } from "./references";
import { Binding, ForeachSpec, ParamDeclaration, Position, Reference, StepSpec, WorkflowSpec, WorkflowType } from "./spec";
import { elementOf, fits, isList, listOf, literalType } from "./types";
import { stringifyExactJson } from "../notebook/exactJson";

/** A `with:` entry checked against the component: what it binds and the type that arrives. */
export interface ResolvedBinding {
  readonly name: string;
  readonly slot: "input" | "param";
  readonly binding: Binding;
  readonly type: WorkflowType;
}

/** A step of the typed DAG. */
export interface GraphStep {
  readonly id: string;
  readonly spec: StepSpec;
  readonly component: ComponentInterface;
  /** The foreach group the step runs in, if any. */
  readonly foreach?: string;
  readonly bindings: readonly ResolvedBinding[];
  /** Ids of the steps (and foreach groups) whose results it needs, sorted. */
  readonly dependencies: readonly string[];
}

export interface GraphForeach {
  readonly id: string;
  readonly spec: ForeachSpec;
  readonly over: Reference;
  readonly itemType: WorkflowType;
  readonly steps: readonly string[];
  readonly dependencies: readonly string[];
}

/** The checked workflow that every renderer and the runner read. */
export interface WorkflowGraph {
  readonly spec: WorkflowSpec;
  readonly params: readonly ParamDeclaration[];
  /** Every step, in a dependency order (stable: file order where free). */
  readonly steps: readonly GraphStep[];
  readonly foreach: readonly GraphForeach[];
}

interface StepInfo {
  readonly spec: StepSpec;
  readonly foreach?: ForeachSpec;
  readonly component?: ComponentInterface;
}

function where(at: Position): { line: number; column: number } {
  return { line: at.line, column: at.column };
}

/**
 * Runs every named check on a parsed workflow and, when there is no error, returns the typed DAG.
 * All problems are reported, each at its line and column.
 */
export class WorkflowValidator {
  private readonly steps = new Map<string, StepInfo>();
  private readonly groups = new Map<string, ForeachSpec>();
  private readonly params: Map<string, ParamDeclaration>;
  private readonly usedOutputs = new Set<string>();
  private readonly usedParams = new Set<string>();

  constructor(
    private readonly spec: WorkflowSpec,
    private readonly catalog: WorkflowCatalog,
    private readonly sink: DiagnosticSink,
  ) {
    this.params = new Map(spec.params.map((p) => [p.name, p]));
  }

  private error(message: string, at: Position): void {
    this.sink.error(message, where(at));
  }

  validate(): WorkflowGraph | undefined {
    this.checkParams();
    this.collectSteps();
    const foreach: GraphForeach[] = [];
    const graphSteps: GraphStep[] = [];
    for (const item of this.spec.steps) {
      if (item.kind === "step") {
        const step = this.checkStep(item, undefined);
        if (step) graphSteps.push(step);
        continue;
      }
      const group = this.checkForeach(item);
      for (const inner of item.steps) {
        const step = this.checkStep(inner, item);
        if (step) graphSteps.push(step);
      }
      if (group) foreach.push({ ...group, steps: item.steps.map((s) => s.id) });
    }
    const ordered = this.checkCycles(graphSteps, foreach);
    this.warnUnused(graphSteps);
    // The built-ins' own rules on the defaults, once everything else holds (a value already
    // reported as out of range is not reported again as breaking a relation).
    if (ordered && !this.sink.diagnostics.some((d) => d.severity === "error")) {
      checkBuiltinRules(ordered, this.spec.params, { value: (name) => this.params.get(name)?.default }, this.sink);
    }
    if (this.sink.diagnostics.some((d) => d.severity === "error") || !ordered) return undefined;
    return { spec: this.spec, params: this.spec.params, steps: ordered, foreach };
  }

  /**
   * Checks: a param's constraints apply to its type; its default has its declared type and meets
   * its constraints.
   */
  private checkParams(): void {
    for (const p of this.spec.params) {
      const constraints = p.constraints;
      const declarationOk = constraints === undefined || this.checkConstraints(p, constraints);
      if (p.default === undefined || p.default === null) continue;
      const actual = literalType(p.default);
      if (!fits(actual, p.type)) {
        this.error(`param '${p.name}' is declared ${p.type} but its default is ${actual}`, p.at);
        continue;
      }
      const problem = declarationOk && constraints ? valueProblem(p.default, constraints) : undefined;
      if (problem && constraints) this.error(valueProblemMessage(p.name, p.default, problem, constraints), p.fieldsAt.get("default") ?? p.at);
    }
  }

  private checkConstraints(p: ParamDeclaration, constraints: ParamConstraints): boolean {
    const problems = declarationProblems(p.type, constraints);
    for (const problem of problems) this.error(`param '${p.name}': ${problem.message}`, p.fieldsAt.get(problem.keyword) ?? p.at);
    return problems.length === 0;
  }

  /** Check: step ids are unique across the workflow, foreach groups included. */
  private collectSteps(): void {
    const seen = new Map<string, Position>();
    const claim = (id: string, at: Position): boolean => {
      const first = seen.get(id);
      if (first) {
        this.error(`duplicate step id '${id}' (first used at line ${first.line}); step ids must be unique`, at);
        return false;
      }
      seen.set(id, at);
      return true;
    };
    for (const item of this.spec.steps) {
      if (item.kind === "foreach") {
        if (claim(item.id, item.at)) this.groups.set(item.id, item);
        for (const inner of item.steps) {
          if (claim(inner.id, inner.at)) this.steps.set(inner.id, { spec: inner, foreach: item, component: this.lookup(inner) });
        }
      } else if (claim(item.id, item.at)) {
        this.steps.set(item.id, { spec: item, component: this.lookup(item) });
      }
    }
  }

  /** Check: `uses:` names a component of the catalog or a built-in. */
  private lookup(step: StepSpec): ComponentInterface | undefined {
    const result = this.catalog.lookup(step.uses);
    if ("problem" in result) {
      this.error(`step '${step.id}': ${result.problem}`, step.usesAt);
      return undefined;
    }
    return result.found;
  }

  /**
   * The type a reference yields where it is used, or undefined after reporting why it is wrong.
   * Check: the referenced param, step and output exist; `item` is used inside a foreach only; an
   * inner step's output read from outside its foreach is the list over all items (fan-in).
   */
  private referenceType(reference: Reference, from: { foreach?: ForeachSpec; stepId: string }, at: Position): { type: WorkflowType; dependency?: string } | undefined {
    switch (reference.kind) {
      case "param": {
        const param = this.params.get(reference.name);
        if (!param) {
          const known = [...this.params.keys()].join(", ") || "none";
          this.error(`${formatReference(reference)}: the workflow has no param '${reference.name}' (params: ${known})`, at);
          return undefined;
        }
        this.usedParams.add(reference.name);
        return { type: param.type };
      }
      case "item": {
        if (!from.foreach) {
          this.error(`\${{ item }} is only defined inside a foreach step's steps`, at);
          return undefined;
        }
        return { type: this.itemTypeOf(from.foreach) ?? "any" };
      }
      case "step": {
        if (reference.step === from.stepId) {
          this.error(`step '${from.stepId}' reads its own output '${reference.output}'`, at);
          return undefined;
        }
        const target = this.steps.get(reference.step);
        if (!target) {
          const message = this.groups.has(reference.step)
            ? `'${reference.step}' is a foreach group, which has no outputs; read an output of one of its steps (${this.groups.get(reference.step)!.steps.map((s) => s.id).join(", ")})`
            : `no step '${reference.step}' in the workflow`;
          this.error(`${formatReference(reference)}: ${message}`, at);
          return undefined;
        }
        if (!target.component) return { type: "any", dependency: reference.step };
        const output = target.component.outputs.find((o) => o.name === reference.output);
        if (!output) {
          const known = target.component.outputs.map((o) => o.name).join(", ") || "none";
          this.error(`${formatReference(reference)}: '${target.component.uses}' has no output '${reference.output}' (outputs: ${known})`, at);
          return undefined;
        }
        this.usedOutputs.add(`${reference.step}.${reference.output}`);
        if (target.foreach && target.foreach !== from.foreach) {
          if (from.foreach) {
            this.error(`${formatReference(reference)}: step '${reference.step}' runs in foreach '${target.foreach.id}'; steps of another foreach cannot read it item by item`, at);
            return undefined;
          }
          return { type: listOf(output.type), dependency: target.foreach.id };
        }
        return { type: output.type, dependency: reference.step };
      }
    }
  }

  private itemTypes = new Map<string, WorkflowType>();

  private itemTypeOf(group: ForeachSpec): WorkflowType | undefined {
    return this.itemTypes.get(group.id);
  }

  /** Check: a foreach iterates over a reference to a list. */
  private checkForeach(group: ForeachSpec): Omit<GraphForeach, "steps"> | undefined {
    if (group.foreach.kind === "invalid") return undefined;
    if (group.foreach.kind !== "reference") {
      this.error(`foreach '${group.id}' must be a single reference to a list, like \${{ steps.split.outputs.tiles }}`, group.foreach.at);
      return undefined;
    }
    const resolved = this.referenceType(group.foreach.reference, { stepId: group.id }, group.foreach.at);
    if (!resolved) return undefined;
    const element = elementOf(resolved.type);
    if (element === undefined) {
      this.error(`foreach '${group.id}' iterates over ${group.foreach.text}, which is ${resolved.type}, not a list`, group.foreach.at);
      return undefined;
    }
    this.itemTypes.set(group.id, element);
    return {
      id: group.id,
      spec: group,
      over: group.foreach.reference,
      itemType: element,
      dependencies: resolved.dependency ? [resolved.dependency] : [],
    };
  }

  private bindingType(binding: Binding, from: { foreach?: ForeachSpec; stepId: string }, dependencies: Set<string>): WorkflowType | undefined {
    switch (binding.kind) {
      case "literal":
        return literalType(binding.value);
      case "invalid":
        return undefined;
      case "reference": {
        const resolved = this.referenceType(binding.reference, from, binding.at);
        if (resolved?.dependency) dependencies.add(resolved.dependency);
        return resolved?.type;
      }
      case "template": {
        let ok = true;
        for (const part of binding.parts) {
          if (typeof part === "string") continue;
          const resolved = this.referenceType(part, from, binding.at);
          if (!resolved) {
            ok = false;
            continue;
          }
          if (resolved.dependency) dependencies.add(resolved.dependency);
          if (!["str", "int", "float", "bool", "any"].includes(resolved.type)) {
            this.error(`${formatReference(part)} is ${resolved.type}; only str, int, float and bool can be spliced into the text '${binding.text}'`, binding.at);
            ok = false;
          }
        }
        return ok ? "str" : undefined;
      }
    }
  }

  /** Checks: every `with:` key is an input or param; every input and required param is bound; types fit. */
  private checkStep(step: StepSpec, group: ForeachSpec | undefined): GraphStep | undefined {
    const info = this.steps.get(step.id);
    if (!info || info.spec !== step) return undefined;
    const component = info.component;
    const dependencies = new Set<string>();
    const bindings: ResolvedBinding[] = [];
    for (const [name, binding] of step.with) {
      const type = this.bindingType(binding, { foreach: group, stepId: step.id }, dependencies);
      if (!component) continue;
      const input = component.inputs.find((i) => i.name === name);
      const param = component.params.find((p) => p.name === name);
      const slot = input ?? param;
      if (!slot) {
        const known = [...component.inputs.map((i) => i.name), ...component.params.map((p) => p.name)].join(", ") || "none";
        this.error(`step '${step.id}': '${component.uses}' has no input or param '${name}' (it takes: ${known})`, step.withKeysAt.get(name) ?? binding.at);
        continue;
      }
      if (type === undefined) continue;
      if (!fits(type, slot.type)) {
        const what = input ? "input" : "param";
        const hint = isList(type) && !isList(slot.type) ? "; a list arrives here: put the step inside the foreach, or read one element" : "";
        this.error(`step '${step.id}': ${what} '${name}' is ${slot.type}, but ${describe(binding)} is ${type}${hint}`, binding.at);
        continue;
      }
      if (!component.builtin && type === "list[ndarray]") {
        // A component input is one file; a list of arrays is many. Only a built-in (merge) takes it.
        this.error(`step '${step.id}': ${describe(binding)} is a list of arrays (one per item), which a notebook component cannot take as one input; mosaic it with builtin/merge, or read it inside the foreach`, binding.at);
        continue;
      }
      bindings.push({ name, slot: input ? "input" : "param", binding, type });
    }
    if (component) {
      for (const input of component.inputs) {
        if (!step.with.has(input.name)) this.error(`step '${step.id}': input '${input.name}' (${input.type}) of '${component.uses}' is not bound; add it under with:`, step.at);
      }
      for (const param of component.params) {
        if (param.required && !step.with.has(param.name)) this.error(`step '${step.id}': param '${param.name}' (${param.type}) of '${component.uses}' has no default; set it under with:`, step.at);
      }
    }
    if (group) dependencies.add(group.id);
    if (!component) return undefined;
    return { id: step.id, spec: step, component, ...(group ? { foreach: group.id } : {}), bindings, dependencies: [...dependencies].sort() };
  }

  /** Check: no cycle; returns the steps in a dependency order (file order where free). */
  private checkCycles(steps: readonly GraphStep[], groups: readonly Omit<GraphForeach, "steps">[]): GraphStep[] | undefined {
    // Nodes: steps, groups (`g`: its list is known, items can start) and `g#done` (every item done).
    // An inner step waits for `g`; a reader of an inner step's output from outside waits for `g#done`.
    const node = (foreach: string | undefined, dependency: string): string =>
      this.groups.has(dependency) && foreach !== dependency ? `${dependency}#done` : dependency;
    const edges = new Map<string, readonly string[]>();
    for (const s of steps) edges.set(s.id, s.dependencies.map((d) => node(s.foreach, d)));
    for (const g of groups) edges.set(g.id, g.dependencies.map((d) => node(undefined, d)));
    for (const id of this.groups.keys()) edges.set(`${id}#done`, steps.filter((s) => s.foreach === id).map((s) => s.id));
    const state = new Map<string, "visiting" | "done">();
    const order: string[] = [];
    let cyclic = false;
    const visit = (id: string, trail: readonly string[]): void => {
      if (cyclic || state.get(id) === "done") return;
      if (state.get(id) === "visiting") {
        const cycle = [...trail.slice(trail.indexOf(id)), id].map((n) => n.replace(/#done$/, ""));
        const named = cycle.filter((n, i) => i === 0 || n !== cycle[i - 1]);
        const at = this.steps.get(named[0])?.spec.at ?? this.groups.get(named[0])?.at ?? { line: 1, column: 1 };
        this.error(`the steps form a cycle: ${named.join(" → ")}; a step cannot depend on its own results`, at);
        cyclic = true;
        return;
      }
      state.set(id, "visiting");
      for (const dependency of edges.get(id) ?? []) visit(dependency, [...trail, id]);
      state.set(id, "done");
      order.push(id);
    };
    for (const s of steps) visit(s.id, []);
    if (cyclic) return undefined;
    const position = new Map(order.map((id, i) => [id, i]));
    return [...steps].sort((a, b) => position.get(a.id)! - position.get(b.id)!);
  }

  /** Warning: an output no step reads, on a step that other steps do read (its results are not final). */
  private warnUnused(steps: readonly GraphStep[]): void {
    const read = new Set(steps.flatMap((s) => s.dependencies));
    for (const s of steps) {
      const consumed = read.has(s.id) || (s.foreach !== undefined && read.has(s.foreach) && steps.some((o) => o.foreach === undefined && o.dependencies.includes(s.foreach!)));
      if (!consumed) continue;
      for (const output of s.component.outputs) {
        if (!this.usedOutputs.has(`${s.id}.${output.name}`)) {
          this.sink.warning(`step '${s.id}': output '${output.name}' of '${s.component.uses}' is not used by any step`, where(s.spec.at));
        }
      }
    }
    for (const p of this.spec.params) {
      if (!this.usedParams.has(p.name)) this.sink.warning(`param '${p.name}' is not used by any step`, where(p.at));
    }
  }
}

function describe(binding: Binding): string {
  switch (binding.kind) {
    case "literal":
      return `the value ${stringifyExactJson(binding.value, 0)}`;
    default:
      return binding.text;
  }
}
