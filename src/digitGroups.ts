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
