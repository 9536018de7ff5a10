import * as os from "os";

/** How long a stopped run may take to unwind (steps drop their staging, services exit) before the process exits anyway. */
const UNWIND_MS = 1500;

export interface SignalStop {
  /** The signal that stopped the run, if one did. */
  readonly signal: NodeJS.Signals | undefined;
  /** Exit now with 128 + the signal's number, after `onExit` (for a stopped run whose work has unwound). */
  exit(): never;
  /** Stop listening (the run is over). */
  dispose(): void;
}

/**
 * SIGINT and SIGTERM stop a run: `onStop` aborts it (services killed, loops end at their next
 * batch), the caller sees the run fail and calls `exit`. If unwinding takes longer than
 * UNWIND_MS, or a second signal comes, the process exits at once. Either way `onExit` runs
 * first (the message, removing a private cache) and the exit code is 128 + the signal's number.
 *
 * This only works if the run's loops give the event loop a turn: a handler cannot run while a
 * synchronous loop holds the thread, which is why hashing and reading are chunked and async.
 */
export function stopOnSignals(onStop: () => void, onExit: (signal: NodeJS.Signals) => void): SignalStop {
  let stoppedBy: NodeJS.Signals | undefined;
  let exiting = false;
  const exitNow = (): never => {
    const signal = stoppedBy!;
    if (!exiting) {
      exiting = true;
      onExit(signal);
    }
    process.exit(128 + (os.constants.signals[signal] ?? 0));
  };
  const handler = (signal: NodeJS.Signals): void => {
    if (stoppedBy) exitNow();
    stoppedBy = signal;
    setTimeout(exitNow, UNWIND_MS);
    onStop();
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
  return {
    get signal() {
      return stoppedBy;
    },
    exit: exitNow,
    dispose: () => {
      process.off("SIGINT", handler);
      process.off("SIGTERM", handler);
    },
  };
}
