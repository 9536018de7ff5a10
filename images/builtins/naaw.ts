#!/usr/bin/env node
/**
 * `naaw` in the built-ins image: the CLI's `builtin` and `builtin-chain` verbs and nothing else. The
 * image runs only the built-in steps (`naaw builtin split|merge …`, as src/workflow/argo.ts renders
 * them, and `naaw builtin-chain join …` as a batched pod's first container, docs/pod-chain.md); the other verbs
 * need Python, Docker or the notebooks, none of which the image has. Keeping only these verbs keeps the
 * image small, and keeps its content hash (its tag) unchanged when code the built-ins never run changes.
 *
 * Compiled to images/builtins/naaw.js in the build context (src/containerize/builtinsContext.ts).
 */
import { Command } from "commander";
import { builtinCommand } from "../../src/cli/builtin";
import { builtinChainCommand } from "../../src/cli/builtinChain";

// The context's package.json (the project's version, trimmed to the packages this code requires).
const { version } = require("../../package.json") as { version: string };

new Command("naaw")
  .description("Notebook-as-a-Workflow built-in steps (the naaw-builtins image)")
  .version(version)
  .showHelpAfterError("(run with --help for usage)")
  .addCommand(builtinCommand())
  .addCommand(builtinChainCommand())
  .parseAsync(process.argv)
  // As src/cli/main.ts does: a message, exit 1, no stack trace (runAction reports the steps' own errors).
  .catch((error: Error) => {
    process.stderr.write(`naaw: ${error.message}\n`);
    process.exitCode = 1;
  });
