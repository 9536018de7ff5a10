import * as fs from "fs";
import * as path from "path";
import { BuildContextError } from "./fileContext";

/** The parts of a package.json this module reads. */
export interface PackageManifest {
  readonly name?: string;
  readonly version?: string;
  readonly dependencies?: Readonly<Record<string, string>>;
  readonly devDependencies?: Readonly<Record<string, string>>;
  readonly optionalDependencies?: Readonly<Record<string, string>>;
  readonly peerDependencies?: Readonly<Record<string, string>>;
  readonly peerDependenciesMeta?: Readonly<Record<string, { readonly optional?: boolean }>>;
}

/** An installed package copied into a build context. */
export interface VendoredPackage {
  readonly name: string;
  readonly version: string;
  /** Its directory relative to the project root, `/`-separated: `node_modules/geotiff`. */
  readonly dir: string;
}

/**
 * Checks that every package the compiled code requires is a runtime dependency of the project
 * (package.json `dependencies`): a devDependency is not installed where the code runs, and an
 * undeclared package is there only by chance (hoisted from another one). Every problem at once,
 * each naming the files that require the package and what to run.
 */
export function checkDeclared(required: ReadonlyMap<string, readonly string[]>, manifest: PackageManifest, manifestFile = "package.json"): void {
  const problems: string[] = [];
  for (const [name, files] of required) {
    if (manifest.dependencies?.[name] !== undefined) continue;
    const who = `${files.join(", ")} require${files.length === 1 ? "s" : ""} '${name}'`;
    problems.push(
      manifest.devDependencies?.[name] !== undefined
        ? `${who}, which ${manifestFile} lists only in devDependencies, which the image does not get: move it to dependencies (npm install --save-prod ${name})`
        : `${who}, which ${manifestFile} does not list in dependencies: add it (npm install ${name})`,
    );
  }
  if (problems.length > 0) throw new BuildContextError(`the built-ins' code needs packages that ${manifestFile} does not provide:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
}

function readManifest(file: string): PackageManifest {
  return JSON.parse(fs.readFileSync(file, "utf8")) as PackageManifest;
}

/** Where Node finds `name` from a package in `fromDir` (both relative to root): the nearest node_modules upwards. */
function locate(root: string, fromDir: string, name: string): string | undefined {
  let dir = fromDir;
  for (;;) {
    const candidate = path.posix.join(dir, "node_modules", name);
    if (fs.existsSync(path.join(root, candidate, "package.json"))) return candidate;
    if (dir === "" || dir === ".") return undefined;
    // From node_modules/a/node_modules/b up to node_modules/a, then to the root.
    const up = dir.lastIndexOf("/node_modules/");
    dir = up < 0 ? "" : dir.slice(0, up);
  }
}

/**
 * The installed packages `direct` needs at run time, themselves and their dependencies (regular,
 * optional when installed, peer), each where Node would find it from the package requiring it, in
 * directory order. A required dependency that is not installed is an error naming both packages.
 */
export function packageClosure(root: string, direct: readonly string[]): VendoredPackage[] {
  const found = new Map<string, VendoredPackage>();
  const problems: string[] = [];
  const queue: { name: string; from: string; optional: boolean; by: string }[] = direct.map((name) => ({ name, from: "", optional: false, by: "package.json" }));
  while (queue.length > 0) {
    const { name, from, optional, by } = queue.shift()!;
    const dir = locate(root, from, name);
    if (!dir) {
      if (!optional) problems.push(`'${name}' (needed by ${by}) is not installed: run npm install`);
      continue;
    }
    if (found.has(dir)) continue;
    const manifest = readManifest(path.join(root, dir, "package.json"));
    found.set(dir, { name, version: manifest.version ?? "0.0.0", dir });
    const needs = (deps: Readonly<Record<string, string>> | undefined, isOptional: (dep: string) => boolean): void => {
      for (const dep of Object.keys(deps ?? {})) queue.push({ name: dep, from: dir, optional: isOptional(dep), by: `${name}@${manifest.version} (${dir})` });
    };
    needs(manifest.dependencies, () => false);
    needs(manifest.optionalDependencies, () => true);
    needs(manifest.peerDependencies, (dep) => manifest.peerDependenciesMeta?.[dep]?.optional === true);
  }
  if (problems.length > 0) throw new BuildContextError(`the built-ins' packages are incomplete in ${path.join(root, "node_modules")}:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  return [...found.values()].sort((a, b) => (a.dir < b.dir ? -1 : a.dir > b.dir ? 1 : 0));
}

/**
 * Files Node 20 never loads: TypeScript that packages ship beside their JavaScript (sources and
 * type declarations; Node 20 runs no TypeScript) and source maps.
 */
const NOT_AT_RUN_TIME = /\.[cm]?tsx?$|\.map$/;

/**
 * A package's files for the context, keyed by path relative to the root. Nested `node_modules` are
 * left out (packageClosure lists the nested packages that are needed). A native addon (`.node`)
 * is refused: it was built for this machine, not for the image's platform.
 */
export function packageFiles(root: string, pkg: VendoredPackage): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const walk = (rel: string): void => {
    for (const entry of fs.readdirSync(path.join(root, rel)).sort()) {
      const child = `${rel}/${entry}`;
      const stat = fs.statSync(path.join(root, child));
      if (stat.isDirectory()) {
        if (entry !== "node_modules") walk(child);
      } else if (stat.isFile()) {
        if (entry.endsWith(".node")) {
          throw new BuildContextError(`${pkg.name}@${pkg.version} has a native addon (${child}), built for this machine rather than the image's platform; the built-ins image takes only JavaScript and WASM packages`);
        }
        if (!NOT_AT_RUN_TIME.test(entry)) files.set(child, fs.readFileSync(path.join(root, child)));
      }
    }
  };
  walk(pkg.dir);
  return files;
}
