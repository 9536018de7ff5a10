import type { Estimate } from "./model";
import type { Plan } from "./plan";

/** Left-aligned columns two spaces apart (numbers right-aligned). */
function table(header: readonly string[], rows: readonly (readonly string[])[], numeric: readonly boolean[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const cell = (c: string, i: number) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!));
  return [header, ...rows].map((r) => r.map(cell).join("  ").trimEnd()).join("\n") + "\n";
}

export function formatCount(n: number): string {
  if (n >= 1e12) return `${(n / 1e12).toFixed(2)} T`;
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return `${Math.round(n)}`;
}

export function formatBytes(n: number): string {
  for (const [unit, size] of [["TB", 1e12], ["GB", 1e9], ["MB", 1e6], ["kB", 1e3]] as const) if (n >= size) return `${(n / size).toFixed(2)} ${unit}`;
  return `${Math.round(n)} B`;
}

function duration(seconds: number): string {
  if (seconds >= 3600) return `${(seconds / 3600).toFixed(2)} h`;
  if (seconds >= 60) return `${(seconds / 60).toFixed(1)} min`;
  return `${seconds.toFixed(1)} s`;
}

/** Money to cents, or to a tenth of a cent below a cent so small lines do not read as zero. */
function money(value: number | undefined): string {
  if (value === undefined) return "not priced";
  if (value > 0 && value < 0.0001) return "<0.0001";
  return Math.abs(value) < 0.01 && value !== 0 ? value.toFixed(4) : value.toFixed(2);
}

function quantity(value: number): string {
  if (value === 0) return "0";
  if (value >= 100) return value.toFixed(0);
  if (value >= 1) return value.toFixed(2);
  return value.toPrecision(2);
}

function summaryLine(e: Estimate, currency: string): string {
  const c = e.candidate;
  const market = c.machine.spotPrice === undefined && c.machine.price === undefined ? "" : c.spot ? " (spot)" : " (on demand)";
  const cost = e.totalCost === undefined ? "cost not priced" : `${money(e.totalCost)} ${currency}${e.storageMonthCost !== undefined ? ` (+ ${money(e.storageMonthCost)} ${currency} a month to keep intermediates and outputs in S3)` : ""}`;
  return `${c.nodes} × ${c.machine.name}${market}, ${c.tileSize} m tiles (${e.tileCounts.tiles}), parallelism ${e.parallelism}, tile batch pods of ${e.podMemoryGiB} GiB and ${e.podCpu} CPU, ${e.nodeVolumeGiB} GiB of disk a node: ${e.makespanHours.toFixed(2)} h, ${cost}`;
}

/** The terminal answer: what was asked, the chosen plan, the candidates and the bill. */
export function formatPlan(plan: Plan, options: { readonly rows?: number; readonly workflow: string; readonly calibrationFile: string }): string {
  const r = plan.request;
  const v = r.volume;
  const out: string[] = [];
  const asked = [r.budget !== undefined ? `budget ${r.budget} ${r.currency}` : "no budget", r.deadlineHours !== undefined ? `deadline ${r.deadlineHours} h` : "no deadline", `objective ${r.objective}`, r.cloud === "aws" ? (r.spot ? "spot allowed" : "on demand only") : ""].filter(Boolean).join(", ");
  out.push(`${options.workflow}: ${formatCount(v.points)} points, ${formatBytes(v.bytes)} in ${v.files} file${v.files === 1 ? "" : "s"} (${v.given}, ${v.kind === "headers" ? "from headers" : `stated, ${v.density} points/m²`}), input in ${r.inputLocation}`);
  out.push(`request: ${r.cloud === "aws" ? `aws ${r.region}` : "openstack"}; ${asked}`);
  const c = plan.calibration;
  out.push(`calibration: ${options.calibrationFile}, measured ${c.measuredAt.slice(0, 10)} on ${c.machine.cpuModel} (${c.sample.points} points, ${c.sample.tiles} tiles)${plan.staleComponents.length ? `: STALE (${plan.staleComponents.join(", ")})` : ""}`);
  out.push(`prices: ${plan.prices.source}${/^\d{4}-/.test(plan.prices.date) ? `, compiled ${plan.prices.date}` : ""}`);
  out.push("");
  if (plan.chosen) out.push(`Chosen: ${summaryLine(plan.chosen, r.currency)}`);
  else out.push(`No plan fits: ${plan.reason}`);
  out.push("");

  const rows = plan.alternatives.slice(0, options.rows ?? 12);
  out.push(`Candidates (the best of each machine type; ${plan.candidates.length} priced)`);
  out.push(
    table(
      ["INSTANCE", "vCPUs", "Mem(GiB)", "SPOT", "NODES", "TILE(m)", "HOURS", `COST(${r.currency})`, "CHOSEN"],
      rows.map((e) => [
        e.candidate.machine.name,
        String(e.candidate.machine.vcpus),
        String(e.candidate.machine.memoryGiB),
        e.candidate.spot ? "yes" : "no",
        String(e.candidate.nodes),
        String(e.candidate.tileSize),
        e.makespanHours.toFixed(2),
        money(e.totalCost),
        e === plan.chosen ? "✔" : "",
      ]),
      [false, true, true, false, true, true, true, true, false],
    ).trimEnd(),
  );
  if (plan.chosen) {
    const e = plan.chosen;
    out.push("");
    out.push(`Cost breakdown (${r.currency})`);
    const lines = e.lines.filter((l) => l.period === "run");
    const month = e.lines.filter((l) => l.period === "month");
    const body = [...lines, ...month].map((l) => [l.name, quantity(l.quantity), l.unit, l.unitPrice === undefined ? "-" : String(l.unitPrice), money(l.cost)]);
    body.push(["Total per run", "", "", "", money(e.totalCost)]);
    if (month.length) body.push(["Total per month of storage after the run", "", "", "", money(e.storageMonthCost)]);
    out.push(table(["NAME", "QUANTITY", "UNIT", "PRICE", "COST"], body, [false, true, false, true, true]).trimEnd());
    const t = e.timeline;
    out.push("");
    out.push(`time: cluster ${duration(t.clusterCreate)}, nodes ${duration(t.nodeStart)}, split ${duration(t.split)} (${e.batches.splitBatches} pod${e.batches.splitBatches === 1 ? "" : "s"}), tiles ${duration(t.tiles)} (${e.batches.tileBatches} batch${e.batches.tileBatches === 1 ? "" : "es"} of up to ${e.batches.tilesPerBatch} tile${e.batches.tilesPerBatch === 1 ? "" : "s"}), merge ${duration(t.merge)}`);
    const cpu = r.cloud === "aws" ? `Karpenter limits.cpu ${e.candidate.nodes * e.candidate.machine.vcpus}` : `Magnum max_node_count ${e.candidate.nodes}`;
    const volume = r.cloud === "aws" ? `EC2NodeClass root volume ${e.nodeVolumeGiB}Gi` : `Magnum boot_volume_size ${e.nodeVolumeGiB}`;
    out.push(`cluster settings: workflow param tile_size=${e.candidate.tileSize}, Argo parallelism ${e.parallelism}, ${cpu}, ${volume}, tile batch pod ephemeral-storage ${e.podDiskGiB}Gi`);
  }
  for (const note of plan.notes) out.push(`note: ${note}`);
  return out.join("\n") + "\n";
}
