/** How to render (renderArgo). */
export interface ArgoOptions {
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
