import { CellEvent, ValueType } from "./pythonAnalysis";

/** A function, class, lambda or import: code that a later component copies, since it cannot travel as a file. */
export interface Definition {
  readonly name: string;
  readonly cell: number;
  readonly line: number;
  readonly endLine: number;
  /** Globals its body reads when called. */
  readonly reads: readonly string[];
  /** Globals its body assigns (through `global`) when called. */
  readonly writes: readonly string[];
  readonly modules: readonly string[];
  readonly topLevel: boolean;
  /** Names read when the definition itself runs (decorators, defaults, bases, annotations). */
  readonly definitionReads: readonly string[];
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

function definitionReadsOf(events: readonly CellEvent[], at: number, line: number, endLine: number): string[] {
  const reads: string[] = [];
  for (let i = at - 1; i >= 0; i--) {
    const e = events[i];
    if (e.kind === "define" || (e.kind === "write" && e.line < line)) break;
    if (e.kind === "read" && e.line >= line && e.line <= endLine) reads.unshift(e.name);
  }
  return reads;
}

/**
 * The names that a sequence of cells binds, modifies or deletes by its end: what it can provide to
 * the cells after it. Used per cell (to find who provides a name) and per component (for types).
 */
export function bindingsAfter(cells: readonly CellEvents[]): Map<string, Binding> {
  const bindings = new Map<string, Binding>();
  for (const { cell, events } of cells) {
    events.forEach((event, at) => {
      switch (event.kind) {
        case "write": {
          const previous = bindings.get(event.name);
          bindings.set(event.name, {
            type: mergeType(previous?.type, event.type),
            maybe: event.maybe && (previous === undefined || previous.maybe),
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
              topLevel: event.topLevel,
              definitionReads: definitionReadsOf(events, at, event.line, event.endLine),
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
    });
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
