"use strict";
// Load the project's TypeScript directly: sucrase strips the types per file in milliseconds, where
// ts-node loads the whole TypeScript compiler first (about 2 s of every start). Types are checked by
// `npm test` (tsc). Used by the CLI and by the Pulumi dynamic providers, whose code runs in a plain
// Node process (the engine's dynamic-provider host) that knows nothing of TypeScript.
// A process that already loads TypeScript (ts-node under mocha or `pulumi`) keeps its own loader.
if (!require.extensions[".ts"]) {
  const { addHook } = require("pirates");
  const { transform } = require("sucrase");
  addHook(
    (code, filename) => transform(code, { transforms: ["typescript", "imports"], filePath: filename, disableESTransforms: true }).code,
    { exts: [".ts"], ignoreNodeModules: true },
  );
}
