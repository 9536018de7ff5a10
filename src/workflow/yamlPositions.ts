import { constructFromEvents, CORE_SCHEMA, Event, EVENT_ID, getScalarValue, mergeTag, parseEvents, YAMLException } from "js-yaml";
import { checkAliases } from "./yamlAliases";

/** 1-based line and column of a place in a YAML file. */
export interface Position {
  readonly line: number;
  readonly column: number;
}

/** A YAML document as plain data, plus where each value (by JSON-pointer-like path) starts. */
export interface PositionedYaml {
  readonly value: unknown;
  /** `steps/0/with/points` → the position of that value; `steps/0/with/points#key` → of its key. */
  readonly positions: ReadonlyMap<string, Position>;
}

export class YamlSyntaxError extends Error {
  constructor(
    message: string,
    readonly position: Position,
  ) {
    super(message);
  }
}

function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === "\n") starts.push(i + 1);
  return starts;
}

export function positionOf(starts: readonly number[], offset: number): Position {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= offset) lo = mid;
    else hi = mid - 1;
  }
  return { line: lo + 1, column: offset - starts[lo] + 1 };
}

interface Frame {
  readonly kind: "mapping" | "sequence";
  readonly path: string;
  index: number;
  /** In a mapping: the key just read, waiting for its value. */
  pendingKey?: string;
}

/**
 * Parses one YAML document with js-yaml, keeping the position of every value: js-yaml's event
 * stream carries source offsets, which the constructed value does not.
 */
/**
 * YAML 1.2's core schema plus merge keys (`<<: *defaults`), which YAML users expect of anchors even
 * though 1.2 dropped them; js-yaml caps what merges copy, and checkAliases what aliases expand to.
 */
const SCHEMA = CORE_SCHEMA.withTags(mergeTag);

function syntaxError(error: unknown): never {
  if (error instanceof YAMLException) {
    const mark = (error as YAMLException & { mark?: { line: number; column: number } }).mark;
    const reason = (error as YAMLException & { reason?: string }).reason ?? error.message.split("\n")[0];
    throw new YamlSyntaxError(`invalid YAML: ${reason}`, { line: (mark?.line ?? 0) + 1, column: (mark?.column ?? 0) + 1 });
  }
  throw error;
}

/** The events and documents of a YAML text; aliases are checked before anything is built from them. */
function readYaml(text: string, filename: string, starts: readonly number[]): { events: Event[]; documents: unknown[] } {
  let events: Event[];
  try {
    events = parseEvents(text, { filename });
  } catch (error) {
    syntaxError(error);
  }
  const aliases = checkAliases(events, text);
  if (aliases) throw new YamlSyntaxError(aliases.message, positionOf(starts, aliases.offset));
  try {
    return { events, documents: constructFromEvents(events, { source: text, filename, schema: SCHEMA }) };
  } catch (error) {
    syntaxError(error);
  }
}

/** One YAML value (a `--set` value), with the same alias limits as a workflow file. */
export function loadYaml(text: string, filename: string): unknown {
  const { documents } = readYaml(text, filename, lineStarts(text));
  if (documents.length > 1) throw new YamlSyntaxError("expected one YAML document, found several", { line: 1, column: 1 });
  return documents[0] ?? null;
}

export function parseYamlWithPositions(text: string, filename: string): PositionedYaml {
  const starts = lineStarts(text);
  const { events, documents } = readYaml(text, filename, starts);
  if (documents.length > 1) throw new YamlSyntaxError("expected one YAML document, found several (remove the extra `---`)", { line: 1, column: 1 });

  const positions = new Map<string, Position>();
  const stack: Frame[] = [];
  const childPath = (): string | undefined => {
    const top = stack[stack.length - 1];
    if (!top) return "";
    if (top.kind === "sequence") return `${top.path}${top.path ? "/" : ""}${top.index++}`;
    return top.pendingKey === undefined ? undefined : `${top.path}${top.path ? "/" : ""}${top.pendingKey}`;
  };
  for (const event of events) {
    switch (event.type) {
      case EVENT_ID.MAPPING:
      case EVENT_ID.SEQUENCE: {
        const at = childPath();
        if (at === undefined) {
          // A collection used as a mapping key: not something a workflow has; give it no path.
          stack.push({ kind: event.type === EVENT_ID.MAPPING ? "mapping" : "sequence", path: "\0", index: 0 });
          break;
        }
        positions.set(at, positionOf(starts, event.start));
        const top = stack[stack.length - 1];
        if (top?.kind === "mapping") top.pendingKey = undefined;
        stack.push({ kind: event.type === EVENT_ID.MAPPING ? "mapping" : "sequence", path: at, index: 0 });
        break;
      }
      case EVENT_ID.SCALAR:
      case EVENT_ID.ALIAS: {
        const top = stack[stack.length - 1];
        const start = event.type === EVENT_ID.SCALAR ? event.valueStart : event.anchorStart - 1;
        if (top?.kind === "mapping" && top.pendingKey === undefined) {
          const key = event.type === EVENT_ID.SCALAR ? getScalarValue(text, event) : "*";
          top.pendingKey = key;
          positions.set(`${top.path}${top.path ? "/" : ""}${key}#key`, positionOf(starts, start));
          break;
        }
        const at = childPath();
        if (at !== undefined) positions.set(at, positionOf(starts, start));
        if (top?.kind === "mapping") top.pendingKey = undefined;
        break;
      }
      case EVENT_ID.POP:
        if (stack.length > 0) stack.pop();
        break;
      default:
        break;
    }
  }
  return { value: documents[0] ?? null, positions };
}

/** The position of `path`, else of its nearest ancestor that has one. */
export function nearestPosition(positions: ReadonlyMap<string, Position>, path: string): Position {
  let current = path;
  for (;;) {
    const found = positions.get(current);
    if (found) return found;
    if (current === "") return { line: 1, column: 1 };
    const slash = current.lastIndexOf("/");
    current = slash < 0 ? "" : current.slice(0, slash);
  }
}
