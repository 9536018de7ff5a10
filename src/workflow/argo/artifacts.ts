import { valueFileExtension } from "../types";
import { GraphForeach, GraphStep, ResolvedBinding } from "../validate";
import { valueJson } from "../emitter";
import { ArgoContext } from "./context";
import { ArgoArtifact } from "./model";
import { FILES_DIR, ITEM_PARAM, isDirectoryInput, itemFileArtifact } from "./layout";

/*
 * Values between steps are files (docs/components.md): an input arrives as an input artifact at
 * /tmp/naaw/inputs/NAME.npy (ndarray) or NAME.json (other types); an output leaves from
 * /tmp/naaw/outputs/NAME.ext as a key-only S3 artifact (the cluster's default artifact repository
 * gives bucket and credentials, so nothing secret is in the manifest), uncompressed (`archive:
 * none`) at `<workflow>/<step>/<output>/<pod>.ext`. A task inside the same DAG reads it with
 * `from: {{tasks.S.outputs.artifacts.O}}`; a step after a foreach that reads an inner step's output
 * gets the list over all items (fan-in): the whole prefix `<workflow>/<step>/<output>` as a
 * directory `/tmp/naaw/inputs/NAME/` (one file per item, named after the item's pod, so two outputs
 * of one item sort to the same position).
 */

/** A param bound to `${{ item }}` of a foreach over a built-in's file list: the item's files. */
export function fileItem(
  ctx: ArgoContext,
  step: GraphStep,
  binding: ResolvedBinding,
  group: GraphForeach | undefined,
): { path: string; artifacts: ArgoArtifact[] } | undefined {
  if (!group || binding.binding.kind !== "reference" || binding.binding.reference.kind !== "item" || group.over.kind !== "step") return undefined;
  const producer = ctx.steps.get(group.over.step);
  if (!producer || producer.foreach !== undefined) return undefined;
  const extensions = producer.component.files?.fileLists?.[group.over.output];
  if (!extensions) return undefined;
  const params = ctx.fileParams.get(step.id) ?? new Map<string, readonly string[]>();
  params.set(binding.name, extensions);
  ctx.fileParams.set(step.id, params);
  const prefix = `{{workflow.name}}/${producer.id}/${group.over.output}-files/{{inputs.parameters.${ITEM_PARAM}}}`;
  return {
    path: `${FILES_DIR}/${binding.name}/${binding.name}${extensions[0]}`,
    artifacts: extensions.map((ext) => ({ name: itemFileArtifact(binding.name, ext), s3: { key: `${prefix}${ext}` } })),
  };
}

/** The input artifact a task passes for an input of its component, or undefined (reported). */
export function inputBinding(ctx: ArgoContext, step: GraphStep, binding: ResolvedBinding, group: GraphForeach | undefined): ArgoArtifact | undefined {
  const b = binding.binding;
  const declared = step.component.inputs.find((i) => i.name === binding.name)?.type ?? binding.type;
  const what = `step '${step.id}' (${step.component.uses}): input '${binding.name}'`;
  if (declared === "any") return undefined; // reported by checkValueTypes
  const fanIn = b.kind === "reference" && b.reference.kind === "step" && group === undefined && ctx.steps.get(b.reference.step)?.foreach !== undefined;
  if (isDirectoryInput(declared) && !fanIn) {
    ctx.problem(b.at, `${what} is ${declared}, which a built-in reads as one file per item of a foreach; on Argo bind it to an output of a step inside a foreach`);
    return undefined;
  }
  if (fanIn && !isDirectoryInput(declared)) {
    ctx.problem(
      b.at,
      `${what} reads ${b.text}, the list over a foreach's items, but the component runtime reads ` +
        `one file per input (${binding.name}.${valueFileExtension(declared)}); on Argo only built-ins (like builtin/merge) take a fan-in`,
    );
    return undefined;
  }
  const raw = (data: string): ArgoArtifact => ({ name: binding.name, raw: { data } });
  switch (b.kind) {
    case "invalid": // reported by the validator, which then gives no graph
      return undefined;
    case "literal":
      return raw(valueJson(b.value));
    case "template":
      ctx.problem(b.at, `${what} is bound to the text '${b.text}'; on Argo an input can be a literal or a single reference: bind the text to a param instead`);
      return undefined;
    case "reference": {
      const r = b.reference;
      if (r.kind === "param") return raw(binding.type === "str" ? `{{=toJson(workflow.parameters['${r.name}'])}}` : `{{workflow.parameters.${r.name}}}`);
      if (r.kind === "item") return raw(binding.type === "str" ? `{{=toJson(inputs.parameters['${ITEM_PARAM}'])}}` : `{{inputs.parameters.${ITEM_PARAM}}}`);
      const producer = ctx.steps.get(r.step)!;
      if (producer.component.outputs.find((o) => o.name === r.output)?.type === "any") return undefined; // reported
      if (producer.foreach === group?.id) return { name: binding.name, from: `{{tasks.${producer.id}.outputs.artifacts.${r.output}}}` };
      if (producer.foreach === undefined && group) {
        const name = `${producer.id}-${r.output}`;
        ctx.record(ctx.groupArtifacts, group.id, name, `{{tasks.${producer.id}.outputs.artifacts.${r.output}}}`);
        return { name: binding.name, from: `{{inputs.artifacts.${name}}}` };
      }
      // Fan-in: every item's file under the producer's prefix, as one directory.
      return { name: binding.name, s3: { key: `{{workflow.name}}/${producer.id}/${r.output}` } };
    }
  }
}
