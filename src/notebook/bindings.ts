import { BodyRead, CellEvent, ValueType } from "./pythonAnalysis";

/** A function, class, lambda or import: code that a later component copies, since it cannot travel as a file. */
export interface Definition {
  readonly name: string;
  readonly cell: number;
  readonly line: number;
  readonly endLine: number;
  /** Globals its body reads when called, each at the first line of the cell that reads it. */
  readonly reads: readonly BodyRead[];
  /** Globals its body assigns (through `global`) when called. */
  readonly writes: readonly string[];
  readonly modules: readonly string[];
  /**
   * What a later component copies: these lines of the cell (the definition, or the top-level
   * `if`/`try` statement around it) and the events they produce, which run again in the copy.
   * Absent when the definition cannot be copied (it is inside a loop or a `with`).
   */
  readonly copy?: { readonly line: number; readonly endLine: number; readonly events: readonly CellEvent[] };
}

/** What a name is bound to after some code has run. */
export interface Binding {
  readonly type: ValueType | "module";
  readonly maybe: boolean;
  readonly definition?: Definition;
}

export interface CellEvents {
  readonly cell: number;
  readonly events: readonly CellEvent[];
}

/** A later concrete type wins; a later `any` (say `x = f(x)`) keeps what was known. */
export function mergeType(previous: Binding["type"] | undefined, next: Binding["type"]): Binding["type"] {
  return next === "any" && previous !== undefined ? previous : next;
}

/** The events of a cell that come from the statement on lines `line`..`endLine`. */
function eventsWithin(events: readonly CellEvent[], line: number, endLine: number): CellEvent[] {
  return events.filter((e) => e.line >= line && e.line <= endLine);
}

/**
 * The names that a sequence of cells binds, modifies or deletes by its end: what it can provide to
 * the cells after it. Used per cell (to find who provides a name) and per component (for types).
 */
export function bindingsAfter(cells: readonly CellEvents[]): Map<string, Binding> {
  const bindings = new Map<string, Binding>();
  for (const { cell, events } of cells) {
    for (const event of events) {
      switch (event.kind) {
        case "write": {
          const previous = bindings.get(event.name);
          bindings.set(event.name, {
            type: mergeType(previous?.type, event.type),
            maybe: event.maybe && (previous === undefined || previous.maybe),
            ...(event.merged && previous?.definition ? { definition: previous.definition } : {}),
          });
          break;
        }
        case "define": {
          const previous = bindings.get(event.name);
          bindings.set(event.name, {
            type: previous?.type ?? "any",
            maybe: previous?.maybe ?? event.maybe,
            definition: {
              name: event.name,
              cell,
              line: event.line,
              endLine: event.endLine,
              reads: event.reads,
              writes: event.writes,
              modules: event.modules,
              ...(event.copy ? { copy: { ...event.copy, events: eventsWithin(events, event.copy.line, event.copy.endLine) } } : {}),
            },
          });
          break;
        }
        case "mutate": {
          const previous = bindings.get(event.name);
          bindings.set(event.name, { type: previous?.type ?? "any", maybe: previous?.maybe ?? false });
          break;
        }
        case "delete":
          bindings.delete(event.name);
          break;
        default:
          break;
      }
    }
  }
  return bindings;
}

/**
 * Names a cell leaves bound or modified in place: the cell is a candidate provider for them. A name
 * it deletes afterwards is not provided (nor is `except … as e`, which Python unbinds at the end of
 * the handler).
 */
export function namesTouched(events: readonly CellEvent[]): Set<string> {
  const names = new Set<string>();
  for (const e of events) {
    if (e.kind === "write" || e.kind === "define" || e.kind === "mutate") names.add(e.name);
    else if (e.kind === "delete") names.delete(e.name);
  }
  return names;
}
