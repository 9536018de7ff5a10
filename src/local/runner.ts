import * as fs from "fs";
import * as path from "path";
import { localContextDir } from "../containerize/context";
import { Binding, Reference } from "../workflow/spec";
import { GraphStep, WorkflowGraph } from "../workflow/validate";
import type { StepTiming } from "./report";
import { BUILTIN_STEPS, BuiltinInputError, BUILTINS_REVISION } from "./builtinSteps";
import { cacheKey, fileFingerprint, StepCache } from "./cache";
import { ServiceCallError, ServicePool } from "./services";
import { Task, TaskGraph, taskKey } from "./taskGraph";
import { asInputFile, asParam, describeValue, fileValue, listValue, loadValue, plainValue, StepValue, storeValue, ValueBindingError, valueIdentity } from "./values";

export type { StepTiming };

export interface RunOptions {
  /** Steps in flight at once (and service processes per component). */
  readonly workers: number;
  /** The directory results are kept in between runs. */
  readonly cacheDir: string;
  /** Read earlier results from the cache (false: run every step again). */
  readonly useCache: boolean;
  readonly params: Readonly<Record<string, unknown>>;
  /** Where build contexts of components are written. */
  readonly contextsDir?: string;
  readonly events?: RunEvents;
}

/** What a run tells as it goes (progress, logs). */
export interface RunEvents {
  itemsKnown?(group: string, items: number, points: number): void;
  stepStarted?(task: TaskInfo): void;
  stepFinished?(task: TaskInfo, timing: StepTiming): void;
  itemFinished?(group: string, item: number, points: number): void;
  builtinProgress?(step: string, done: number, total: number): void;
  retrying?(task: TaskInfo, attempt: number, delaySeconds: number, error: string): void;
}

export interface TaskInfo {
  readonly step: string;
  readonly uses: string;
  readonly item?: number;
  /** A short name of the foreach item (a tile's file name). */
  readonly itemName?: string;
}

export interface RunResult {
  readonly outputs: ReadonlyMap<string, Readonly<Record<string, StepValue>>>;
  readonly timings: readonly StepTiming[];
  /** Points in all the foreach items (tiles), when their sidecars say. */
  readonly points: number;
  /** Points of the items that had a step computed in this run (not all from the cache). */
  readonly pointsComputed: number;
  readonly items: number;
  readonly seconds: number;
  readonly servicesStarted: number;
}

/** A step that failed for good: which step, on which item, and where in the notebook. */
export class StepFailure extends Error {
  constructor(
    message: string,
    readonly task: TaskInfo,
    readonly badInput: boolean,
  ) {
    super(message);
  }
}

function backoffSeconds(text: string | undefined): number {
  const match = /^(\d+)(s|m|h)$/.exec(text ?? "");
  if (!match) return 0;
  return Number(match[1]) * { s: 1, m: 60, h: 3600 }[match[2] as "s" | "m" | "h"];
}

/**
 * Whether running a failed step again can help: not for bad input (a component's HTTP 400, a bad LAS
 * file, a value of the wrong kind), which fails the same way every time.
 */
function isRetryable(error: unknown): boolean {
  if (error instanceof ServiceCallError) return error.retryable;
  return !(error instanceof StepFailure || error instanceof ValueBindingError || error instanceof BuiltinInputError);
}

/** The items a foreach runs over: a list value's elements (a plain JSON list's too). */
function itemsOf(value: StepValue): readonly StepValue[] {
  if (value.kind === "list") return value.items;
  if (value.kind === "value" && Array.isArray(value.value)) return value.value.map(plainValue);
  return [value];
}

/** Points of a tile from its JSON sidecar (`<stem>.json`), 0 when it has none. */
function pointsOfItem(value: StepValue): number {
  if (value.kind !== "file") return 0;
  try {
    const sidecar = JSON.parse(fs.readFileSync(value.path.replace(/\.[^./]+$/, ".json"), "utf8")) as { point_count?: unknown };
    return typeof sidecar.point_count === "number" ? sidecar.point_count : 0;
  } catch {
    return 0;
  }
}

/**
 * Runs a checked workflow on this machine: built-ins in this process, notebook components as local
 * REST services, the foreach items in parallel (at most `workers` steps at once), each finished step
 * kept in a content-addressed cache so that a later run redoes only what changed.
 */
export class LocalRunner {
  private readonly cache: StepCache;
  private readonly pool: ServicePool;
  private readonly outputs = new Map<string, Record<string, StepValue>>();
  private readonly items = new Map<string, readonly StepValue[]>();
  private readonly itemPoints = new Map<string, number[]>();
  private readonly timings: StepTiming[] = [];
  private readonly contextDirs = new Map<string, string>();
  private readonly fingerprints = new Map<string, string>();
  private readonly computedItems = new Set<string>();
  private stopping = false;

  constructor(
    private readonly graph: WorkflowGraph,
    private readonly options: RunOptions,
  ) {
    this.cache = new StepCache(path.resolve(options.cacheDir));
    this.pool = new ServicePool(this.cache.root, Math.max(1, options.workers));
  }

  /** Process ids of the component services now running. */
  servicePids(): number[] {
    return this.pool.pids();
  }

  /** Stop at once (Ctrl-C): kill the services; results finished so far stay in the cache. */
  abort(): void {
    this.stopping = true;
    this.pool.killAll();
  }

  async run(): Promise<RunResult> {
    const started = performance.now();
    fs.mkdirSync(this.cache.root, { recursive: true });
    this.cache.sweepStaging();
    const tasks = new TaskGraph(this.graph);
    const running = new Set<Promise<void>>();
    let failure: unknown;
    try {
      for (;;) {
        for (const group of tasks.takeGroupsToExpand()) {
          const items = itemsOf(this.resolveReference(group.over, undefined));
          this.items.set(group.id, items);
          const points = items.map(pointsOfItem);
          this.itemPoints.set(group.id, points);
          this.options.events?.itemsKnown?.(group.id, items.length, points.reduce((a, b) => a + b, 0));
          tasks.expand(group, items.length);
        }
        while (!failure && !this.stopping && running.size < Math.max(1, this.options.workers)) {
          const task = tasks.next();
          if (!task) break;
          const promise: Promise<void> = this.runTask(task).then(
            () => {
              tasks.finish(task);
              this.noteItemProgress(task);
            },
            (error: unknown) => {
              failure ??= error;
            },
          );
          running.add(promise);
          void promise.finally(() => running.delete(promise));
        }
        if (running.size === 0) break;
        await Promise.race(running);
      }
      if (failure) throw failure;
      if (this.stopping) throw new Error("the run was stopped");
      if (!tasks.done) throw new Error("internal error: the run ended with steps that never became ready");
    } finally {
      await Promise.allSettled(running);
      await this.pool.stopAll();
    }
    const points = [...this.itemPoints.values()].flat().reduce((a, b) => a + b, 0);
    const pointsComputed = [...this.computedItems].reduce((sum, key) => {
      const [group, item] = key.split("#");
      return sum + (this.itemPoints.get(group!)?.[Number(item)] ?? 0);
    }, 0);
    return {
      outputs: this.outputs,
      timings: this.timings,
      points,
      pointsComputed,
      items: [...this.items.values()].reduce((n, list) => n + list.length, 0),
      seconds: (performance.now() - started) / 1000,
      servicesStarted: this.pool.startedCount,
    };
  }

  /** After the last step of an item finishes, tell the progress display. */
  private noteItemProgress(task: Task): void {
    const group = task.step.foreach;
    if (group === undefined || task.item === undefined) return;
    const steps = this.graph.foreach.find((g) => g.id === group)!.steps;
    if (steps.every((id) => this.outputs.has(taskKey({ step: { id }, item: task.item })))) {
      this.options.events?.itemFinished?.(group, task.item, this.itemPoints.get(group)?.[task.item] ?? 0);
    }
  }

  private info(task: Task): TaskInfo {
    const group = task.step.foreach;
    const item = group !== undefined && task.item !== undefined ? this.items.get(group)?.[task.item] : undefined;
    return { step: task.step.id, uses: task.step.component.uses, item: task.item, itemName: item ? describeValue(item) : undefined };
  }

  private resolveReference(reference: Reference, item: number | undefined, consumer?: GraphStep): StepValue {
    switch (reference.kind) {
      case "param":
        return plainValue(this.options.params[reference.name]);
      case "item": {
        const group = consumer?.foreach;
        return this.items.get(group!)![item!]!;
      }
      case "step": {
        const producer = this.graph.steps.find((s) => s.id === reference.step)!;
        const sameItem = producer.foreach !== undefined && producer.foreach === consumer?.foreach;
        if (producer.foreach !== undefined && !sameItem) {
          // A fan-in: the output of every item, in item order.
          const count = this.items.get(producer.foreach)?.length ?? 0;
          return listValue(Array.from({ length: count }, (_, i) => this.outputs.get(taskKey({ step: producer, item: i }))![reference.output]!));
        }
        return this.outputs.get(taskKey({ step: producer, item: sameItem ? item : undefined }))![reference.output]!;
      }
    }
  }

  private resolveBinding(binding: Binding, task: Task): StepValue {
    switch (binding.kind) {
      case "literal":
        return plainValue(binding.value);
      case "reference":
        return this.resolveReference(binding.reference, task.item, task.step);
      case "template":
        return plainValue(
          binding.parts
            .map((part) => {
              if (typeof part === "string") return part;
              const value = this.resolveReference(part, task.item, task.step);
              if (value.kind === "file") return value.path;
              const plain = asParam(value, "any", "a template part");
              return typeof plain === "string" ? plain : JSON.stringify(plain);
            })
            .join(""),
        );
      case "invalid":
        throw new Error(`internal error: step '${task.step.id}' has an invalid binding ${binding.text}`);
    }
  }

  private fingerprint(file: string): string {
    let known = this.fingerprints.get(file);
    if (!known) {
      known = fileFingerprint(this.cache.root, file);
      this.fingerprints.set(file, known);
    }
    return known;
  }

  private async runTask(task: Task): Promise<void> {
    const info = this.info(task);
    const step = task.step;
    const component = step.component;
    const inputs: Record<string, StepValue> = {};
    const params: Record<string, unknown> = {};
    for (const p of component.params) if (p.default !== undefined) params[p.name] = p.default;
    try {
      for (const binding of step.bindings) {
        const value = this.resolveBinding(binding.binding, task);
        if (binding.slot === "input") inputs[binding.name] = value;
        else params[binding.name] = asParam(value, component.params.find((p) => p.name === binding.name)?.type ?? "any", `'${binding.name}' of step '${step.id}'`);
      }
    } catch (error) {
      throw new StepFailure(`step '${step.id}'${info.itemName ? ` on ${info.itemName}` : ""}: ${(error as Error).message}`, info, true);
    }

    const builtin = component.builtin ? BUILTIN_STEPS[component.name] : undefined;
    if (component.builtin && !builtin) throw new StepFailure(`step '${step.id}': the built-in '${component.uses}' cannot run locally`, info, true);
    const cacheable = builtin ? builtin.cacheable : true;
    // Without the cache no key is ever looked up, so the input files need not be hashed.
    const fingerprint = this.options.useCache ? (file: string) => this.fingerprint(file) : (file: string) => path.resolve(file);
    let key = "";
    try {
      key = cacheKey({
        uses: component.uses,
        code: builtin ? `builtin:${BUILTINS_REVISION}` : component.entry!.hash,
        params,
        inputs: Object.fromEntries(Object.entries(inputs).map(([name, value]) => [name, valueIdentity(value, this.cache.root, fingerprint)])),
        reads: builtin ? builtin.readFiles(params).map(fingerprint) : [],
      });
    } catch (error) {
      throw new StepFailure(`step '${step.id}': ${(error as Error).message}`, info, true);
    }

    if (cacheable && this.options.useCache) {
      const hit = this.cache.lookup(key);
      if (hit) {
        this.outputs.set(taskKey(task), Object.fromEntries(Object.entries(hit.manifest.outputs).map(([name, stored]) => [name, loadValue(stored, hit.dir)])));
        const timing = { step: step.id, item: info.itemName, seconds: 0, cached: true, attempts: 0 };
        this.timings.push(timing);
        this.options.events?.stepFinished?.(info, timing);
        return;
      }
    }

    this.options.events?.stepStarted?.(info);
    const retry = step.spec.retry;
    const attemptsAllowed = 1 + (retry?.limit ?? 0);
    let delay = backoffSeconds(retry?.backoff);
    const started = performance.now();
    for (let attempt = 1; ; attempt++) {
      const staging = this.cache.stage(key);
      try {
        const produced = builtin
          ? await builtin.run({ params, inputs, staging, onProgress: (done, total) => this.options.events?.builtinProgress?.(step.id, done, total) })
          : await this.callComponent(step, inputs, params, staging);
        const seconds = (performance.now() - started) / 1000;
        let outputs = produced;
        if (cacheable) {
          const entry = this.cache.commit(key, staging, {
            step: step.id,
            item: info.itemName,
            seconds,
            outputs: Object.fromEntries(Object.entries(produced).map(([name, value]) => [name, storeValue(value, staging)])),
          });
          outputs = Object.fromEntries(Object.entries(produced).map(([name, value]) => [name, loadValue(storeValue(value, staging), entry)]));
        } else {
          this.cache.discard(staging);
        }
        this.outputs.set(taskKey(task), outputs);
        if (step.foreach !== undefined) this.computedItems.add(`${step.foreach}#${task.item}`);
        const timing = { step: step.id, item: info.itemName, seconds, cached: false, attempts: attempt };
        this.timings.push(timing);
        this.options.events?.stepFinished?.(info, timing);
        return;
      } catch (error) {
        this.cache.discard(staging);
        const retryable = isRetryable(error);
        const message = `step '${step.id}' (${component.uses})${info.itemName ? ` on ${info.itemName}` : ""}: ${(error as Error).message}`;
        if (this.stopping || !retryable || attempt >= attemptsAllowed) {
          throw new StepFailure(attempt > 1 ? `${message} (after ${attempt} attempts)` : message, info, !retryable);
        }
        this.options.events?.retrying?.(info, attempt, delay, (error as Error).message);
        await new Promise((resolve) => setTimeout(resolve, delay * 1000));
        delay *= 2;
      }
    }
  }

  private contextDir(step: GraphStep): string {
    const entry = step.component.entry!;
    let dir = this.contextDirs.get(entry.hash);
    if (!dir) {
      dir = path.resolve(localContextDir(entry.spec.name, entry.hash, entry.context, this.options.contextsDir));
      this.contextDirs.set(entry.hash, dir);
    }
    return dir;
  }

  private async callComponent(step: GraphStep, inputs: Record<string, StepValue>, params: Record<string, unknown>, staging: string): Promise<Record<string, StepValue>> {
    const files: Record<string, string> = {};
    for (const [name, value] of Object.entries(inputs)) files[name] = asInputFile(value, name, path.join(staging, "inputs"), `input '${name}'`);
    const outputsDir = path.join(staging, "outputs");
    const lease = await this.pool.acquire({ name: step.component.name, componentDir: this.contextDir(step) });
    try {
      const answer = await lease.run({ inputs: files, params, outputs: outputsDir });
      return Object.fromEntries(Object.entries(answer.outputs).map(([name, out]) => [name, fileValue(path.resolve(this.cache.root, out.path))]));
    } finally {
      lease.release();
    }
  }
}
