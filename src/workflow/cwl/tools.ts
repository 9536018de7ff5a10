import * as path from "path";
import { PYTHON_PACKAGES_DIR } from "../../python/interpreter";
import { ComponentInterface } from "../catalog";
import { WorkflowType } from "../spec";
import { isList } from "../types";
import { GraphStep } from "../validate";
import { NAAW_VERSION } from "../emitter";
import { builtinFileList, outputId } from "./carriers";
import { CwlContext } from "./context";
import { BUILTINS_IMAGE, IMAGE_APP_DIR, JS, RENAME_AFTER_ITEM, RENAME_LIBRARY, SIDECAR, TAG_INPUT } from "./library";
import { ToolUse } from "./model";
import { extensionOf, plainCwlType } from "./values";

/* One CommandLineTool per component (`#<notebook>-<component>`, `#builtin-<name>`), shared by its steps. */

export function toolId(component: ComponentInterface): string {
  return component.builtin ? `#builtin-${component.name}` : `#${component.uses.replace("/", "-")}`;
}

/** The tool a step runs, recording that it runs in a foreach (its outputs are then renamed after the item). */
export function toolUse(ctx: CwlContext, step: GraphStep): ToolUse {
  const id = toolId(step.component);
  let use = ctx.tools.get(id);
  if (!use) {
    use = { id, component: step.component, fileParams: new Set(), jsonParams: new Set(), inForeach: false };
    ctx.tools.set(id, use);
  }
  if (step.foreach !== undefined) use.inForeach = true;
  return use;
}

/** The `--param NAME=VALUE` binding of a param; `any` goes through JSON.stringify (the runtime parses it). */
function paramBinding(name: string, type: WorkflowType, requirements: Set<string>): object {
  if (type === "any") {
    // A string must reach the runtime as JSON too (it parses the value of a non-str param).
    requirements.add(JS);
    return { prefix: "--param", valueFrom: `\${ return "${name}=" + JSON.stringify(self); }` };
  }
  return { prefix: "--param", valueFrom: `${name}=$(self)` };
}

/** The CommandLineTool of a component, with the input variants its steps recorded (NAME-file, NAME-json). */
export function toolObject(ctx: CwlContext, use: ToolUse): { id: string } & Record<string, unknown> {
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
    if (type === undefined) ctx.problem(`param '${param.name}' of '${component.uses}' is ${param.type}, which has no CWL value type`);
    const required = param.required && !use.fileParams.has(param.name) && !use.jsonParams.has(param.name);
    inputs[param.name] = {
      type: required ? (type ?? "Any") : ["null", type ?? "Any"],
      inputBinding: paramBinding(param.name, param.type, requirements),
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
    const id = outputId(component, output.name);
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
  ctx.checkIds(`the tool of '${component.uses}'`, [Object.keys(inputs), Object.keys(outputs)]);

  const reqs: Record<string, object> = {};
  const docker = !ctx.options.noDocker;
  if (docker) reqs.DockerRequirement = { dockerPull: image(ctx, component) };
  let baseCommand: string[];
  const args: string[] = [];
  if (component.builtin) {
    baseCommand = [...(docker ? ["naaw"] : (ctx.options.naawCommand ?? ["naaw"])), "builtin", component.name];
    // One word: cwltool sorts arguments and input bindings of equal position together, which would put
    // the list inputs' `--input` words between `--outputs` and its value.
    args.push("--outputs=outputs");
  } else {
    baseCommand = [docker ? "python3" : (ctx.options.python ?? "python3"), "-m", "naaw_runtime", "run"];
    const componentDir = docker ? `${IMAGE_APP_DIR}/component` : path.posix.join(ctx.options.contextsDir ?? "", component.name);
    args.push("--component", componentDir, "--outputs", "outputs");
    if (component.inputs.length > 0) args.push("--inputs", "inputs");
    reqs.EnvVarRequirement = {
      envDef: { PYTHONDONTWRITEBYTECODE: "1", PYTHONPATH: docker ? IMAGE_APP_DIR : (ctx.options.pythonPath ?? PYTHON_PACKAGES_DIR) },
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

/** The image a tool pulls: `<registry>/<component>:<content hash>`, built-ins `naaw-builtins:<version>`. */
export function image(ctx: CwlContext, component: ComponentInterface): string {
  const registry = ctx.options.registry?.replace(/\/+$/, "");
  const prefix = registry ? `${registry}/` : "";
  if (component.builtin) return `${prefix}${BUILTINS_IMAGE}:${ctx.options.builtinsVersion ?? NAAW_VERSION}`;
  if (!component.entry) {
    ctx.problem(`component '${component.uses}' has no catalog entry, so no image hash`);
    return `${prefix}${component.name}:latest`;
  }
  return `${prefix}${component.name}:${component.entry.hash}`;
}
