/** A problem found in a user's file, with where it is and what to do about it. */
export interface Diagnostic {
  readonly severity: "error" | "warning";
  readonly file: string;
  /** Notebook cell index (0-based, as Jupyter numbers cells), when the file is a notebook. */
  readonly cell?: number;
  /** 1-based line: within the cell for notebooks, within the file otherwise. */
  readonly line?: number;
  readonly column?: number;
  readonly message: string;
}

export function formatDiagnostic(d: Diagnostic): string {
  let where = d.file;
  if (d.cell !== undefined) {
    where += `: cell ${d.cell}` + (d.line !== undefined ? `, line ${d.line}` : "");
  } else if (d.line !== undefined) {
    where += `:${d.line}` + (d.column !== undefined ? `:${d.column}` : "");
  }
  return `${where}: ${d.severity}: ${d.message}`;
}

export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === "error");
}

/** Thrown when input cannot be used at all; carries every diagnostic found, not just the first. */
export class DiagnosticError extends Error {
  constructor(readonly diagnostics: readonly Diagnostic[]) {
    super(diagnostics.map(formatDiagnostic).join("\n"));
    this.name = "DiagnosticError";
  }
}

/** Collects diagnostics for one file, so checks do not repeat the file name. */
export class DiagnosticSink {
  readonly diagnostics: Diagnostic[] = [];

  constructor(readonly file: string) {}

  error(message: string, where: { cell?: number; line?: number; column?: number } = {}): void {
    this.diagnostics.push({ severity: "error", file: this.file, ...where, message });
  }

  warning(message: string, where: { cell?: number; line?: number; column?: number } = {}): void {
    this.diagnostics.push({ severity: "warning", file: this.file, ...where, message });
  }
}
