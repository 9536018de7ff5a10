/** The naaw package version: the tag of the built-ins image unless a rendering names another. */
export const NAAW_VERSION = (require("../../../package.json") as { version: string }).version;
