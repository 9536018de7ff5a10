import { BatchingOptions } from "./batched";

/** How to render (renderArgo). */
export interface ArgoOptions {
  /**
   * Render builtin/split and the foreach over its tiles batched (docs/argo-scale.md): a split over
   * batches of input files and one pod per bucket of tiles running the foreach's steps as a
   * containerSet, so a run of 10,000 tiles stays within what one Workflow object holds. Unset: one
   * pod per step per tile. A workflow without that shape renders as if unset.
   */
  readonly batching?: BatchingOptions;
  /**
   * Image prefix: a notebook component's image is `<registry>/<component>:<content hash>`.
   * @default "naaw"
   */
  readonly registry?: string;
  /**
   * Render a WorkflowTemplate (named `<workflow>`) instead of a Workflow (`generateName: <workflow>-`).
   * @default false
   */
  readonly template?: boolean;
  /**
   * The image of the built-in steps (`naaw builtin <name> …`).
   * @default `${registry}/naaw-builtins:<naaw version>`
   */
  readonly builtinsImage?: string;
  /**
   * Component name → image reference, overriding `<registry>/<component>:<hash>` (the Pulumi program
   * passes the references of the images it built, so the manifest names exactly those).
   */
  readonly images?: Readonly<Record<string, string>>;
  /** The service account the workflow's pods run as (the namespace's default when unset). */
  readonly serviceAccountName?: string;
  /** A non-default artifact repository (a config map key); unset: the cluster's default repository. */
  readonly artifactRepositoryRef?: { readonly configMap?: string; readonly key?: string };
}
