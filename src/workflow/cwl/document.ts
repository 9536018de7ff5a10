import * as path from "path";
import { sortedAsText as sorted } from "../emitter";
import { CwlContext } from "./context";
import { JSON_LIST_ID, JSON_LIST_TOOL } from "./library";
import { collectReads, classifyParams } from "./analysis";
import { planGroup } from "./resolve";
import { stepObject } from "./steps";
import { toolObject, toolUse } from "./tools";
import { finalOutputs, groupStepObject, paramInput, subworkflowObject } from "./workflows";

/*
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

/** The packed document: `#main`, one subworkflow per foreach, one tool per component, the helpers. */
export function renderDocument(ctx: CwlContext): object {
  if (ctx.options.noDocker && (!ctx.options.contextsDir || !path.isAbsolute(ctx.options.contextsDir))) {
    ctx.problem("a rendering without Docker needs the absolute directory of the build contexts (contextsDir): cwltool runs each tool in a temporary directory");
  }
  collectReads(ctx);
  classifyParams(ctx);
  for (const group of ctx.graph.foreach) ctx.plans.set(group.id, planGroup(ctx, group));

  const mainSteps = new Map<string, object>();
  for (const step of ctx.graph.steps) {
    const tool = toolUse(ctx, step);
    if (step.foreach === undefined) {
      mainSteps.set(step.id, stepObject(ctx, step, tool, undefined));
    } else {
      const plan = ctx.plans.get(step.foreach)!;
      plan.steps.set(step.id, stepObject(ctx, step, tool, plan));
    }
  }
  const mainOutputs = finalOutputs(ctx);
  for (const plan of ctx.plans.values()) mainSteps.set(plan.group.id, groupStepObject(plan));
  for (const [id, step] of ctx.jsonListSteps) mainSteps.set(id, step);

  const mainInputs: Record<string, object> = {};
  for (const p of ctx.graph.params) mainInputs[p.name] = paramInput(ctx, p);
  ctx.checkIds("the main workflow", [Object.keys(mainInputs), [...mainSteps.keys()], Object.keys(mainOutputs)]);

  const requirements: Record<string, object> = {};
  if (ctx.plans.size > 0) {
    requirements.ScatterFeatureRequirement = {};
    requirements.SubworkflowFeatureRequirement = {};
  }
  if (ctx.mainStepExpressions) requirements.StepInputExpressionRequirement = {};
  if (ctx.mainMultipleSources) requirements.MultipleInputFeatureRequirement = {};

  const main = {
    class: "Workflow",
    id: "#main",
    label: ctx.graph.spec.name,
    ...(ctx.graph.spec.description ? { doc: ctx.graph.spec.description } : {}),
    ...(Object.keys(requirements).length > 0 ? { requirements } : {}),
    inputs: mainInputs,
    outputs: mainOutputs,
    steps: Object.fromEntries(mainSteps),
  };
  const subworkflows = [...ctx.plans.values()].map((plan) => subworkflowObject(ctx, plan));
  const tools = sorted(ctx.tools.keys()).map((id) => toolObject(ctx, ctx.tools.get(id)!));
  const ids = [main.id, ...subworkflows.map((s) => s.id), ...tools.map((t) => t.id), ...(ctx.jsonListSteps.size > 0 ? [JSON_LIST_ID] : [])];
  const duplicate = ids.find((id, i) => ids.indexOf(id) !== i);
  if (duplicate) ctx.problem(`two processes of the CWL document would have the id '${duplicate}'; rename the foreach group or the notebook`);
  const helpers = ctx.jsonListSteps.size > 0 ? [JSON_LIST_TOOL] : [];
  return { cwlVersion: "v1.2", $graph: [main, ...subworkflows, ...tools, ...helpers] };
}
