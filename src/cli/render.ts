import { Command, InvalidArgumentError, Option } from "commander";
import * as fs from "fs";
import * as path from "path";
import type { RenderOptions } from "../workflow/render";
import { DEFAULT_REGISTRY, RENDER_TARGETS, RenderTarget } from "../workflow/renderTargets";
import type { WorkflowGraph } from "../workflow/validate";
import { runAction, UsageError } from "./output";
import { compileOrReport } from "./validate";

interface RenderCliOptions {
  readonly to: RenderTarget;
  readonly out?: string;
  readonly template?: boolean;
  readonly docker: boolean;
  readonly registry: string;
  readonly contexts: string;
  readonly notebooks?: string;
  readonly schedule?: string;
  readonly stack?: string;
  readonly perTile?: boolean;
  readonly tileBatches?: number;
  readonly inputsPerSplit?: number;
}

function wholeNumber(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${flag} takes a whole number of at least 1, got '${value}'`);
    return n;
  };
}

/** argo: the batched rendering's sizes from the flags, or false for --per-tile. */
function batchingOf(options: RenderCliOptions): RenderOptions["batching"] {
  if (options.perTile) {
    if (options.tileBatches !== undefined || options.inputsPerSplit !== undefined) throw new UsageError("--per-tile renders one pod per step per tile: it takes no --tile-batches or --inputs-per-split");
    return false;
  }
  return { ...(options.tileBatches !== undefined ? { tileBatches: options.tileBatches } : {}), ...(options.inputsPerSplit !== undefined ? { inputsPerSplit: options.inputsPerSplit } : {}) };
}

/** argo --schedule / --stack: the rendering placed by a scheduling policy (src/schedule/, which loads the TypeScript compiler). */
async function scheduledRendering(graph: WorkflowGraph, options: RenderCliOptions) {
  if (options.to !== "argo") throw new UsageError(`--schedule and --stack place Argo pods; they do not apply to --to ${options.to}`);
  const [{ renderScheduledArgoYaml }, { SchedulingPolicyError }, { PlanInputError }] = await Promise.all([
    import("../schedule/render"),
    import("../schedule/policy"),
    import("../plan/request"),
  ]);
  try {
    const batching = batchingOf(options);
    return renderScheduledArgoYaml(graph, {
      registry: options.registry,
      template: options.template,
      policy: options.schedule,
      stack: options.stack,
      ...(batching === false ? { perTile: true } : Object.keys(batching ?? {}).length > 0 ? { batching } : {}),
    });
  } catch (error) {
    if (error instanceof SchedulingPolicyError || error instanceof PlanInputError) throw new UsageError(error.message);
    throw error;
  }
}

/**
 * Writes via a temporary file and a rename, so a failed write leaves the previous file whole; the
 * temporary file is removed whatever happens.
 */
export function writeFileAtomic(file: string, text: string): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const temporary = `${file}.tmp-${process.pid}`;
  try {
    fs.writeFileSync(temporary, text);
    fs.renameSync(temporary, file);
  } finally {
    fs.rmSync(temporary, { force: true });
  }
}

/**
 * The file `--out` names: the path itself; inside it as `<workflow>.<ext>` when it is a directory
 * (or ends with `/`), as in workflows/rendered/. A path that cannot be written (under a regular
 * file, in a read-only directory) is a UsageError, found before anything is rendered or written.
 */
export async function renderOutFile(out: string, workflow: string, target: RenderTarget): Promise<string> {
  const [{ renderingFileName }, { unwritableDirectory }] = await Promise.all([import("../workflow/render"), import("../local/builtinSteps")]);
  const isDirectory = (p: string): boolean => {
    try {
      return fs.statSync(p).isDirectory();
    } catch {
      return false;
    }
  };
  const file = /[\\/]$/.test(out) || isDirectory(out) ? path.join(out, renderingFileName(workflow, target)) : out;
  if (isDirectory(file)) throw new UsageError(`--out ${out}: ${file} is a directory; give a file name, or another directory`);
  const problem = unwritableDirectory(path.dirname(path.resolve(file)));
  if (problem) throw new UsageError(`--out ${out}: ${problem}; give a file or directory that can be written`);
  return file;
}

/** `--no-docker` CWL runs components from local build contexts: write them for the steps used. */
async function localRuntime(graph: WorkflowGraph, contextsDir: string): Promise<NonNullable<RenderOptions["noDocker"]>> {
  const [{ writeBuildContext }, { PYTHON_PACKAGES_DIR, pythonExecutable }] = await Promise.all([import("../containerize/context"), import("../python/interpreter")]);
  const absolute = path.resolve(contextsDir);
  for (const step of graph.steps) {
    const entry = step.component.entry;
    if (entry) writeBuildContext(path.join(absolute, entry.spec.name), entry.context);
  }
  return {
    contextsDir: absolute,
    pythonPath: PYTHON_PACKAGES_DIR,
    python: pythonExecutable(),
    naawCommand: [process.execPath, path.resolve(__dirname, "..", "..", "bin", "naaw.js")],
  };
}

export function renderCommand(): Command {
  return new Command("render")
    .description("render a validated workflow for an engine: an Argo Workflow, a CWL workflow, or a Mermaid picture")
    .argument("<workflow>", "the workflow YAML file")
    .addOption(new Option("--to <target>", "what to render").choices(RENDER_TARGETS).makeOptionMandatory())
    .option("-o, --out <path>", "write to this file instead of stdout; a directory gets <workflow>.argo.yaml, .cwl or .md inside")
    .option("--template", "argo: a WorkflowTemplate instead of a Workflow")
    .option("--per-tile", "argo: one pod per step per tile, not the batched rendering `pulumi up` deploys (docs/argo-scale.md)")
    .option("--tile-batches <n>", "argo: tile batches, one pod each (default 16; with --stack, one per pod the plan runs at once)", wholeNumber("--tile-batches"))
    .option("--inputs-per-split <n>", "argo: input files one split pod reads (default 10)", wholeNumber("--inputs-per-split"))
    .option("--no-docker", "cwl: run components with the local runtime instead of their images")
    .option("--registry <prefix>", "image prefix of the components", DEFAULT_REGISTRY)
    .option("--contexts <dir>", "cwl --no-docker: where the components' build contexts are written", path.join(".naaw", "contexts"))
    .option("--notebooks <dir>", "where `uses: <notebook>/<component>` finds <notebook>.ipynb (default: notebooks/ beside workflows/)")
    .option("--schedule <policy>", "argo: place the pods with a scheduling policy: default, budget, spot, or a TypeScript module's path (docs/scheduling.md)")
    .option("--stack <name>", "argo: schedule for stacks/Pulumi.<name>.yaml: its plan and its cluster's node selector and tolerations (implies --schedule default)")
    .addHelpText(
      "after",
      "\nExamples:\n  npx naaw render workflows/lidar.yaml --to argo --out lidar.argo.yaml && argo submit lidar.argo.yaml\n" +
        "  npx naaw render workflows/lidar.yaml --to cwl --no-docker --out lidar.cwl && cwltool --no-container lidar.cwl\n" +
        "  npx naaw render workflows/lidar.yaml --to argo --schedule budget --stack aws-lidar\n" +
        "  npx naaw render workflows/lidar.yaml --to mermaid",
    )
    .action((workflow: string, options: RenderCliOptions) =>
      runAction(async () => {
        const { graph } = await compileOrReport(workflow, options.notebooks);
        if (!graph) return;
        // Before anything is rendered or written (--no-docker writes build contexts).
        const outFile = options.out !== undefined ? await renderOutFile(options.out, workflow, options.to) : undefined;
        const scheduled = options.schedule !== undefined || options.stack !== undefined;
        const { renderWorkflow } = await import("../workflow/render");
        const rendering = scheduled ? await scheduledRendering(graph, options) : renderWorkflow(graph, options.to, {
          registry: options.registry,
          template: options.template,
          ...(options.to === "argo" ? { batching: batchingOf(options) } : {}),
          ...(options.to === "cwl" && !options.docker ? { noDocker: await localRuntime(graph, options.contexts) } : {}),
        });
        if (rendering.problems.length > 0) {
          throw new UsageError(`cannot render ${workflow} for ${options.to}:\n${rendering.problems.join("\n")}`);
        }
        if (outFile === undefined) process.stdout.write(rendering.text);
        else {
          try {
            writeFileAtomic(outFile, rendering.text);
          } catch (error) {
            const code = (error as NodeJS.ErrnoException).code;
            if (!code) throw error;
            throw new UsageError(`--out ${options.out}: cannot write ${outFile} (${code}); give a file or directory that can be written`);
          }
        }
      }),
    );
}
