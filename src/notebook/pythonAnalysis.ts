import { spawnSync } from "child_process";
import { pythonEnv, pythonExecutable } from "../python/interpreter";

export type ValueType = "ndarray" | "int" | "float" | "str" | "bool" | "list" | "dict" | "any";

/** Module-level events of one cell, in evaluation order (see runtime/python/naaw_analyzer). */
export type CellEvent =
  | { readonly kind: "read"; readonly name: string; readonly line: number }
  | {
      readonly kind: "write";
      readonly name: string;
      readonly line: number;
      readonly type: ValueType | "module";
      /** Bound only on some paths (inside a loop, an `if` without a matching `else`, a handler). */
      readonly maybe: boolean;
    }
  | { readonly kind: "delete"; readonly name: string; readonly line: number }
  | { readonly kind: "mutate"; readonly name: string; readonly line: number }
  | {
      readonly kind: "define";
      readonly name: string;
      readonly line: number;
      readonly endLine: number;
      /** Globals the definition's body reads when it is called. */
      readonly reads: readonly string[];
      /** Globals the body assigns through `global` when it is called. */
      readonly writes: readonly string[];
      /** Top-level modules an import statement brings in. */
      readonly modules: readonly string[];
      readonly topLevel: boolean;
      readonly maybe: boolean;
    }
  | { readonly kind: "starImport"; readonly line: number; readonly module: string };

export interface ParameterFact {
  readonly name: string;
  readonly line: number;
  readonly type: ValueType;
  readonly default: unknown;
}

export interface CellAnalysis {
  readonly index: number;
  readonly syntaxError?: { readonly line: number; readonly column: number; readonly message: string };
  readonly events?: readonly CellEvent[];
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

/** Runs Python's own parser and symbol tables over the cells, once per notebook. */
export function analyzeCells(cells: readonly CellToAnalyze[]): NotebookAnalysis {
  const result = spawnSync(pythonExecutable(), ["-m", "naaw_analyzer"], {
    input: JSON.stringify({ cells }),
    env: pythonEnv(),
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
  });
  if (result.error) {
    throw new Error(`cannot run ${pythonExecutable()} for notebook analysis (${result.error.message}); install Python 3 or set NAAW_PYTHON`);
  }
  if (result.status !== 0) {
    throw new Error(`notebook analysis failed in ${pythonExecutable()}:\n${result.stderr}`);
  }
  return JSON.parse(result.stdout) as NotebookAnalysis;
}
