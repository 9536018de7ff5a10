import * as fs from "fs";
import * as path from "path";
import { setTimeout as sleep } from "timers/promises";
import { GraphStep, WorkflowGraph } from "../workflow/validate";
import type { StepTiming } from "./report";
import { BUILTIN_STEPS, BuiltinInputError, BUILTINS_REVISION, BuiltinStep } from "./builtinSteps";
import { cacheKey, StepCache } from "./cache";
import { sharedContextDir } from "./contexts";
import { Fingerprint, InputChangedError, NotAFileError } from "./fingerprint";
import { RunLog } from "./runLog";
import { itemsOf, pointsOfItem, RunValues } from "./runValues";
import { ServiceCallError, ServicePool, serviceRoots } from "./services";
import { isUnder, OutsideFiles, outsideFiles } from "./stepInputs";
import { ChainHost, ChainPlan, chainPlan, chainService, runItemChain } from "./itemChain";
import { backoffSeconds } from "./retry";
import type { ServiceDefinition } from "./services";
import { Task, TaskGraph, taskKey } from "./taskGraph";
import { asInputFile, describeValue, fileValue, loadValue, SHARED_PATH, StepValue, storeValue, ValueBindingError, valueIdentity } from "./values";

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
  /** Named in the run log that `naaw cache` reads. */
  readonly workflow?: string;
  readonly events?: RunEvents;
  /**
   * Run each foreach item's notebook steps as one request to one service of their components
   * (itemChain.ts), not one request per step to a service per component. Default true; false for
   * a service per component (calibration measures each component's process).
   */
  readonly fuseItems?: boolean;
}

/** What a run tells as it goes (progress, logs). */
export interface RunEvents {
  itemsKnown?(group: string, items: number, points: number): void;
  stepStarted?(task: TaskInfo): void;
  stepFinished?(task: TaskInfo, timing: StepTiming): void;
  itemFinished?(group: string, item: number, points: number): void;
  builtinProgress?(step: string, done: number, total: number): void;
  retrying?(task: TaskInfo, attempt: number, delaySeconds: number, error: string): void;
  /** A cache entry was not whole: the step runs again and replaces it. */
  cacheDamaged?(task: TaskInfo, problem: string): void;
}

/** A step that ran: what `publish` needs. */
export interface ComputedStep {
  readonly key: string;
  readonly staging: string;
  readonly produced: Record<string, StepValue>;
  readonly seconds: number;
  readonly attempts: number;
  readonly cacheable: boolean;
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

/** The run was stopped (`abort`, on a signal) before it finished. */
export class RunStoppedError extends Error {
  constructor() {
    super("the run was stopped");
  }
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


/**
 * Whether running a failed step again can help: not for bad input (a component's HTTP 400, a bad LAS
 * file, a value of the wrong kind), which fails the same way every time.
 */
function isRetryable(error: unknown): boolean {
  if (error instanceof ServiceCallError) return error.retryable;
  // A changed input is not retried: the step's key was computed from the content it had before.
  return !(error instanceof StepFailure || error instanceof ValueBindingError || error instanceof BuiltinInputError || error instanceof InputChangedError || error instanceof NotAFileError);
}

/** Bad input fails the same way every time (exit code 2); a changed input is not bad, run again. */
function isBadInput(error: unknown): boolean {
  return !(error instanceof InputChangedError) && !isRetryable(error);
}

/** The error a step fails the run with: which step, on which item, why, and after how many attempts. */
function stepFailure(task: Task, info: TaskInfo, error: unknown, attempts: number): StepFailure {
  const message = `step '${task.step.id}' (${task.step.component.uses})${info.itemName ? ` on ${info.itemName}` : ""}: ${(error as Error).message}`;
  return new StepFailure(attempts > 1 ? `${message} (after ${attempts} attempts)` : message, info, isBadInput(error));
}

/**
 * Runs a checked workflow on this machine: built-ins in this process, notebook components as local
 * REST services, the foreach items in parallel (at most `workers` steps at once), each finished step
 * kept in a content-addressed cache so that a later run redoes only what changed.
 */
export class LocalRunner {
  private readonly cache: StepCache;
  private readonly pool: ServicePool;
  private readonly values: RunValues;
  private readonly itemPoints = new Map<string, number[]>();
  private readonly timings: StepTiming[] = [];
  private readonly contextDirs = new Map<string, string>();
  private readonly outside: OutsideFiles;
  private readonly computedItems = new Set<string>();
  /** Aborted by `abort`: hashing, reading and waiting end at their next step. */
  private readonly stop = new AbortController();
  private runLog?: RunLog;
  /** The foreach groups whose items run as chains, by group id. */
  private readonly chains = new Map<string, { plan: ChainPlan; service: ServiceDefinition }>();

  constructor(
    private readonly graph: WorkflowGraph,
    private readonly options: RunOptions,
  ) {
    this.values = new RunValues(graph, options.params);
    this.cache = new StepCache(path.resolve(options.cacheDir));
    this.pool = new ServicePool(serviceRoots(this.cache.root, options.params), Math.max(1, options.workers));
    // Without the cache no key is ever looked up, so the input files need not be hashed.
    this.outside = new OutsideFiles(this.cache.root, options.useCache, this.stop.signal);
    if (options.fuseItems ?? true) {
      for (const group of graph.foreach) {
        const plan = chainPlan(graph, group);
        if (typeof plan !== "string") this.chains.set(group.id, { plan, service: chainService(plan, (step) => this.contextDir(step)) });
      }
    }
  }

  private get stopping(): boolean {
    return this.stop.signal.aborted;
  }

  /** Process ids of the component services now running. */
  servicePids(): number[] {
    return this.pool.pids();
  }

  /** Stop at once (Ctrl-C): kill the services; results finished so far stay in the cache. */
  abort(): void {
    if (this.stopping) return;
    this.stop.abort(new RunStoppedError());
    this.pool.killAll();
  }

  async run(): Promise<RunResult> {
    const started = performance.now();
    fs.mkdirSync(this.cache.root, { recursive: true });
    this.cache.sweepStaging();
    if (this.options.useCache) this.runLog = RunLog.start(this.cache.root, this.options.workflow ?? this.graph.spec.name);
    const tasks = new TaskGraph(this.graph);
    const running = new Set<Promise<void>>();
    const host = this.chainHost(tasks);
    let failure: unknown;
    let servicesStopping: Promise<void> | undefined;
    // The chains' services start while the first steps (the split) run.
    for (const { service } of this.chains.values()) this.pool.prestart(service);
    try {
      for (;;) {
        for (const group of tasks.takeGroupsToExpand()) {
          const items = itemsOf(this.values.resolveReference(group.over, undefined));
          this.values.items.set(group.id, items);
          const points = items.map(pointsOfItem);
          this.itemPoints.set(group.id, points);
          this.options.events?.itemsKnown?.(group.id, items.length, points.reduce((a, b) => a + b, 0));
          tasks.expand(group, items.length);
        }
        while (!failure && !this.stopping && running.size < Math.max(1, this.options.workers)) {
          const task = tasks.next();
          if (!task) break;
          const chain = task.item !== undefined && task.step.foreach !== undefined ? this.chains.get(task.step.foreach) : undefined;
          if (chain) tasks.claimItem(chain.plan.group, task.item!);
          const work = chain
            ? runItemChain(host, chain.plan, chain.service, task.item!)
            : this.runTask(task).then(() => {
                tasks.finish(task);
                this.noteItemProgress(task);
              });
          const promise: Promise<void> = work.catch((error: unknown) => {
            failure ??= error;
          });
          running.add(promise);
          void promise.finally(() => running.delete(promise));
        }
        // No step left needs the services: they stop now, so the last steps (the merge, which holds
        // bands of the whole mosaic) have their memory, and their exit overlaps those steps.
        if (!tasks.notebookStepsLeft && !servicesStopping) servicesStopping = this.pool.stopAll();
        if (running.size === 0) break;
        await Promise.race(running);
      }
      if (this.stopping) throw new RunStoppedError();
      if (failure) throw failure;
      if (!tasks.done) throw new Error("internal error: the run ended with steps that never became ready");
    } finally {
      await Promise.allSettled(running);
      await (servicesStopping ?? this.pool.stopAll());
      this.runLog?.finish();
    }
    const points = [...this.itemPoints.values()].flat().reduce((a, b) => a + b, 0);
    const pointsComputed = [...this.computedItems].reduce((sum, key) => {
      const [group, item] = key.split("#");
      return sum + (this.itemPoints.get(group!)?.[Number(item)] ?? 0);
    }, 0);
    return {
      outputs: this.values.outputs,
      timings: this.timings,
      points,
      pointsComputed,
      items: [...this.values.items.values()].reduce((n, list) => n + list.length, 0),
      seconds: (performance.now() - started) / 1000,
      servicesStarted: this.pool.startedCount,
    };
  }

  /** What `runItemChain` uses of this runner. */
  private chainHost(tasks: TaskGraph): ChainHost {
    return {
      useCache: this.options.useCache,
      workdir: this.pool.roots.workdir,
      signal: this.stop.signal,
      info: (task) => this.info(task),
      tryCached: async (task, info) => {
        const { inputs, params } = this.bind(task, info);
        const { key } = await this.keyOf(task, info, undefined, inputs, params);
        const found = await this.takeCached(task, info, key);
        if (found !== "hit") return found;
        tasks.finish(task);
        this.noteItemProgress(task);
        return found;
      },
      runStep: async (task, lookedUp) => {
        await this.runTask(task, lookedUp);
        tasks.finish(task);
        this.noteItemProgress(task);
      },
      bind: (task, info) => this.bind(task, info),
      bindChained: (task, info, chained) => this.bind(task, info, chained),
      keyOf: (task, info, inputs, params) => this.keyOf(task, info, undefined, inputs, params),
      fingerprintOutside: (inputs) => this.outside.fingerprints(outsideFiles(inputs, [], this.cache.root)),
      checkUnchanged: (step, prints) => this.outside.checkUnchanged(prints, step),
      stage: (label, create) => (create ? this.cache.stage(label) : this.cache.stagingPath(label)),
      discard: (staging) => this.cache.discard(staging),
      keptOutput: (name, file, outputsDir) => this.keptOutput(name, file, outputsDir),
      publish: (task, info, done) => this.publish(task, info, done),
      finish: (task) => {
        tasks.finish(task);
        this.noteItemProgress(task);
      },
      runChain: async (service, body) => {
        const lease = await this.pool.acquire(service);
        try {
          return await lease.chain(body);
        } finally {
          lease.release();
        }
      },
      stepStarted: (info) => this.options.events?.stepStarted?.(info),
      retrying: (info, attempt, delay, error) => this.options.events?.retrying?.(info, attempt, delay, error),
      failure: (task, info, error, attempts) => stepFailure(task, info, error, attempts),
      isRetryable,
    };
  }

  /** After the last step of an item finishes, tell the progress display. */
  private noteItemProgress(task: Task): void {
    const group = task.step.foreach;
    if (group === undefined || task.item === undefined) return;
    const steps = this.graph.foreach.find((g) => g.id === group)!.steps;
    if (steps.every((id) => this.values.outputs.has(taskKey({ step: { id }, item: task.item })))) {
      this.options.events?.itemFinished?.(group, task.item, this.itemPoints.get(group)?.[task.item] ?? 0);
    }
  }

  private info(task: Task): TaskInfo {
    const group = task.step.foreach;
    const item = group !== undefined && task.item !== undefined ? this.values.items.get(group)?.[task.item] : undefined;
    return { step: task.step.id, uses: task.step.component.uses, item: task.item, itemName: item ? describeValue(item) : undefined };
  }

  /** The step's inputs and params from its bindings; a value it cannot take is bad input. */
  /** With `chained`, an input from a step in it is named by its producer (`fromChain`), not resolved. */
  private bind(task: Task, info: TaskInfo, chained: ReadonlySet<string> = new Set()): ReturnType<RunValues["bindChained"]> {
    try {
      return this.values.bindChained(task, chained);
    } catch (error) {
      throw new StepFailure(`step '${task.step.id}'${info.itemName ? ` on ${info.itemName}` : ""}: ${(error as Error).message}`, info, true);
    }
  }

  /** `lookedUp`: the step's entry was just looked up, and missed (it is not looked up again). */
  private async runTask(task: Task, lookedUp = false): Promise<void> {
    const info = this.info(task);
    const step = task.step;
    const component = step.component;
    const { inputs, params } = this.bind(task, info);
    const builtin = component.builtin ? BUILTIN_STEPS[component.name] : undefined;
    if (component.builtin && !builtin) throw new StepFailure(`step '${step.id}': the built-in '${component.uses}' cannot run locally`, info, true);
    const cacheable = builtin ? builtin.cacheable : true;
    const { key, reads, prints } = await this.keyOf(task, info, builtin, inputs, params);

    if (cacheable && this.options.useCache && !lookedUp && (await this.takeCached(task, info, key)) === "hit") return;

    this.options.events?.stepStarted?.(info);
    const retry = step.spec.retry;
    const attemptsAllowed = 1 + (retry?.limit ?? 0);
    let delay = backoffSeconds(retry?.backoff);
    const started = performance.now();
    for (let attempt = 1; ; attempt++) {
      const staging = this.cache.stage(key);
      try {
        const produced = builtin
          ? await builtin.run({ params, inputs, staging, signal: this.stop.signal, workers: this.options.workers, onProgress: (done, total) => this.options.events?.builtinProgress?.(step.id, done, total) })
          : await this.callComponent(step, inputs, params, staging);
        this.checkInputsUnchanged(step.id, prints, builtin, params, reads);
        const seconds = (performance.now() - started) / 1000;
        await this.publish(task, info, { key, staging, produced, seconds, attempts: attempt, cacheable });
        return;
      } catch (error) {
        this.cache.discard(staging);
        if (this.stopping) throw new RunStoppedError();
        if (!isRetryable(error) || attempt >= attemptsAllowed) throw stepFailure(task, info, error, attempt);
        this.options.events?.retrying?.(info, attempt, delay, (error as Error).message);
        await sleep(delay * 1000, undefined, { signal: this.stop.signal }).catch(() => undefined);
        delay *= 2;
      }
    }
  }

  /** A cache hit of `key` becomes the step's result; a damaged entry is told about (and will be replaced). */
  private async takeCached(task: Task, info: TaskInfo, key: string): Promise<"hit" | "miss" | "damaged"> {
    const found = await this.cache.lookup(key, this.stop.signal);
    if (found.kind === "damaged") this.options.events?.cacheDamaged?.(info, `the cache entry ${this.cache.entryDir(key)} is damaged (${found.problem}): computing it again`);
    if (found.kind !== "hit") return found.kind;
    this.runLog?.used(key);
    this.values.outputs.set(taskKey(task), Object.fromEntries(Object.entries(found.manifest.outputs).map(([name, stored]) => [name, loadValue(stored, found.dir, this.cache.root)])));
    const timing = { step: task.step.id, item: info.itemName, seconds: 0, cached: true, attempts: 0 };
    this.timings.push(timing);
    this.options.events?.stepFinished?.(info, timing);
    return "hit";
  }

  /**
   * A computed step's outputs become the run's: with the cache, its staged directory is published as
   * the entry of its key (and the outputs read from there); without it, they stay where they were
   * staged, in the run's private cache, where nothing is looked up (so nothing is hashed or renamed).
   */
  async publish(task: Task, info: TaskInfo, done: ComputedStep): Promise<void> {
    const step = task.step;
    let outputs = done.produced;
    if (!done.cacheable) {
      this.cache.discard(done.staging);
    } else if (this.options.useCache) {
      const stored = Object.fromEntries(Object.entries(done.produced).map(([name, value]) => [name, storeValue(value, done.staging, this.cache.root)]));
      // Another run may have published this key first: then its entry (checked) is used, ours dropped.
      const entry = await this.cache.commit(done.key, done.staging, { step: step.id, item: info.itemName, seconds: done.seconds, outputs: stored }, this.stop.signal);
      this.runLog?.used(done.key);
      outputs = Object.fromEntries(Object.entries(entry.manifest.outputs).map(([name, value]) => [name, loadValue(value, entry.dir, this.cache.root)]));
    }
    this.values.outputs.set(taskKey(task), outputs);
    if (step.foreach !== undefined) this.computedItems.add(`${step.foreach}#${task.item}`);
    const timing = { step: step.id, item: info.itemName, seconds: done.seconds, cached: false, attempts: done.attempts };
    this.timings.push(timing);
    this.options.events?.stepFinished?.(info, timing);
  }

  /**
   * A step's cache key: its code, its params and its inputs' identities (an earlier step's file by
   * its path in the cache, an outside file by its content). Also what it reads from outside the
   * cache and the fingerprints taken, for the check after it ran.
   */
  private async keyOf(task: Task, info: TaskInfo, builtin: BuiltinStep | undefined, inputs: Record<string, StepValue>, params: Record<string, unknown>): Promise<{ key: string; reads: string[]; prints: Map<string, Fingerprint> }> {
    const component = task.step.component;
    try {
      const reads = builtin ? builtin.readFiles(params) : [];
      const prints = await this.outside.fingerprints(outsideFiles(inputs, reads, this.cache.root));
      const fingerprint = (file: string): string => prints.get(path.resolve(file))!.digest;
      const key = cacheKey({
        uses: component.uses,
        code: builtin ? `builtin:${BUILTINS_REVISION}` : component.entry!.hash,
        params,
        inputs: Object.fromEntries(Object.entries(inputs).map(([name, value]) => [name, valueIdentity(value, this.cache.root, fingerprint)])),
        reads: reads.map(fingerprint),
      });
      return { key, reads, prints };
    } catch (error) {
      if (this.stopping) throw new RunStoppedError();
      throw new StepFailure(`step '${task.step.id}': ${(error as Error).message}`, info, isBadInput(error));
    }
  }

  /**
   * After a step ran: the outside files it read still have the identities they were fingerprinted
   * under, and a built-in's input still names the same files. Otherwise what it read may be of
   * neither content, so it must not be cached under the key of the first.
   */
  private checkInputsUnchanged(step: string, prints: ReadonlyMap<string, Fingerprint>, builtin: BuiltinStep | undefined, params: Record<string, unknown>, reads: readonly string[]): void {
    this.outside.checkUnchanged(prints, step);
    if (!builtin) return;
    const now = builtin.readFiles(params);
    if (now.length !== reads.length || now.some((f, i) => f !== reads[i])) {
      throw new InputChangedError(`the files step '${step}' reads changed while it ran (${reads.length} before, ${now.length} now); nothing was cached: run again when they no longer change`);
    }
  }

  private contextDir(step: GraphStep): string {
    const entry = step.component.entry!;
    let dir = this.contextDirs.get(entry.hash);
    if (!dir) {
      dir = path.resolve(sharedContextDir(entry.spec.name, entry.hash, entry.context, this.options.contextsDir));
      this.contextDirs.set(entry.hash, dir);
    }
    return dir;
  }

  /**
   * Where a component's output is kept: a file it wrote into the staging directory, or the file of a
   * published cache entry it passed on unchanged (entries are never written after they are published, so
   * the manifest names it there instead of holding a copy); any other file is copied into the staging
   * directory, since it may change after the step.
   */
  keptOutput(name: string, file: string, outputsDir: string): string {
    if (isUnder(file, outputsDir)) return file;
    // A run's private cache: no file in it changes once its step has finished.
    if (!this.options.useCache && isUnder(file, this.cache.root)) return file;
    const relative = path.relative(this.cache.root, file).split(path.sep).join("/");
    if (isUnder(file, this.cache.root) && SHARED_PATH.test(relative)) return file;
    const copy = path.join(outputsDir, `${name}${path.extname(file)}`);
    fs.copyFileSync(file, copy);
    return copy;
  }

  private async callComponent(step: GraphStep, inputs: Record<string, StepValue>, params: Record<string, unknown>, staging: string): Promise<Record<string, StepValue>> {
    const files: Record<string, string> = {};
    for (const [name, value] of Object.entries(inputs)) files[name] = asInputFile(value, name, path.join(staging, "inputs"), `input '${name}'`);
    const outputsDir = path.join(staging, "outputs");
    const lease = await this.pool.acquire({ name: step.component.name, componentDirs: [this.contextDir(step)] });
    try {
      // reuse_files: an output that is an input file passed on unchanged comes back as that file's path.
      const answer = await lease.run({ inputs: files, params, outputs: outputsDir, reuse_files: true });
      return Object.fromEntries(Object.entries(answer.outputs).map(([name, out]) => [name, fileValue(this.keptOutput(name, path.resolve(this.pool.roots.workdir, out.path), outputsDir))]));
    } finally {
      lease.release();
    }
  }
}
