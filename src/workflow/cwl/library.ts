/*
 * The fixed pieces of every CWL document: image layout, shared ids, and the inline JavaScript and
 * ExpressionTool that some workflows need.
 */

/** Where the component images keep the runtime (`/app/naaw_runtime`) and the component (`/app/component`). */
export const IMAGE_APP_DIR = "/app";
export const BUILTINS_IMAGE = "naaw-builtins";
export const TAG_INPUT = "naaw-tag";
export const SIDECAR = { pattern: "^.json", required: false };
export const JS = "InlineJavascriptRequirement";

/**
 * Renames a collected file after the foreach item (`tile_0_0.raster.npy`), so that the files of all
 * items keep distinct names; outside a foreach there is no tag and the file keeps its name.
 */
export const RENAME_FUNCTION = "naawNamedAfterItem";
export const RENAME_LIBRARY = [
  `function ${RENAME_FUNCTION}(files, tag) {`,
  "  var file = files[0];",
  "  if (file && tag !== null && tag !== undefined) {",
  '    file.basename = String(tag).replace(/[^A-Za-z0-9._-]+/g, "_") + "." + file.basename;',
  "  }",
  "  return file;",
  "}",
].join("\n");
export const RENAME_AFTER_ITEM = `$(${RENAME_FUNCTION}(self, inputs["${TAG_INPUT}"]))`;

/** Reads a list that a component wrote as JSON into a CWL array (loadContents: at most 64 KiB). */
export const JSON_LIST_ID = "#naaw-json-list";
export const JSON_LIST_TOOL = {
  class: "ExpressionTool",
  id: JSON_LIST_ID,
  label: "a JSON list as an array to scatter over",
  requirements: { InlineJavascriptRequirement: {} },
  inputs: { list: { type: "File", loadContents: true, doc: "A .json file holding a list (at most 64 KiB)." } },
  outputs: { items: { type: { type: "array", items: "Any" } } },
  expression: '${ return { "items": JSON.parse(inputs.list.contents) }; }',
};
