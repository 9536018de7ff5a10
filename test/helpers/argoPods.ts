// Runs a rendered Argo manifest's pods on this machine, as the controller and executor would, for the
// subset of Argo that naaw renders: DAG tasks in dependency order, withParam over a JSON list,
// parameters and raw/S3 artifacts, output parameters from files, container and containerSet
// templates (a containerSet's containers all start at once), and the data template's listing of
// keys. The artifact repository is a directory (an S3 key is a path under it); every path under
// /tmp of a pod is mapped to that pod's own directory, `/app/component` to the component's build
// context, `naaw` to bin/naaw.js and `python3 -m naaw_runtime` to the project's runtime. So a test
// runs exactly the commands, paths and keys the manifest holds, without a cluster.
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { PYTHON_PACKAGES_DIR, pythonExecutable } from "../../src/python/interpreter";
import { ArgoArtifact, ArgoDocument, ArgoParameter, ArgoTask, ArgoTemplate } from "../../src/workflow/argo";

const ROOT = path.resolve(__dirname, "..", "..");
const NAAW = path.join(ROOT, "bin", "naaw.js");
const LISTING_FILTER = "filter(data, {lower(#) endsWith '.las' || lower(#) endsWith '.laz'})";

export interface PodRunOptions {
  /** The artifact repository: S3 key K is the file or folder `<repository>/K`. */
  readonly repository: string;
  /** Scratch space for the pods' /tmp. */
  readonly pods: string;
  /** Component name → its build context directory (what the image has at /app/component). */
  readonly components: Readonly<Record<string, string>>;
  readonly parameters?: Readonly<Record<string, string>>;
  readonly workflowName?: string;
}

interface Outputs {
  parameters: Record<string, string>;
  result?: string;
}

export interface PodRecord {
  readonly template: string;
  readonly pod: string;
  readonly containers: number;
}

/** Runs the manifest's entrypoint; the pods it ran, in order. Throws with the pod's stderr when one fails. */
export async function runArgoPods(document: ArgoDocument, options: PodRunOptions): Promise<PodRecord[]> {
  const templates = new Map(document.spec.templates.map((t) => [t.name, t]));
  const workflowParams: Record<string, string> = {};
  for (const p of ((document.spec.arguments as { parameters?: ArgoParameter[] } | undefined)?.parameters ?? [])) if (p.value !== undefined) workflowParams[p.name] = p.value;
  Object.assign(workflowParams, options.parameters ?? {});
  const workflow = options.workflowName ?? "wf";
  const records: PodRecord[] = [];
  let pods = 0;

  const substitute = (text: string, scope: { inputs?: Record<string, string>; item?: unknown; tasks?: Map<string, Outputs>; pod?: string }): string =>
    text.replace(/\{\{(=?)([^}]*)\}\}/g, (whole, expression: string, body: string) => {
      const b = body.trim();
      if (expression) {
        const m = /^jsonpath\(tasks\['([-\w]+)'\]\.outputs\.parameters\['([-\w]+)'\], '\$'\)$/.exec(b);
        if (!m) throw new Error(`expression not supported by the pod runner: ${whole}`);
        return String(JSON.parse(taskOutput(scope.tasks, m[1]!).parameters[m[2]!]!));
      }
      if (b === "workflow.name") return workflow;
      if (b === "pod.name") return scope.pod ?? fail(whole);
      if (b.startsWith("workflow.parameters.")) return workflowParams[b.slice(20)] ?? fail(whole);
      if (b.startsWith("inputs.parameters.")) return scope.inputs?.[b.slice(18)] ?? fail(whole);
      if (b === "item") return typeof scope.item === "string" ? scope.item : JSON.stringify(scope.item);
      if (b.startsWith("item.")) return String((scope.item as Record<string, unknown>)[b.slice(5)] ?? fail(whole));
      const t = /^tasks\.([-\w]+)\.outputs\.(?:parameters\.([-\w]+)|(result))$/.exec(b);
      if (t) {
        const out = taskOutput(scope.tasks, t[1]!);
        return (t[3] ? out.result : out.parameters[t[2]!]) ?? fail(whole);
      }
      return fail(whole);
    });

  async function runTemplate(name: string, inputs: Record<string, string>, artifacts: readonly ArgoArtifact[], item: unknown): Promise<Outputs> {
    const template = templates.get(name) ?? fail(`template ${name}`);
    if (template.dag) return runDag(template, inputs);
    const pod = `${workflow}-${template.name}-${++pods}`;
    const root = path.join(options.pods, pod);
    const local = (p: string): string => p.replace(/\/tmp\//g, `${root}/tmp/`);
    const scope = { inputs, item, pod };
    fs.mkdirSync(path.join(root, "tmp"), { recursive: true });
    for (const declared of template.inputs?.artifacts ?? []) {
      const given = artifacts.find((a) => a.name === declared.name);
      const source = given ?? declared;
      const target = local(declared.path!);
      if (source.raw) {
        fs.mkdirSync(path.dirname(target), { recursive: true });
        fs.writeFileSync(target, substitute(source.raw.data, scope));
      } else if (source.s3) {
        const key = path.join(options.repository, substitute(source.s3.key, scope));
        if (!fs.existsSync(key)) {
          if (declared.optional) continue;
          throw new Error(`${pod}: input artifact ${declared.name}: no key ${path.relative(options.repository, key)}`);
        }
        fs.cpSync(key, target, { recursive: true });
      } else if (!declared.optional) throw new Error(`${pod}: input artifact ${declared.name} not given`);
    }
    const outputs: Outputs = { parameters: {} };
    if (template.data) {
      if (template.data.transformation.map((t) => t.expression).join() !== LISTING_FILTER) throw new Error(`${pod}: transformation not supported by the pod runner`);
      const prefix = substitute(template.data.source.artifactPaths.s3!.key, scope);
      const base = path.join(options.repository, prefix);
      const keys = !fs.existsSync(base) ? [] : fs.statSync(base).isFile() ? [prefix] : (fs.readdirSync(base, { recursive: true }) as string[]).map((f) => path.posix.join(prefix, f)).filter((k) => fs.statSync(path.join(options.repository, k)).isFile());
      outputs.result = JSON.stringify(keys.filter((k) => /\.la[sz]$/i.test(k)));
    } else {
      const containers = template.containerSet ? template.containerSet.containers : [template.container!];
      await Promise.all(containers.map((c) => runContainer(pod, c.command!.map((a) => substitute(a, scope)), (c.args ?? []).map((a) => local(substitute(a, scope))), c.image)));
      records.push({ template: template.name, pod, containers: containers.length });
    }
    for (const p of template.outputs?.parameters ?? []) outputs.parameters[p.name] = fs.readFileSync(local(p.valueFrom!.path!), "utf8").trim();
    for (const a of template.outputs?.artifacts ?? []) {
      const from = local(a.path!);
      if (!fs.existsSync(from)) {
        if (a.optional) continue;
        throw new Error(`${pod}: output artifact ${a.name}: ${a.path} was not written`);
      }
      const key = path.join(options.repository, substitute(a.s3!.key, scope));
      fs.mkdirSync(path.dirname(key), { recursive: true });
      fs.cpSync(from, key, { recursive: true });
    }
    fs.rmSync(root, { recursive: true, force: true });
    return outputs;
  }

  function runContainer(pod: string, command: string[], args: string[], image: string): Promise<void> {
    let argv: string[];
    if (command[0] === "naaw") argv = [process.execPath, NAAW, ...command.slice(1), ...args];
    else if (command.join(" ") === "python3 -m naaw_runtime") argv = [pythonExecutable(), "-m", "naaw_runtime", ...args];
    else throw new Error(`${pod}: command ${command.join(" ")} not supported by the pod runner`);
    const component = /\/([^/:]+):[^/]*$/.exec(image)?.[1];
    argv = argv.map((a) => (a.includes("/app/component") ? a.replace("/app/component", options.components[component ?? ""] ?? fail(`build context of ${image}`)) : a));
    return new Promise((resolve, reject) => {
      const child = spawn(argv[0]!, argv.slice(1), { cwd: ROOT, env: { ...process.env, PYTHONPATH: PYTHON_PACKAGES_DIR, PYTHONDONTWRITEBYTECODE: "1" }, stdio: ["ignore", "pipe", "pipe"] });
      let stderr = "";
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      child.stdout.resume();
      child.on("error", reject);
      child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`${pod}: ${argv.slice(0, 4).join(" ")} … exited ${code}\n${stderr.slice(-3000)}`))));
    });
  }

  async function runDag(template: ArgoTemplate, inputs: Record<string, string>): Promise<Outputs> {
    const done = new Map<string, Outputs>();
    const pending = [...template.dag!.tasks];
    while (pending.length > 0) {
      const at = pending.findIndex((t) => (t.dependencies ?? []).every((d) => done.has(d)));
      if (at < 0) throw new Error(`DAG ${template.name}: tasks ${pending.map((t) => t.name).join(", ")} wait on each other`);
      const task = pending.splice(at, 1)[0]!;
      done.set(task.name, await runTask(task, inputs, done));
    }
    return { parameters: {} };
  }

  async function runTask(task: ArgoTask, outer: Record<string, string>, tasks: Map<string, Outputs>): Promise<Outputs> {
    const items: unknown[] = task.withParam === undefined ? [undefined] : (JSON.parse(substitute(task.withParam, { inputs: outer, tasks })) as unknown[]);
    let last: Outputs = { parameters: {} };
    for (const item of items) {
      const scope = { inputs: outer, item, tasks };
      const params: Record<string, string> = {};
      const declared = templates.get(task.template)?.inputs?.parameters ?? [];
      for (const p of declared) if (p.default !== undefined) params[p.name] = p.default;
      for (const p of task.arguments?.parameters ?? []) params[p.name] = substitute(p.value ?? "", scope);
      const artifacts = (task.arguments?.artifacts ?? []).map((a) => ({ ...a, ...(a.s3 ? { s3: { key: substitute(a.s3.key, scope) } } : {}), ...(a.raw ? { raw: { data: substitute(a.raw.data, scope) } } : {}) }));
      last = await runTemplate(task.template, params, artifacts, item);
    }
    return last;
  }

  await runTemplate(document.spec.entrypoint, {}, [], undefined);
  return records;
}

function taskOutput(tasks: Map<string, Outputs> | undefined, name: string): Outputs {
  return tasks?.get(name) ?? fail(`outputs of task ${name}`);
}

function fail(what: string): never {
  throw new Error(`the pod runner cannot resolve ${what}`);
}
