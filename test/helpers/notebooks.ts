import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/** A code cell as a test writes it: its tags and its source. */
export interface TestCell {
  readonly tags?: readonly string[];
  readonly source: string;
  readonly markdown?: boolean;
}

/** nbformat 4 JSON for the given cells, as Jupyter would save it. */
export function notebookJson(cells: readonly TestCell[], language = "python"): string {
  return JSON.stringify(
    {
      nbformat: 4,
      nbformat_minor: 5,
      metadata: {
        kernelspec: { name: language === "python" ? "python3" : language, display_name: language, language },
        language_info: { name: language },
      },
      cells: cells.map((c, i) => ({
        id: `cell-${i}`,
        cell_type: c.markdown ? "markdown" : "code",
        metadata: c.tags ? { tags: c.tags } : {},
        source: c.source.split(/(?<=\n)/),
        ...(c.markdown ? {} : { outputs: [], execution_count: null }),
      })),
    },
    null,
    1,
  );
}

/** A fresh temporary directory, removed by the returned cleanup. */
export function tempDir(prefix = "naaw-test-"): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Writes a notebook of the given cells into `dir` and returns its path. */
export function writeNotebook(dir: string, cells: readonly TestCell[], name = "nb.ipynb"): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, notebookJson(cells));
  return file;
}

/** Every file under `dir`, relative to it, hidden ones included, sorted; none when it does not exist. */
export function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const found: string[] = [];
  const walk = (at: string): void => {
    for (const entry of fs.readdirSync(at, { withFileTypes: true })) {
      const full = path.join(at, entry.name);
      if (entry.isDirectory()) walk(full);
      else found.push(path.relative(dir, full));
    }
  };
  walk(dir);
  return found.sort();
}
