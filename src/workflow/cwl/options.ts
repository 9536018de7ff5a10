export interface CwlOptions {
  /** Registry of the component images: `<registry>/<name>:<hash>` (`<name>:<hash>` without one). */
  readonly registry?: string;
  /**
   * Render for a machine without Docker (`naaw render --no-docker`): no DockerRequirement; components
   * run through the local runtime from their build contexts, built-ins through `naawCommand`.
   */
  readonly noDocker?: boolean;
  /** Absolute directory holding one build context per component (`naaw build --out`); with noDocker. */
  readonly contextsDir?: string;
  /** Absolute directory put on PYTHONPATH so that `-m naaw_runtime` resolves; with noDocker. */
  readonly pythonPath?: string;
  /** The Python that runs components with noDocker. @default "python3" */
  readonly python?: string;
  /** The command that runs `naaw` with noDocker (e.g. `["node", "/abs/bin/naaw.js"]`). @default ["naaw"] */
  readonly naawCommand?: readonly string[];
  /** Tag of the built-ins image `<registry>/naaw-builtins:<tag>`. @default the package version */
  readonly builtinsVersion?: string;
}

export interface CwlRendering {
  readonly document: object;
  /** What the rendering cannot express; the document is best effort when this is not empty. */
  readonly problems: string[];
}
