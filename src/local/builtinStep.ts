import * as fs from "fs";
import * as path from "path";
import { BuiltinRule, BUILTIN_RULES } from "../workflow/builtins";
import { StepValue, ValueBindingError } from "./values";

// The contract between the local runner (and `naaw builtin`) and a built-in step, and the helpers the
// built-ins share (src/local/builtinSteps.ts, src/local/parallelSplitSteps.ts).

/** Bad input to a built-in (a broken LAS file, tiles that do not fit together): running again will not help. */
export class BuiltinInputError extends Error {}

/** Runs a built-in's work, turning its input errors (instances of `inputErrors`) into BuiltinInputError. */
export async function reportingInputErrors<T>(inputErrors: readonly (abstract new (...args: never[]) => Error)[], work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof ValueBindingError || inputErrors.some((kind) => error instanceof kind)) throw new BuiltinInputError((error as Error).message);
    throw error;
  }
}

/** What a built-in step gets from the runner. */
export interface BuiltinCall {
  readonly params: Readonly<Record<string, unknown>>;
  readonly inputs: Readonly<Record<string, StepValue>>;
  /** A fresh directory for results that go into the cache. */
  readonly staging: string;
  /** Points read so far and in all, for a step that can tell. */
  readonly onProgress?: (done: number, total: number) => void;
  /** Aborted when the run is stopped: a long read ends at its next batch. */
  readonly signal?: AbortSignal;
  /** Threads the step may use at once (the run's --workers); 1 when unset. */
  readonly workers?: number;
}

export interface BuiltinStep {
  /**
   * Whether the results may come from the cache. A step that writes outside the cache (merge writes
   * the user's `out` directory) always runs, so its files exist after every run.
   */
  readonly cacheable: boolean;
  /** The files a step reads through its params, fingerprinted into its cache key. */
  readFiles(params: Readonly<Record<string, unknown>>): string[];
  /**
   * Checks of the param values against this machine (an `out` directory that can be written), for
   * `naaw run` to make before anything runs; the pure checks are BUILTIN_RULES.
   */
  readonly preflight?: BuiltinRule;
  run(call: BuiltinCall): Promise<Record<string, StepValue>>;
}

export function text(params: Readonly<Record<string, unknown>>, name: string): string {
  const value = params[name];
  if (typeof value !== "string" || value === "") throw new ValueBindingError(`param '${name}' must be a non-empty path, got ${JSON.stringify(value)}`);
  return value;
}

export function number(params: Readonly<Record<string, unknown>>, name: string): number {
  const value = params[name];
  if (typeof value !== "number" || !Number.isFinite(value)) throw new ValueBindingError(`param '${name}' must be a number, got ${JSON.stringify(value)}`);
  return value;
}

/**
 * Why `dir` cannot be the directory a step writes, or undefined when it can: it, or the nearest of
 * its ancestors that exists (mkdir -p creates the rest), must be a directory this process may write.
 */
export function unwritableDirectory(dir: string): string | undefined {
  const target = path.resolve(dir);
  for (let current = target; ; current = path.dirname(current)) {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(current);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if ((code === "ENOENT" || code === "ENOTDIR") && path.dirname(current) !== current) continue;
      return `${current} cannot be read (${code})`;
    }
    const made = current === target ? "" : `, so ${target} cannot be created`;
    if (!stat.isDirectory()) return `${current} is a file, not a directory${made}`;
    try {
      fs.accessSync(current, fs.constants.W_OK | fs.constants.X_OK);
    } catch (error) {
      return `${current} is not writable (${(error as NodeJS.ErrnoException).code})${made}`;
    }
    return undefined;
  }
}

/** BUILTIN_RULES of a built-in, run on the step's own params as a last line before it computes. */
export function checkRules(uses: string, params: Readonly<Record<string, unknown>>): void {
  const problems = BUILTIN_RULES[uses]?.(new Map(Object.entries(params)), (param) => `'${param}'`) ?? [];
  if (problems.length > 0) throw new BuiltinInputError(`${uses}: ${problems.map((p) => p.message).join("; ")}`);
}
