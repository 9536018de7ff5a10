import * as fs from "fs";
import * as path from "path";
import { DiagnosticSink } from "../diagnostics";
import { prepareCells } from "../notebook/cellsToAnalyze";
import { readNotebook } from "../notebook/notebook";
import { startAnalysis } from "../notebook/pythonAnalysis";

/** The conventional notebooks directory of a workflow file: `workflows/x.yaml` → `notebooks/`. */
export function conventionalNotebooksDir(workflowFile: string): string {
  return path.join(path.dirname(workflowFile), "..", "notebooks");
}

/**
 * Starts, in the background, the Python analysis of each notebook of `notebooksDir` whose name the
 * workflow's text mentions as `<name>/` (as `uses: <name>/<component>` does), so that Python starts
 * while the compiler loads; the compiler's own analysis then takes the result. Only a head start:
 * a notebook guessed wrongly costs one analysis, one missed is analyzed when the compiler asks, and
 * any problem (no such file, bad JSON) is left for the compiler to report where it belongs.
 */
export async function prefetchNotebookAnalyses(workflowFile: string, notebooksDir: string): Promise<void> {
  let text: string;
  let names: string[];
  try {
    text = fs.readFileSync(workflowFile, "utf8");
    names = fs.readdirSync(notebooksDir).filter((entry) => entry.endsWith(".ipynb")).map((entry) => entry.slice(0, -".ipynb".length));
  } catch {
    return;
  }
  const started: Promise<void>[] = [];
  for (const name of names.filter((n) => text.includes(`${n}/`))) {
    try {
      const notebook = readNotebook(path.join(notebooksDir, `${name}.ipynb`));
      started.push(startAnalysis(prepareCells(notebook, new DiagnosticSink(notebook.path)).cells));
    } catch {
      // The compiler reads this notebook again and reports what is wrong with it.
    }
  }
  await Promise.all(started);
}
