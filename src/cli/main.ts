import { Command } from "commander";

// Each verb's definition (its options and help) lives in its own module, loaded only when needed:
// `naaw validate ...` loads validate's alone, while `naaw --help` (or no verb, or an unknown one)
// loads them all to list them. In the order `naaw --help` lists them.
const VERBS: ReadonlyArray<readonly [string, () => Command]> = [
  ["components", () => (require("./components") as typeof import("./components")).componentsCommand()],
  ["build", () => (require("./build") as typeof import("./build")).buildCommand()],
  ["serve", () => (require("./serve") as typeof import("./serve")).serveCommand()],
  ["validate", () => (require("./validate") as typeof import("./validate")).validateCommand()],
  ["render", () => (require("./render") as typeof import("./render")).renderCommand()],
  ["run", () => (require("./run") as typeof import("./run")).runCommand()],
  ["submit", () => (require("./submit") as typeof import("./submit")).submitCommand()],
  ["plan", () => (require("./plan") as typeof import("./plan")).planCommand()],
  ["cache", () => (require("./cache") as typeof import("./cache")).cacheCommand()],
  ["builtin", () => (require("./builtin") as typeof import("./builtin")).builtinCommand()],
  ["builtin-chain", () => (require("./builtinChain") as typeof import("./builtinChain")).builtinChainCommand()],
];

/** The CLI; given the arguments, only the verb they name (when they name one) is defined. */
export function program(argv?: readonly string[]): Command {
  const root = new Command("naaw")
    .description("Notebook-as-a-Workflow: tagged notebook cells become typed, containerized components")
    .version(require("../../package.json").version as string)
    .showHelpAfterError("(run with --help for usage)");
  const named = argv?.[2];
  const verbs = VERBS.filter(([name]) => name === named);
  for (const [, define] of verbs.length ? verbs : VERBS) root.addCommand(define());
  return root;
}

export function main(argv: readonly string[]): void {
  program(argv)
    .parseAsync([...argv])
    .catch((error: Error) => {
      process.stderr.write(`naaw: ${error.message}\n`);
      process.exitCode = 1;
    });
}
