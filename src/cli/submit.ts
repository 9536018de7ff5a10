import { Command, InvalidArgumentError } from "commander";
import { DEFAULT_REGISTRY } from "../workflow/renderTargets";
import { runAction } from "./output";
import type { SubmitCliOptions } from "./submitRun";

// `naaw submit`'s options; what it does is ./submitRun.ts, loaded when it runs.

function seconds(flag: string, max?: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0 || (max !== undefined && n > max)) {
      throw new InvalidArgumentError(`${flag} takes a number of seconds above 0${max !== undefined ? ` and at most ${max}` : ""}, got '${value}'`);
    }
    return n;
  };
}

function wholeNumber(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${flag} takes a whole number of at least 1, got '${value}'`);
    return n;
  };
}

export function submitCommand(): Command {
  return new Command("submit")
    .description("render a workflow for Argo, submit it to an existing cluster and watch it to its end")
    .argument("<workflow>", "the workflow YAML file")
    .option("--kubeconfig <file>", "the cluster's kubeconfig (default: KUBECONFIG, else ~/.kube/config)")
    .option("--context <name>", "the kubeconfig context (default: its current context)")
    .option("-n, --namespace <ns>", "where the Workflow runs (default: the context's namespace, else default)")
    .option("--stack <name>", "take the kubeconfig from this Pulumi stack's `kubeconfig` output (needs the pulumi CLI)")
    .option("--set <name=value>", "a workflow param (repeatable); values other than str are read as YAML: 10, 2.5, [1, 3]", (v: string, all: string[]) => [...all, v], [])
    .option("--registry <prefix>", "image prefix of the components (as `naaw render` and `naaw build` use it)", DEFAULT_REGISTRY)
    .option("--service-account <name>", "the service account the workflow's pods run as (default: the namespace's default)")
    .option("--no-wait", "return once the Workflow is created")
    .option("--per-tile", "one pod per step per tile instead of the batched rendering (docs/argo-scale.md)")
    .option("--tile-batches <n>", "tile batches, one pod each: as many as the cluster runs pods at once", wholeNumber("--tile-batches"), 16)
    .option("--rerun", "start a new run even when the same workflow and params already ran (or run) there")
    .option("--poll-interval <seconds>", "time between two looks at the Workflow", seconds("--poll-interval", 60), 5)
    .option("--api-timeout <seconds>", "how long the Kubernetes API may be unreachable before giving up (the run goes on)", seconds("--api-timeout"), 300)
    .option("--notebooks <dir>", "where `uses: <notebook>/<component>` finds <notebook>.ipynb (default: notebooks/ beside workflows/)")
    .addHelpText(
      "after",
      "\nExit codes: 0 succeeded (or submitted, with --no-wait), 1 the run failed, 2 bad input, 3 the cluster could not be reached or refused (the run's end is unknown), 130 interrupted.\n" +
        "\nExamples:\n  npx naaw submit workflows/lidar.yaml --kubeconfig kubeconfig.yaml --namespace argo --registry 123456789012.dkr.ecr.eu-west-1.amazonaws.com/naaw\n" +
        "  npx naaw submit workflows/lidar.yaml --stack aws-lidar --set tile_size=250 --no-wait",
    )
    .action((workflow: string, options: SubmitCliOptions) => runAction(async () => (await import("./submitRun")).submit(workflow, options)));
}
