/**
 * Orders strings by their UTF-16 code units: the same order in every locale, unlike
 * `localeCompare`, whose order follows the machine's ICU data, and whose first call builds a
 * collator (about 10 ms of a CLI start). Names here are identifiers, paths and timestamps, for
 * which this is the order a reader expects.
 */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * A number's decimal text with its integer digits grouped by commas (`21,560,000`, `-1,234.5`), as
 * `toLocaleString("en-US")` writes it, without Intl: its first use loads ICU's number formats
 * (about 12 ms of a `naaw run`). `text` is as `String(n)` gives it; an exponent form is kept as it is.
 */
export function groupDigits(text: string): string {
  const parts = /^(-?)(\d+)(\.\d+)?$/.exec(text);
  if (!parts) return text;
  return parts[1]! + parts[2]!.replace(/\B(?=(\d{3})+$)/g, ",") + (parts[3] ?? "");
}
