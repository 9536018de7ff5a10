import { GraphStep } from "../../validate";
import { ArgoContext } from "../context";
import { ArgoArtifact, ArgoContainerNode, ArgoTask, ArgoTemplate } from "../model";
import { COMPONENT_DIR, CONTAINER_SECURITY, ITEM_PARAM, TMP } from "../layout";
import { paramBinding } from "../params";
import { containerCommon, retryStrategyOf } from "../templates";
import { CHAIN_WINDOW, EXPORTS_DIR, PIECES_DIR, WORK_DIR, piecesKey, templateNames } from "./layout";
import { SplitPattern } from "./pattern";

/*
 * One pod per bucket of tiles: a containerSet whose containers are a `join` of each tile's pieces
 * (the built-ins image) and the foreach's notebook components, each in its own image. They all
 * start at once and run the chain tile by tile, each waiting on the shared volume for its upstream
 * steps' results (docs/pod-chain.md), so intermediates never go through S3 and only a few tiles'
 * are on the volume at a time. What a step after the foreach reads (export's rasters) leaves the
 * pod as one folder per bucket, under the same prefix a per-tile rendering would use:
 * `<workflow>/<step>/<output>/<bucket>/<tile>.<ext>`, which builtin/merge reads as one fan-in.
 * Argo collects a containerSet's artifacts through its container named `main`, from the shared
 * volume: the last step's container is named so.
 */

/** The join's name in the chain: the first container, whose `tile` output the steps' `${{ item }}` reads. */
export const JOIN_STEP = "join";

/** The outputs of chain steps that steps outside the foreach read (their fan-in). */
function exportedOutputs(ctx: ArgoContext, pattern: SplitPattern): Map<string, Set<string>> {
  const inChain = new Set(pattern.chain.map((s) => s.id));
  const exported = new Map<string, Set<string>>();
  for (const step of ctx.graph.steps) {
    if (step.foreach === pattern.group.id) continue;
    for (const b of step.bindings) {
      if (b.binding.kind !== "reference" || b.binding.reference.kind !== "step" || !inChain.has(b.binding.reference.step)) continue;
      if (b.slot === "param") {
        ctx.problem(b.binding.at, `step '${step.id}': param '${b.name}' reads ${b.binding.text} across the batched foreach '${pattern.group.id}'; only inputs (files) leave its pods: bind it to an input of a built-in such as builtin/merge`);
        continue;
      }
      const outputs = exported.get(b.binding.reference.step) ?? new Set<string>();
      outputs.add(b.binding.reference.output);
      exported.set(b.binding.reference.step, outputs);
    }
  }
  return exported;
}

/** The chain runner's arguments for one step's bindings: inputs and params from the chain, constants from the workflow. */
function bindingArgs(ctx: ArgoContext, step: GraphStep, pattern: SplitPattern): string[] {
  const inChain = new Set(pattern.chain.map((s) => s.id));
  const args: string[] = [];
  for (const b of step.bindings) {
    const binding = b.binding;
    const what = `step '${step.id}' (${step.component.uses}): ${b.slot} '${b.name}'`;
    if (binding.kind === "reference" && binding.reference.kind === "item") {
      if (b.slot !== "param") ctx.problem(binding.at, `${what} is bound to \${{ item }}, a tile file: bind it to a str param (the tile's path)`);
      else args.push("--param-from", `${b.name}=${JOIN_STEP}/tile`);
      continue;
    }
    if (binding.kind === "reference" && binding.reference.kind === "step") {
      const r = binding.reference;
      if (!inChain.has(r.step)) {
        ctx.problem(binding.at, `${what} reads ${binding.text}, an output of a step outside foreach '${pattern.group.id}'; the batched rendering passes only workflow params and the foreach's own outputs into its pods`);
        continue;
      }
      args.push(b.slot === "param" ? "--param-from" : "--input", `${b.name}=${r.step}/${r.output}`);
      continue;
    }
    if (b.slot === "input") {
      ctx.problem(binding.at, `${what} is bound to ${binding.kind === "literal" ? "a literal" : "text"}; in the batched rendering a component's input comes from a step of the foreach: make it a param`);
      continue;
    }
    const value = paramBinding(ctx, step, b, undefined);
    if (value !== undefined) args.push("--param", `${b.name}=${value}`);
  }
  return args;
}

export function chainTask(pattern: SplitPattern): ArgoTask {
  const names = templateNames(pattern.split.id, pattern.group.id);
  const inner = new Set([...pattern.group.steps, pattern.group.id, pattern.split.id]);
  const dependencies = new Set([names.buckets, ...pattern.group.dependencies.filter((d) => !inner.has(d))]);
  for (const step of pattern.chain) for (const d of step.dependencies) if (!inner.has(d)) dependencies.add(d);
  return {
    name: pattern.group.id,
    template: names.chain,
    dependencies: [...dependencies].sort(),
    withParam: `{{tasks.${names.buckets}.outputs.parameters.buckets}}`,
    arguments: {
      parameters: [
        { name: "crs", value: `{{=jsonpath(tasks['${names.buckets}'].outputs.parameters['crs'], '$')}}` },
        { name: ITEM_PARAM, value: "{{item}}" },
      ],
    },
  };
}

export function chainTemplate(ctx: ArgoContext, pattern: SplitPattern): ArgoTemplate {
  if (pattern.chain.some((s) => s.id === JOIN_STEP)) {
    const clash = pattern.chain.find((s) => s.id === JOIN_STEP)!;
    ctx.problem(clash.spec.at, `step id '${JOIN_STEP}' inside foreach '${pattern.group.id}' is the name of the batched pod's own join of the tiles' pieces: rename the step`);
  }
  const ids = [JOIN_STEP, ...pattern.chain.map((s) => s.id)].join(",");
  const common = ["--work", WORK_DIR, "--items-from", PIECES_DIR, "--chain", ids, "--window", String(CHAIN_WINDOW)];
  const exported = exportedOutputs(ctx, pattern);
  const outputs: ArgoArtifact[] = [];
  const sink = pattern.chain[pattern.chain.length - 1]!;
  const containers: ArgoContainerNode[] = [
    {
      name: JOIN_STEP,
      image: ctx.builtinsImage,
      command: ["naaw", "builtin-chain", "join"],
      args: [...common, "--param", "crs={{inputs.parameters.crs}}"],
      // Streams pieces into one file: little CPU and memory, whatever the tile.
      resources: { requests: { cpu: "250m", memory: "256Mi" }, limits: { memory: "512Mi" } },
      securityContext: { ...CONTAINER_SECURITY },
    },
  ];
  for (const step of pattern.chain) {
    const exports: string[] = [];
    for (const output of [...(exported.get(step.id) ?? [])].sort()) {
      const type = step.component.outputs.find((o) => o.name === output)?.type;
      if (!type || type === "any") continue; // reported by checkValueTypes
      const dir = `${EXPORTS_DIR}/${step.id}/${output}`;
      exports.push("--export", `${output}=${dir}`);
      outputs.push({ name: `${step.id}-${output}`, path: dir, archive: { none: {} }, s3: { key: `{{workflow.name}}/${step.id}/${output}/{{inputs.parameters.${ITEM_PARAM}}}` } });
    }
    const { resources } = containerCommon(step);
    containers.push({
      name: step === sink ? "main" : step.id,
      // The catalog's content hash: the image holds exactly this component's build context.
      image: ctx.images[step.component.name] ?? `${ctx.registry}/${step.component.name}:${step.component.entry!.hash}`,
      command: ["python3", "-m", "naaw_runtime"],
      args: ["chain", "--component", COMPONENT_DIR, "--step", step.id, ...common, ...bindingArgs(ctx, step, pattern), ...exports],
      ...(resources ? { resources } : {}),
      securityContext: { ...CONTAINER_SECURITY },
    });
  }
  const retried = pattern.chain.find((s) => s.spec.retry);
  const retryStrategy = retried ? retryStrategyOf(retried) : undefined;
  return {
    name: templateNames(pattern.split.id, pattern.group.id).chain,
    inputs: {
      parameters: [{ name: "crs", default: "" }, { name: ITEM_PARAM, description: "one bucket of tiles (its pieces are under the split's pieces prefix)" }],
      artifacts: [{ name: "pieces", path: PIECES_DIR, s3: { key: `${piecesKey(pattern.split.id)}/{{inputs.parameters.${ITEM_PARAM}}}` } }],
    },
    ...(outputs.length > 0 ? { outputs: { artifacts: outputs } } : {}),
    containerSet: { containers, volumeMounts: [{ name: "tmp", mountPath: TMP }] },
    ...(retryStrategy ? { retryStrategy } : {}),
  };
}
