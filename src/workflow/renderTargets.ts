// What `naaw render` can target and the image prefix it defaults to: constants the CLI's option
// definitions need at every start, apart from the renderers themselves (./render.ts re-exports them).

/** Image prefix of rendered manifests when none is given: `naaw/<component>:<hash>`. */
export const DEFAULT_REGISTRY = "naaw";

export const RENDER_TARGETS = ["argo", "cwl", "mermaid"] as const;
export type RenderTarget = (typeof RENDER_TARGETS)[number];
