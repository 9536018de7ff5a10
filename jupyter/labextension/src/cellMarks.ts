/** Marks the cells a diagnostic names, in the notebook itself: a class on the cell and its message above its input. */
import { Notebook } from '@jupyterlab/notebook';
import { Diagnostic } from './api';

const MARKED = 'naaw-cell-problem';
const NOTE = 'naaw-cell-diagnostic';

export function clearCellMarks(notebook: Notebook): void {
  for (const cell of notebook.widgets) {
    cell.node.classList.remove(MARKED);
    cell.node.querySelectorAll(`:scope > .${NOTE}`).forEach(note => note.remove());
  }
}

export function markCells(notebook: Notebook, diagnostics: readonly Diagnostic[]): void {
  clearCellMarks(notebook);
  for (const d of diagnostics) {
    if (d.cell === undefined) continue;
    const cell = notebook.widgets[d.cell];
    if (!cell) continue;
    cell.node.classList.add(MARKED);
    const note = document.createElement('div');
    note.className = `${NOTE} naaw-${d.severity}`;
    note.textContent = `NaaW ${d.severity}${d.line ? ` (line ${d.line})` : ''}: ${d.message}`;
    cell.node.insertBefore(note, cell.node.firstChild);
  }
}

/** Selects the cells (Jupyter's indices, 0-based), the first one active and scrolled to. */
export function selectCells(notebook: Notebook, cells: readonly number[]): void {
  if (cells.length === 0 || !notebook.widgets[cells[0]]) return;
  notebook.deselectAll();
  notebook.activeCellIndex = cells[0];
  for (const index of cells) {
    const cell = notebook.widgets[index];
    if (cell) notebook.select(cell);
  }
  void notebook.scrollToItem(cells[0]);
}
