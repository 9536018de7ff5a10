import { ApiUnreachableError, KubeApiError } from "./errors";

/** Time as the watch sees it; tests give a fake one whose sleep returns at once and advances `now`. */
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** A duration for a message: `0.4 s`, `12 s`, `300 s`. */
export function secondsText(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1).replace(/\.0$/, "")} s` : `${Math.round(ms / 1000)} s`;
}

/** First wait after a failed call, doubled each time up to the cap (and never past the deadline). */
const BACKOFF_FIRST_MS = 1_000;
const BACKOFF_MAX_MS = 15_000;


export interface RetryPolicy {
  readonly clock: Clock;
  /** How long calls may keep failing (counted from the start of the first failed one) before giving up. */
  readonly timeoutMs: number;
  /** Called after each transient failure, before waiting `delayMs`. */
  readonly onRetry?: (error: KubeApiError, delayMs: number) => void;
  /** Builds the message of the error thrown when time is up. */
  readonly describeGivingUp: (lastError: KubeApiError, unreachableMs: number) => string;
}

/**
 * Runs `operation` until it succeeds, retrying transient KubeApiErrors with exponential backoff;
 * any other error is thrown at once. Past `timeoutMs` of failures, an ApiUnreachableError.
 */
export async function withRetry<T>(operation: () => Promise<T>, policy: RetryPolicy): Promise<T> {
  let failingSince: number | undefined;
  let delay = BACKOFF_FIRST_MS;
  for (;;) {
    const attemptStart = policy.clock.now();
    try {
      return await operation();
    } catch (error) {
      if (!(error instanceof KubeApiError) || !error.transient) throw error;
      failingSince ??= attemptStart;
      const failingFor = policy.clock.now() - failingSince;
      const left = policy.timeoutMs - failingFor;
      if (left <= 0) throw new ApiUnreachableError(policy.describeGivingUp(error, failingFor), error, failingFor);
      const wait = Math.min(delay, left);
      policy.onRetry?.(error, wait);
      await policy.clock.sleep(wait);
      delay = Math.min(delay * 2, BACKOFF_MAX_MS);
    }
  }
}
