import { Command, InvalidArgumentError } from "commander";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DEFAULT_CACHE_DIR } from "../local/cache";
import type { RunParams } from "../local/params";
import type { RunResult } from "../local/runner";
import type { WorkflowRun } from "../local/runWorkflow";
import type { SignalStop } from "../local/signals";
import { runAction, UsageError } from "./output";
import { compileOrReport } from "./validate";

interface RunCommandOptions {
  readonly set: string[];
  readonly out?: string;
  readonly workers: number;
  readonly cache: boolean;
  readonly fuse: boolean;
  readonly cacheDir: string;
  readonly notebooks?: string;
}

function parseWorkers(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 256) throw new InvalidArgumentError("expected a whole number of workers from 1 to 256");
  return n;
}

async function summary(workflow: string, result: RunResult, workers: number, rasters: readonly { path: string }[], report: string): Promise<string> {
  const { formatCount, formatSeconds } = await import("../local/progress");
  const ran = result.timings.filter((t) => !t.cached).length;
  const cached = result.timings.length - ran;
  const computed = result.pointsComputed;
  const rate = computed > 0 && result.seconds > 0 ? `, ${formatCount(computed / result.seconds)} points/s` : "";
  const reused = computed < result.points ? ` (${formatCount(result.points - computed)} from the cache)` : "";
  const lines = [
    `${workflow}: done in ${formatSeconds(result.seconds)} with ${workers} worker${workers === 1 ? "" : "s"}: ${result.items} tile${result.items === 1 ? "" : "s"}, ${formatCount(result.points)} points${reused}${rate}`,
    `steps: ${ran} run, ${cached} from the cache; ${result.servicesStarted} component service${result.servicesStarted === 1 ? "" : "s"} started and stopped`,
    ...rasters.map((r) => `  ${path.relative(process.cwd(), r.path) || r.path}`),
    `report: ${path.relative(process.cwd(), report) || report}`,
  ];
  return lines.join("\n") + "\n";
}

export function runCommand(): Command {
  return new Command("run")
    .description("run a workflow on this machine: components as local services, foreach items in parallel, results cached")
    .argument("<workflow>", "the workflow YAML file")
    .option("--set <name=value>", "a workflow param (repeatable); values other than str are read as YAML: 10, 2.5, [1, 3]", (v: string, all: string[]) => [...all, v], [])
    .option("--out <dir>", "the run's output directory (the workflow's `out` param when it has one; default: its default)")
    .option("-w, --workers <n>", "steps in flight at once", parseWorkers, os.availableParallelism())
    .option("--no-cache", "run every step again (and keep nothing for later runs)")
    .option("--no-fuse", "run each step of a foreach item as its own request to a service of its component (default: an item's notebook steps run in one request to one service of their components)")
    .option("--cache-dir <dir>", "where finished steps are kept between runs", DEFAULT_CACHE_DIR)
    .option("--notebooks <dir>", "where `uses: <notebook>/<component>` finds <notebook>.ipynb (default: notebooks/ beside workflows/)")
    .addHelpText("after", "\nExamples:\n  npx naaw run workflows/lidar.yaml\n  npx naaw run workflows/lidar.yaml --set input=data/lidar/*.laz --set tile_size=250 --out out/ahn --workers 2")
    .action((workflow: string, options: RunCommandOptions) =>
      runAction(async () => {
        const [{ resolveRunParams, RunParamsError }, { RunProgress }, { StepFailure }, { runWorkflow }, { stopOnSignals }] = await Promise.all([
          import("../local/params"),
          import("../local/progress"),
          import("../local/runner"),
          import("../local/runWorkflow"),
          import("../local/signals"),
        ]);
        const { graph } = await compileOrReport(workflow, options.notebooks);
        if (!graph) return;
        // Every check of the params, before anything is run or written (exit 2: the input is wrong).
        let checked: RunParams;
        try {
          checked = resolveRunParams(graph, options.set, options.out, workflow);
        } catch (error) {
          if (!(error instanceof RunParamsError)) throw error;
          process.stderr.write(error.lines.join("\n") + "\n");
          process.exitCode = 2;
          return;
        }
        const { params, outDir } = checked;
        const progress = new RunProgress();
        let stops: SignalStop | undefined;
        let run: WorkflowRun;
        try {
          run = await runWorkflow({
            graph,
            workflow,
            params,
            outDir,
            workers: options.workers,
            cacheDir: options.cacheDir,
            useCache: options.cache,
            fuseItems: options.fuse,
            events: progress,
            onStart: (runner, cacheDir) => {
              stops = stopOnSignals(
                () => {
                  progress.stopBar();
                  runner.abort();
                },
                (signal) => {
                  if (!options.cache) fs.rmSync(cacheDir, { recursive: true, force: true });
                  process.stderr.write(`naaw: stopped by ${signal}; finished steps are kept in ${options.cache ? cacheDir : "nothing (--no-cache)"}: run again to resume\n`);
                },
              );
            },
          });
          if (stops?.signal) stops.exit();
        } catch (error) {
          progress.stopBar();
          if (stops?.signal) stops.exit();
          if (error instanceof StepFailure) {
            const kept = options.cache && !error.badInput ? "; finished steps are kept in the cache: run again to resume" : "";
            throw new UsageError(`${error.message}${kept}`, error.badInput ? 2 : 1);
          }
          throw error;
        } finally {
          progress.stopBar();
          stops?.dispose();
        }
        const { result, rasters, report } = run;
        process.stdout.write(await summary(workflow, result, options.workers, rasters, report));
      }),
    );
}
