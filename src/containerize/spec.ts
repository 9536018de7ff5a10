import { ParamSpec, ValueSpec } from "../notebook/compose";

/** `cells.py` lines [line, line+lines) are lines [cellLine, cellLine+lines) of notebook cell `cell`. */
export interface SourceMapEntry {
  readonly line: number;
  readonly lines: number;
  readonly cell: number;
  readonly cellLine: number;
}

/** component.json: what the runtime reads (docs/components.md). */
export interface ComponentSpec {
  readonly name: string;
  readonly notebook: string;
  readonly cells: readonly number[];
  readonly inputs: readonly ValueSpec[];
  readonly outputs: readonly ValueSpec[];
  readonly params: readonly ParamSpec[];
  readonly requirements: readonly string[];
  readonly sourceMap: readonly SourceMapEntry[];
}

/** Options that change what goes into an image (and so its hash). */
export interface ImageOptions {
  /**
   * The Python base image. Pin it by digest (`python:3.11-slim@sha256:…`) for images that rebuild
   * bit for bit.
   * @default "python:3.11-slim"
   */
  readonly baseImage?: string;
}

export const DEFAULT_BASE_IMAGE = "python:3.11-slim";

/** The port a component service listens on inside its container. */
export const SERVICE_PORT = 8080;
