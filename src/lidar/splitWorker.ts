import type { PieceOptions } from "./pieces";
import type { SplitResult } from "./split";
import { runInThread } from "../threadPool";

/** `splitFileIntoPieces` in a worker thread of the pool (src/threadPool.ts); `signal` ends it at once. */
export function splitFileInWorker(options: PieceOptions): Promise<SplitResult> {
  const { onProgress, signal, ...plain } = options;
  return runInThread("pieces", plain, onProgress, signal);
}
