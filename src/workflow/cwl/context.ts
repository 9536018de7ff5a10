import { ParamDeclaration } from "../spec";
import { GraphStep, WorkflowGraph } from "../validate";
import { GroupPlan, ToolUse } from "./model";
import { CwlOptions } from "./options";

/**
 * What one CWL rendering learns as it goes, shared by its modules: the steps (steps.ts) record on
 * their tools and subworkflows which inputs and requirements those must declare, so tools and
 * subworkflows are made after the steps (document.ts).
 */
export class CwlContext {
  readonly problems: string[] = [];
  readonly params: Map<string, ParamDeclaration>;
  readonly steps: Map<string, GraphStep>;
  readonly tools = new Map<string, ToolUse>();
  readonly plans = new Map<string, GroupPlan>();
  /** `step.output` read by some step or foreach. */
  readonly read = new Set<string>();
  /** Params that are lists of files in CWL (a foreach iterates over them and feeds their items to str params). */
  readonly fileListParams = new Set<string>();
  mainStepExpressions = false;
  mainMultipleSources = false;
  /** Main-workflow steps that read a component's JSON list for a foreach to scatter over. */
  readonly jsonListSteps = new Map<string, object>();

  constructor(
    readonly graph: WorkflowGraph,
    readonly options: CwlOptions,
  ) {
    this.params = new Map(graph.params.map((p) => [p.name, p]));
    this.steps = new Map(graph.steps.map((s) => [s.id, s]));
  }

  /** A problem, once (the same message from several steps is one problem). */
  problem(message: string): void {
    if (!this.problems.includes(message)) this.problems.push(message);
  }

  /** Check: CWL puts a process's inputs, outputs and steps in one namespace. */
  checkIds(where: string, groups: readonly (readonly string[])[]): void {
    const seen = new Set<string>();
    for (const id of groups.flat()) {
      if (seen.has(id)) this.problem(`${where} would use the id '${id}' twice (CWL puts inputs, outputs and steps in one namespace); rename the param or the step`);
      seen.add(id);
    }
  }
}
