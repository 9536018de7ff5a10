"use strict";
// The compiled CLI: dist/ holds src/ as JavaScript, so `naaw` starts without a TypeScript loader.
//
// Built by `npm run build` (also the package's `prepare`, which `npm ci` runs, and part of
// `pretest`): every src/**/*.ts stripped of its types by sucrase, the same transform bin/register.js
// applies at run time, so the compiled and the source CLI are one program (sucrase keeps each line
// on its line: a stack trace's dist/x.js:N is src/x.ts:N). Other files under src/ (price tables)
// are copied, and ajv's code for workflows/schema.json is generated once (see precompile). Types are
// checked by `npm test` (tsc), not here.
//
// bin/naaw.js runs dist/ only while it is current: no file or directory under src/ changed since
// the build started (a stamp's mtime). Otherwise (no build, an edit, a checkout, a new or removed
// file) it runs src/ through bin/register.js: slower to start, never old code. The check stats
// src/'s ~200 entries: 2 to 6 ms here.
const fs = require("fs");
const path = require("path");

const ROOT = path.resolve(__dirname, "..");
const SOURCE_DIR = path.join(ROOT, "src");
const DIST_DIR = path.join(ROOT, "dist");
/** A build's stamp; its mtime is when the build began reading src/. */
const STAMP = ".naaw-build";

/** Whether anything under `dir` (a file's content, a directory's entries) changed at or after `sinceMs`. */
function changedSince(dir, sinceMs) {
  if (fs.statSync(dir).mtimeMs >= sinceMs) return true;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const entryPath = path.join(dir, entry.name);
    if (entry.isDirectory() ? changedSince(entryPath, sinceMs) : fs.statSync(entryPath).mtimeMs >= sinceMs) return true;
  }
  return false;
}

/** Whether `distDir` holds a finished build of `sourceDir` that no later change has made stale. */
function isCurrent(sourceDir = SOURCE_DIR, distDir = DIST_DIR) {
  let builtMs;
  try {
    builtMs = fs.statSync(path.join(distDir, STAMP)).mtimeMs;
  } catch {
    return false;
  }
  return !changedSince(sourceDir, builtMs);
}

/** Writes `sourceDir` compiled into `outDir`. */
function compileTree(sourceDir, outDir) {
  const { transform } = require("sucrase");
  fs.mkdirSync(outDir, { recursive: true });
  for (const entry of fs.readdirSync(sourceDir, { withFileTypes: true })) {
    const from = path.join(sourceDir, entry.name);
    if (entry.isDirectory()) {
      compileTree(from, path.join(outDir, entry.name));
    } else if (entry.name.endsWith(".d.ts")) {
      continue;
    } else if (entry.name.endsWith(".ts")) {
      const options = { transforms: ["typescript", "imports"], filePath: from, disableESTransforms: true };
      fs.writeFileSync(path.join(outDir, entry.name.replace(/\.ts$/, ".js")), transform(fs.readFileSync(from, "utf8"), options).code);
    } else {
      fs.copyFileSync(from, path.join(outDir, entry.name));
    }
  }
}

/**
 * What the compiled code may load instead of generating it at run time: ajv's standalone validator
 * of workflows/schema.json (src/workflow/schemaValidator.ts, which checks it still matches the schema).
 */
function precompile(outDir) {
  const schemaValidator = path.join(outDir, "workflow", "schemaValidator.js");
  if (fs.existsSync(schemaValidator)) require(schemaValidator).writePrecompiledValidator(path.dirname(schemaValidator));
}

/**
 * Builds `sourceDir` into `distDir`. The tree is written beside it and swapped in by rename, so a CLI
 * started meanwhile finds the old build, no build (and runs src/), or the new one, never half of one.
 * The stamp is written first: its mtime comes from the clock that stamps the sources' mtimes (the
 * kernel's, which may lag Date.now() by a tick), so an edit made while the build reads is newer.
 */
function build(sourceDir = SOURCE_DIR, distDir = DIST_DIR) {
  const fresh = `${distDir}.tmp-${process.pid}`;
  const old = `${distDir}.old-${process.pid}`;
  fs.rmSync(fresh, { recursive: true, force: true });
  fs.mkdirSync(fresh, { recursive: true });
  fs.writeFileSync(path.join(fresh, STAMP), `compiled from ${sourceDir}; this file's mtime is when reading it began\n`);
  compileTree(sourceDir, fresh);
  precompile(fresh);
  try {
    fs.renameSync(distDir, old);
  } catch (error) {
    if (error.code !== "ENOENT") throw error;
  }
  try {
    fs.renameSync(fresh, distDir);
  } catch (error) {
    // Another build swapped its tree in between our two renames; its own stamp says how current it is.
    if (error.code !== "ENOTEMPTY" && error.code !== "EEXIST") throw error;
    fs.rmSync(fresh, { recursive: true, force: true });
  }
  fs.rmSync(old, { recursive: true, force: true });
}

module.exports = { DIST_DIR, SOURCE_DIR, STAMP, build, isCurrent };

if (require.main === module) {
  const started = process.hrtime.bigint();
  build();
  if (!process.argv.includes("--quiet")) {
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    process.stdout.write(`naaw: compiled ${path.relative(ROOT, SOURCE_DIR)}/ into ${path.relative(ROOT, DIST_DIR)}/ in ${ms.toFixed(0)} ms\n`);
  }
}
