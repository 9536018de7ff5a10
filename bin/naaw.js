#!/usr/bin/env node
"use strict";
// Run the TypeScript CLI directly. Types are checked by `npm test` (tsc), so the CLI only needs to strip
// them: sucrase does that per file in milliseconds, where ts-node loads the whole TypeScript compiler
// first (about 2 s of every start).
const { addHook } = require("pirates");
const { transform } = require("sucrase");

addHook(
  (code, filename) => transform(code, { transforms: ["typescript", "imports"], filePath: filename, disableESTransforms: true }).code,
  { exts: [".ts"], ignoreNodeModules: true },
);
require("../src/cli/main").main(process.argv);
