import { Diagnostic, DiagnosticSink } from "../diagnostics";
import { prepareCells } from "./cellsToAnalyze";
import { AnalyzedCell, ComponentDraft, NotebookComposer } from "./compose";
import { Notebook } from "./notebook";
import { analyzeCells } from "./pythonAnalysis";
import { isLocalModule, readPins, requirementsFor } from "./requirements";
import { CellRole } from "./roles";

/** A component of a notebook with everything needed to generate its code. */
export interface NotebookComponent extends ComponentDraft {
  readonly notebook: string;
  readonly requirements: readonly string[];
}

export interface NotebookAnalysisResult {
  readonly notebook: Notebook;
  /** Each code cell's source with IPython magics replaced by `pass` (same line numbers). */
  readonly sources: ReadonlyMap<number, string>;
  readonly roles: ReadonlyMap<number, CellRole>;
  readonly components: readonly NotebookComponent[];
  readonly diagnostics: readonly Diagnostic[];
}

/** Components depending on each other through interleaved cells cannot run one after another. */
function reportCycles(components: readonly ComponentDraft[], cellRoles: ReadonlyMap<number, CellRole>, sink: DiagnosticSink): void {
  const edges = new Map<string, Set<string>>();
  for (const c of components) {
    const from = new Set<string>(c.inputs.map((i) => i.from));
    for (const d of c.copied) {
      const role = cellRoles.get(d.cell);
      if (role?.kind === "component") from.add(role.name);
    }
    edges.set(c.name, from);
  }
  const state = new Map<string, "visiting" | "done">();
  const stack: string[] = [];
  const visit = (name: string): void => {
    state.set(name, "visiting");
    stack.push(name);
    for (const dependency of edges.get(name) ?? []) {
      if (state.get(dependency) === "visiting") {
        const cycle = [...stack.slice(stack.indexOf(dependency)), dependency];
        const first = components.find((c) => c.name === dependency);
        sink.error(
          `components depend on each other in a cycle (${cycle.join(" → ")}) because their cells are interleaved; keep each component's cells after the cells it reads from`,
          first ? { cell: first.cells[0] } : {},
        );
      } else if (!state.has(dependency)) {
        visit(dependency);
      }
    }
    stack.pop();
    state.set(name, "done");
  };
  for (const c of components) if (!state.has(c.name)) visit(c.name);
}

/** Reads the tags, runs Python's analysis once, and resolves every component's inputs and outputs. */
export function analyzeNotebook(notebook: Notebook): NotebookAnalysisResult {
  const sink = new DiagnosticSink(notebook.path);
  const { roles, sources, cells } = prepareCells(notebook, sink);
  const parameterCells = [...roles].filter(([, r]) => r.kind === "parameters").map(([i]) => i);
  if (parameterCells.length > 1) {
    sink.warning(`cells ${parameterCells.join(", ")} are all tagged 'parameters'; papermill injects after the first, so keep one`, {
      cell: parameterCells[1],
    });
  }

  const analysis = analyzeCells(cells);
  const analyzed: AnalyzedCell[] = [];
  for (const cell of analysis.cells) {
    const role = roles.get(cell.index) ?? { kind: "untagged" };
    const severity = role.kind === "skip" || role.kind === "untagged" ? "warning" : "error";
    const inNoComponent = severity === "warning" ? " (the cell is in no component)" : "";
    if (cell.syntaxError) {
      const message = `Python syntax error: ${cell.syntaxError.message}${inNoComponent}`;
      sink[severity](message, { cell: cell.index, line: cell.syntaxError.line, column: cell.syntaxError.column });
    }
    if (cell.tooDeep) sink[severity](`${cell.tooDeep.message}${inNoComponent}`, { cell: cell.index });
    for (const problem of cell.parameterProblems ?? []) sink.error(problem.message, { cell: cell.index, line: problem.line });
    analyzed.push({ index: cell.index, role, events: cell.events ?? [], blocks: cell.blocks ?? [] });
  }

  const drafts = new NotebookComposer(analyzed, analysis, sink).compose();
  reportCycles(drafts, roles, sink);

  const stdlib = new Set(analysis.stdlib);
  const pins = readPins(notebook.path);
  const components = drafts.map((draft): NotebookComponent => {
    const local = draft.modules.filter((m) => isLocalModule(m, notebook.path));
    for (const m of local) {
      sink.warning(`component '${draft.name}' imports '${m}', a module beside the notebook; it is not copied into the image, so move that code into the imports cell`, {
        cell: draft.cells[0],
      });
    }
    const thirdParty = draft.modules.filter((m) => !local.includes(m));
    return { ...draft, notebook: notebook.path, requirements: requirementsFor(thirdParty, stdlib, pins) };
  });
  if (components.length === 0) {
    sink.warning("no cell is tagged 'component:<name>'; tag the cells of each step in JupyterLab's property inspector");
  }
  return { notebook, sources, roles, components, diagnostics: sink.diagnostics };
}
