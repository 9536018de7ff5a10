/*
 * What every engine's emitter shares (src/workflow/argo/, src/workflow/cwl/): stable order, stable
 * names, the text of values, the package version. The next engine is a sibling folder using these.
 */
export { localOnlySteps } from "./localOnly";
export { dnsLabelOf, hash6 } from "./names";
export { sortedAsText, sortedByName } from "./sorting";
export { valueJson, valueText } from "./values";
export { NAAW_VERSION } from "./version";
