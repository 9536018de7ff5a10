import { Reference } from "./spec";

const REFERENCE = /\$\{\{\s*([^}]*?)\s*\}\}/g;
const IDENT = "[A-Za-z_][A-Za-z0-9_]*";
const STEP_ID = "[a-z][-a-z0-9]*";

/** Parses the inside of `${{ … }}`; undefined when it is none of the three forms. */
export function parseReference(expression: string): Reference | undefined {
  if (expression === "item") return { kind: "item" };
  let match = new RegExp(`^params\\.(${IDENT})$`).exec(expression);
  if (match) return { kind: "param", name: match[1] };
  match = new RegExp(`^steps\\.(${STEP_ID})\\.outputs\\.(${IDENT})$`).exec(expression);
  if (match) return { kind: "step", step: match[1], output: match[2] };
  return undefined;
}

export function formatReference(reference: Reference): string {
  switch (reference.kind) {
    case "item":
      return "${{ item }}";
    case "param":
      return `\${{ params.${reference.name} }}`;
    case "step":
      return `\${{ steps.${reference.step}.outputs.${reference.output} }}`;
  }
}

/** Splits a string into literal text and `${{ … }}` expressions (raw, not yet parsed). */
export function splitTemplate(text: string): (string | { expression: string })[] {
  const parts: (string | { expression: string })[] = [];
  let last = 0;
  for (const match of text.matchAll(REFERENCE)) {
    if (match.index! > last) parts.push(text.slice(last, match.index));
    parts.push({ expression: match[1] });
    last = match.index! + match[0].length;
  }
  if (last < text.length) parts.push(text.slice(last));
  return parts;
}
