#!/usr/bin/env node
"use strict";
// Runs the compiled CLI (dist/, `npm run build`) when it is current, else the TypeScript sources
// through bin/register.js, so an edit to src/ is never answered by old code (see dist.js).
if (require("./dist").isCurrent()) {
  require("../dist/cli/main").main(process.argv);
} else {
  require("./register");
  require("../src/cli/main").main(process.argv);
}
