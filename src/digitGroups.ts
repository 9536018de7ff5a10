/**
 * A number as `toLocaleString("en-US")` writes it (`21,560,000`, `-1,234.5`), without Intl: its first
 * use loads ICU's number formats (about 12 ms of a CLI command). The digits are String(value)'s, their
 * integer part grouped by commas; an exponent form (1e21, 1.5e-7), NaN and Infinity stay as String
 * gives them.
 */
export function groupDigits(value: number): string {
  const text = String(value);
  const parts = /^(-?)(\d+)(\.\d+)?$/.exec(text);
  if (!parts) return text;
  return parts[1]! + parts[2]!.replace(/\B(?=(\d{3})+$)/g, ",") + (parts[3] ?? "");
}
