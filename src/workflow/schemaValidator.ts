import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import type { Options, ValidateFunction } from "ajv";

/*
 * The validator of workflows/schema.json. Compiling the schema with ajv costs about 0.18 s of CPU
 * (loading ajv, 63 files, and generating the code) on every `naaw validate`, `run`, `render`...
 * So the build of the compiled CLI (bin/dist.js) writes ajv's standalone code for it beside this
 * module, PRECOMPILED: the same code ajv would generate, loaded in a few milliseconds with no ajv
 * at all. It is used only when it was generated from the schema as it is now (its sha256 matches);
 * otherwise (running from src/, or schema.json edited since the build) ajv compiles the schema here.
 */

/** workflows/schema.json: the contract editors check as you type (yaml-language-server). */
export const WORKFLOW_SCHEMA_FILE = path.resolve(__dirname, "..", "..", "workflows", "schema.json");

/** ajv's options, for the precompiled validator and for the one compiled at run time alike. */
const AJV_OPTIONS: Options = { allErrors: true, allowUnionTypes: true };

/** The standalone validator's file, written by the build beside this module's JavaScript. */
export const PRECOMPILED = "workflowSchema.validator.js";

interface PrecompiledModule {
  readonly schemaSha256: string;
  readonly validate: ValidateFunction;
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/**
 * A validator of the schema `text`: the precompiled one in `dir` when it was generated from this very
 * text, else one ajv compiles now.
 */
export function schemaValidatorIn(dir: string, text: string): ValidateFunction {
  const precompiled = path.join(dir, PRECOMPILED);
  if (fs.existsSync(precompiled)) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const loaded = require(precompiled) as PrecompiledModule;
    if (loaded.schemaSha256 === sha256(text)) return loaded.validate;
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { default: Ajv } = require("ajv") as typeof import("ajv");
  return new Ajv(AJV_OPTIONS).compile(JSON.parse(text));
}

let validator: ValidateFunction | undefined;

/** The validator of workflows/schema.json as it is now (made once per process). */
export function workflowSchemaValidator(): ValidateFunction {
  validator ??= schemaValidatorIn(__dirname, fs.readFileSync(WORKFLOW_SCHEMA_FILE, "utf8"));
  return validator;
}

/** Writes into `dir` the precompiled validator of the schema `text` (bin/dist.js: workflows/schema.json into dist/workflow/). */
export function writePrecompiledValidator(dir: string, text: string = fs.readFileSync(WORKFLOW_SCHEMA_FILE, "utf8")): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { default: Ajv } = require("ajv") as typeof import("ajv");
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { default: standaloneCode } = require("ajv/dist/standalone") as typeof import("ajv/dist/standalone");
  const ajv = new Ajv({ ...AJV_OPTIONS, code: { source: true } });
  const code = standaloneCode(ajv, ajv.compile(JSON.parse(text)));
  const module = `${code}\nmodule.exports.validate = module.exports;\nmodule.exports.schemaSha256 = ${JSON.stringify(sha256(text))};\n`;
  fs.writeFileSync(path.join(dir, PRECOMPILED), module);
}
