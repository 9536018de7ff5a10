import { spawn } from "child_process";
import { Command, InvalidArgumentError } from "commander";
import * as os from "os";
import { addCatalogOptions, catalogFor, CatalogOptions } from "./catalogOptions";
import { runAction } from "./output";

interface ServeOptions extends CatalogOptions {
  readonly port: number;
  readonly host: string;
  readonly dataRoot: string;
}

export function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError("expected a port number from 0 to 65535");
  return port;
}

export function serveCommand(): Command {
  return addCatalogOptions(
    new Command("serve")
      .description("serve one component as a local REST service (GET /healthz, GET /spec, POST /run)")
      .argument("<component>", "the component to serve")
      .option("-p, --port <port>", "port to listen on (0: any free port)", parsePort, 8080)
      .option(
        "--host <host>",
        "address to bind; keep 127.0.0.1 unless the service must be reachable from elsewhere (any other address warns: the service has no authentication)",
        "127.0.0.1",
      )
      .option("--data-root <dir>", "directory that input, output and param paths must stay inside; the cells run in it", "."),
  )
    .addHelpText(
      "after",
      "\nExample:\n  npx naaw serve normalize --port 8081\n  curl -s 127.0.0.1:8081/spec\n" +
        '  curl -s -X POST 127.0.0.1:8081/run -d \'{"inputs": {"points": "points.npy"}, "params": {"norm_cell_size": 1.0}}\'',
    )
    .action((component: string, options: ServeOptions) =>
      runAction(async () => {
        const [{ selectEntries }, { localContextDir }, { pythonEnv, pythonExecutable }] = await Promise.all([
          import("../containerize/catalog"),
          import("../containerize/context"),
          import("../python/interpreter"),
        ]);
        const [entry] = selectEntries(await catalogFor(options.notebook, options.baseImage), [component]);
        const dir = localContextDir(entry.spec.name, entry.hash, entry.context);
        const args = ["-m", "naaw_runtime", "serve", "--component", dir, "--host", options.host, "--port", String(options.port), "--data-root", options.dataRoot];
        const child = spawn(pythonExecutable(), args, { stdio: "inherit", env: pythonEnv() });
        const forward = (signal: NodeJS.Signals): void => {
          child.kill(signal);
        };
        process.on("SIGINT", forward);
        process.on("SIGTERM", forward);
        // Stopped by the signal we forwarded: a clean stop. Killed by anything else: 128 + signal, as a shell reports it.
        const code = await new Promise<number>((resolve) =>
          child.on("exit", (status, signal) => {
            if (status !== null) resolve(status);
            else if (signal === "SIGINT" || signal === "SIGTERM") resolve(0);
            else resolve(128 + (signal ? (os.constants.signals[signal] ?? 0) : 0));
          }),
        );
        process.off("SIGINT", forward);
        process.off("SIGTERM", forward);
        process.exitCode = code;
      }),
    );
}
