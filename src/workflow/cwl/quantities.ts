/* Kubernetes resource quantities as CWL ResourceRequirement numbers (cores, MiB). */

/** Kubernetes CPU quantity (`1`, `0.5`, `500m`) → cores. */
export function parseCpu(value: string): number | undefined {
  const match = /^([0-9]+(?:\.[0-9]+)?)(m?)$/.exec(value.trim());
  if (!match) return undefined;
  return Number(match[1]) / (match[2] ? 1000 : 1);
}

/** Kubernetes memory quantity (`2Gi`, `512Mi`, `1G`) → MiB, rounded up. */
export function parseMemoryMiB(value: string): number | undefined {
  const match = /^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|k|K|M|G|T)?$/.exec(value.trim());
  if (!match) return undefined;
  const factors: Record<string, number> = { "": 1, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12 };
  return Math.ceil((Number(match[1]) * factors[match[2] ?? ""]) / 2 ** 20);
}
