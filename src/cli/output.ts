import { Diagnostic, DiagnosticError, formatDiagnostic } from "../diagnostics";
import { PythonError } from "../python/interpreter";

/** Thrown by a command for a problem the user can fix; printed as one line, exit code 1 (or as given). */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = "UsageError";
  }
}

export function printDiagnostics(diagnostics: readonly Diagnostic[]): void {
  for (const d of diagnostics) process.stderr.write(formatDiagnostic(d) + "\n");
}

/**
 * Runs a command's action: user errors print their message and set a non-zero exit code; only
 * internal bugs show a stack trace. Given `json`, a verb's diagnostics go to stdout as JSON.
 */
export async function runAction(action: () => void | Promise<void>, json?: { readonly onDiagnostics: (diagnostics: readonly Diagnostic[]) => unknown }): Promise<void> {
  try {
    await action();
  } catch (error) {
    if (error instanceof DiagnosticError) {
      // With --json, the diagnostics are the answer: on stdout, in the shape the verb's --json gives.
      if (json) process.stdout.write(JSON.stringify(json.onDiagnostics(error.diagnostics), null, 2) + "\n");
      else printDiagnostics(error.diagnostics);
      process.exitCode = 1;
    } else if (error instanceof UsageError || error instanceof PythonError) {
      process.stderr.write(`naaw: ${error.message}\n`);
      process.exitCode = error instanceof UsageError ? error.exitCode : 1;
    } else {
      process.stderr.write(`naaw: internal error (please report it): ${(error as Error).stack ?? String(error)}\n`);
      process.exitCode = 70;
    }
  }
}

/** Left-aligned columns, two spaces apart. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)].join("\n") + "\n";
}
