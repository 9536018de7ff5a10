// A foreach item's notebook steps run as one request (`POST /chain`) to one service of all their
// components, instead of one request per step to a service per component. The steps, their cache
// entries, their errors and their retries are those of the per-step run; what goes away is a round
// trip, a staged directory and (without the cache) the files of the values that only the item's next
// steps read, which stay in the service's memory (runtime/python/naaw_runtime/fused.py).
import * as path from "path";
import { setTimeout as sleep } from "timers/promises";
import { Binding, Reference } from "../workflow/spec";
import { GraphForeach, GraphStep, WorkflowGraph } from "../workflow/validate";
import { cacheKey } from "./cache";
import { backoffSeconds } from "./retry";
import type { Fingerprint } from "./fingerprint";
import type { ComputedStep, TaskInfo } from "./runner";
import { ChainCallError, ChainStepAnswer, ServiceDefinition } from "./services";
import { Task } from "./taskGraph";
import { asInputFile, fileValue, StepValue } from "./values";

/** How one foreach group's items run as chains; `chainPlan` says whether they can. */
export interface ChainPlan {
  readonly group: string;
  /** The group's steps, producers first. */
  readonly steps: readonly GraphStep[];
  /**
   * Per step, the outputs written without the cache: those a step outside the group reads, and those
   * no step reads (the run's results). The others only the item's next steps read: they stay in memory.
   */
  readonly written: ReadonlyMap<string, readonly string[]>;
}

/**
 * The plan for running `group`'s items as chains, or why they cannot be: every step must be a
 * notebook component (a built-in runs in `naaw` itself), and a step may take another step's output of
 * the item only as an input (a param or a `${{ }}` template needs the value before the chain runs).
 */
export function chainPlan(graph: WorkflowGraph, group: GraphForeach): ChainPlan | string {
  const ids = new Set(group.steps);
  const steps = graph.steps.filter((s) => ids.has(s.id));
  if (steps.length < 2) return "the group has one step";
  const builtin = steps.find((s) => s.component.builtin || !s.component.entry);
  if (builtin) return `step '${builtin.id}' is the built-in ${builtin.component.uses}`;
  for (const step of steps) {
    for (const { slot, name, binding } of step.bindings) {
      const inner = referencesOf(binding).some((r) => r.kind === "step" && ids.has(r.step));
      if (inner && (slot !== "input" || binding.kind !== "reference")) return `step '${step.id}' takes '${name}' from a step of the item as a ${binding.kind === "template" ? "template" : "param"}`;
    }
  }
  const readers = new Map<string, { inside: boolean; outside: boolean }>();
  for (const consumer of graph.steps) {
    for (const r of consumer.bindings.flatMap(({ binding }) => referencesOf(binding))) {
      if (r.kind !== "step" || !ids.has(r.step)) continue;
      const seen = readers.get(`${r.step}.${r.output}`) ?? { inside: false, outside: false };
      if (ids.has(consumer.id)) seen.inside = true;
      else seen.outside = true;
      readers.set(`${r.step}.${r.output}`, seen);
    }
  }
  // A foreach over another group's outputs reads all of them.
  for (const other of graph.foreach) {
    if (other.over.kind === "step" && ids.has(other.over.step)) readers.set(`${other.over.step}.${other.over.output}`, { inside: false, outside: true });
  }
  // Kept in memory only when the item's own steps are its only readers.
  const written = new Map(steps.map((step) => [step.id, step.component.outputs.map((o) => o.name).filter((name) => {
    const seen = readers.get(`${step.id}.${name}`);
    return !seen?.inside || seen.outside;
  })]));
  return { group: group.id, steps, written };
}

/** The references a binding holds: its own, or a template's parts. */
function referencesOf(binding: Binding): Reference[] {
  if (binding.kind === "reference") return [binding.reference];
  return binding.kind === "template" ? binding.parts.filter((p): p is Reference => typeof p !== "string") : [];
}

/** The service that runs a group's chains: all its components, each directory once. */
export function chainService(plan: ChainPlan, contextDir: (step: GraphStep) => string): ServiceDefinition {
  return { name: `the steps of ${plan.group}`, componentDirs: [...new Set(plan.steps.map(contextDir))] };
}

/** What a chain needs of the runner (LocalRunner implements it). */
export interface ChainHost {
  readonly useCache: boolean;
  readonly workdir: string;
  readonly signal: AbortSignal;
  info(task: Task): TaskInfo;
  /** Looks up a step whose inputs are known: on a hit its outputs are taken and the task finished. */
  tryCached(task: Task, info: TaskInfo): Promise<"hit" | "miss" | "damaged">;
  /** Runs one step as a per-step run does (its own request), `lookedUp`: its entry was just looked up (a miss); then finishes it. */
  runStep(task: Task, lookedUp: boolean): Promise<void>;
  bind(task: Task, info: TaskInfo): { inputs: Record<string, StepValue>; params: Record<string, unknown> };
  /** Like `bind`, with each input that is an output of a step in `chained` given by its producer. */
  bindChained(task: Task, info: TaskInfo, chained: ReadonlySet<string>): { inputs: Record<string, StepValue>; params: Record<string, unknown>; fromChain: Record<string, { step: string; output: string }> };
  keyOf(task: Task, info: TaskInfo, inputs: Record<string, StepValue>, params: Record<string, unknown>): Promise<{ key: string; prints: Map<string, Fingerprint> }>;
  fingerprintOutside(inputs: Record<string, StepValue>): Promise<Map<string, Fingerprint>>;
  checkUnchanged(step: string, prints: ReadonlyMap<string, Fingerprint>): void;
  /** A fresh staging directory for a step's results; with `create` false only its name (whoever writes first makes it). */
  stage(label: string, create: boolean): string;
  discard(staging: string): void;
  keptOutput(name: string, file: string, outputsDir: string): string;
  publish(task: Task, info: TaskInfo, done: ComputedStep): Promise<void>;
  finish(task: Task): void;
  runChain(service: ServiceDefinition, body: unknown): Promise<readonly ChainStepAnswer[]>;
  stepStarted(info: TaskInfo): void;
  retrying(info: TaskInfo, attempt: number, delaySeconds: number, error: string): void;
  /** The error a step fails the run with (runner.ts's StepFailure, retry counts in its message). */
  failure(task: Task, info: TaskInfo, error: unknown, attempts: number): Error;
  isRetryable(error: unknown): boolean;
}


/**
 * Where a step of a chain writes its outputs: `outputs` in its staging directory, the layout of a
 * cache entry, when it is published to the cache; the staging directory itself when it is not (a
 * run without the cache keeps its results where they were written), one directory fewer a step.
 */
function outputsDirOf(host: ChainHost, staging: string): string {
  return host.useCache ? path.join(staging, "outputs") : staging;
}

interface Staged {
  readonly task: Task;
  readonly info: TaskInfo;
  readonly staging: string;
  readonly prints: Map<string, Fingerprint>;
}

/**
 * Runs one item's steps. With the cache, the steps whose inputs are known are looked up first, as a
 * per-step run would. An item with nothing cached (a new tile) goes to the service in one request, and
 * its results are published producers first, each under the key a per-step run gives it, so a later
 * run finds the same entries whichever way this one ran. An item partly cached, or with a damaged
 * entry, runs its other steps one by one instead, so that every entry that can be reused is (a
 * recomputed producer may give a later step the key of an entry it already has).
 *
 * A failed step is retried as its `retry` says; without the cache the item's steps then run again from
 * the first, since the values they passed on are gone.
 */
export async function runItemChain(host: ChainHost, plan: ChainPlan, service: ServiceDefinition, item: number): Promise<void> {
  const tasks: Task[] = plan.steps.map((step, order) => ({ step, item, order }));
  let pending = tasks;
  if (host.useCache) {
    pending = [];
    const missing = new Set<string>();
    const lookedUp = new Set<string>();
    let reused = false;
    for (const task of tasks) {
      if (!task.step.dependencies.some((d) => missing.has(d))) {
        const found = await host.tryCached(task, host.info(task));
        if (found === "hit") {
          reused = true;
          continue;
        }
        reused ||= found === "damaged";
        lookedUp.add(task.step.id);
      }
      missing.add(task.step.id);
      pending.push(task);
    }
    if (reused) {
      for (const task of pending) await host.runStep(task, lookedUp.has(task.step.id));
      return;
    }
  }
  const attempts = new Map<string, number>();
  const delays = new Map<string, number>();
  while (pending.length > 0) {
    const ids = new Set(pending.map((t) => t.step.id));
    const staged: Staged[] = [];
    try {
      const body = { steps: [] as unknown[], reuse_files: true };
      for (const task of pending) {
        const info = host.info(task);
        const { inputs, params, fromChain } = host.bindChained(task, info, ids);
        const write = host.useCache ? task.step.component.outputs.map((o) => o.name) : [...(plan.written.get(task.step.id) ?? [])];
        // A step that writes no file and is given no value to write as one needs no directory (without the
        // cache, most steps of a tile): the mkdir and rmdir were a good part of a small tile's cost.
        const needsDir = host.useCache || write.length > 0 || Object.values(inputs).some((v) => v.kind === "value");
        // Without the cache the service makes the directory as it writes the outputs (and asInputFile
        // as it writes a value): on a file system slow to allocate inodes, a mkdir here per tile counted.
        const staging = needsDir ? host.stage(cacheKey({ chain: task.step.id, item }), host.useCache) : "";
        staged.push({ task, info, staging, prints: await host.fingerprintOutside(inputs) });
        const files: Record<string, unknown> = { ...fromChain };
        for (const [name, value] of Object.entries(inputs)) files[name] = asInputFile(value, name, path.join(staging, "inputs"), `input '${name}'`);
        body.steps.push({ id: task.step.id, component: task.step.component.name, inputs: files, params, outputs: needsDir ? outputsDirOf(host, staging) : null, write });
      }
      for (const { info } of staged) host.stepStarted(info);
      let answers: readonly ChainStepAnswer[];
      try {
        answers = await host.runChain(service, body);
      } catch (error) {
        if (error instanceof ChainCallError && host.useCache) {
          // The steps before the failed one are done: kept, so a retry (or the next run) starts after them.
          const done = await publishAnswers(host, staged, error.done, attempts);
          pending = pending.filter((t) => !done.has(t.step.id));
        }
        throw error;
      }
      await publishAnswers(host, staged, answers, attempts);
      return;
    } catch (error) {
      for (const { staging } of staged) if (staging) host.discard(staging);
      if (host.signal.aborted) throw error;
      if (!(error instanceof ChainCallError)) throw error; // a binding or input problem, already a step's failure
      // A service that died answers for no step: the first one not done is the one that failed.
      const failed = pending.find((t) => t.step.id === error.step) ?? pending[0]!;
      const attempt = (attempts.get(failed.step.id) ?? 0) + 1;
      attempts.set(failed.step.id, attempt);
      const retry = failed.step.spec.retry;
      const info = host.info(failed);
      if (!host.isRetryable(error) || attempt >= 1 + (retry?.limit ?? 0)) throw host.failure(failed, info, error, attempt);
      const delay = delays.get(failed.step.id) ?? backoffSeconds(retry?.backoff);
      delays.set(failed.step.id, delay * 2);
      host.retrying(info, attempt, delay, error.message);
      await sleep(delay * 1000, undefined, { signal: host.signal }).catch(() => undefined);
      if (host.signal.aborted) throw error;
    }
  }
}

/** Publishes the answered steps in order (producers first); returns the ids published. */
async function publishAnswers(host: ChainHost, staged: readonly Staged[], answers: readonly ChainStepAnswer[], attempts: ReadonlyMap<string, number>): Promise<Set<string>> {
  const published = new Set<string>();
  for (const answer of answers) {
    const entry = staged.find((s) => s.task.step.id === answer.id);
    if (!entry) throw new Error(`internal error: the service answered for step '${answer.id}', which it was not sent`);
    const { task, info, staging, prints } = entry;
    host.checkUnchanged(task.step.id, prints);
    const outputsDir = outputsDirOf(host, staging);
    const produced = Object.fromEntries(Object.entries(answer.outputs).map(([name, out]) => [name, fileValue(host.keptOutput(name, path.resolve(host.workdir, out.path), outputsDir))]));
    // With the cache, the key is the per-step run's: from the inputs as published (producers' entries).
    let key = "";
    if (host.useCache) {
      const { inputs, params } = host.bind(task, info);
      const computed = await host.keyOf(task, info, inputs, params);
      host.checkUnchanged(task.step.id, computed.prints);
      key = computed.key;
    }
    await host.publish(task, info, { key, staging, produced, seconds: answer.seconds, attempts: (attempts.get(task.step.id) ?? 0) + 1, cacheable: true });
    published.add(task.step.id);
    host.finish(task);
  }
  return published;
}
