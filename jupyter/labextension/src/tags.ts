/**
 * The tags "Make component from selected cells" gives a cell: its own tags without any role
 * (component:*, imports, parameters, skip: a cell has one role) and with `component:<name>`.
 */
export const COMPONENT_NAME = /^[a-z][a-z0-9_-]{0,62}$/;

const ROLE_TAGS = new Set(['imports', 'parameters', 'skip']);

export function componentTags(existing: readonly string[] | undefined, name: string): string[] {
  const kept = (existing ?? []).filter(tag => !tag.startsWith('component:') && !ROLE_TAGS.has(tag));
  return [...kept, `component:${name}`];
}

/** Why a name cannot name a component (as the analyzer says), or undefined when it can. */
export function componentNameProblem(name: string): string | undefined {
  return COMPONENT_NAME.test(name)
    ? undefined
    : `'${name}': a component name starts with a lowercase letter and uses only a-z, 0-9, '_' and '-' (it names an image and a service)`;
}
