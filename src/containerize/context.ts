import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { NotebookAnalysisResult, NotebookComponent } from "../notebook/analyzeNotebook";
import { stringifyExactJson } from "../notebook/exactJson";
import { RUNTIME_PACKAGE_DIR } from "../python/interpreter";
import { renderCellsModule } from "./cellsModule";
import { renderComponentModule } from "./componentModule";
import { DOCKERIGNORE, renderDockerfile } from "./dockerfile";
import { ComponentSpec, DEFAULT_BASE_IMAGE, ImageOptions } from "./spec";

/** A build context as data: relative path (always `/`-separated) → content. */
export type BuildContext = ReadonlyMap<string, string>;
/** Any context's files, text (the components') or bytes (the built-ins', with vendored WASM). */
type ContextFiles = ReadonlyMap<string, string | Uint8Array>;

/** The runtime's files, read once per process: every context carries the same copy. */
let runtimeFiles: ReadonlyMap<string, string> | undefined;

function readRuntime(): ReadonlyMap<string, string> {
  if (runtimeFiles) return runtimeFiles;
  const files = new Map<string, string>();
  for (const name of fs.readdirSync(RUNTIME_PACKAGE_DIR).sort()) {
    if (!name.endsWith(".py")) continue;
    files.set(`naaw_runtime/${name}`, fs.readFileSync(path.join(RUNTIME_PACKAGE_DIR, name), "utf8"));
  }
  runtimeFiles = files;
  return files;
}

/**
 * Pretty JSON with keys in a fixed order, so specs diff well and hash the same everywhere; a param
 * default beyond 2**53 is written exactly.
 */
export function stableJson(value: unknown): string {
  return stringifyExactJson(value, 2) + "\n";
}

function specOf(component: NotebookComponent, sourceMap: ComponentSpec["sourceMap"]): ComponentSpec {
  return {
    name: component.name,
    notebook: component.notebook,
    cells: component.cells,
    inputs: component.inputs.map(({ name, type }) => ({ name, type })),
    outputs: component.outputs.map(({ name, type }) => ({ name, type })),
    params: component.params.map(({ name, type, default: d }) => ({ name, type, default: d })),
    requirements: component.requirements,
    sourceMap,
  };
}

/**
 * Everything `docker build` needs for one component, and the spec it carries; the same notebook
 * gives the same bytes.
 */
export function renderBuildContext(
  analysis: NotebookAnalysisResult,
  component: NotebookComponent,
  options: ImageOptions = {},
): { readonly context: BuildContext; readonly spec: ComponentSpec } {
  const cells = renderCellsModule(analysis, component);
  const spec = specOf(component, cells.sourceMap);
  const files = new Map<string, string>([
    [".dockerignore", DOCKERIGNORE],
    ["Dockerfile", renderDockerfile(component, options.baseImage ?? DEFAULT_BASE_IMAGE)],
    ["cells.py", cells.text],
    ["component.json", stableJson(spec)],
    ["component.py", renderComponentModule(component)],
    ["requirements.txt", component.requirements.join("\n") + "\n"],
    ...readRuntime(),
  ]);
  return { context: new Map([...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))), spec };
}

/** sha256 over every path and content of the context: the image's identity and its tag. */
export function contextHash(context: ContextFiles): string {
  const hash = createHash("sha256");
  for (const [file, content] of context) {
    hash.update(`${file}\0${Buffer.byteLength(content)}\0`);
    hash.update(content);
  }
  return hash.digest("hex");
}

/**
 * Writes a context to `dir`, replacing what was there only once the new one is complete: a failure
 * half way leaves the previous context intact.
 */
export function writeBuildContext(dir: string, context: ContextFiles): void {
  const parent = path.dirname(path.resolve(dir));
  fs.mkdirSync(parent, { recursive: true });
  const staging = fs.mkdtempSync(path.join(parent, `.${path.basename(dir)}.tmp-`));
  try {
    for (const [file, content] of context) {
      const target = path.join(staging, ...file.split("/"));
      fs.mkdirSync(path.dirname(target), { recursive: true, mode: 0o755 });
      fs.writeFileSync(target, content, { mode: 0o644 });
    }
    fs.chmodSync(staging, 0o755);
    const previous = `${staging}.old`;
    const hadPrevious = fs.existsSync(dir);
    if (hadPrevious) fs.renameSync(dir, previous);
    fs.renameSync(staging, dir);
    if (hadPrevious) fs.rmSync(previous, { recursive: true, force: true });
  } catch (error) {
    fs.rmSync(staging, { recursive: true, force: true });
    throw error;
  }
}

/** Where `serve` and `run` keep the contexts they run, one directory per component and hash. */
export const LOCAL_CONTEXTS_DIR = path.join(".naaw", "components");

/**
 * The directory of a component's build context under `root`, written on first use. The name carries
 * the content hash, so an edited notebook gets a new directory and an unchanged one is reused.
 */
export function localContextDir(name: string, hash: string, context: BuildContext, root = LOCAL_CONTEXTS_DIR): string {
  const dir = path.join(root, `${name}-${hash.slice(0, 12)}`);
  if (!fs.existsSync(path.join(dir, "component.json"))) writeBuildContext(dir, context);
  return dir;
}
