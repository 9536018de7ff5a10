/*
 * Deterministic order for emitted documents: every emitter sorts what it writes by a stable key, so
 * the same graph always gives the same bytes (the committed renderings are compared byte for byte).
 */

/** Items sorted by `name`, by UTF-16 code units (not locale): `b-1` before `b1`, `Z` before `a`. */
export function sortedByName<T extends { name: string }>(items: Iterable<T>): T[] {
  return [...items].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Values sorted by their text (`String(value)`), by UTF-16 code units. */
export function sortedAsText<T>(values: Iterable<T>): T[] {
  return [...values].sort((a, b) => (String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0));
}
