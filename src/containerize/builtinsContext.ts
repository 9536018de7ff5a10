import * as fs from "fs";
import * as path from "path";
import { compileClosure } from "./compileClosure";
import { BuildContextError, FileContext, fileContextHash, sortedContext } from "./fileContext";
import { checkDeclared, PackageManifest, packageClosure, packageFiles, VendoredPackage } from "./vendorPackages";

/** The repository of the built-ins image: `<registry>/naaw-builtins:<hash>` (src/workflow/argo.ts, cwl.ts). */
export const BUILTINS_IMAGE_NAME = "naaw-builtins";

/** The project's root, whose sources, tsconfig.build.json and node_modules the context is made from. */
export const PROJECT_ROOT = path.resolve(__dirname, "..", "..");

/** The tsconfig naming the image's entry point and the compiler options. */
export const BUILD_TSCONFIG = "tsconfig.build.json";
/** The Dockerfile, kept in the repository and copied to the context's root. */
export const BUILTINS_DOCKERFILE = "images/builtins/Dockerfile";
/** The compiled entry point in the context, which the Dockerfile puts on the PATH as `naaw`. */
export const BUILTINS_ENTRY = "images/builtins/naaw.js";

/** The built-ins image's build context, as data. */
export interface BuiltinsContext {
  /** Every file of the context: Dockerfile, package.json, compiled modules, vendored packages. */
  readonly context: FileContext;
  /** sha256 of the context (fileContextHash): the image's tag. */
  readonly hash: string;
  /** The compiled project files (relative `.js` paths). */
  readonly modules: readonly string[];
  /** The packages copied into the context, direct and transitive. */
  readonly packages: readonly VendoredPackage[];
}

interface ProjectManifest extends PackageManifest {
  readonly description?: string;
  readonly license?: string;
  readonly engines?: Readonly<Record<string, string>>;
}

function readJson<T>(file: string): T {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8")) as T;
  } catch (error) {
    throw new BuildContextError(`${file}: cannot be read as JSON (${(error as Error).message})`);
  }
}

/**
 * The context's package.json: the project's name, version (the CLI prints it) and engines, and as
 * dependencies exactly the packages the compiled code requires, at the versions copied. No scripts
 * and no devDependencies, so nothing in it runs or installs anything.
 */
function trimmedManifest(project: ProjectManifest, direct: readonly string[], packages: readonly VendoredPackage[]): string {
  const version = (name: string): string => packages.find((p) => p.dir === `node_modules/${name}`)!.version;
  const manifest = {
    name: project.name ?? "naaw",
    version: project.version ?? "0.0.0",
    description: "The built-in steps of Notebook-as-a-Workflow (the naaw-builtins image); made by src/containerize/builtinsContext.ts",
    ...(project.license ? { license: project.license } : {}),
    private: true,
    bin: { naaw: BUILTINS_ENTRY },
    ...(project.engines ? { engines: project.engines } : {}),
    dependencies: Object.fromEntries(direct.map((name) => [name, version(name)])),
  };
  return JSON.stringify(manifest, null, 2) + "\n";
}

/**
 * The build context of the built-ins image, made from the project at `root`: the Dockerfile
 * (images/builtins/Dockerfile), the CLI's built-in verb compiled to JavaScript
 * (tsconfig.build.json's entry and every project file it requires at run time), a trimmed
 * package.json naming the packages that code requires (each must be in the project's
 * `dependencies`), and those packages with their own dependencies copied from `node_modules`.
 * The same sources and installed packages give the same bytes, so the same hash; a change to
 * code the built-ins never load leaves it unchanged. Reads files, writes none (writeFileContext does).
 */
export function renderBuiltinsContext(root: string = PROJECT_ROOT): BuiltinsContext {
  const compiled = compileClosure(root, path.join(root, BUILD_TSCONFIG));
  if (!compiled.modules.has(BUILTINS_ENTRY)) {
    throw new BuildContextError(`${BUILD_TSCONFIG}: its entry point does not compile to ${BUILTINS_ENTRY}, which the Dockerfile runs as naaw; name images/builtins/naaw.ts in \`files\``);
  }
  const project = readJson<ProjectManifest>(path.join(root, "package.json"));
  checkDeclared(compiled.packages, project);
  const direct = [...compiled.packages.keys()];
  const packages = packageClosure(root, direct);

  const files = new Map<string, Buffer>([
    ["Dockerfile", fs.readFileSync(path.join(root, BUILTINS_DOCKERFILE))],
    ["package.json", Buffer.from(trimmedManifest(project, direct, packages))],
  ]);
  for (const [file, js] of compiled.modules) files.set(file, Buffer.from(js));
  // The project's package.json is replaced by the trimmed one; other JSON files the code requires go as they are.
  for (const json of compiled.jsonFiles) if (json !== "package.json") files.set(json, fs.readFileSync(path.join(root, json)));
  for (const pkg of packages) for (const [file, bytes] of packageFiles(root, pkg)) files.set(file, bytes);

  const context = sortedContext(files);
  return { context, hash: fileContextHash(context), modules: [...compiled.modules.keys()], packages };
}
