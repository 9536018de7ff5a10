import { Command } from "commander";
import * as path from "path";
import { addCatalogOptions, catalogFor, CatalogOptions } from "./catalogOptions";
import { formatTable, runAction } from "./output";

export const DEFAULT_BUILD_DIR = path.join("build", "components");

interface BuildOptions extends CatalogOptions {
  readonly out: string;
}

export function buildCommand(): Command {
  return addCatalogOptions(
    new Command("build")
      .description("write one Docker build context per component (code, runtime, spec, Dockerfile)")
      .argument("[component...]", "components to build (default: all)")
      .option("-o, --out <dir>", "directory that receives one context per component", DEFAULT_BUILD_DIR),
  )
    .addHelpText("after", "\nExamples:\n  npx naaw build\n  npx naaw build normalize features --out /tmp/contexts\n  docker build build/components/normalize")
    .action((components: string[], options: BuildOptions) =>
      runAction(async () => {
        const [{ selectEntries }, { writeBuildContext }] = await Promise.all([import("../containerize/catalog"), import("../containerize/context")]);
        const entries = selectEntries(await catalogFor(options.notebook, options.baseImage), components);
        const rows = entries.map((entry) => {
          const dir = path.join(options.out, entry.spec.name);
          writeBuildContext(dir, entry.context);
          return [entry.spec.name, dir, String(entry.context.size), entry.hash];
        });
        process.stdout.write(formatTable(["COMPONENT", "CONTEXT", "FILES", "HASH"], rows));
      }),
    );
}
