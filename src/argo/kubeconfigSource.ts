import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { KubeConfig } from "@kubernetes/client-node";
import { RunRequestError } from "./errors";
import { clientNode } from "./kubeClient";

/*
 * Where `naaw submit` gets its kubeconfig: a file (--kubeconfig), the usual places (KUBECONFIG,
 * ~/.kube/config), or a Pulumi stack's `kubeconfig` output (--stack, through the Pulumi CLI).
 * Each gives kubeconfig text for RunTarget, with relative certificate paths made absolute.
 */

/** A kubeconfig as text, and the namespace its source suggests (a context's, a stack output's). */
export interface KubeconfigSource {
  readonly text: string;
  /** What it came from, for messages: a file path, `KUBECONFIG`, `stack dev`. */
  readonly origin: string;
  readonly namespace?: string;
}

function parseError(error: unknown): string {
  const mark = (error as { mark?: { line?: number } }).mark;
  // js-yaml quotes the line it stopped at, which may hold a token: say only where.
  if (mark?.line !== undefined) return `not valid YAML at line ${mark.line + 1}`;
  const code = (error as NodeJS.ErrnoException).code;
  return code ? code : "not a kubeconfig";
}

function exported(kc: KubeConfig, origin: string, context: string | undefined): KubeconfigSource {
  const contextName = context ?? kc.getCurrentContext();
  const namespace = contextName ? kc.getContextObject(contextName)?.namespace : undefined;
  return { text: kc.exportConfig(), origin, ...(namespace ? { namespace } : {}) };
}

/** `--kubeconfig FILE`: a problem reading it is a RunRequestError naming the file, never quoting it. */
export function kubeconfigFromFile(file: string, context?: string): KubeconfigSource {
  if (!fs.existsSync(file)) throw new RunRequestError(`--kubeconfig ${file}: no such file`);
  const kc = new (clientNode().KubeConfig)();
  try {
    kc.loadFromFile(file);
  } catch (error) {
    throw new RunRequestError(`--kubeconfig ${file}: cannot read it (${parseError(error)}); check it with \`kubectl --kubeconfig ${file} config view\``);
  }
  return exported(kc, file, context);
}

/** KUBECONFIG (one or more files, merged as kubectl does) or ~/.kube/config; none is a RunRequestError saying what to give. */
export function defaultKubeconfig(context?: string): KubeconfigSource {
  const env = process.env.KUBECONFIG;
  const files = env ? env.split(path.delimiter).filter(Boolean) : [path.join(os.homedir(), ".kube", "config")];
  const present = files.filter((f) => fs.existsSync(f));
  if (present.length === 0) {
    throw new RunRequestError(
      `no kubeconfig: ${env ? `KUBECONFIG names ${files.join(", ")}, none of which exists` : `${files[0]} does not exist`}; give --kubeconfig FILE, or --stack NAME for a stack this project made`,
    );
  }
  const kc = new (clientNode().KubeConfig)();
  try {
    kc.loadFromDefault();
  } catch (error) {
    throw new RunRequestError(`cannot read the kubeconfig (${present.join(", ")}): ${parseError(error)}`);
  }
  return exported(kc, env ? "KUBECONFIG" : files[0], context);
}

/** Stack outputs that may name the namespace Argo runs workflows in. */
const NAMESPACE_OUTPUTS = ["workflowNamespace", "argoNamespace"];

/**
 * `--stack NAME`: the stack's `kubeconfig` output, read with `pulumi stack output --json
 * --show-secrets` (it is a secret). Needs the Pulumi CLI on PATH and a login to the stack's backend.
 */
export function kubeconfigFromStack(stack: string, cwd: string = process.cwd()): KubeconfigSource {
  const result = spawnSync("pulumi", ["stack", "output", "--json", "--show-secrets", "--stack", stack], { cwd, encoding: "utf8", maxBuffer: 16 * 1024 * 1024 });
  if ((result.error as NodeJS.ErrnoException | undefined)?.code === "ENOENT") {
    throw new RunRequestError(
      `--stack ${stack} reads the stack's kubeconfig output with the Pulumi CLI, which is not on PATH: install it (https://www.pulumi.com/docs/install/), ` +
        `or write the kubeconfig out where it is (\`pulumi stack output kubeconfig --show-secrets --stack ${stack} > kubeconfig.yaml\`) and pass --kubeconfig kubeconfig.yaml`,
    );
  }
  if (result.error) throw new RunRequestError(`--stack ${stack}: cannot run pulumi (${(result.error as NodeJS.ErrnoException).code ?? result.error.message})`);
  if (result.status !== 0) {
    // pulumi's own error says what is wrong (no such stack, not logged in); it holds no output value.
    const said = (result.stderr || "").trim().split("\n").slice(-3).join(" ");
    throw new RunRequestError(`--stack ${stack}: \`pulumi stack output\` failed${said ? `: ${said}` : ""}`);
  }
  let outputs: Record<string, unknown>;
  try {
    outputs = JSON.parse(result.stdout) as Record<string, unknown>;
  } catch {
    throw new RunRequestError(`--stack ${stack}: \`pulumi stack output --json\` did not print JSON`);
  }
  const kubeconfig = outputs.kubeconfig;
  if (kubeconfig === undefined) {
    throw new RunRequestError(`--stack ${stack} has no 'kubeconfig' output (its outputs: ${Object.keys(outputs).join(", ") || "none"}); has \`pulumi up\` made its cluster?`);
  }
  const text = typeof kubeconfig === "string" ? kubeconfig : JSON.stringify(kubeconfig);
  const namespace = NAMESPACE_OUTPUTS.map((k) => outputs[k]).find((v): v is string => typeof v === "string" && v !== "");
  return { text, origin: `stack ${stack}`, ...(namespace ? { namespace } : {}) };
}
