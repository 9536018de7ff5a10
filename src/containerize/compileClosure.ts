import * as fs from "fs";
import { builtinModules } from "module";
import * as path from "path";
import * as ts from "typescript";
import { BuildContextError } from "./fileContext";

/** The JavaScript of an entry point and of every project file it requires at run time. */
export interface CompiledClosure {
  /** Path relative to the project root (`/`-separated, `.ts` → `.js`) → JavaScript, in path order. */
  readonly modules: ReadonlyMap<string, string>;
  /** Project JSON files the code requires (e.g. `package.json`), relative to the root. */
  readonly jsonFiles: readonly string[];
  /** Package name → the project files (relative `.ts` paths) that require it, both in name order. */
  readonly packages: ReadonlyMap<string, readonly string[]>;
}

const NODE_BUILTINS = new Set(builtinModules);

/** `@scope/name/sub/path` → `@scope/name`; `name/sub` → `name`. */
export function packageNameOf(specifier: string): string {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!;
}

function isNodeBuiltin(specifier: string): boolean {
  return specifier.startsWith("node:") || NODE_BUILTINS.has(specifier);
}

function relative(root: string, file: string): string {
  return path.relative(root, file).split(path.sep).join("/");
}

function formatDiagnostics(diagnostics: readonly ts.Diagnostic[], root: string): string {
  return ts.formatDiagnostics(diagnostics, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => root, getNewLine: () => "\n" }).trimEnd();
}

/** The compiler options and entry files of a tsconfig, or an error naming the file and what is wrong. */
function readBuildConfig(configFile: string, root: string): ts.ParsedCommandLine {
  const host: ts.ParseConfigFileHost = {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new BuildContextError(`${configFile}: ${formatDiagnostics([d], root)}`);
    },
  };
  const parsed = ts.getParsedCommandLineOfConfigFile(configFile, undefined, host);
  if (!parsed) throw new BuildContextError(`${configFile}: cannot be read as a tsconfig`);
  if (parsed.errors.length > 0) throw new BuildContextError(`${configFile}:\n${formatDiagnostics(parsed.errors, root)}`);
  if (parsed.fileNames.length === 0) throw new BuildContextError(`${configFile}: \`files\` names no entry point; name the CLI's entry (e.g. images/builtins/naaw.ts)`);
  return parsed;
}

/** A relative require of `from` as a project file: a TypeScript module or a JSON file. */
function resolveRelative(from: string, specifier: string): string | undefined {
  const base = path.resolve(path.dirname(from), specifier);
  if (base.endsWith(".json")) return fs.existsSync(base) ? base : undefined;
  return [`${base}.ts`, path.join(base, "index.ts")].find((candidate) => fs.existsSync(candidate));
}

/**
 * A `require` whose argument is not a string literal: the closure cannot know what it loads. Line
 * comments are skipped, so a comment that mentions require(...) is not mistaken for one.
 */
function computedRequire(js: string): number | undefined {
  const lines = js.split("\n");
  const index = lines.findIndex((line) => /(^|[^.\w$])require\s*\(\s*[^"'\s)]/.test(line.replace(/\/\/.*$/, "")));
  return index < 0 ? undefined : index + 1;
}

/**
 * Compiles the entry points of `configFile` (its `files`) and every project file they require at
 * run time, one file at a time (`ts.transpileModule`, the compiler's own per-file emit, with the
 * config's options). It type-checks nothing: `tsc -p <configFile> --noEmit` and the test suite do
 * that, and a whole-program emit, which loads the libs and every imported type, took 4 to 10 s here
 * against 1.5 s, on every `pulumi preview`. Per-file emit is exact for this code base, which
 * `isolatedModules` in the config keeps true (bin/register.js runs it the same way). The closure
 * follows the compiled `require`s, so an import used only for types brings in nothing. Every
 * problem (a syntax error, an unresolvable or computed require, a file outside the root) is
 * reported at once.
 */
export function compileClosure(root: string, configFile: string): CompiledClosure {
  const config = readBuildConfig(configFile, root);
  const modules = new Map<string, string>();
  const jsonFiles = new Set<string>();
  const packages = new Map<string, Set<string>>();
  const problems: string[] = [];
  const seen = new Set<string>();
  const queue = [...config.fileNames.map((f) => path.resolve(f))];
  while (queue.length > 0) {
    const file = queue.shift()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const rel = relative(root, file);
    const output = ts.transpileModule(fs.readFileSync(file, "utf8"), { compilerOptions: config.options, fileName: file, reportDiagnostics: true });
    if (output.diagnostics && output.diagnostics.length > 0) problems.push(formatDiagnostics(output.diagnostics, root));
    modules.set(rel.replace(/\.ts$/, ".js"), output.outputText);
    const computed = computedRequire(output.outputText);
    if (computed !== undefined) problems.push(`${rel}: a require of a computed name (line ${computed} of its JavaScript): the build context cannot tell what it loads; require a string literal`);
    for (const { fileName: specifier } of ts.preProcessFile(output.outputText, true, true).importedFiles) {
      if (isNodeBuiltin(specifier)) continue;
      if (!specifier.startsWith(".")) {
        const name = packageNameOf(specifier);
        packages.set(name, (packages.get(name) ?? new Set()).add(rel));
        continue;
      }
      const target = resolveRelative(file, specifier);
      if (!target) {
        problems.push(`${rel}: requires '${specifier}', which is neither a .ts module nor a .json file of the project`);
      } else if (relative(root, target).startsWith("../")) {
        problems.push(`${rel}: requires '${specifier}', which is outside the project (${root}): the build context holds only the project's files`);
      } else if (target.endsWith(".json")) {
        jsonFiles.add(relative(root, target));
      } else {
        queue.push(target);
      }
    }
  }
  if (problems.length > 0) throw new BuildContextError(`cannot compile ${relative(root, configFile)}:\n${problems.join("\n")}`);
  const byName = <T>(entries: Iterable<[string, T]>): Map<string, T> => new Map([...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return {
    modules: byName(modules),
    jsonFiles: [...jsonFiles].sort(),
    packages: byName([...packages].map(([name, files]) => [name, [...files].sort()] as [string, string[]])),
  };
}
