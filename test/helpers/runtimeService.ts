// A real `python3 -m naaw_runtime serve` for the tests: started on 127.0.0.1 and a free port, and
// stopped by the test that started it.
import { strict as assert } from "assert";
import { ChildProcess, spawn } from "child_process";
import { pythonEnv, pythonExecutable } from "../../src/python/interpreter";

export interface Service {
  readonly process: ChildProcess;
  readonly url: string;
  readonly exited: Promise<number | null>;
  stderr(): string;
}

/**
 * `naaw_runtime serve --port 0` of a component directory (from working directory `cwd`, with any
 * `extra` flags), resolved once its "serving ... on URL" line names the real port.
 */
export function startService(component: string, dataRoot: string, options: { readonly cwd?: string; readonly extra?: readonly string[] } = {}): Promise<Service> {
  const child = spawn(pythonExecutable(), ["-m", "naaw_runtime", "serve", "--component", component, "--host", "127.0.0.1", "--port", "0", "--data-root", dataRoot, ...(options.extra ?? [])], {
    cwd: options.cwd,
    env: pythonEnv(),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`naaw_runtime serve did not start within 15 s; stderr: ${stderr}`));
    }, 15_000);
    child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout!.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /^naaw_runtime: serving (\S+) on (http:\/\/127\.0\.0\.1:(\d+))$/m.exec(stdout);
      if (match) {
        clearTimeout(timer);
        assert.notEqual(Number(match[3]), 0);
        resolve({ process: child, url: match[2], exited, stderr: () => stderr });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`naaw_runtime serve exited with ${code} before listening; stderr: ${stderr}`));
    });
  });
}

/** SIGTERM, then SIGKILL if it has not exited within 5 s; resolves to the exit code. */
export async function stopService(service: Service | undefined): Promise<number | null> {
  if (!service) return null;
  if (service.process.exitCode !== null || service.process.signalCode !== null) return service.process.exitCode;
  service.process.kill("SIGTERM");
  const killer = setTimeout(() => service.process.kill("SIGKILL"), 5_000);
  const code = await service.exited;
  clearTimeout(killer);
  return code;
}
