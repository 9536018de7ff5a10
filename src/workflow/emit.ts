import { dump } from "js-yaml";

/** Keys a reader looks for first in a Kubernetes or CWL document; everything else sorts by name. */
const FIRST_KEYS = ["apiVersion", "kind", "metadata", "cwlVersion", "class", "$graph", "id", "name"];

function compareKeys(a: string, b: string): number {
  const ia = FIRST_KEYS.indexOf(a);
  const ib = FIRST_KEYS.indexOf(b);
  if (ia >= 0 || ib >= 0) return (ia < 0 ? FIRST_KEYS.length : ia) - (ib < 0 ? FIRST_KEYS.length : ib);
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * YAML for review: stable key order (identifying keys first, then sorted), no line folding, no
 * anchors, so the same model always gives the same bytes and a change shows as a small diff.
 */
export function toYaml(document: unknown, header?: string): string {
  const body = dump(document, { sortKeys: compareKeys, lineWidth: -1, noRefs: true });
  return (header ? header.replace(/\s*$/, "\n") : "") + body;
}
