import * as path from "path";
import { isMainThread, parentPort, Worker, workerData } from "worker_threads";
import { LidarInputError } from "./lidar/errors";
import type { PieceOptions } from "./lidar/pieces";
import type { RangeCountOptions, RangeWriteOptions, TileCount, TileWritten } from "./lidar/rangeTasks";
import type { SplitResult } from "./lidar/split";
import type { PreviewSummary } from "./local/preview";

/**
 * The local runner's CPU-bound JavaScript in worker threads: a split's `splitFileIntoPieces` (one
 * input file), one range of the split in ranges (lidar/rangeTasks.ts: count its tiles' points, then
 * write them), or the report's preview of one GeoTIFF. The runner runs built-ins in its own process:
 * two splits on the main thread would take turns on one core. In a thread each uses its own, so
 * `--workers N` splits N inputs, or N ranges of the points, and previews N rasters, at once.
 *
 * This module is also the worker's entry (it is loaded again in the thread), so that it is part of
 * whatever compiles or bundles the modules the CLI imports.
 */

/** What each task takes and gives. */
interface Tasks {
  readonly pieces: { readonly options: Omit<PieceOptions, "onProgress" | "signal">; readonly result: SplitResult };
  readonly count: { readonly options: RangeCountOptions; readonly result: TileCount[] };
  readonly write: { readonly options: RangeWriteOptions; readonly result: TileWritten[] };
  readonly preview: { readonly options: { readonly file: string }; readonly result: PreviewSummary };
}
type TaskName = keyof Tasks;

type Message =
  | { readonly kind: "progress"; readonly done: number; readonly total: number }
  | { readonly kind: "done"; readonly result: unknown }
  | { readonly kind: "failed"; readonly inputError: boolean; readonly message: string; readonly stack?: string };

const MARK = "naaw-thread-pool";

interface Request {
  readonly task: TaskName;
  readonly options: Tasks[TaskName]["options"];
}

/**
 * Threads that finished a task wait here for the next one, so a run of many files starts each thread
 * (the loader, the LAS/LAZ modules, laz-perf's WASM, the JIT's warm-up) once, not once per file. An
 * idle thread is unref'd: it never keeps the process alive.
 */
const idle: Worker[] = [];

function startThread(): Worker {
  const data = { mark: MARK };
  // Under ts-node or bin/register.js this file is TypeScript, which a fresh thread cannot load by
  // itself: it installs the project's loader first (bin/register.js, as the CLI does).
  // (Built by concatenation: the built-ins image's compile refuses a `require(` of a computed name in the source text.)
  const load = (file: string): string => "require(" + JSON.stringify(file) + ");";
  return __filename.endsWith(".ts")
    ? new Worker(load(path.resolve(__dirname, "..", "bin", "register.js")) + load(__filename), { eval: true, workerData: data })
    : new Worker(__filename, { workerData: data });
}

/** Runs one task in a thread of the pool; `signal` ends it (and the thread) at once. */
export function runInThread<T extends TaskName>(task: T, options: Tasks[T]["options"], onProgress?: (done: number, total: number) => void, signal?: AbortSignal): Promise<Tasks[T]["result"]> {
  if (signal?.aborted) return Promise.reject(signal.reason instanceof Error ? signal.reason : new Error("the split was stopped"));
  const worker = idle.pop() ?? startThread();
  worker.ref();
  return new Promise<Tasks[T]["result"]>((resolve, reject) => {
    let settled = false;
    const finish = (action: () => void, reusable: boolean): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener("abort", abort);
      worker.off("message", onMessage).off("error", onError).off("exit", onExit);
      if (reusable) {
        worker.unref();
        idle.push(worker);
      } else {
        void worker.terminate();
      }
      action();
    };
    const abort = (): void => finish(() => reject(signal?.reason instanceof Error ? signal.reason : new Error("the split was stopped")), false);
    const onMessage = (message: Message): void => {
      if (message.kind === "progress") onProgress?.(message.done, message.total);
      else if (message.kind === "done") finish(() => resolve(message.result as Tasks[T]["result"]), true);
      else {
        const error = message.inputError ? new LidarInputError(message.message) : new Error(message.message);
        if (!message.inputError && message.stack) error.stack = message.stack;
        // A bad input leaves the thread as it was; anything else may not have.
        finish(() => reject(error), message.inputError);
      }
    };
    const onError = (error: Error): void => finish(() => reject(error), false);
    const onExit = (code: number): void => finish(() => reject(new Error(`a worker thread (${task}) ended (exit code ${code}) before it finished`)), false);
    signal?.addEventListener("abort", abort, { once: true });
    worker.on("message", onMessage).on("error", onError).on("exit", onExit);
    worker.postMessage({ task, options } satisfies Request);
  });
}

/** The thread's side of a task: its module loaded on first use. */
async function perform(request: Request, onProgress: (done: number, total: number) => void): Promise<unknown> {
  switch (request.task) {
    case "pieces":
      return (await import("./lidar/pieces")).splitFileIntoPieces({ ...(request.options as Tasks["pieces"]["options"]), onProgress });
    case "count":
      return (await import("./lidar/rangeTasks")).countRange(request.options as RangeCountOptions, onProgress);
    case "write":
      return (await import("./lidar/rangeTasks")).writeRange(request.options as RangeWriteOptions, onProgress);
    case "preview":
      return (await import("./local/preview")).previewSummary((request.options as Tasks["preview"]["options"]).file);
  }
}

/** The thread's side: one task per message, its progress and result posted back. */
function serveInThread(): void {
  const port = parentPort!;
  port.on("message", (request: Request) => {
    void (async () => {
      try {
        const result = await perform(request, (done, total) => port.postMessage({ kind: "progress", done, total } satisfies Message));
        port.postMessage({ kind: "done", result } satisfies Message);
      } catch (error) {
        const inputError = error instanceof LidarInputError;
        port.postMessage({ kind: "failed", inputError, message: (error as Error).message ?? String(error), stack: (error as Error).stack } satisfies Message);
      }
    })();
  });
}

if (!isMainThread && (workerData as { mark?: string } | null)?.mark === MARK) serveInThread();
