import { Command } from "commander";
import { buildCommand } from "./build";
import { builtinCommand } from "./builtin";
import { builtinChainCommand } from "./builtinChain";
import { cacheCommand } from "./cache";
import { componentsCommand } from "./components";
import { planCommand } from "./plan";
import { renderCommand } from "./render";
import { runCommand } from "./run";
import { serveCommand } from "./serve";
import { submitCommand } from "./submit";
import { validateCommand } from "./validate";

export function program(): Command {
  return new Command("naaw")
    .description("Notebook-as-a-Workflow: tagged notebook cells become typed, containerized components")
    .version(require("../../package.json").version as string)
    .showHelpAfterError("(run with --help for usage)")
    .addCommand(componentsCommand())
    .addCommand(buildCommand())
    .addCommand(serveCommand())
    .addCommand(validateCommand())
    .addCommand(renderCommand())
    .addCommand(runCommand())
    .addCommand(submitCommand())
    .addCommand(planCommand())
    .addCommand(cacheCommand())
    .addCommand(builtinCommand())
    .addCommand(builtinChainCommand());
}

export function main(argv: readonly string[]): void {
  program()
    .parseAsync([...argv])
    .catch((error: Error) => {
      process.stderr.write(`naaw: ${error.message}\n`);
      process.exitCode = 1;
    });
}
