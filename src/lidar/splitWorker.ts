import * as path from "path";
import { isMainThread, parentPort, Worker, workerData } from "worker_threads";
import { LidarInputError } from "./errors";
import type { PieceOptions } from "./pieces";
import type { SplitResult } from "./split";

/**
 * `splitFileIntoPieces` in a worker thread. The local runner runs built-ins in its own process, and
 * a split is CPU-bound JavaScript (and WASM for LAZ): two splits on the main thread would take turns
 * on one core. In a thread each uses its own, so `--workers N` splits N inputs at once.
 *
 * This module is also the worker's entry (it is loaded again in the thread), so that it is part of
 * whatever compiles or bundles the modules the CLI imports.
 */

type Message =
  | { readonly kind: "progress"; readonly done: number; readonly total: number }
  | { readonly kind: "done"; readonly result: SplitResult }
  | { readonly kind: "failed"; readonly inputError: boolean; readonly message: string; readonly stack?: string };

const MARK = "naaw-split-pieces";

type WorkerOptions = Omit<PieceOptions, "onProgress" | "signal">;

export function splitFileInWorker(options: PieceOptions): Promise<SplitResult> {
  const { onProgress, signal, ...plain } = options;
  const data = { mark: MARK, options: plain satisfies WorkerOptions };
  // Under ts-node or bin/register.js this file is TypeScript, which a fresh thread cannot load by
  // itself: it installs the project's loader first (bin/register.js, as the CLI does).
  const worker = __filename.endsWith(".ts")
    ? new Worker(`require(${JSON.stringify(path.resolve(__dirname, "..", "..", "bin", "register.js"))}); require(${JSON.stringify(__filename)});`, { eval: true, workerData: data })
    : new Worker(__filename, { workerData: data });
  return new Promise<SplitResult>((resolve, reject) => {
    let settled = false;
    const finish = (action: () => void): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener("abort", abort);
      action();
    };
    const abort = (): void => {
      void worker.terminate();
      finish(() => reject(signal?.reason instanceof Error ? signal.reason : new Error("the split was stopped")));
    };
    if (signal?.aborted) return abort();
    signal?.addEventListener("abort", abort, { once: true });
    worker.on("message", (message: Message) => {
      if (message.kind === "progress") onProgress?.(message.done, message.total);
      else if (message.kind === "done") finish(() => resolve(message.result));
      else {
        const error = message.inputError ? new LidarInputError(message.message) : new Error(message.message);
        if (!message.inputError && message.stack) error.stack = message.stack;
        finish(() => reject(error));
      }
    });
    worker.on("error", (error) => finish(() => reject(error)));
    worker.on("exit", (code) => finish(() => reject(new Error(`the split of ${options.file} ended (thread exit code ${code}) before it finished`))));
  });
}

async function runInThread(options: WorkerOptions): Promise<void> {
  const port = parentPort!;
  try {
    const { splitFileIntoPieces } = await import("./pieces");
    const result = await splitFileIntoPieces({ ...options, onProgress: (done, total) => port.postMessage({ kind: "progress", done, total } satisfies Message) });
    port.postMessage({ kind: "done", result } satisfies Message);
  } catch (error) {
    const inputError = error instanceof LidarInputError;
    port.postMessage({ kind: "failed", inputError, message: (error as Error).message ?? String(error), stack: (error as Error).stack } satisfies Message);
  }
}

if (!isMainThread && (workerData as { mark?: string } | null)?.mark === MARK) {
  void runInThread((workerData as { options: WorkerOptions }).options);
}
