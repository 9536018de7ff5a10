import * as path from "path";

/** The repository's Python packages (the component runtime and the notebook analyzer). */
export const PYTHON_PACKAGES_DIR = path.resolve(__dirname, "..", "..", "runtime", "python");

/** The runtime package that every component image carries. */
export const RUNTIME_PACKAGE_DIR = path.join(PYTHON_PACKAGES_DIR, "naaw_runtime");

/** The Python used for analysis and local services: `$NAAW_PYTHON`, else `python3` on the PATH. */
export function pythonExecutable(): string {
  return process.env.NAAW_PYTHON || "python3";
}

/** An environment in which `python3 -m naaw_runtime` and `-m naaw_analyzer` resolve to ours. */
export function pythonEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const existing = base.PYTHONPATH ? path.delimiter + base.PYTHONPATH : "";
  return { ...base, PYTHONPATH: PYTHON_PACKAGES_DIR + existing, PYTHONDONTWRITEBYTECODE: "1" };
}
