import * as fs from "fs";
import * as path from "path";
import * as ts from "typescript";
import { BUILTIN_POLICIES } from "./builtins";
import { SchedulingPolicy, SchedulingPolicyError } from "./policy";

/*
 * A custom policy is a TypeScript module named by path (stack config `naaw:schedulingPolicy:
 * ./policies/mine.ts`, `naaw render --schedule ./policies/mine.ts`) whose default export (or export
 * `policy`) is a SchedulingPolicy. It is type-checked with the compiler API first, with the settings
 * of the nearest tsconfig.json (NaaW's own when there is none), so a mistake is reported as
 * `file:line:col: message` instead of surfacing mid-run; then it is loaded by the process's
 * TypeScript loader (ts-node under mocha and Pulumi, sucrase through bin/register.js otherwise).
 */

const NAAW_ROOT = path.resolve(__dirname, "..", "..");
/** NaaW's own sources: checked by `npm test`, not reported against a user's policy. */
const NAAW_SOURCES = path.join(NAAW_ROOT, "src") + path.sep;

/** Whether a policy name is a module path rather than a built-in's name. */
export function isPolicyPath(nameOrPath: string): boolean {
  return /[\\/]/.test(nameOrPath) || /\.[cm]?[jt]s$/.test(nameOrPath);
}

function builtinNames(): string {
  return [...BUILTIN_POLICIES.keys()].join(", ");
}

function configFor(file: string): ts.ParsedCommandLine {
  const configFile = ts.findConfigFile(path.dirname(file), ts.sys.fileExists) ?? path.join(NAAW_ROOT, "tsconfig.json");
  const read = ts.readConfigFile(configFile, ts.sys.readFile);
  if (read.error) throw new SchedulingPolicyError(`${configFile}: ${ts.flattenDiagnosticMessageText(read.error.messageText, "\n")}`);
  return ts.parseJsonConfigFileContent(read.config, ts.sys, path.dirname(configFile), undefined, configFile);
}

/**
 * Parsed files kept for the life of the process, by path and text: the TypeScript and Node
 * libraries and NaaW's sources parse once, so a second policy checks in a fraction of the time.
 */
const parsed = new Map<string, { text: string; file: ts.SourceFile }>();

function cachingHost(options: ts.CompilerOptions): ts.CompilerHost {
  const host = ts.createCompilerHost(options);
  const read = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, languageVersion, onError, shouldCreate) => {
    const text = ts.sys.readFile(fileName);
    if (text === undefined) return read(fileName, languageVersion, onError, shouldCreate);
    const key = `${fileName}\n${JSON.stringify(languageVersion)}`;
    const hit = parsed.get(key);
    if (hit && hit.text === text) return hit.file;
    const file = ts.createSourceFile(fileName, text, languageVersion);
    parsed.set(key, { text, file });
    return file;
  };
  return host;
}

function formatDiagnostic(d: ts.Diagnostic): string {
  const message = ts.flattenDiagnosticMessageText(d.messageText, "\n");
  if (!d.file || d.start === undefined) return message;
  const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
  const relative = path.relative(process.cwd(), d.file.fileName);
  const shown = relative && !relative.startsWith("..") && !path.isAbsolute(relative) ? relative : d.file.fileName;
  return `${shown}:${line + 1}:${character + 1}: ${message}`;
}

/**
 * The type errors of a policy module and of the files it imports (not NaaW's own sources or
 * node_modules, which are checked where they come from), as `file:line:col: message`.
 */
export function policyDiagnostics(file: string): string[] {
  const config = configFor(file);
  const options = { ...config.options, noEmit: true };
  const program = ts.createProgram({ rootNames: [file], options, host: cachingHost(options) });
  const own = program.getSourceFiles().filter((sf) => {
    const name = path.resolve(sf.fileName);
    return !sf.isDeclarationFile && !name.split(path.sep).includes("node_modules") && !name.startsWith(NAAW_SOURCES);
  });
  const diagnostics = [
    ...program.getOptionsDiagnostics(),
    ...program.getGlobalDiagnostics(),
    ...own.flatMap((sf) => [...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf)]),
  ].filter((d) => d.category === ts.DiagnosticCategory.Error);
  return diagnostics.map(formatDiagnostic);
}

function isPolicy(value: unknown): value is SchedulingPolicy {
  const p = value as SchedulingPolicy | null;
  return typeof p === "object" && p !== null && typeof p.name === "string" && p.name.length > 0 && typeof p.description === "string" && typeof p.apply === "function";
}

/** Loads a TypeScript module with the process's loader, registering NaaW's (sucrase) when there is none. */
function requireTypeScript(file: string): Record<string, unknown> {
  if (!require.extensions[".ts"]) require(path.join(NAAW_ROOT, "bin", "register.js"));
  return require(file) as Record<string, unknown>;
}

/**
 * A built-in policy by name (`default`, `budget`, `spot`), or the policy a TypeScript module at
 * `nameOrPath` (relative to `baseDir`) exports. Errors name the file and what to do: an unknown name
 * lists the built-ins; a module with type errors lists them as `file:line:col: message`.
 */
export function loadPolicy(nameOrPath: string, baseDir: string = process.cwd()): SchedulingPolicy {
  const builtin = BUILTIN_POLICIES.get(nameOrPath);
  if (builtin) return builtin;
  if (!isPolicyPath(nameOrPath)) {
    throw new SchedulingPolicyError(`unknown scheduling policy '${nameOrPath}'; the built-ins are ${builtinNames()}, or give the path of a TypeScript module that exports one (./policies/mine.ts)`);
  }
  const file = path.resolve(baseDir, nameOrPath);
  if (!/\.[cm]?ts$/.test(file) || /\.d\.[cm]?ts$/.test(file)) {
    throw new SchedulingPolicyError(`scheduling policy ${nameOrPath}: a custom policy is a TypeScript module (.ts) exporting a SchedulingPolicy; see docs/scheduling.md`);
  }
  if (!fs.existsSync(file)) {
    throw new SchedulingPolicyError(`scheduling policy ${nameOrPath}: no such file (${file}); give a path relative to ${baseDir}, or a built-in: ${builtinNames()}`);
  }
  const problems = policyDiagnostics(file);
  if (problems.length > 0) {
    throw new SchedulingPolicyError(`scheduling policy ${nameOrPath} does not type-check:\n${problems.join("\n")}`);
  }
  let exports: Record<string, unknown>;
  try {
    exports = requireTypeScript(file);
  } catch (error) {
    throw new SchedulingPolicyError(`scheduling policy ${nameOrPath} failed to load: ${error instanceof Error ? error.message : String(error)}`);
  }
  const policy = exports.default ?? exports.policy;
  if (!isPolicy(policy)) {
    throw new SchedulingPolicyError(
      `scheduling policy ${nameOrPath} exports no SchedulingPolicy: \`export default\` (or \`export const policy\`) an object with a name, a description and apply(manifest, context); see docs/scheduling.md`,
    );
  }
  return policy;
}
