import { GraphForeach, GraphStep, WorkflowGraph } from "../workflow/validate";

/** One step to run: a top-level step, or a step of a foreach group for one item. */
export interface Task {
  readonly step: GraphStep;
  /** The item's index for a step inside a foreach group. */
  readonly item?: number;
  /** The step's position in the workflow: ties between tasks of one item go in file order. */
  readonly order: number;
}

interface Node {
  readonly task?: Task;
  readonly group?: GraphForeach;
  waiting: number;
  readonly dependents: Node[];
  /** A group node: its item nodes still to finish. */
  remaining?: number;
}

/**
 * The run's DAG, expanded as it goes: a foreach group becomes one task per step and item once the
 * steps it depends on have finished and its items are known. Ready tasks are handed out lowest item
 * first, so a few tiles are finished at a time rather than every tile started at once.
 */
export class TaskGraph {
  private readonly nodes = new Map<string, Node>();
  private readonly ready: Task[] = [];
  private readonly order = new Map<string, number>();
  private readonly stepsById = new Map<string, GraphStep>();
  private readonly groups = new Map<string, GraphForeach>();
  private readonly pendingGroups: GraphForeach[] = [];
  /** Items (`group#item`) whose tasks one caller runs together (`claimItem`): never handed out by `next`. */
  private readonly claimed = new Set<string>();
  private unfinished = 0;
  /**
   * Unfinished tasks of notebook components (which run in the component services), plus one for each
   * group not yet expanded that has such steps: once none is left, the services can stop.
   */
  private unfinishedNotebook = 0;

  constructor(graph: WorkflowGraph) {
    graph.steps.forEach((step, i) => {
      this.order.set(step.id, i);
      this.stepsById.set(step.id, step);
    });
    for (const group of graph.foreach) this.groups.set(group.id, group);
    const topLevel = graph.steps.filter((s) => !s.foreach);
    for (const step of topLevel) this.nodes.set(step.id, { task: { step, order: this.order.get(step.id)! }, waiting: 0, dependents: [] });
    for (const group of graph.foreach) this.nodes.set(group.id, { group, waiting: 0, dependents: [] });
    this.unfinished = this.nodes.size;
    this.unfinishedNotebook = topLevel.filter(isNotebookStep).length + graph.foreach.filter((g) => g.steps.some((id) => isNotebookStep(this.stepsById.get(id)!))).length;
    for (const [id, node] of this.nodes) {
      const dependencies = node.task ? node.task.step.dependencies : this.groupDependencies(this.groups.get(id)!);
      for (const dependency of dependencies) this.link(this.nodes.get(this.topLevelId(dependency))!, node);
    }
    for (const node of this.nodes.values()) if (node.waiting === 0) this.release(node);
  }

  /** A group waits for its own dependencies and for every outer step its inner steps read. */
  private groupDependencies(group: GraphForeach): string[] {
    const inner = new Set(group.steps);
    const outer = new Set(group.dependencies.filter((d) => d !== group.id));
    for (const id of group.steps) {
      for (const d of this.stepsById.get(id)!.dependencies) if (!inner.has(d) && d !== group.id) outer.add(this.topLevelId(d));
    }
    return [...outer];
  }

  /** The top-level node a step belongs to: itself, or its foreach group. */
  private topLevelId(id: string): string {
    return this.stepsById.get(id)?.foreach ?? id;
  }

  private link(from: Node, to: Node): void {
    from.dependents.push(to);
    to.waiting += 1;
  }

  private release(node: Node): void {
    if (node.task) this.push(node.task);
    else this.pendingGroups.push(node.group!);
  }

  private push(task: Task): void {
    if (task.item !== undefined && this.claimed.has(`${task.step.foreach}#${task.item}`)) return;
    // Sorted insert (binary search): lowest item first, then workflow order.
    const rank = (t: Task): [number, number] => [t.item ?? -1, t.order];
    const [item, order] = rank(task);
    let lo = 0;
    let hi = this.ready.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const [i, o] = rank(this.ready[mid]!);
      if (i < item || (i === item && o <= order)) lo = mid + 1;
      else hi = mid;
    }
    this.ready.splice(lo, 0, task);
  }

  /** Foreach groups whose dependencies are done: the caller evaluates their items and calls `expand`. */
  takeGroupsToExpand(): GraphForeach[] {
    return this.pendingGroups.splice(0);
  }

  /** Create the tasks of a group for `items` items. */
  expand(group: GraphForeach, items: number): void {
    const groupNode = this.nodes.get(group.id)!;
    const steps = group.steps.map((id) => this.stepsById.get(id)!).sort((a, b) => this.order.get(a.id)! - this.order.get(b.id)!);
    groupNode.remaining = items * steps.length;
    this.unfinished += groupNode.remaining;
    // The group's placeholder gives way to its notebook tasks, if it has any.
    if (steps.some(isNotebookStep)) this.unfinishedNotebook += items * steps.filter(isNotebookStep).length - 1;
    for (let item = 0; item < items; item++) {
      const byId = new Map<string, Node>();
      for (const step of steps) byId.set(step.id, { task: { step, item, order: this.order.get(step.id)! }, waiting: 0, dependents: [groupNode] });
      for (const step of steps) {
        for (const dependency of step.dependencies) {
          const sibling = byId.get(dependency);
          if (sibling) this.link(sibling, byId.get(step.id)!);
        }
      }
      for (const step of steps) {
        const node = byId.get(step.id)!;
        this.nodes.set(taskKey(node.task!), node);
        if (node.waiting === 0) this.release(node);
      }
    }
    if (groupNode.remaining === 0) this.finishNode(groupNode);
  }

  /** The next task to run, if any is ready. */
  next(): Task | undefined {
    return this.ready.shift();
  }

  /**
   * Every task of one item of a foreach group, for a caller that runs them together (one request per
   * tile): `next` hands out none of them from now on, and the caller `finish`es each, producers first.
   */
  claimItem(group: string, item: number): void {
    this.claimed.add(`${group}#${item}`);
    for (let i = this.ready.length - 1; i >= 0; i--) {
      const task = this.ready[i]!;
      if (task.item === item && task.step.foreach === group) this.ready.splice(i, 1);
    }
  }

  /** Record a task as done; releases what waited for it. */
  finish(task: Task): void {
    this.finishNode(this.nodes.get(taskKey(task))!);
  }

  private finishNode(node: Node): void {
    this.unfinished -= 1;
    if (node.task && isNotebookStep(node.task.step)) this.unfinishedNotebook -= 1;
    for (const dependent of node.dependents) {
      if (dependent.group && dependent.remaining !== undefined && node.task?.item !== undefined) {
        dependent.remaining -= 1;
        if (dependent.remaining === 0) this.finishNode(dependent);
        continue;
      }
      dependent.waiting -= 1;
      if (dependent.waiting === 0) this.release(dependent);
    }
  }

  /** Whether a notebook component's task is still to finish (or to be created, in a group not yet expanded). */
  get notebookStepsLeft(): boolean {
    return this.unfinishedNotebook > 0;
  }

  /** Whether every task, including those of groups not yet expanded, has finished. */
  get done(): boolean {
    return this.unfinished === 0;
  }
}

/** A step that runs in a component service: any but a built-in. */
function isNotebookStep(step: GraphStep): boolean {
  return !step.component.builtin;
}

/** A task's unique name: the step id, and the item index inside a foreach. */
export function taskKey(task: Pick<Task, "item"> & { readonly step: Pick<GraphStep, "id"> }): string {
  return task.item === undefined ? task.step.id : `${task.step.id}#${task.item}`;
}
