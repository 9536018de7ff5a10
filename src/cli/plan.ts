import { Command } from "commander";
import * as fs from "fs";
import type { PlanSettings } from "../plan/settings";
import type { WorkflowGraph } from "../workflow/validate";
import { runAction, UsageError } from "./output";
import { compileOrReport } from "./validate";

export const DEFAULT_WORKFLOW = "workflows/lidar.yaml";

interface PlanCommandOptions {
  readonly stack?: string;
  readonly data?: string;
  readonly budget?: string;
  readonly deadline?: string;
  readonly objective?: string;
  readonly cloud?: string;
  readonly region?: string;
  readonly spot?: boolean;
  readonly inputLocation?: string;
  readonly instanceTypes?: string;
  readonly arch?: string;
  readonly tileSize?: string;
  readonly maxNodes?: string;
  readonly density?: string;
  readonly json?: boolean;
  readonly calibrate?: string | boolean;
  readonly notebooks?: string;
  readonly rows?: string;
}

/** The flags as settings: each value checked here, so a bad one is one line and exit 2. */
async function flagSettings(o: PlanCommandOptions): Promise<PlanSettings> {
  const [{ PlanInputError }, { positive }] = await Promise.all([import("../plan/request"), import("../plan/settings")]);
  const choice = <T extends string>(value: string | undefined, allowed: readonly T[], flag: string): T | undefined => {
    if (value === undefined) return undefined;
    if (!(allowed as readonly string[]).includes(value)) throw new PlanInputError(`${flag} must be ${allowed.join(" or ")}, got '${value}'`);
    return value as T;
  };
  const number = (value: string | undefined, flag: string) => (value === undefined ? undefined : positive(value, flag));
  return {
    data: o.data,
    budget: number(o.budget, "--budget"),
    deadlineHours: number(o.deadline, "--deadline"),
    objective: choice(o.objective, ["time", "cost"], "--objective"),
    cloud: choice(o.cloud, ["aws", "openstack"], "--cloud"),
    region: o.region,
    spot: o.spot,
    inputLocation: choice(o.inputLocation, ["s3", "internet"], "--input-location"),
    instanceTypes: o.instanceTypes?.split(",").map((s) => s.trim()).filter(Boolean),
    architectures: o.arch?.split(",").map((s) => choice(s.trim(), ["x86_64", "arm64"], "--arch")!),
    tileSizes: o.tileSize?.split(",").map((s) => positive(s.trim(), "--tile-size")),
    maxNodes: number(o.maxNodes, "--max-nodes"),
    pointDensity: number(o.density, "--density"),
  };
}

async function runCalibration(workflow: string, graph: WorkflowGraph, sample: string | undefined, tileSizes: readonly number[] | undefined): Promise<void> {
  const [{ PlanInputError }, { paramDefault }, { calibrate }, { calibrationPath }] = await Promise.all([
    import("../plan/request"),
    import("../plan/planWorkflow"),
    import("../plan/calibrate"),
    import("../plan/calibration"),
  ]);
  if (tileSizes && tileSizes.length > 1) throw new PlanInputError("--calibrate measures one tile size: give --tile-size one value");
  const input = sample ?? String(paramDefault(graph, "input") ?? "");
  if (!input || !fs.existsSync(input.replace(/[*?].*$/, "") || ".")) {
    throw new UsageError(`${input || "(no sample)"}: no such sample; \`npm run demo:data\` makes the demo data in data/lidar, or name LAS/LAZ files: npx naaw plan --calibrate PATH`, 2);
  }
  const tileSize = tileSizes?.[0];
  const command = `npx naaw plan ${workflow} --calibrate ${input}${tileSize !== undefined ? ` --tile-size ${tileSize}` : ""}`;
  process.stderr.write(`calibrating ${workflow} on ${input}: one worker, no cache (this runs every step once)\n`);
  const calibration = await calibrate({ workflow, graph, sample: input, command, tileSize });
  const file = calibrationPath(workflow);
  fs.writeFileSync(file, JSON.stringify(calibration, null, 2) + "\n");
  const rows = calibration.steps.map((s) => `  ${s.step.padEnd(10)} ${s.phase.padEnd(5)} ${s.cpuSecondsPerMillionPoints.toFixed(3).padStart(8)} CPU s/M points  ${s.peakMemoryMiB.toFixed(0).padStart(5)} MiB peak`);
  process.stdout.write(`${file}: ${calibration.sample.points} points, ${calibration.sample.tiles} tiles on ${calibration.machine.cpuModel}\n${rows.join("\n")}\n`);
}

export function planCommand(): Command {
  return new Command("plan")
    .description("price a cluster for the data, the budget and the deadline before anything exists (or --calibrate: measure the workflow here)")
    .argument("[workflow]", `the workflow YAML file (default: the stack's naaw:workflow, else ${DEFAULT_WORKFLOW})`)
    .option("--stack <name>", "read the naaw: plan keys of stacks/Pulumi.<name>.yaml (flags override them)")
    .option("--data <size|path>", "the data: a size (16TB, 1.4TiB), a point count (700e9points), or LAS/LAZ files (a path or glob; headers only are read)")
    .option("--budget <usd>", "the most the run may cost (USD on AWS; the stack's currency on OpenStack)")
    .option("--deadline <hours>", "the latest the results may be ready, in hours from `pulumi up`")
    .option("--objective <time|cost>", "time: the fastest within budget and deadline (default); cost: the cheapest within the deadline")
    .option("--cloud <aws|openstack>", "where the cluster runs (default aws; openstack takes its flavors from the stack)")
    .option("--region <region>", "the AWS region (default eu-west-1)")
    .option("--spot", "spot capacity may be used (default)")
    .option("--no-spot", "on-demand capacity only")
    .option("--input-location <s3|internet>", "where the input lives: S3 in the same region (default) or the internet (through the NAT gateway)")
    .option("--instance-types <list>", "only these instance types or flavors, comma-separated")
    .option("--arch <list>", "CPU architectures the images are built for, comma-separated: x86_64 (default), arm64")
    .option("--tile-size <metres>", "tile edges to try, comma-separated (default 250,500,1000,2000 and the workflow's)")
    .option("--max-nodes <n>", "the most workflow nodes (default 256)")
    .option("--density <points/m2>", "points per square metre of a volume given as a size (default 10, AHN3's)")
    .option("--rows <n>", "candidate rows to show (default 12)")
    .option("--json", "the plan as JSON on stdout")
    .option("--calibrate [sample]", "run the workflow here on a sample (default: the workflow's input, the demo data) and write <workflow>.calibration.json")
    .option("--notebooks <dir>", "where `uses: <notebook>/<component>` finds <notebook>.ipynb (default: notebooks/ beside workflows/)")
    .addHelpText(
      "after",
      "\nExamples:\n  npx naaw plan --calibrate\n  npx naaw plan --data data/lidar --budget 5\n  npx naaw plan --stack aws-lidar\n  npx naaw plan --data 700e9points --deadline 24 --objective cost --json\n  npx naaw plan --stack aws-lidar --cloud openstack",
    )
    .action((workflowArg: string | undefined, options: PlanCommandOptions) =>
      runAction(async () => {
        const [{ LidarInputError }, { ParamValueError }, { StepFailure }, { CalibrationError }, { formatPlan }, { planJson }, { planWorkflow }, { PriceCatalogError }, { PlanInputError }, { mergeSettings, positive, readStackSettings }, { DataVolumeError }] =
          await Promise.all([
            import("../lidar/errors"),
            import("../local/params"),
            import("../local/runner"),
            import("../plan/calibration"),
            import("../plan/format"),
            import("../plan/plan"),
            import("../plan/planWorkflow"),
            import("../plan/prices/catalog"),
            import("../plan/request"),
            import("../plan/settings"),
            import("../plan/volume"),
          ]);
        try {
          const flags = await flagSettings(options);
          const stack = options.stack ? readStackSettings(options.stack) : {};
          const settings = mergeSettings(stack, flags);
          const workflow = workflowArg ?? settings.workflow ?? DEFAULT_WORKFLOW;
          const { graph } = await compileOrReport(workflow, options.notebooks);
          if (!graph) return;
          if (options.calibrate !== undefined) {
            await runCalibration(workflow, graph, typeof options.calibrate === "string" ? options.calibrate : undefined, flags.tileSizes);
            return;
          }
          const { plan, calibrationFile } = planWorkflow(workflow, graph, settings);
          const stale = plan.staleComponents;
          if (options.json) process.stdout.write(JSON.stringify(planJson(plan), null, 2) + "\n");
          else process.stdout.write(formatPlan(plan, { workflow, calibrationFile, rows: options.rows ? positive(options.rows, "--rows") : undefined }));
          if (!plan.feasible) throw new UsageError(plan.reason!, 1);
          // After the plan, so that an error stays one line; the plan's notes (and JSON) say it too.
          if (stale.length > 0) process.stderr.write(`naaw: warning: ${calibrationFile} is stale: ${stale.join(", ")} changed since it was measured; run \`npx naaw plan --calibrate\`\n`);
        } catch (error) {
          if (error instanceof PlanInputError || error instanceof DataVolumeError || error instanceof LidarInputError) throw new UsageError(error.message, 2);
          if (error instanceof CalibrationError || error instanceof PriceCatalogError) throw new UsageError(error.message, 1);
          if (error instanceof StepFailure) throw new UsageError(`calibration run failed: ${error.message}`, error.badInput ? 2 : 1);
          if (error instanceof ParamValueError) throw new UsageError(error.message, 2);
          throw error;
        }
      }),
    );
}
