#!/usr/bin/env node
"use strict";
// Run the TypeScript CLI directly: type checking happens in `npm test`, so the CLI only transpiles.
const path = require("path");
require("ts-node").register({
  project: path.join(__dirname, "..", "tsconfig.json"),
  transpileOnly: true,
});
require("../src/cli/main").main(process.argv);
