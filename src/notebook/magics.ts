import { DiagnosticSink } from "../diagnostics";

/** Cell magics whose body is still Python: the magic line goes, the body stays. */
const PYTHON_CELL_MAGICS = new Set(["time", "timeit", "capture", "prun", "debug"]);

const MAGIC_LINE = /^(\s*)([%!]|[A-Za-z_][\w, ]*=\s*[%!])/;

/**
 * Replaces IPython magics and shell lines with `pass`, keeping indentation and line numbers, so the
 * result is plain Python whose lines map one to one to the cell's. Each replacement is a warning:
 * the component will not run it.
 */
export function stripMagics(source: string, cell: number, sink: DiagnosticSink): string {
  const lines = source.split("\n");
  const first = lines.findIndex((l) => l.trim() !== "");
  if (first >= 0 && lines[first].trimStart().startsWith("%%")) {
    const magic = lines[first].trim().slice(2).split(/\s/)[0];
    if (!PYTHON_CELL_MAGICS.has(magic)) {
      sink.warning(`the cell is a %%${magic} cell, not Python; it is left out of analysis and of every component`, { cell });
      return lines.map(() => "").join("\n");
    }
    sink.warning(`the %%${magic} cell magic is left out of the component; the cell's Python runs as is`, { cell, line: first + 1 });
    lines[first] = "pass";
  }
  const scanner = new LogicalLineScanner();
  return lines
    .map((line, i) => {
      const startsStatement = scanner.atStatementStart();
      scanner.feed(line);
      const match = startsStatement ? MAGIC_LINE.exec(line) : null;
      if (!match) return line;
      sink.warning(`IPython line \`${line.trim()}\` is left out of the component`, { cell, line: i + 1 });
      return `${match[1]}pass  # naaw: IPython line left out`;
    })
    .join("\n");
}

/**
 * Tracks whether the next physical line starts a new statement: not inside brackets, a
 * triple-quoted string or after a backslash. `x = (a\n % b)` must not be taken for a magic.
 */
class LogicalLineScanner {
  private depth = 0;
  private tripleQuote: string | null = null;
  private continued = false;

  atStatementStart(): boolean {
    return this.depth === 0 && this.tripleQuote === null && !this.continued;
  }

  feed(line: string): void {
    let i = 0;
    while (i < line.length) {
      if (this.tripleQuote) {
        const end = line.indexOf(this.tripleQuote, i);
        if (end < 0) return;
        i = end + 3;
        this.tripleQuote = null;
        continue;
      }
      const ch = line[i];
      if (ch === "#") break;
      if (ch === '"' || ch === "'") {
        const triple = line.startsWith(ch.repeat(3), i) ? ch.repeat(3) : null;
        if (triple) {
          this.tripleQuote = triple;
          i += 3;
          continue;
        }
        i += 1;
        while (i < line.length && line[i] !== ch) i += line[i] === "\\" ? 2 : 1;
        i += 1;
        continue;
      }
      if ("([{".includes(ch)) this.depth += 1;
      else if (")]}".includes(ch)) this.depth = Math.max(0, this.depth - 1);
      i += 1;
    }
    this.continued = this.tripleQuote === null && line.endsWith("\\");
  }
}
