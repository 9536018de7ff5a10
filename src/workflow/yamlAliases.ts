import { EVENT_ID, Event } from "js-yaml";
import { groupDigits } from "../digitGroups";

/**
 * How many values YAML aliases may add to one document, in all. js-yaml shares an aliased node
 * instead of copying it, so parsing an alias bomb ("billion laughs": ten aliases of ten aliases of
 * …) is cheap, but everything after it that walks the value (schema checks, JSON for cache keys,
 * renderers) walks the whole expansion: 9 nested levels of 10 are a billion values. A workflow's
 * legitimate aliases (a shared `with:` block merged into a few steps) add tens or hundreds.
 */
export const ALIAS_EXPANSION_LIMIT = 10_000;

/** Why a document's aliases are refused, and where. */
export interface AliasProblem {
  readonly message: string;
  readonly offset: number;
}

interface Anchored {
  /** Values in the node once expanded; known when the node is closed. */
  size: number;
  /** Still being read: an alias to it now would be a cycle. */
  open: boolean;
}

interface Frame {
  size: number;
  readonly anchored?: Anchored;
}

function anchorName(text: string, event: { anchorStart: number; anchorEnd: number }): string | undefined {
  return event.anchorStart < 0 ? undefined : text.slice(event.anchorStart, event.anchorEnd);
}

/**
 * Counts what the aliases of a YAML event stream expand to, before anything builds or walks the
 * value: one pass over the events (each anchor's expanded size is kept, so an alias costs a lookup),
 * hence time and memory in proportion to the text, however large the expansion would be.
 * Returns the first alias that takes the total past `limit`, or that names a node it is inside
 * (a cycle, which would make the value infinite).
 */
export function checkAliases(events: readonly Event[], text: string, limit = ALIAS_EXPANSION_LIMIT): AliasProblem | undefined {
  const anchors = new Map<string, Anchored>();
  const stack: Frame[] = [];
  let added = 0;
  const count = (size: number): void => {
    const top = stack[stack.length - 1];
    if (top) top.size += size;
  };
  for (const event of events) {
    switch (event.type) {
      case EVENT_ID.DOCUMENT:
        stack.push({ size: 0 });
        break;
      case EVENT_ID.MAPPING:
      case EVENT_ID.SEQUENCE: {
        const name = anchorName(text, event);
        const anchored = name === undefined ? undefined : { size: 0, open: true };
        if (name !== undefined) anchors.set(name, anchored!);
        stack.push({ size: 1, ...(anchored ? { anchored } : {}) });
        break;
      }
      case EVENT_ID.SCALAR: {
        const name = anchorName(text, event);
        if (name !== undefined) anchors.set(name, { size: 1, open: false });
        count(1);
        break;
      }
      case EVENT_ID.ALIAS: {
        const name = text.slice(event.anchorStart, event.anchorEnd);
        const target = anchors.get(name);
        // An alias to no anchor is js-yaml's error to report ("unidentified alias").
        if (!target) break;
        const offset = event.anchorStart - 1;
        if (target.open) {
          return { message: `the alias *${name} is inside the node &${name} it names: a cycle, whose value would be infinite; write the value out`, offset };
        }
        added += target.size;
        if (added > limit) {
          return {
            message:
              `YAML aliases here expand to more than ${groupDigits(limit)} values (*${name} alone is ${groupDigits(target.size)}): ` +
              `nested aliases like these are an alias bomb, which naaw refuses; write the values out, or nest fewer aliases`,
            offset,
          };
        }
        count(target.size);
        break;
      }
      case EVENT_ID.POP: {
        const frame = stack.pop();
        if (frame?.anchored) {
          frame.anchored.size = frame.size;
          frame.anchored.open = false;
        }
        if (frame) count(frame.size);
        break;
      }
      default:
        break;
    }
  }
  return undefined;
}
