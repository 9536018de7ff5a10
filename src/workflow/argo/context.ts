import { ComponentInterface } from "../catalog";
import { Position } from "../spec";
import { GraphForeach, GraphStep, WorkflowGraph } from "../validate";
import { ArgoTask } from "./model";

/** A variant of a component's container template: the steps that share it. */
export interface TemplatePlan {
  readonly name: string;
  readonly component: ComponentInterface;
  readonly steps: GraphStep[];
}

/**
 * What one rendering learns as it goes, shared by its modules. The tasks are made first (dag.ts):
 * resolving their bindings records here what the templates must then declare (output parameters,
 * a group's inputs and outputs, a step's file items), so templates are made after tasks.
 */
export class ArgoContext {
  readonly problems: string[] = [];
  readonly steps: ReadonlyMap<string, GraphStep>;
  readonly groups: ReadonlyMap<string, GraphForeach>;
  /** `step.output` pairs that some step reads as a param or iterates over: they need output parameters. */
  readonly parameterOutputs = new Set<string>();
  /** Per group: what its task must pass in from the main DAG (outer values read inside the group). */
  readonly groupParams = new Map<string, Map<string, string>>();
  readonly groupArtifacts = new Map<string, Map<string, string>>();
  /** Per group: inner output parameters it exposes to the main DAG (aggregated over the items). */
  readonly groupOutputs = new Map<string, Map<string, string>>();
  /** Per step: params bound to an item of a file list, with the extensions of the item's files. */
  readonly fileParams = new Map<string, Map<string, readonly string[]>>();
  /** Per group: the tasks of its DAG, made while its task in the main DAG is made. */
  readonly innerTasks = new Map<string, ArgoTask[]>();
  /** The container templates to emit, in the order their first step appears. */
  readonly plans: TemplatePlan[] = [];
  readonly planOf = new Map<string, TemplatePlan>();

  constructor(
    readonly graph: WorkflowGraph,
    readonly registry: string,
    readonly builtinsImage: string,
    readonly images: Readonly<Record<string, string>> = {},
  ) {
    this.steps = new Map(graph.steps.map((s) => [s.id, s]));
    this.groups = new Map(graph.foreach.map((g) => [g.id, g]));
  }

  /** A problem at a position of the workflow file, as `file:line:column: message`. */
  problem(at: Position, message: string): void {
    this.problems.push(`${this.graph.spec.file}:${at.line}:${at.column}: ${message}`);
  }

  /** Records `name → value` for a group in one of the per-group maps. */
  record(map: Map<string, Map<string, string>>, group: string, name: string, value: string): void {
    const entries = map.get(group) ?? new Map<string, string>();
    entries.set(name, value);
    map.set(group, entries);
  }
}
