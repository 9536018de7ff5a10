/** Seconds before the first retry of a step, from its `retry.backoff` ("10s", "2m", "1h"); 0 when unset. Each retry doubles it. */
export function backoffSeconds(text: string | undefined): number {
  const match = /^(\d+)(s|m|h)$/.exec(text ?? "");
  return match ? Number(match[1]) * { s: 1, m: 60, h: 3600 }[match[2] as "s" | "m" | "h"] : 0;
}
