import * as path from "path";

/** The repository's Python packages (the component runtime and the notebook analyzer). */
export const PYTHON_PACKAGES_DIR = path.resolve(__dirname, "..", "..", "runtime", "python");

/** The runtime package that every component image carries. */
export const RUNTIME_PACKAGE_DIR = path.join(PYTHON_PACKAGES_DIR, "naaw_runtime");

/** The Python naaw runs cannot do its part (it is missing, or fails before naaw's code runs): one line saying what to do. */
export class PythonError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PythonError";
  }
}

/** The Python used for analysis and local services: `$NAAW_PYTHON`, else `python3` on the PATH. */
export function pythonExecutable(): string {
  return process.env.NAAW_PYTHON || "python3";
}

/**
 * glibc's malloc for a process that runs one tile after another: arrays up to 32 MiB come from the
 * heap, and up to 1 GiB freed at its top stays there for the next tile. By default (mmap from
 * 128 KiB, the heap trimmed past 128 KiB free) every tile's temporaries went back to the kernel and
 * the next tile faulted each page in again: the demo notebook's cells on the 153 tiles of the speed
 * bench took 0.67 M page faults and 1.3 s of system time, 26 k and 0.13 s with this (user time the
 * same). The component images set the same (containerize/dockerfile.ts). A GLIBC_TUNABLES of the
 * user's own is kept as it is; other C libraries ignore it.
 */
export const MALLOC_TUNABLES = "glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=1073741824";

/** An environment in which `python3 -m naaw_runtime` and `-m naaw_analyzer` resolve to ours. */
export function pythonEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const existing = base.PYTHONPATH ? path.delimiter + base.PYTHONPATH : "";
  return { ...base, PYTHONPATH: PYTHON_PACKAGES_DIR + existing, PYTHONDONTWRITEBYTECODE: "1", GLIBC_TUNABLES: base.GLIBC_TUNABLES ?? MALLOC_TUNABLES };
}
