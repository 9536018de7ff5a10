import * as path from "path";
import { PYTHON_PACKAGES_DIR } from "../python/interpreter";
import { ComponentInterface } from "./catalog";
import { toYaml } from "./emit";
import { describeConstraints, describedWithConstraints } from "./paramConstraints";
import { formatReference } from "./references";
import { Binding, ParamDeclaration, Reference, WorkflowType } from "./spec";
import { elementOf, isList, valueFileExtension } from "./types";
import { GraphForeach, GraphStep, ResolvedBinding, WorkflowGraph } from "./validate";
import { stringifyExactJson } from "../notebook/exactJson";

/**
 * The CWL v1.2 rendering of a workflow: one packed document (`$graph`) holding the main Workflow
 * (`#main`), one CommandLineTool per component (`#<notebook>-<component>`, `#builtin-<name>`) and one
 * subworkflow per foreach group (`#foreach-<id>`), which the main workflow scatters over the items.
 *
 * How values travel (docs/components.md: a value crosses a step boundary as NAME.npy or NAME.json):
 * - a workflow param is a workflow input: str → string, int → long (CWL's int is 32-bit), float →
 *   double, bool → boolean, list → Any[] (any JSON array), dict and any → Any, with its default;
 * - a component's output is a `File`, globbed from `outputs/NAME.npy|.json` (`outputs/NAME.*` for a value
 *   typed `any`, whose kind is known only when it is written);
 * - a component's input is a `File`, staged as `inputs/NAME.npy|.json` (InitialWorkDirRequirement; a
 *   value typed `any` keeps the extension it arrives with) and read with `--inputs inputs`;
 * - a param is a plain CWL value passed as `--param NAME=VALUE` (JSON text for non-strings: CWL
 *   interpolation writes a non-string as JSON); a param bound to another step's output reads the JSON
 *   file's contents (`NAME-json`), and a `str` param bound to a file item receives the staged file's
 *   path (`NAME-file`: the path is taken inside the tool, so it is the container's path); a text with
 *   references is a step input whose sources valueFrom splices in;
 * - the split built-in's tiles are tile files (`File[]` with their `.json` sidecars); a foreach over
 *   them scatters over the files; a foreach over a workflow param of type `list` whose item only feeds
 *   `str` params scatters over a `File[]` input (a path must be staged to reach a container); a foreach
 *   over a component's list (one .json file) scatters over what an ExpressionTool reads from it;
 * - results read after a foreach (fan-in) are arrays of files; every output of a step inside a
 *   foreach is renamed `<item>.<NAME>.<ext>` (a file item's name without extension, else the item's
 *   text), because cwltool keeps only one of several collected files that share a name;
 * - a built-in runs as `naaw builtin NAME --outputs=outputs [--input NAME=PATH ...] [--param NAME=VALUE ...]`
 *   (one `--input` per file of a list, in order); a file-list output NAME is the files under
 *   `outputs/NAME/` (split: `outputs/tiles/*.npy`, each with its `.json` sidecar).
 */
export interface CwlOptions {
  /** Registry of the component images: `<registry>/<name>:<hash>` (`<name>:<hash>` without one). */
  readonly registry?: string;
  /**
   * Render for a machine without Docker (`naaw render --no-docker`): no DockerRequirement; components
   * run through the local runtime from their build contexts, built-ins through `naawCommand`.
   */
  readonly noDocker?: boolean;
  /** Absolute directory holding one build context per component (`naaw build --out`); with noDocker. */
  readonly contextsDir?: string;
  /** Absolute directory put on PYTHONPATH so that `-m naaw_runtime` resolves; with noDocker. */
  readonly pythonPath?: string;
  /** The Python that runs components with noDocker. @default "python3" */
  readonly python?: string;
  /** The command that runs `naaw` with noDocker (e.g. `["node", "/abs/bin/naaw.js"]`). @default ["naaw"] */
  readonly naawCommand?: readonly string[];
  /** Tag of the built-ins image `<registry>/naaw-builtins:<tag>`. @default the package version */
  readonly builtinsVersion?: string;
}

export interface CwlRendering {
  readonly document: object;
  /** What the rendering cannot express; the document is best effort when this is not empty. */
  readonly problems: string[];
}

/** Where the component images keep the runtime (`/app/naaw_runtime`) and the component (`/app/component`). */
const IMAGE_APP_DIR = "/app";
const BUILTINS_IMAGE = "naaw-builtins";
const TAG_INPUT = "naaw-tag";
const SIDECAR = { pattern: "^.json", required: false };
const JS = "InlineJavascriptRequirement";

/**
 * Renames a collected file after the foreach item (`tile_0_0.raster.npy`), so that the files of all
 * items keep distinct names; outside a foreach there is no tag and the file keeps its name.
 */
const RENAME_FUNCTION = "naawNamedAfterItem";
const RENAME_LIBRARY = [
  `function ${RENAME_FUNCTION}(files, tag) {`,
  "  var file = files[0];",
  "  if (file && tag !== null && tag !== undefined) {",
  '    file.basename = String(tag).replace(/[^A-Za-z0-9._-]+/g, "_") + "." + file.basename;',
  "  }",
  "  return file;",
  "}",
].join("\n");
const RENAME_AFTER_ITEM = `$(${RENAME_FUNCTION}(self, inputs["${TAG_INPUT}"]))`;

/** Reads a list that a component wrote as JSON into a CWL array (loadContents: at most 64 KiB). */
const JSON_LIST_ID = "#naaw-json-list";
const JSON_LIST_TOOL = {
  class: "ExpressionTool",
  id: JSON_LIST_ID,
  label: "a JSON list as an array to scatter over",
  requirements: { InlineJavascriptRequirement: {} },
  inputs: { list: { type: "File", loadContents: true, doc: "A .json file holding a list (at most 64 KiB)." } },
  outputs: { items: { type: { type: "array", items: "Any" } } },
  expression: '${ return { "items": JSON.parse(inputs.list.contents) }; }',
};

/**
 * A built-in's `list[str]` output names files: in CWL it is a File array collected from
 * `outputs/NAME/`, its elements with their sidecars where ComponentInterface.files lists them.
 */
function builtinFileList(component: ComponentInterface, output: string): { glob: string; secondaryFiles?: readonly object[] } | undefined {
  if (!component.builtin || component.outputs.find((o) => o.name === output)?.type !== "list[str]") return undefined;
  const extensions = component.files?.fileLists?.[output];
  if (!extensions) return { glob: `outputs/${output}/*` };
  const [file, ...sidecars] = extensions;
  return {
    glob: `outputs/${output}/*${file}`,
    ...(sidecars.length > 0 ? { secondaryFiles: sidecars.map((ext) => ({ pattern: `^${ext}`, required: true })) } : {}),
  };
}

/** How a value is carried between CWL steps. */
type Carrier =
  /** A plain CWL value (a workflow param, a literal, an item of a plain list). */
  | { readonly kind: "plain"; readonly type: WorkflowType; readonly optional?: boolean }
  /** A File holding a value as NAME.npy / NAME.json. */
  | { readonly kind: "value"; readonly type: WorkflowType }
  /** A File whose path is a `str` value (a tile of split, an item of a list of files). */
  | { readonly kind: "path"; readonly secondaryFiles?: readonly object[] }
  | { readonly kind: "array"; readonly of: Carrier };

interface Resolved {
  readonly source: string;
  readonly carrier: Carrier;
}

/** What the steps using one component need from its tool. */
interface ToolUse {
  readonly id: string;
  readonly component: ComponentInterface;
  /** `str` params bound to a file item: `NAME-file`. */
  readonly fileParams: Set<string>;
  /** Params bound to another step's JSON output: `NAME-json`. */
  readonly jsonParams: Set<string>;
  inForeach: boolean;
}

interface GroupPlan {
  readonly group: GraphForeach;
  readonly id: string;
  readonly item: Carrier;
  readonly itemSource: string;
  /** Subworkflow input id → what the main workflow passes and how it is carried. */
  readonly inputs: Map<string, Resolved>;
  /** Subworkflow output id → inner source and how it is carried (one item's value). */
  readonly outputs: Map<string, Resolved>;
  readonly steps: Map<string, object>;
  stepExpressions: boolean;
  multipleSources: boolean;
}

function sorted<T>(values: Iterable<T>): T[] {
  return [...values].sort((a, b) => (String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0));
}

function plainCwlType(type: WorkflowType): unknown | undefined {
  switch (type) {
    case "str":
      return "string";
    case "int":
      // CWL's `int` is 32-bit; a Python int is not.
      return "long";
    case "float":
      return "double";
    case "bool":
      return "boolean";
    case "dict":
    case "any":
      return "Any";
    case "ndarray":
      return undefined;
    default: {
      const element = elementOf(type);
      if (element === undefined) return undefined;
      const items = element === "any" ? "Any" : plainCwlType(element);
      return items === undefined ? undefined : { type: "array", items };
    }
  }
}

/** The extension a value of a type is written with, or undefined for `any` (either). */
function extensionOf(type: WorkflowType): "npy" | "json" | undefined {
  return type === "any" ? undefined : valueFileExtension(type);
}

/** Text for a CWL string that is interpolated: `$(`, `${` and `\` are literal. */
function escapeInterpolation(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\$([({])/g, "\\$$$1");
}

function isFileCarrier(carrier: Carrier): boolean {
  return carrier.kind === "value" || carrier.kind === "path";
}

/** Kubernetes CPU quantity (`1`, `0.5`, `500m`) → cores. */
function parseCpu(value: string): number | undefined {
  const match = /^([0-9]+(?:\.[0-9]+)?)(m?)$/.exec(value.trim());
  if (!match) return undefined;
  return Number(match[1]) / (match[2] ? 1000 : 1);
}

/** Kubernetes memory quantity (`2Gi`, `512Mi`, `1G`) → MiB, rounded up. */
function parseMemoryMiB(value: string): number | undefined {
  const match = /^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|k|K|M|G|T)?$/.exec(value.trim());
  if (!match) return undefined;
  const factors: Record<string, number> = { "": 1, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12 };
  return Math.ceil((Number(match[1]) * factors[match[2] ?? ""]) / 2 ** 20);
}

function packageVersion(): string {
  return (require("../../package.json") as { version: string }).version;
}

class CwlRenderer {
  readonly problems: string[] = [];
  private readonly params: Map<string, ParamDeclaration>;
  private readonly steps: Map<string, GraphStep>;
  private readonly tools = new Map<string, ToolUse>();
  private readonly plans = new Map<string, GroupPlan>();
  /** `step.output` read by some step or foreach. */
  private readonly read = new Set<string>();
  /** Params that are lists of files in CWL (a foreach iterates over them and feeds their items to str params). */
  private readonly fileListParams = new Set<string>();
  private mainStepExpressions = false;
  private mainMultipleSources = false;
  /** Main-workflow steps that read a component's JSON list for a foreach to scatter over. */
  private readonly jsonListSteps = new Map<string, object>();

  constructor(
    private readonly graph: WorkflowGraph,
    private readonly options: CwlOptions,
  ) {
    this.params = new Map(graph.params.map((p) => [p.name, p]));
    this.steps = new Map(graph.steps.map((s) => [s.id, s]));
  }

  private problem(message: string): void {
    if (!this.problems.includes(message)) this.problems.push(message);
  }

  render(): object {
    if (this.options.noDocker && (!this.options.contextsDir || !path.isAbsolute(this.options.contextsDir))) {
      this.problem("a rendering without Docker needs the absolute directory of the build contexts (contextsDir): cwltool runs each tool in a temporary directory");
    }
    this.collectReads();
    this.classifyParams();
    for (const group of this.graph.foreach) this.plans.set(group.id, this.planGroup(group));

    const mainSteps = new Map<string, object>();
    for (const step of this.graph.steps) {
      const tool = this.toolUse(step);
      if (step.foreach === undefined) {
        mainSteps.set(step.id, this.stepObject(step, tool, undefined));
      } else {
        const plan = this.plans.get(step.foreach)!;
        plan.steps.set(step.id, this.stepObject(step, tool, plan));
      }
    }
    const mainOutputs = this.finalOutputs();
    for (const plan of this.plans.values()) mainSteps.set(plan.group.id, this.groupStepObject(plan));
    for (const [id, step] of this.jsonListSteps) mainSteps.set(id, step);

    const mainInputs: Record<string, object> = {};
    for (const p of this.graph.params) mainInputs[p.name] = this.paramInput(p);
    this.checkIds("the main workflow", [Object.keys(mainInputs), [...mainSteps.keys()], Object.keys(mainOutputs)]);

    const requirements: Record<string, object> = {};
    if (this.plans.size > 0) {
      requirements.ScatterFeatureRequirement = {};
      requirements.SubworkflowFeatureRequirement = {};
    }
    if (this.mainStepExpressions) requirements.StepInputExpressionRequirement = {};
    if (this.mainMultipleSources) requirements.MultipleInputFeatureRequirement = {};

    const main = {
      class: "Workflow",
      id: "#main",
      label: this.graph.spec.name,
      ...(this.graph.spec.description ? { doc: this.graph.spec.description } : {}),
      ...(Object.keys(requirements).length > 0 ? { requirements } : {}),
      inputs: mainInputs,
      outputs: mainOutputs,
      steps: Object.fromEntries(mainSteps),
    };
    const subworkflows = [...this.plans.values()].map((plan) => this.subworkflowObject(plan));
    const tools = sorted(this.tools.keys()).map((id) => this.toolObject(this.tools.get(id)!));
    const ids = [main.id, ...subworkflows.map((s) => s.id), ...tools.map((t) => t.id), ...(this.jsonListSteps.size > 0 ? [JSON_LIST_ID] : [])];
    const duplicate = ids.find((id, i) => ids.indexOf(id) !== i);
    if (duplicate) this.problem(`two processes of the CWL document would have the id '${duplicate}'; rename the foreach group or the notebook`);
    const helpers = this.jsonListSteps.size > 0 ? [JSON_LIST_TOOL] : [];
    return { cwlVersion: "v1.2", $graph: [main, ...subworkflows, ...tools, ...helpers] };
  }

  /** CWL puts a process's inputs, outputs and steps in one namespace. */
  private checkIds(where: string, groups: readonly (readonly string[])[]): void {
    const seen = new Set<string>();
    for (const id of groups.flat()) {
      if (seen.has(id)) this.problem(`${where} would use the id '${id}' twice (CWL puts inputs, outputs and steps in one namespace); rename the param or the step`);
      seen.add(id);
    }
  }

  private collectReads(): void {
    const note = (reference: Reference): void => {
      if (reference.kind === "step") this.read.add(`${reference.step}.${reference.output}`);
    };
    for (const step of this.graph.steps) {
      for (const b of step.bindings) {
        if (b.binding.kind === "reference") note(b.binding.reference);
        if (b.binding.kind === "template") for (const part of b.binding.parts) if (typeof part !== "string") note(part);
      }
    }
    for (const group of this.graph.foreach) note(group.over);
  }

  /** A list param is a list of files when it is only iterated over and its items only feed str params. */
  private classifyParams(): void {
    const otherUse = new Set<string>();
    for (const step of this.graph.steps) {
      for (const b of step.bindings) {
        const refs = b.binding.kind === "reference" ? [b.binding.reference] : b.binding.kind === "template" ? b.binding.parts.filter((p): p is Reference => typeof p !== "string") : [];
        for (const r of refs) if (r.kind === "param") otherUse.add(r.name);
      }
    }
    const verdicts = new Map<string, boolean>();
    for (const group of this.graph.foreach) {
      if (group.over.kind !== "param") continue;
      const param = this.params.get(group.over.name);
      if (!param) continue;
      const itemUses = this.graph.steps
        .filter((s) => s.foreach === group.id)
        .flatMap((s) => s.bindings.filter((b) => this.usesItem(b.binding)).map((b) => ({ step: s, b })));
      const feedsPaths =
        (param.type === "list" || param.type === "any") &&
        !otherUse.has(param.name) &&
        itemUses.length > 0 &&
        itemUses.every(({ step, b }) => b.binding.kind === "reference" && b.slot === "param" && this.slotType(step, b) === "str");
      verdicts.set(param.name, (verdicts.get(param.name) ?? true) && feedsPaths);
    }
    for (const [name, files] of verdicts) if (files) this.fileListParams.add(name);
  }

  private usesItem(binding: Binding): boolean {
    if (binding.kind === "reference") return binding.reference.kind === "item";
    if (binding.kind === "template") return binding.parts.some((p) => typeof p !== "string" && p.kind === "item");
    return false;
  }

  private slotType(step: GraphStep, binding: ResolvedBinding): WorkflowType {
    const slot = binding.slot === "input" ? step.component.inputs.find((i) => i.name === binding.name) : step.component.params.find((p) => p.name === binding.name);
    return slot?.type ?? "any";
  }

  private paramCarrier(param: ParamDeclaration): Carrier {
    if (this.fileListParams.has(param.name)) return { kind: "array", of: { kind: "path", secondaryFiles: [SIDECAR] } };
    // A list whose items are declared (`items: {type: int}`) is an array of that CWL type (long[]), not Any[].
    const items = param.type === "list" ? param.constraints?.items?.type : undefined;
    return { kind: "plain", type: items ? (`list[${items}]` as WorkflowType) : param.type, optional: param.default === null };
  }

  private outputCarrier(step: GraphStep, output: string): Carrier {
    const fileList = builtinFileList(step.component, output);
    if (fileList) return { kind: "array", of: { kind: "path", ...(fileList.secondaryFiles ? { secondaryFiles: [SIDECAR] } : {}) } };
    const type = step.component.outputs.find((o) => o.name === output)?.type ?? "any";
    return { kind: "value", type };
  }

  /** The id of a component's output in its tool: its name, unless an input or param has that name. */
  private outputId(component: ComponentInterface, output: string): string {
    const taken = [...component.inputs, ...component.params].some((v) => v.name === output);
    return taken ? `${output}-out` : output;
  }

  private toolId(component: ComponentInterface): string {
    return component.builtin ? `#builtin-${component.name}` : `#${component.uses.replace("/", "-")}`;
  }

  private toolUse(step: GraphStep): ToolUse {
    const id = this.toolId(step.component);
    let use = this.tools.get(id);
    if (!use) {
      use = { id, component: step.component, fileParams: new Set(), jsonParams: new Set(), inForeach: false };
      this.tools.set(id, use);
    }
    if (step.foreach !== undefined) use.inForeach = true;
    return use;
  }

  private planGroup(group: GraphForeach): GroupPlan {
    const over = this.resolve(group.over, undefined, `foreach '${group.id}'`);
    let item: Carrier = { kind: "plain", type: group.itemType };
    let itemSource = over?.source ?? "";
    if (over) {
      if (over.carrier.kind === "array") item = over.carrier.of;
      else if (over.carrier.kind === "plain") item = { kind: "plain", type: elementOf(over.carrier.type) ?? "any" };
      else if (over.carrier.kind === "value" && over.carrier.type !== "ndarray") {
        // A list that a component wrote as JSON: an ExpressionTool reads it into an array to scatter over.
        const stepId = `${group.id}.items`;
        this.jsonListSteps.set(stepId, { run: JSON_LIST_ID, in: { list: over.source }, out: ["items"] });
        itemSource = `${stepId}/items`;
        item = { kind: "plain", type: elementOf(over.carrier.type) ?? "any" };
      } else {
        this.problem(`foreach '${group.id}' iterates over ${formatReference(group.over)}, which is not a list in CWL`);
      }
    }
    return { group, id: `#foreach-${group.id}`, item, itemSource, inputs: new Map(), outputs: new Map(), steps: new Map(), stepExpressions: false, multipleSources: false };
  }

  /**
   * A reference as a CWL source in the main workflow (plan undefined) or in a foreach's subworkflow,
   * registering the subworkflow inputs and outputs it needs.
   */
  private resolve(reference: Reference, plan: GroupPlan | undefined, where: string): Resolved | undefined {
    switch (reference.kind) {
      case "param": {
        const param = this.params.get(reference.name);
        if (!param) return undefined;
        const outer: Resolved = { source: param.name, carrier: this.paramCarrier(param) };
        if (!plan) return outer;
        plan.inputs.set(param.name, outer);
        return { source: param.name, carrier: outer.carrier };
      }
      case "item":
        if (!plan) return undefined;
        return { source: "item", carrier: plan.item };
      case "step": {
        const target = this.steps.get(reference.step);
        if (!target) {
          this.problem(`${where}: ${formatReference(reference)} names no step of the graph`);
          return undefined;
        }
        const carrier = this.outputCarrier(target, reference.output);
        const own: Resolved = { source: `${target.id}/${this.outputId(target.component, reference.output)}`, carrier };
        const key = `${target.id}.${reference.output}`;
        if (target.foreach === undefined) {
          if (!plan) return own;
          plan.inputs.set(key, own);
          return { source: key, carrier };
        }
        if (plan && plan.group.id === target.foreach) return own;
        if (plan) {
          this.problem(`${where}: ${formatReference(reference)} runs in another foreach`);
          return undefined;
        }
        const inner = this.plans.get(target.foreach);
        if (!inner) return undefined;
        inner.outputs.set(key, own);
        return { source: `${target.foreach}/${key}`, carrier: { kind: "array", of: carrier } };
      }
    }
  }

  /** The `in:` of a step, recording on its tool which input variants it needs. */
  private stepObject(step: GraphStep, tool: ToolUse, plan: GroupPlan | undefined): object {
    const inputs: Record<string, unknown> = {};
    const where = `step '${step.id}'`;
    for (const b of step.bindings) {
      const slotType = this.slotType(step, b);
      const what = `${where}: ${b.slot} '${b.name}'`;
      const binding = b.binding;
      if (binding.kind === "literal") {
        if (binding.value === null || binding.value === undefined) continue;
        if (b.slot === "param") {
          inputs[b.name] = { default: binding.value };
        } else if (!step.component.builtin && slotType !== "ndarray") {
          inputs[b.name] = { default: { class: "File", basename: `${b.name}.json`, contents: stringifyExactJson(binding.value, 0) } };
        } else {
          this.problem(`${what} is bound to a literal, which CWL cannot hand to ${step.component.builtin ? "a built-in" : "an ndarray input"} as a file`);
        }
        continue;
      }
      if (binding.kind === "template") {
        if (b.slot !== "param") {
          this.problem(`${what} is bound to the text '${binding.text}': an input needs a value file, which CWL cannot write from text; bind it to a param`);
          continue;
        }
        // The references are the step input's sources; valueFrom splices them into the text.
        const pieces: (string | number)[] = [];
        const sources: string[] = [];
        for (const part of binding.parts) {
          if (typeof part === "string") {
            pieces.push(escapeInterpolation(part));
            continue;
          }
          const resolved = this.resolve(part, plan, what);
          if (!resolved) continue;
          if (resolved.carrier.kind !== "plain") {
            this.problem(`${what}: ${formatReference(part)} is a file in CWL and cannot be spliced into the text '${binding.text}'`);
            continue;
          }
          pieces.push(sources.length);
          sources.push(resolved.source);
        }
        const text = pieces.map((p) => (typeof p === "string" ? p : sources.length === 1 ? "$(self)" : `$(self[${p}])`)).join("");
        inputs[b.name] = sources.length === 0 ? { default: binding.text } : { source: sources.length === 1 ? sources[0] : sources, valueFrom: text };
        if (sources.length > 1) {
          if (plan) plan.multipleSources = true;
          else this.mainMultipleSources = true;
        }
        if (plan) plan.stepExpressions = true;
        else this.mainStepExpressions = true;
        continue;
      }
      if (binding.kind !== "reference") continue;
      const resolved = this.resolve(binding.reference, plan, what);
      if (!resolved) continue;
      const { carrier, source } = resolved;
      const from = binding.text;
      if (b.slot === "input") {
        const wantsList = isList(slotType) && step.component.builtin;
        if (carrier.kind === "value" && !wantsList) inputs[b.name] = source;
        else if (carrier.kind === "array" && carrier.of.kind === "value" && wantsList) inputs[b.name] = source;
        else if (carrier.kind === "array" && carrier.of.kind === "value") {
          this.problem(`${what} reads ${from}, one file per foreach item: the component runtime reads one ${b.name}.npy or .json, so gather the list with a built-in first`);
        } else if (carrier.kind === "plain") {
          this.problem(`${what} reads ${from}, a plain value: CWL cannot write it to the value file an input needs without JavaScript; make it a param of the component`);
        } else {
          this.problem(`${what} reads ${from}, which is a file path in CWL, not a value file`);
        }
        continue;
      }
      // A param: a plain value, the path of a file, or the contents of a JSON value file.
      if (carrier.kind === "plain") {
        inputs[b.name] = source;
      } else if (carrier.kind === "path" && slotType === "str") {
        inputs[`${b.name}-file`] = source;
        tool.fileParams.add(b.name);
      } else if (carrier.kind === "value" && carrier.type !== "ndarray") {
        inputs[`${b.name}-json`] = source;
        tool.jsonParams.add(b.name);
      } else {
        const kind = carrier.kind === "array" ? "a list of files" : carrier.kind === "path" ? "a file path" : "an ndarray file";
        this.problem(`${what} is ${slotType}, but ${from} is ${kind} in CWL, which cannot be passed as a --param value`);
      }
    }
    if (plan) {
      inputs[TAG_INPUT] = isFileCarrier(plan.item) ? { source: "item", valueFrom: "$(self.nameroot)" } : "item";
      if (isFileCarrier(plan.item)) plan.stepExpressions = true;
    }
    const object: Record<string, unknown> = {
      run: tool.id,
      in: inputs,
      out: sorted(step.component.outputs.map((o) => this.outputId(step.component, o.name))),
    };
    const resources = this.resources(step);
    if (resources) object.requirements = { ResourceRequirement: resources };
    return object;
  }

  private resources(step: GraphStep): object | undefined {
    const spec = step.spec.resources;
    if (!spec) return undefined;
    const result: Record<string, number> = {};
    if (spec.cpu !== undefined) {
      const cores = parseCpu(String(spec.cpu));
      if (cores === undefined) this.problem(`step '${step.id}': cpu '${spec.cpu}' is not a CPU quantity`);
      else result.coresMin = cores;
    }
    if (spec.memory !== undefined) {
      const mib = parseMemoryMiB(String(spec.memory));
      if (mib === undefined) this.problem(`step '${step.id}': memory '${spec.memory}' is not a memory quantity`);
      else result.ramMin = mib;
    }
    return Object.keys(result).length > 0 ? result : undefined;
  }

  /** Step outputs no step reads: the workflow's results. */
  private finalOutputs(): Record<string, object> {
    const outputs: Record<string, object> = {};
    for (const step of this.graph.steps) {
      for (const output of step.component.outputs) {
        const key = `${step.id}.${output.name}`;
        if (this.read.has(key)) continue;
        const resolved = this.resolve({ kind: "step", step: step.id, output: output.name }, undefined, "the workflow outputs");
        if (!resolved) continue;
        outputs[key] = { ...this.parameterOf(resolved.carrier), outputSource: resolved.source };
      }
    }
    return outputs;
  }

  /** `type` (and `secondaryFiles`) of a workflow-level parameter carried this way. */
  private parameterOf(carrier: Carrier): { type: unknown; secondaryFiles?: readonly object[] } {
    switch (carrier.kind) {
      case "plain": {
        const type = plainCwlType(carrier.type);
        if (type === undefined) this.problem(`a plain value of type ${carrier.type} has no CWL type`);
        return { type: carrier.optional ? ["null", type ?? "Any"] : (type ?? "Any") };
      }
      case "value":
        return { type: "File" };
      case "path":
        return { type: "File", ...(carrier.secondaryFiles ? { secondaryFiles: carrier.secondaryFiles } : {}) };
      case "array": {
        const inner = this.parameterOf(carrier.of);
        return { type: { type: "array", items: inner.type }, ...(inner.secondaryFiles ? { secondaryFiles: inner.secondaryFiles } : {}) };
      }
    }
  }

  private paramInput(param: ParamDeclaration): object {
    const carrier = this.paramCarrier(param);
    // CWL carries a list's item type (paramCarrier); the rest of the constraints has no CWL form that
    // cwltool accepts here (an enum input cannot feed a tool's string input without a valueFrom on
    // every step that reads it), so the doc says them.
    const c = param.constraints;
    const carriesItems = c?.items !== undefined && !this.fileListParams.has(param.name);
    const unchecked = c ? describeConstraints(c, carriesItems ? ["items"] : []) : "";
    const itemsUnchecked = carriesItems ? describeConstraints({ ...c!.items!, items: undefined }) : "";
    const described = c ? describedWithConstraints(param.description, [unchecked, itemsUnchecked && `a list whose items are ${itemsUnchecked}`].filter((t) => t).join(", "), "CWL") : param.description;
    const docs = described ? [described] : [];
    const input: Record<string, unknown> = { ...this.parameterOf(carrier) };
    if (this.fileListParams.has(param.name)) {
      docs.push("A list of files in CWL (a foreach iterates over it): each item is staged and its path given to the steps.");
      if (Array.isArray(param.default) && param.default.length === 0) input.default = [];
      else if (param.default !== undefined && param.default !== null) docs.push(`naaw's default: ${stringifyExactJson(param.default, 0)}.`);
    } else if (param.default !== undefined && param.default !== null) {
      input.default = param.default;
    }
    if (docs.length > 0) input.doc = docs.join(" ");
    return input;
  }

  private groupStepObject(plan: GroupPlan): object {
    const inputs: Record<string, unknown> = { item: plan.itemSource };
    for (const [id, resolved] of plan.inputs) inputs[id] = resolved.source;
    return { run: plan.id, scatter: "item", in: inputs, out: sorted(plan.outputs.keys()) };
  }

  private subworkflowObject(plan: GroupPlan): { id: string } & Record<string, unknown> {
    const inputs: Record<string, object> = { item: this.parameterOf(plan.item) };
    for (const [id, resolved] of plan.inputs) inputs[id] = this.parameterOf(resolved.carrier);
    const outputs: Record<string, object> = {};
    for (const [id, resolved] of plan.outputs) outputs[id] = { ...this.parameterOf(resolved.carrier), outputSource: resolved.source };
    this.checkIds(`the subworkflow of foreach '${plan.group.id}'`, [Object.keys(inputs), [...plan.steps.keys()], Object.keys(outputs)]);
    return {
      class: "Workflow",
      id: plan.id,
      label: `foreach ${plan.group.id}: one item of ${formatReference(plan.group.over)}`,
      ...(plan.stepExpressions || plan.multipleSources
        ? {
            requirements: {
              ...(plan.stepExpressions ? { StepInputExpressionRequirement: {} } : {}),
              ...(plan.multipleSources ? { MultipleInputFeatureRequirement: {} } : {}),
            },
          }
        : {}),
      inputs,
      outputs,
      steps: Object.fromEntries(plan.steps),
    };
  }

  private paramBinding(name: string, type: WorkflowType, requirements: Set<string>): object {
    if (type === "any") {
      // A string must reach the runtime as JSON too (it parses the value of a non-str param).
      requirements.add(JS);
      return { prefix: "--param", valueFrom: `\${ return "${name}=" + JSON.stringify(self); }` };
    }
    return { prefix: "--param", valueFrom: `${name}=$(self)` };
  }

  private toolObject(use: ToolUse): { id: string } & Record<string, unknown> {
    const component = use.component;
    const requirements = new Set<string>();
    const inputs: Record<string, object> = {};
    const listing: object[] = [];
    for (const input of component.inputs) {
      if (component.builtin) {
        const binding = { prefix: "--input", valueFrom: `${input.name}=$(self.path)` };
        inputs[input.name] = isList(input.type) ? { type: { type: "array", items: "File", inputBinding: binding } } : { type: "File", inputBinding: binding };
        continue;
      }
      const extension = extensionOf(input.type);
      listing.push({
        entryname: extension ? `inputs/${input.name}.${extension}` : `inputs/${input.name}$(inputs.${input.name}.nameext)`,
        entry: `$(inputs.${input.name})`,
      });
      inputs[input.name] = { type: "File" };
    }
    for (const param of component.params) {
      const type = plainCwlType(param.type);
      if (type === undefined) this.problem(`param '${param.name}' of '${component.uses}' is ${param.type}, which has no CWL value type`);
      const required = param.required && !use.fileParams.has(param.name) && !use.jsonParams.has(param.name);
      inputs[param.name] = {
        type: required ? (type ?? "Any") : ["null", type ?? "Any"],
        inputBinding: this.paramBinding(param.name, param.type, requirements),
      };
      if (use.fileParams.has(param.name)) {
        inputs[`${param.name}-file`] = {
          type: ["null", "File"],
          secondaryFiles: [SIDECAR],
          inputBinding: { prefix: "--param", valueFrom: `${param.name}=$(self.path)` },
          doc: `A file for the str param ${param.name}: it receives the file's path.`,
        };
      }
      if (use.jsonParams.has(param.name)) {
        // The file holds the value as JSON: the text is what --param wants, except for a str param.
        const valueFrom = param.type === "str" ? `\${ return "${param.name}=" + JSON.parse(self.contents); }` : `${param.name}=$(self.contents)`;
        if (param.type === "str") requirements.add(JS);
        inputs[`${param.name}-json`] = {
          type: ["null", "File"],
          loadContents: true,
          inputBinding: { prefix: "--param", valueFrom },
          doc: `Another step's value for the param ${param.name} (a .json file of at most 64 KiB).`,
        };
      }
    }
    if (use.inForeach) {
      inputs[TAG_INPUT] = { type: ["null", "Any"], doc: "The foreach item's name: outputs are renamed after it, so that the items' files keep distinct names." };
    }
    const outputs: Record<string, object> = {};
    for (const output of component.outputs) {
      const id = this.outputId(component, output.name);
      const fileList = builtinFileList(component, output.name);
      if (fileList) {
        outputs[id] = {
          type: { type: "array", items: "File" },
          ...(fileList.secondaryFiles ? { secondaryFiles: fileList.secondaryFiles } : {}),
          outputBinding: { glob: fileList.glob },
        };
        continue;
      }
      const extension = extensionOf(output.type);
      const outputBinding: Record<string, string> = { glob: `outputs/${output.name}.${extension ?? "*"}` };
      if (use.inForeach) {
        outputBinding.outputEval = RENAME_AFTER_ITEM;
        requirements.add(JS);
      }
      outputs[id] = { type: "File", outputBinding };
    }
    this.checkIds(`the tool of '${component.uses}'`, [Object.keys(inputs), Object.keys(outputs)]);

    const reqs: Record<string, object> = {};
    const docker = !this.options.noDocker;
    if (docker) reqs.DockerRequirement = { dockerPull: this.image(component) };
    let baseCommand: string[];
    const args: string[] = [];
    if (component.builtin) {
      baseCommand = [...(docker ? ["naaw"] : (this.options.naawCommand ?? ["naaw"])), "builtin", component.name];
      // One word: cwltool sorts arguments and input bindings of equal position together, which would put
      // the list inputs' `--input` words between `--outputs` and its value.
      args.push("--outputs=outputs");
    } else {
      baseCommand = [docker ? "python3" : (this.options.python ?? "python3"), "-m", "naaw_runtime", "run"];
      const componentDir = docker ? `${IMAGE_APP_DIR}/component` : path.posix.join(this.options.contextsDir ?? "", component.name);
      args.push("--component", componentDir, "--outputs", "outputs");
      if (component.inputs.length > 0) args.push("--inputs", "inputs");
      reqs.EnvVarRequirement = {
        envDef: { PYTHONDONTWRITEBYTECODE: "1", PYTHONPATH: docker ? IMAGE_APP_DIR : (this.options.pythonPath ?? PYTHON_PACKAGES_DIR) },
      };
    }
    if (listing.length > 0) reqs.InitialWorkDirRequirement = { listing };
    for (const r of requirements) reqs[r] = r === JS && use.inForeach ? { expressionLib: [RENAME_LIBRARY] } : {};
    const doc = component.builtin ? component.description : component.entry ? `Component '${component.name}' of ${component.entry.spec.notebook}` : undefined;
    return {
      class: "CommandLineTool",
      id: use.id,
      label: component.uses,
      ...(doc ? { doc } : {}),
      requirements: reqs,
      baseCommand,
      arguments: args,
      inputs,
      outputs,
    };
  }

  private image(component: ComponentInterface): string {
    const registry = this.options.registry?.replace(/\/+$/, "");
    const prefix = registry ? `${registry}/` : "";
    if (component.builtin) return `${prefix}${BUILTINS_IMAGE}:${this.options.builtinsVersion ?? packageVersion()}`;
    if (!component.entry) {
      this.problem(`component '${component.uses}' has no catalog entry, so no image hash`);
      return `${prefix}${component.name}:latest`;
    }
    return `${prefix}${component.name}:${component.entry.hash}`;
  }
}

/** The workflow as one packed CWL v1.2 document; pure: the same graph and options give the same object. */
export function renderCwl(graph: WorkflowGraph, options: CwlOptions = {}): CwlRendering {
  const renderer = new CwlRenderer(graph, options);
  const document = renderer.render();
  return { document, problems: renderer.problems };
}

/** The CWL document as YAML, runnable with `cwltool <file>` (the `#main` workflow runs by default). */
export function renderCwlYaml(graph: WorkflowGraph, options: CwlOptions = {}): { text: string; problems: string[] } {
  const { document, problems } = renderCwl(graph, options);
  const header = `#!/usr/bin/env cwl-runner\n# Generated by naaw render from ${graph.spec.file}. Do not edit.\n`;
  return { text: toYaml(document, header), problems };
}
