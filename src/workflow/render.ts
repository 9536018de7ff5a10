import * as path from "path";
import { BatchingOptions, renderArgoYaml } from "./argo";
import { renderCwlYaml } from "./cwl";
import { renderMermaidMarkdown } from "./mermaid";
import { DEFAULT_REGISTRY, RENDER_TARGETS, RenderTarget } from "./renderTargets";
import { WorkflowGraph } from "./validate";

export { DEFAULT_REGISTRY, RENDER_TARGETS, type RenderTarget } from "./renderTargets";

export interface RenderOptions {
  /** Image prefix: `<registry>/<component>:<hash>`. @default "naaw" */
  readonly registry?: string;
  /** Argo: a WorkflowTemplate instead of a Workflow. */
  readonly template?: boolean;
  /**
   * Argo: the batched rendering's sizes (docs/argo-scale.md), or false for one pod per step per
   * tile. @default {} (batched: 10 inputs a split pod, 16 tile batches)
   */
  readonly batching?: BatchingOptions | false;
  /** CWL: run components through the local runtime instead of Docker (absolute paths below). */
  readonly noDocker?: { readonly contextsDir: string; readonly pythonPath: string; readonly python: string; readonly naawCommand: readonly string[] };
}

export interface Rendering {
  readonly text: string;
  /** What the target cannot express; the text must not be used when this is not empty. */
  readonly problems: readonly string[];
}

/** One engine's rendering of the typed DAG; pure, so the same graph always gives the same bytes. */
export function renderWorkflow(graph: WorkflowGraph, target: RenderTarget, options: RenderOptions = {}): Rendering {
  const registry = options.registry ?? DEFAULT_REGISTRY;
  switch (target) {
    case "argo":
      return renderArgoYaml(graph, { registry, template: options.template, ...(options.batching === false ? {} : { batching: options.batching ?? {} }) });
    case "cwl":
      return renderCwlYaml(graph, {
        registry,
        ...(options.noDocker ? { noDocker: true, ...options.noDocker } : {}),
      });
    case "mermaid":
      return { text: renderMermaidMarkdown(graph), problems: [] };
  }
}

const EXTENSIONS: Readonly<Record<RenderTarget, string>> = { argo: ".argo.yaml", cwl: ".cwl", mermaid: ".md" };

/** The file name of a rendering: `<workflow file's stem><ext>`, `lidar.argo.yaml`, as in workflows/rendered/. */
export function renderingFileName(workflowFile: string, target: RenderTarget): string {
  return path.basename(workflowFile).replace(/\.ya?ml$/, "") + EXTENSIONS[target];
}

/** The renderings of a workflow committed under `workflows/rendered/`, by file name. */
export function committedRenderings(graph: WorkflowGraph): Map<string, Rendering> {
  return new Map<string, Rendering>(RENDER_TARGETS.map((target) => [renderingFileName(graph.spec.file, target), renderWorkflow(graph, target)]));
}
