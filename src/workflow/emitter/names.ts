import { createHash } from "crypto";

/** The first six hex digits of the SHA-256 of a text: a short, stable suffix that keeps names distinct. */
export function hash6(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 6);
}

/**
 * A DNS-1123 label for a component's `uses` (`lidar/load` → `lidar-load`), with a short hash of the
 * original when characters had to change, so two `uses` that map to the same label stay distinct.
 */
export function dnsLabelOf(uses: string): string {
  const plain = uses.replace("/", "-");
  const safe = plain.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "");
  return safe === plain ? safe : `${safe}-${hash6(uses)}`;
}
