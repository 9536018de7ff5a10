/**
 * JSON with exact integers. A Python param may be an integer beyond 2**53 (`seed =
 * 1000000000000000000000000000001`), which JSON spells exactly but `JSON.parse` rounds to a double.
 * Here such an integer is a `bigint`, in and out; every other value is what `JSON.parse` gives and
 * what `JSON.stringify` writes.
 */

const TOKEN = /\s*(?:("(?:[^"\\]|\\.)*")|(-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)|(true|false|null)|([[\]{},:]))/y;

/** Parses JSON text (as written by Python's json.dumps) keeping integers beyond 2**53 exact. */
export function parseExactJson(text: string): unknown {
  TOKEN.lastIndex = 0;
  const next = (): RegExpExecArray => {
    const at = TOKEN.lastIndex;
    const match = TOKEN.exec(text);
    if (!match) throw new SyntaxError(`invalid JSON at offset ${at}: ${text.slice(at, at + 20)}`);
    return match;
  };
  const value = (token: RegExpExecArray): unknown => {
    const [, str, num, word, punct] = token;
    if (str !== undefined) return JSON.parse(str);
    if (num !== undefined) {
      const n = Number(num);
      return /^-?\d+$/.test(num) && !Number.isSafeInteger(n) ? BigInt(num) : n;
    }
    if (word !== undefined) return JSON.parse(word);
    if (punct === "[") {
      const items: unknown[] = [];
      let t = next();
      if (t[4] === "]") return items;
      for (;;) {
        items.push(value(t));
        t = next();
        if (t[4] === "]") return items;
        if (t[4] !== ",") throw new SyntaxError(`invalid JSON: expected , or ] at offset ${TOKEN.lastIndex}`);
        t = next();
      }
    }
    if (punct === "{") {
      const entries: [string, unknown][] = [];
      let t = next();
      if (t[4] === "}") return Object.fromEntries(entries);
      for (;;) {
        if (t[1] === undefined) throw new SyntaxError(`invalid JSON: expected a key at offset ${TOKEN.lastIndex}`);
        const key = JSON.parse(t[1]) as string;
        if (next()[4] !== ":") throw new SyntaxError(`invalid JSON: expected : at offset ${TOKEN.lastIndex}`);
        entries.push([key, value(next())]);
        t = next();
        if (t[4] === "}") return Object.fromEntries(entries);
        if (t[4] !== ",") throw new SyntaxError(`invalid JSON: expected , or } at offset ${TOKEN.lastIndex}`);
        t = next();
      }
    }
    throw new SyntaxError(`invalid JSON: unexpected ${punct} at offset ${TOKEN.lastIndex}`);
  };
  const result = value(next());
  if (text.slice(TOKEN.lastIndex).trim() !== "") throw new SyntaxError(`invalid JSON: text after the value at offset ${TOKEN.lastIndex}`);
  return result;
}

/**
 * `JSON.stringify(value, null, indent)` for plain data, writing a `bigint` as its digits (where
 * `JSON.stringify` throws), so an exact integer stays exact in component.json and `--json` output.
 */
export function stringifyExactJson(value: unknown, indent = 2): string {
  const step = " ".repeat(indent);
  const write = (v: unknown, current: string): string | undefined => {
    if (typeof v === "bigint") return v.toString();
    if (v === null || typeof v !== "object") return JSON.stringify(v);
    const inner = current + step;
    const open = indent > 0 ? `\n${inner}` : "";
    const close = indent > 0 ? `\n${current}` : "";
    const separator = indent > 0 ? `,\n${inner}` : ",";
    if (Array.isArray(v)) {
      if (v.length === 0) return "[]";
      return `[${open}${v.map((item) => write(item, inner) ?? "null").join(separator)}${close}]`;
    }
    const members = Object.entries(v as Record<string, unknown>)
      .map(([key, item]) => [key, write(item, inner)] as const)
      .filter((member): member is readonly [string, string] => member[1] !== undefined)
      .map(([key, text]) => `${JSON.stringify(key)}:${indent > 0 ? " " : ""}${text}`);
    return members.length === 0 ? "{}" : `{${open}${members.join(separator)}${close}}`;
  };
  return write(value, "") ?? "undefined";
}
