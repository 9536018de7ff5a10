import { ChildProcess, spawn } from "child_process";
import * as http from "http";
import * as path from "path";
import { pythonEnv, pythonExecutable } from "../python/interpreter";
import { stringifyExactJson } from "../notebook/exactJson";

/** How long a service may take to say where it listens and answer /healthz. */
const START_TIMEOUT_MS = 30_000;
/** How long a stopping service may take to finish its run in flight before it is killed. */
const STOP_GRACE_MS = 5_000;

/** Every absolute path among a value's strings (lists and objects too). */
function absolutePaths(value: unknown): string[] {
  if (typeof value === "string") return path.isAbsolute(value) ? [value] : [];
  if (Array.isArray(value)) return value.flatMap(absolutePaths);
  if (value !== null && typeof value === "object") return Object.values(value).flatMap(absolutePaths);
  return [];
}

/** Where a run's services may read and write, and where their cells run. */
export interface ServiceRoots {
  /** `--data-root`: a service refuses any path (input, output or string param) outside it. */
  readonly dataRoot: string;
  /** `--workdir`: where the cells run and relative paths are read from (answers' paths are relative to it). */
  readonly workdir: string;
}

/**
 * A run's service roots: the cells run in the directory `naaw run` was started in (`workdir`), so a
 * relative path in a param means the file it means to the user; the data root is the deepest
 * directory holding that directory, the cache and every absolute path the run's params name, so a
 * service reads what the user named and no more.
 */
export function serviceRoots(cacheRoot: string, params: Readonly<Record<string, unknown>>, workdir = process.cwd()): ServiceRoots {
  let root = path.resolve(workdir);
  for (const target of [path.resolve(cacheRoot), ...absolutePaths(params).map((file) => path.resolve(file))]) {
    while (root !== path.dirname(root) && target !== root && !target.startsWith(root + path.sep)) root = path.dirname(root);
  }
  return { dataRoot: root, workdir: path.resolve(workdir) };
}

/** A component's answer to `POST /run`. */
export interface RunAnswer {
  readonly outputs: Readonly<Record<string, { readonly path: string; readonly type: string }>>;
  readonly seconds: number;
}

/** A failed `POST /run`: `status` 400 means bad input (retrying will not help), 500 a failure of the cells. */
export class ServiceCallError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly cell?: number,
    readonly line?: number,
  ) {
    super(message);
  }

  /** Whether running the same request again can succeed. */
  get retryable(): boolean {
    return this.status !== 400 && this.status !== 404 && this.status !== 413;
  }
}

/** One step's answer within `POST /chain`: its written outputs, as `POST /run` answers them. */
export interface ChainStepAnswer extends RunAnswer {
  readonly id: string;
}

/** A failed `POST /chain`: the failed step and the answers of the steps before it. */
export class ChainCallError extends ServiceCallError {
  constructor(
    message: string,
    status: number,
    /** The step that failed; undefined when the request failed as a whole (the service died). */
    readonly step: string | undefined,
    readonly done: readonly ChainStepAnswer[],
    cell?: number,
    line?: number,
  ) {
    super(message, status, cell, line);
  }
}

/** What a pool needs to start one service. */
export interface ServiceDefinition {
  /** Named in messages: the component, or the foreach group of a service of several. */
  readonly name: string;
  /** The component's build context directory; several for a service that runs a foreach item's steps (`POST /chain`). */
  readonly componentDirs: readonly string[];
}

/** Services of the same directories are interchangeable. */
const serviceKey = (definition: ServiceDefinition): string => definition.componentDirs.join("\n");

/**
 * The service's environment: pythonEnv() without PYTHONUNBUFFERED (common in containers and CI). What
 * a service prints after its ready line is read and dropped here, so writing it unbuffered only costs:
 * each print of a cell a write to the pipe and a wakeup of this process, the demo's 4 prints a tile
 * 0.4 to 0.9 s of system time over 2,211 tiles (3 runs each, alternating). The runtime flushes its
 * ready line itself.
 */
function serviceEnv(): NodeJS.ProcessEnv {
  const env = pythonEnv();
  delete env.PYTHONUNBUFFERED;
  return env;
}

/**
 * One `python3 -m naaw_runtime serve` process on 127.0.0.1 and an any-free port. Its stdin is a pipe
 * from this process: when naaw exits, even killed, the pipe closes and the service stops itself.
 */
class ServiceProcess {
  private exited = false;
  private exitWaiters: (() => void)[] = [];

  private constructor(
    readonly definition: ServiceDefinition,
    private readonly child: ChildProcess,
    readonly url: URL,
  ) {}

  /** `spawned` sees the child at once, so a stop can kill a service that is still starting. */
  static async start(definition: ServiceDefinition, roots: ServiceRoots, agent: http.Agent, spawned: (child: ChildProcess) => void): Promise<ServiceProcess> {
    const args = ["-m", "naaw_runtime", "serve", ...definition.componentDirs.flatMap((dir) => ["--component", dir]), "--host", "127.0.0.1", "--port", "0", "--data-root", roots.dataRoot, "--workdir", roots.workdir, "--stop-on-stdin-eof"];
    const child = spawn(pythonExecutable(), args, { stdio: ["pipe", "pipe", "pipe"], env: serviceEnv() });
    spawned(child);
    const stderr: string[] = [];
    child.stderr!.setEncoding("utf8").on("data", (text: string) => {
      stderr.push(text);
      if (stderr.length > 50) stderr.shift();
    });
    const url = await new Promise<URL>((resolve, reject) => {
      let buffered = "";
      const timer = setTimeout(() => fail(`did not start within ${START_TIMEOUT_MS / 1000} s`), START_TIMEOUT_MS);
      const fail = (why: string): void => {
        clearTimeout(timer);
        child.kill("SIGKILL");
        const detail = stderr.join("").trim().split("\n").slice(-3).join(" | ");
        reject(new Error(`the service of component '${definition.name}' ${why}${detail ? `: ${detail}` : ""}`));
      };
      const onError = (error: Error): void => fail(`could not be started (${error.message})`);
      const onExit = (code: number | null, signal: string | null): void => fail(`exited before it was ready (${signal ?? `exit code ${code}`})`);
      const onData = (text: string): void => {
        buffered += text;
        const match = /serving \S+ on (http:\/\/127\.0\.0\.1:\d+)/.exec(buffered);
        if (!match) return;
        clearTimeout(timer);
        child.off("error", onError).off("exit", onExit);
        child.stdout!.off("data", onData);
        resolve(new URL(match[1]!));
      };
      child.on("error", onError).on("exit", onExit);
      child.stdout!.setEncoding("utf8").on("data", onData);
    });
    // What the cells print is not needed: drain it so the pipe never fills.
    child.stdout!.resume();
    const service = new ServiceProcess(definition, child, url);
    child.on("exit", () => {
      service.exited = true;
      for (const wake of service.exitWaiters.splice(0)) wake();
    });
    const health = await requestJson(agent, new URL("/healthz", url), "GET");
    if (health.status !== 200) {
      await service.stop();
      throw new Error(`the service of component '${definition.name}' failed its health check (HTTP ${health.status})`);
    }
    return service;
  }

  get alive(): boolean {
    return !this.exited;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  async run(agent: http.Agent, body: unknown): Promise<RunAnswer> {
    let answer: { status: number; json: unknown };
    try {
      answer = await requestJson(agent, new URL("/run", this.url), "POST", body);
    } catch (error) {
      throw new ServiceCallError(`the service of component '${this.definition.name}' failed: ${(error as Error).message}`, 503);
    }
    if (answer.status === 200) return answer.json as RunAnswer;
    const problem = (answer.json ?? {}) as { error?: string; cell?: number; line?: number };
    throw new ServiceCallError(problem.error ?? `HTTP ${answer.status}`, answer.status, problem.cell ?? undefined, problem.line ?? undefined);
  }

  async chain(agent: http.Agent, body: unknown): Promise<readonly ChainStepAnswer[]> {
    let answer: { status: number; json: unknown };
    try {
      answer = await requestJson(agent, new URL("/chain", this.url), "POST", body);
    } catch (error) {
      throw new ChainCallError(`the service of '${this.definition.name}' failed: ${(error as Error).message}`, 503, undefined, []);
    }
    if (answer.status === 200) return (answer.json as { steps: ChainStepAnswer[] }).steps;
    const problem = (answer.json ?? {}) as { error?: string; cell?: number; line?: number; step?: string; done?: ChainStepAnswer[] };
    throw new ChainCallError(problem.error ?? `HTTP ${answer.status}`, answer.status, problem.step, problem.done ?? [], problem.cell ?? undefined, problem.line ?? undefined);
  }

  /** SIGTERM (the service finishes its run in flight), SIGKILL after a grace period. */
  async stop(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.exitWaiters.push(resolve));
    this.child.kill("SIGTERM");
    this.child.stdin?.destroy();
    const timer = setTimeout(() => this.child.kill("SIGKILL"), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
  }

  /** Immediately, for a process that is exiting (no time to wait). */
  killNow(): void {
    if (!this.exited) this.child.kill("SIGKILL");
  }
}

function requestJson(agent: http.Agent, url: URL, method: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const payload = body === undefined ? undefined : Buffer.from(stringifyExactJson(body, 0));
  return new Promise((resolve, reject) => {
    const request = http.request(
      url,
      { method, agent, headers: payload ? { "Content-Type": "application/json", "Content-Length": payload.length } : {} },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          try {
            resolve({ status: response.statusCode ?? 0, json: text ? JSON.parse(text) : undefined });
          } catch {
            reject(new Error(`HTTP ${response.statusCode}: not JSON: ${text.slice(0, 200)}`));
          }
        });
        response.on("error", reject);
      },
    );
    request.on("error", reject);
    request.end(payload);
  });
}

/** A service instance lent to one caller at a time. */
export interface ServiceLease {
  run(body: unknown): Promise<RunAnswer>;
  chain(body: unknown): Promise<readonly ChainStepAnswer[]>;
  release(): void;
}

/**
 * The running component services of one run: up to `perComponent` processes for each component,
 * started on first use, reused across tiles (a Python process runs one request at a time, so each
 * concurrent call gets its own process), and all stopped by `stopAll`.
 */
export class ServicePool {
  // One kept-alive connection per service (the services speak HTTP/1.1): no TCP handshake per step. An
  // idle connection is closed after 30 s, before the service's own 60 s idle limit, so a request never
  // goes out on a connection the service is closing.
  private readonly agent = new http.Agent({ keepAlive: true, timeout: 30_000 });
  private readonly idle = new Map<string, ServiceProcess[]>();
  private readonly all: ServiceProcess[] = [];
  private readonly starting = new Map<string, number>();
  /** Children whose service is not ready yet (not in `all`): killed too when the run is stopped. */
  private readonly startingChildren = new Set<ChildProcess>();
  private readonly waiters = new Map<string, (() => void)[]>();
  private stopped = false;
  /** Services started, for the summary. */
  startedCount = 0;

  constructor(
    /** Where the services may read and write, and where their cells run. */
    readonly roots: ServiceRoots,
    private readonly perComponent: number,
  ) {}

  async acquire(definition: ServiceDefinition): Promise<ServiceLease> {
    const key = serviceKey(definition);
    for (;;) {
      if (this.stopped) throw new Error("the run is stopping");
      const idle = this.idle.get(key) ?? [];
      this.idle.set(key, idle.filter((s) => s.alive));
      const reused = this.idle.get(key)!.pop();
      if (reused) return this.lease(reused);
      const running = this.all.filter((s) => serviceKey(s.definition) === key && s.alive).length + (this.starting.get(key) ?? 0);
      if (running < this.perComponent) return this.lease(await this.start(definition));
      // Every process of this component is busy: wait until one is released (or dies), then look again.
      await new Promise<void>((wake) => this.waiters.set(key, [...(this.waiters.get(key) ?? []), wake]));
    }
  }

  /**
   * Start the services of `definition` now, up to the pool's limit, in the background: they are then
   * ready when the first step needs them (a service takes a few hundred ms to start, the split longer).
   * A service that fails to start is started again, and fails with its message, when a step needs it.
   */
  prestart(definition: ServiceDefinition): void {
    const key = serviceKey(definition);
    const running = this.all.filter((s) => serviceKey(s.definition) === key && s.alive).length + (this.starting.get(key) ?? 0);
    for (let i = running; i < this.perComponent; i++) {
      this.start(definition).then(
        (service) => this.lease(service).release(),
        () => undefined,
      );
    }
  }

  private async start(definition: ServiceDefinition): Promise<ServiceProcess> {
    const key = serviceKey(definition);
    this.starting.set(key, (this.starting.get(key) ?? 0) + 1);
    let service: ServiceProcess;
    try {
      service = await ServiceProcess.start(definition, this.roots, this.agent, (child) => {
        this.startingChildren.add(child);
        child.once("exit", () => this.startingChildren.delete(child));
      });
    } finally {
      this.starting.set(key, this.starting.get(key)! - 1);
    }
    for (const child of this.startingChildren) if (child.pid === service.pid) this.startingChildren.delete(child);
    this.startedCount += 1;
    this.all.push(service);
    if (this.stopped) {
      await service.stop();
      throw new Error("the run is stopping");
    }
    return service;
  }

  private lease(service: ServiceProcess): ServiceLease {
    let released = false;
    return {
      run: (body) => service.run(this.agent, body),
      chain: (body) => service.chain(this.agent, body),
      release: () => {
        if (released) return;
        released = true;
        const key = serviceKey(service.definition);
        if (service.alive) this.idle.set(key, [...(this.idle.get(key) ?? []), service]);
        this.waiters.get(key)?.shift()?.();
      },
    };
  }

  /** Process ids of the running services (tests check that none is left). */
  pids(): number[] {
    const starting = [...this.startingChildren].map((c) => c.pid).filter((pid): pid is number => pid !== undefined);
    return [...this.all.filter((s) => s.alive && s.pid !== undefined).map((s) => s.pid!), ...starting];
  }

  async stopAll(): Promise<void> {
    this.stopped = true;
    this.wakeAll();
    // Idle connections first: a stopping service then has no connection to wait for but a run in flight.
    this.agent.destroy();
    // Services still starting (prestarted ones nobody waited for) are stopped too, and waited for.
    const starting = [...this.startingChildren].map((child) => {
      const exited = child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.kill("SIGTERM");
      return exited;
    });
    await Promise.all([...starting, ...this.all.map((s) => s.stop())]);
  }

  /** For a run stopped by a signal: no waiting, services that are still starting included. */
  killAll(): void {
    this.stopped = true;
    for (const s of this.all) s.killNow();
    for (const child of this.startingChildren) child.kill("SIGKILL");
    this.wakeAll();
    this.agent.destroy();
  }

  /** Callers waiting for a busy service look again, see the pool stopped and give up. */
  private wakeAll(): void {
    for (const wakers of this.waiters.values()) for (const wake of wakers.splice(0)) wake();
  }
}
