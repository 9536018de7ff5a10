import { WorkflowType } from "../spec";

/*
 * Where values live inside a pod, and the names every template shares. /tmp is an emptyDir (the
 * `tmp` volume of the workflow), the root filesystem is read-only.
 */
export const TMP = "/tmp";
export const INPUTS_DIR = "/tmp/naaw/inputs";
export const OUTPUTS_DIR = "/tmp/naaw/outputs";
export const FILES_DIR = "/tmp/naaw/files";
/** The component directory in a notebook component's image (src/containerize/dockerfile.ts). */
export const COMPONENT_DIR = "/app/component";
/** Input parameter of every container template: the step id, which names its output keys. */
export const STEP_PARAM = "naaw-step";
/** Input parameter of a foreach group's DAG template: the current element of the list. */
export const ITEM_PARAM = "item";

/*
 * How Argo carries a built-in's files (ComponentInterface.files) through the artifact repository:
 * a `fetch` param is a key (a file or a prefix), downloaded to /tmp/naaw/files/<param>, whose path
 * the built-in gets instead; a `store` param is a key that the directory the built-in writes at
 * /tmp/naaw/files/<param> is uploaded to; a `fileLists` output is uploaded under
 * `<workflow>/<step>/<output>-files/`, and a step in a foreach over it that binds `${{ item }}` to a
 * param P gets only that item's files, at /tmp/naaw/files/P/P<ext>, and as P's value the path of
 * the first: one pod downloads one tile, and `Path(tile).with_suffix(".json")` is its sidecar.
 */
export const CONTAINER_SECURITY = {
  allowPrivilegeEscalation: false,
  capabilities: { drop: ["ALL"] },
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
};

/** The input artifact of one file of a file item bound to param P: `tile` + `.npy` → `tile-npy`. */
export function itemFileArtifact(param: string, ext: string): string {
  return `${param}-${ext.replace(/^\./, "")}`;
}

/** A `list[T]` input of a built-in reads a fan-in as a directory of one file per item. */
export function isDirectoryInput(type: WorkflowType): boolean {
  return type.startsWith("list[");
}
