import { ArgoDocument, ArgoTask, ArgoTemplate } from "./model";
import { groupDigits } from "../../digitGroups";

/*
 * How big a run of a manifest makes its Workflow object. Argo keeps every node of a run in the
 * Workflow's status (one etcd object of at most ~1.5 MB, compressed only when it is over; issues
 * argoproj/argo-workflows#3738, #7121, #13783), and nodes are never pruned while the run lives.
 * The controller makes (workflow/controller/dag.go, operator.go, container_set_template.go):
 *   - a DAG node for every run of a DAG template (the workflow's own root node is the entrypoint's);
 *   - a TaskGroup node for a task with withParam, and under it one child run per item;
 *   - a Pod node for every run of a container, script, data or resource template;
 *   - for a template with a retryStrategy, a Retry node with one Pod node per attempt under it;
 *   - for a containerSet, its Pod node plus one Container node per container.
 * A withParam list and every output parameter are stored in the status as text too, so the
 * largest parameter is counted as well.
 */

/** What a Workflow object should hold at most: a few thousand nodes, parameters of a few hundred KB. */
export const ARGO_OBJECT_LIMITS = {
  /**
   * A node's status entry is roughly 0.7–1 KB (name, ids, phase, times, template, inputs, output
   * artifact keys, children): in argoproj/argo-workflows#1186 ~2,000 nodes were 1.3 MB of YAML and
   * 108 KB gzipped. Argo gzips the node map once the object is over ~1 MB, so 3,000 nodes (2–3 MB,
   * ~0.3 MB compressed) fit with room for the spec; 80,000 (5–8 MB even compressed) do not.
   */
  nodes: 3_000,
  /** One parameter may take at most a sixth of the object (it is stored on its node, and again where it is read). */
  parameterBytes: 256 * 1024,
} as const;

/** The node types the Argo controller creates for the templates naaw renders. */
export type ArgoNodeType = "DAG" | "TaskGroup" | "Pod" | "Retry" | "Container";

/** How large a run is: inputs and tiles, and how a tile key is spelled. */
export interface ScaleInput {
  /** Input files (LAS/LAZ sheets). @example 1400 */
  readonly inputs: number;
  /** Tiles that hold data (what split's `tiles` list holds). @example 10000 */
  readonly tiles: number;
  /** The longest tile key split writes (`tile_<ix>_<iy>`). @example "tile_139_310" */
  readonly tileKey: string;
  /** The longest key of an input file, for a list over inputs. @example "ahn3/C_25GN1.LAZ" */
  readonly inputKey?: string;
  /**
   * Pods of a retried template: `first` counts one attempt each (nothing fails), `all` counts
   * `limit + 1` (every attempt fails but the last): the range a run lies in.
   * @default "first"
   */
  readonly attempts?: "first" | "all";
  /**
   * Lists a withParam iterates over that are neither tiles nor inputs, by `<task>.<output>` (an
   * output parameter) or `params.<name>` (a workflow parameter): their length and longest item.
   */
  readonly lists?: Readonly<Record<string, { readonly length: number; readonly item: string }>>;
}

/** A parameter whose size depends on the run, or the largest fixed one. */
export interface ParameterSize {
  /** Where it is: `main/split → tiles` (the template/task and the parameter). */
  readonly where: string;
  /** Its text in bytes (UTF-8), as the status stores it. */
  readonly bytes: number;
}

export interface ScaleReport {
  /** Every node the Workflow's status holds once the run has finished. */
  readonly nodes: number;
  readonly nodesByType: Readonly<Record<ArgoNodeType, number>>;
  /** Pods the run creates (Pod nodes). */
  readonly pods: number;
  /** The lists withParam iterates over, and every other parameter whose size the run sets. */
  readonly parameters: readonly ParameterSize[];
  readonly largestParameter: ParameterSize;
}

/** An error in the manifest or the input that makes the count impossible, naming the template and task. */
export class ScaleError extends Error {}

/** The bytes of a JSON list of `length` strings each as long as `item`: `["a","b"]`. */
export function jsonListBytes(length: number, item: string): number {
  if (length === 0) return 2;
  const itemBytes = Buffer.byteLength(JSON.stringify(item), "utf8");
  return 2 + length * itemBytes + (length - 1);
}

interface ListSize {
  readonly length: number;
  readonly item: string;
}

const OUTPUT_PARAMETER = /^\{\{tasks\.([-\w]+)\.outputs\.parameters\.([-\w]+)\}\}$/;
const WORKFLOW_PARAMETER = /^\{\{workflow\.parameters\.([-\w]+)\}\}$/;

class Counter {
  readonly nodesByType: Record<ArgoNodeType, number> = { DAG: 0, TaskGroup: 0, Pod: 0, Retry: 0, Container: 0 };
  readonly lists = new Map<string, ParameterSize>();
  private readonly templates: ReadonlyMap<string, ArgoTemplate>;

  constructor(
    document: ArgoDocument,
    private readonly input: ScaleInput,
  ) {
    this.templates = new Map(document.spec.templates.map((t) => [t.name, t]));
  }

  /** Counts `runs` runs of a template (a DAG's tasks recursively); `stack` guards against recursion. */
  visit(name: string, runs: number, stack: readonly string[]): void {
    const template = this.templates.get(name);
    if (!template) throw new ScaleError(`template '${stack[stack.length - 1] ?? "spec"}' runs template '${name}', which the manifest does not have`);
    if (stack.includes(name)) throw new ScaleError(`template '${name}' runs itself (${[...stack, name].join(" → ")}): its size has no bound`);
    if (template.dag) {
      this.add("DAG", runs);
      for (const task of template.dag.tasks) {
        if (task.withParam === undefined) {
          this.visit(task.template, runs, [...stack, name]);
          continue;
        }
        const list = this.listOf(template, task);
        this.add("TaskGroup", runs);
        this.visit(task.template, runs * list.length, [...stack, name]);
      }
      return;
    }
    const attempts = template.retryStrategy ? this.attemptsOf(template) : 1;
    if (template.retryStrategy) this.add("Retry", runs);
    this.add("Pod", runs * attempts);
    if (template.containerSet) this.add("Container", runs * attempts * template.containerSet.containers.length);
    else if (!template.container && !template.resource && !template.data) {
      throw new ScaleError(`template '${name}' is neither a DAG, a container, a containerSet, a data nor a resource template; its nodes cannot be counted`);
    }
  }

  private add(type: ArgoNodeType, count: number): void {
    this.nodesByType[type] += count;
  }

  private attemptsOf(template: ArgoTemplate): number {
    if ((this.input.attempts ?? "first") === "first") return 1;
    const limit = Number(template.retryStrategy!.limit);
    if (!Number.isInteger(limit) || limit < 0) throw new ScaleError(`template '${template.name}': retryStrategy.limit '${template.retryStrategy!.limit}' is not a count`);
    return limit + 1;
  }

  /** The list a withParam task iterates over, recorded as a parameter of the run. */
  private listOf(dag: ArgoTemplate, task: ArgoTask): ListSize {
    const expression = task.withParam!;
    const where = `${dag.name}/${task.name}`;
    const output = OUTPUT_PARAMETER.exec(expression);
    const param = WORKFLOW_PARAMETER.exec(expression);
    const key = output ? `${output[1]}.${output[2]}` : param ? `params.${param[1]}` : undefined;
    const named = key ? this.input.lists?.[key] : undefined;
    let list: ListSize | undefined = named;
    if (!list && output && output[2] === "tiles") list = { length: this.input.tiles, item: this.input.tileKey };
    if (!list && output && output[2] === "inputs") {
      if (this.input.inputKey === undefined) throw new ScaleError(`${where} iterates over ${expression}, a list of inputs: give inputKey, the longest input key`);
      list = { length: this.input.inputs, item: this.input.inputKey };
    }
    if (!list) {
      throw new ScaleError(`${where} iterates over ${expression}, whose length the input does not give: add it to lists as '${key ?? expression}'`);
    }
    const size = { where: `${where} ← ${key ?? expression}`, bytes: jsonListBytes(list.length, list.item) };
    const previous = this.lists.get(size.where);
    if (!previous || previous.bytes < size.bytes) this.lists.set(size.where, size);
    return list;
  }
}

/** The largest parameter whose text is in the manifest itself (arguments, defaults, task values). */
function largestFixedParameter(document: ArgoDocument): ParameterSize | undefined {
  let largest: ParameterSize | undefined;
  const consider = (where: string, text: string | undefined): void => {
    if (text === undefined) return;
    const bytes = Buffer.byteLength(text, "utf8");
    if (!largest || bytes > largest.bytes) largest = { where, bytes };
  };
  const args = (document.spec.arguments as { parameters?: { name: string; value?: string }[] } | undefined)?.parameters ?? [];
  for (const p of args) consider(`arguments → ${p.name}`, p.value);
  for (const t of document.spec.templates) {
    for (const p of t.inputs?.parameters ?? []) consider(`${t.name} → ${p.name} (default)`, p.default);
    for (const task of t.dag?.tasks ?? []) for (const p of task.arguments?.parameters ?? []) consider(`${t.name}/${task.name} → ${p.name}`, p.value);
  }
  return largest;
}

/**
 * The nodes a finished run of `document` leaves in its Workflow object, and its largest parameters,
 * for a run of `input.inputs` files cut into `input.tiles` tiles. Reads only the manifest's
 * structure: the entrypoint, DAG tasks, withParam, retryStrategy, containerSet.
 */
export function argoScale(document: ArgoDocument, input: ScaleInput): ScaleReport {
  for (const [name, value] of [["inputs", input.inputs], ["tiles", input.tiles]] as const) {
    if (!Number.isInteger(value) || value < 0) throw new ScaleError(`${name} must be a whole number of at least 0, not ${value}`);
  }
  const counter = new Counter(document, input);
  counter.visit(document.spec.entrypoint, 1, []);
  const byType = counter.nodesByType;
  const nodes = Object.values(byType).reduce((a, b) => a + b, 0);
  const parameters = [...counter.lists.values()].sort((a, b) => b.bytes - a.bytes || (a.where < b.where ? -1 : 1));
  const fixed = largestFixedParameter(document);
  const candidates = [...parameters, ...(fixed ? [fixed] : [])];
  const largestParameter = candidates.reduce((a, b) => (b.bytes > a.bytes ? b : a), { where: "(none)", bytes: 0 });
  return { nodes, nodesByType: { ...byType }, pods: byType.Pod, parameters, largestParameter };
}

/** What exceeds ARGO_OBJECT_LIMITS, as sentences; empty when the run fits one Workflow object. */
export function scaleProblems(report: ScaleReport, limits: { readonly nodes: number; readonly parameterBytes: number } = ARGO_OBJECT_LIMITS): string[] {
  const problems: string[] = [];
  if (report.nodes > limits.nodes) {
    problems.push(`the run would hold ${groupDigits(report.nodes)} nodes in one Workflow object (at most ${groupDigits(limits.nodes)}): batch the tiles or split the run into child workflows`);
  }
  const p = report.largestParameter;
  if (p.bytes > limits.parameterBytes) {
    problems.push(`${p.where} is a parameter of ${groupDigits(p.bytes)} bytes (at most ${groupDigits(limits.parameterBytes)}): pass it as an artifact, or iterate over batches`);
  }
  return problems;
}
