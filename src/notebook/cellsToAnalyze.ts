import { DiagnosticSink } from "../diagnostics";
import { stripMagics } from "./magics";
import { Notebook } from "./notebook";
import { CellToAnalyze } from "./pythonAnalysis";
import { CellRole, cellRole } from "./roles";

/** A notebook's code cells as the Python analyzer takes them, with each cell's role. */
export interface PreparedCells {
  readonly roles: ReadonlyMap<number, CellRole>;
  /** Each code cell's source with IPython magics replaced by `pass` (same line numbers). */
  readonly sources: ReadonlyMap<number, string>;
  readonly cells: readonly CellToAnalyze[];
}

/** Reads each code cell's tags and strips its magics; problems with either go to `sink`. */
export function prepareCells(notebook: Notebook, sink: DiagnosticSink): PreparedCells {
  const roles = new Map<number, CellRole>();
  const sources = new Map<number, string>();
  for (const cell of notebook.cells) {
    if (cell.kind !== "code") continue;
    const role = cellRole(cell, sink);
    roles.set(cell.index, role);
    // A skip cell belongs to no component, so what is left out of it needs no warning; its Python
    // is still analyzed (a plot there makes what it reads an output).
    const magicSink = role.kind === "skip" ? new DiagnosticSink(notebook.path) : sink;
    sources.set(cell.index, stripMagics(cell.source, cell.index, magicSink));
  }
  const cells = [...sources].map(([index, source]) => ({ index, source, parameters: roles.get(index)?.kind === "parameters" }));
  return { roles, sources, cells };
}
