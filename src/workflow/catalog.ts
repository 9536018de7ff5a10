import * as fs from "fs";
import * as path from "path";
import { CatalogEntry, displayPath, loadCatalog } from "../containerize/catalog";
import { ImageOptions } from "../containerize/spec";
import { DiagnosticError, formatDiagnostic } from "../diagnostics";
import { ARGO_LOWERING_BUILTINS, BUILTINS } from "./builtins";
import { WorkflowType } from "./spec";
import { conventionalNotebooksDir } from "./prefetchAnalysis";

/** What a workflow step can bind and read: a notebook component's or a built-in's interface. */
export interface ComponentInterface {
  /** As written in `uses:`. */
  readonly uses: string;
  readonly name: string;
  readonly builtin: boolean;
  readonly description?: string;
  readonly inputs: readonly { readonly name: string; readonly type: WorkflowType }[];
  readonly params: readonly { readonly name: string; readonly type: WorkflowType; readonly required: boolean; readonly default?: unknown }[];
  readonly outputs: readonly { readonly name: string; readonly type: WorkflowType }[];
  /** The catalog entry (spec, build context, hash) of a notebook component. */
  readonly entry?: CatalogEntry;
  /** Built-ins only: which params and outputs are files rather than values (engines move them). */
  readonly files?: BuiltinFiles;
}

/**
 * The values of a built-in that are files, which each engine carries its own way:
 * - `fetch`: the param names an input file, directory or glob the step reads;
 * - `store`: the param names a directory the step writes its results to;
 * - `fileLists`: a `list[str]` output whose elements are ids (file stems); element `<id>` is written
 *   as `<outputs>/<output>/<id><ext>` for each extension (the first the file, the others its
 *   sidecars: split writes `tiles/<id>.npy` and `tiles/<id>.json`).
 */
export interface BuiltinFiles {
  readonly fetch?: readonly string[];
  readonly store?: readonly string[];
  readonly fileLists?: Readonly<Record<string, readonly string[]>>;
}

export type Lookup = { readonly found: ComponentInterface } | { readonly problem: string };

/**
 * Resolves `uses:` against the notebooks directory (`<dir>/<notebook>.ipynb`), analyzing each
 * notebook once.
 */
export class WorkflowCatalog {
  private readonly notebooks = new Map<string, { entries?: readonly CatalogEntry[]; problem?: string }>();

  constructor(
    readonly notebooksDir: string,
    private readonly options: ImageOptions = {},
  ) {}

  /** The conventional notebooks directory of a workflow file: `workflows/x.yaml` → `notebooks/`. */
  static forWorkflow(workflowFile: string, options: ImageOptions = {}): WorkflowCatalog {
    return new WorkflowCatalog(conventionalNotebooksDir(workflowFile), options);
  }

  private notebook(name: string): { entries?: readonly CatalogEntry[]; problem?: string } {
    const cached = this.notebooks.get(name);
    if (cached) return cached;
    const file = path.join(this.notebooksDir, `${name}.ipynb`);
    let result: { entries?: readonly CatalogEntry[]; problem?: string };
    if (!fs.existsSync(file)) {
      result = { problem: `no notebook ${displayPath(file)}` };
    } else {
      try {
        result = { entries: loadCatalog([file], this.options).entries };
      } catch (error) {
        if (!(error instanceof DiagnosticError)) throw error;
        const first = error.diagnostics.find((d) => d.severity === "error");
        result = { problem: `notebook ${displayPath(file)} has errors (first: ${first ? formatDiagnostic(first) : "?"}); run naaw components ${displayPath(file)}` };
      }
    }
    this.notebooks.set(name, result);
    return result;
  }

  lookup(uses: string): Lookup {
    if (uses.startsWith("builtin/")) {
      const builtin = BUILTINS[uses];
      if (builtin && ARGO_LOWERING_BUILTINS.has(uses)) return { problem: `'${uses}' is a step of what the Argo rendering makes of builtin/split, not one a workflow uses: use builtin/split` };
      const usable = Object.keys(BUILTINS).filter((name) => !ARGO_LOWERING_BUILTINS.has(name));
      return builtin ? { found: builtin } : { problem: `unknown built-in step '${uses}'; the built-ins are ${usable.join(", ")}` };
    }
    const [notebookName, componentName] = uses.split("/");
    const notebook = this.notebook(notebookName);
    if (!notebook.entries) return { problem: `unknown component '${uses}': ${notebook.problem}` };
    const entry = notebook.entries.find((e) => e.spec.name === componentName);
    if (!entry) {
      return { problem: `unknown component '${uses}'; notebook '${notebookName}' has: ${notebook.entries.map((e) => e.spec.name).join(", ")}` };
    }
    return {
      found: {
        uses,
        name: entry.spec.name,
        builtin: false,
        inputs: entry.spec.inputs,
        params: entry.spec.params.map((p) => ({ name: p.name, type: p.type, required: false, default: p.default })),
        outputs: entry.spec.outputs,
        entry,
      },
    };
  }
}
