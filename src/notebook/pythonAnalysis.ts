import { spawn, spawnSync } from "child_process";
import { PythonError, pythonEnv, pythonExecutable } from "../python/interpreter";
import { parseExactJson } from "./exactJson";

export type ValueType = "ndarray" | "int" | "float" | "str" | "bool" | "list" | "dict" | "any";

/** A global name read inside a function or class body, at the first line that reads it. */
export interface BodyRead {
  readonly name: string;
  readonly line: number;
}

/**
 * Module-level events of one cell, in evaluation order (see runtime/python/naaw_analyzer).
 * `block` (absent at the cell's top level) numbers the body of an `if` branch, loop, handler or
 * `case` the event is in; on a write it means the name is bound on every path through that block
 * from there on.
 */
export type CellEvent =
  | { readonly kind: "read"; readonly name: string; readonly line: number; readonly block?: number }
  | {
      readonly kind: "write";
      readonly name: string;
      readonly line: number;
      readonly type: ValueType | "module";
      /** Bound only on some paths (inside a loop, an `if` without a matching `else`, a handler). */
      readonly maybe: boolean;
      readonly block?: number;
      /** After an if/else that binds the name in every branch: it keeps what the branches bound it to. */
      readonly merged?: boolean;
    }
  | { readonly kind: "delete"; readonly name: string; readonly line: number; readonly block?: number }
  | { readonly kind: "mutate"; readonly name: string; readonly line: number; readonly block?: number }
  | {
      readonly kind: "define";
      readonly name: string;
      readonly line: number;
      readonly endLine: number;
      /** Globals the definition's body reads when it is called. */
      readonly reads: readonly BodyRead[];
      /** Globals the body assigns through `global` when it is called. */
      readonly writes: readonly string[];
      /** Top-level modules an import statement brings in. */
      readonly modules: readonly string[];
      /**
       * The lines a later component copies to have the definition: its own at the top level of
       * the cell, the whole top-level `if`/`try` statement around it otherwise; absent when it
       * cannot be copied (inside a loop or a `with`).
       */
      readonly copy?: { readonly line: number; readonly endLine: number };
      readonly maybe: boolean;
      readonly block?: number;
    }
  | { readonly kind: "starImport"; readonly line: number; readonly module: string; readonly block?: number };

export interface ParameterFact {
  readonly name: string;
  readonly line: number;
  readonly type: ValueType;
  readonly default: unknown;
}

export interface CellAnalysis {
  readonly index: number;
  readonly syntaxError?: { readonly line: number; readonly column: number; readonly message: string };
  /** Python could not even build the cell's syntax tree (an expression thousands of levels deep). */
  readonly tooDeep?: { readonly message: string };
  readonly events?: readonly CellEvent[];
  /** `blocks[b - 1]` is the block enclosing block `b` (0: the cell's top level). */
  readonly blocks?: readonly number[];
  readonly parameters?: readonly ParameterFact[];
  readonly parameterProblems?: readonly { readonly line: number; readonly message: string }[];
}

export interface NotebookAnalysis {
  readonly stdlib: readonly string[];
  readonly builtins: readonly string[];
  readonly cells: readonly CellAnalysis[];
}

export interface CellToAnalyze {
  readonly index: number;
  readonly source: string;
  readonly parameters: boolean;
}

/** What the analyzer is given (its stdin), and so the key under which a started analysis is kept. */
function analyzerInput(cells: readonly CellToAnalyze[]): string {
  return JSON.stringify({ cells });
}

// -S -s: the analyzer needs only the standard library, so Python skips importing `site` (the
// site-packages scan and its .pth files: about a third of the interpreter's start).
const ANALYZER_ARGS = ["-S", "-s", "-m", "naaw_analyzer"];

interface AnalyzerOutcome {
  readonly error?: Error;
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Analyses started ahead (startAnalysis) and finished, by their input, for analyzeCells to take. */
const finishedAhead = new Map<string, AnalyzerOutcome>();

/**
 * Starts the analysis of these cells in the background, so that Python's start overlaps whatever
 * the caller loads meanwhile; a later analyzeCells of the same cells takes its result once the
 * promise has settled (it never rejects: a failure is reported by analyzeCells, as if it ran then).
 */
export function startAnalysis(cells: readonly CellToAnalyze[]): Promise<void> {
  const input = analyzerInput(cells);
  if (finishedAhead.has(input)) return Promise.resolve();
  return new Promise((resolve) => {
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let spawnError: Error | undefined;
    const child = spawn(pythonExecutable(), ANALYZER_ARGS, { env: pythonEnv(), stdio: ["pipe", "pipe", "pipe"] });
    child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
    child.stdin.on("error", () => undefined); // a Python that exits early: its status says why
    child.on("error", (error) => (spawnError = error));
    child.on("close", (status) => {
      finishedAhead.set(input, {
        error: spawnError,
        status,
        stdout: Buffer.concat(stdout).toString("utf8"),
        stderr: Buffer.concat(stderr).toString("utf8"),
      });
      resolve();
    });
    child.stdin.end(input);
  });
}

/** Runs Python's own parser and symbol tables over the cells, once per notebook. */
export function analyzeCells(cells: readonly CellToAnalyze[]): NotebookAnalysis {
  const input = analyzerInput(cells);
  const ahead = finishedAhead.get(input);
  finishedAhead.delete(input);
  const result: AnalyzerOutcome =
    ahead ?? spawnSync(pythonExecutable(), ANALYZER_ARGS, { input, env: pythonEnv(), encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
  if (result.error) {
    throw new PythonError(`cannot run ${pythonExecutable()} for notebook analysis (${result.error.message}); install Python 3 or set NAAW_PYTHON`);
  }
  if (result.status !== 0) {
    // The analyzer reports a notebook's problems as diagnostics and exits 0: a failure is the interpreter's.
    const last = result.stderr.trim().split("\n").filter((line) => line.trim() !== "").pop() ?? `exit status ${result.status}`;
    throw new PythonError(`${pythonExecutable()} could not run the notebook analysis: ${last.trim()}; set NAAW_PYTHON to a working Python 3 (python3 -m naaw_analyzer must run with it)`);
  }
  const analysis = JSON.parse(result.stdout) as WireAnalysis;
  return {
    ...analysis,
    cells: analysis.cells.map(({ parameters, ...cell }) => ({
      ...cell,
      ...(parameters
        ? { parameters: parameters.map(({ defaultJson, ...p }) => ({ ...p, default: parseExactJson(defaultJson) })) }
        : {}),
    })),
  };
}

/** The analyzer's output as sent: each default as JSON text, so big integers survive (exactJson.ts). */
interface WireAnalysis extends Omit<NotebookAnalysis, "cells"> {
  readonly cells: readonly (Omit<CellAnalysis, "parameters"> & {
    readonly parameters?: readonly (Omit<ParameterFact, "default"> & { readonly defaultJson: string })[];
  })[];
}
