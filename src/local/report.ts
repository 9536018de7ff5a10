/**
 * The run report (report.html): one self-contained page (no scripts, fonts or links to fetch) with
 * the run's summary, the workflow's DAG, per-step timings and a preview of every merged raster.
 */
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { WorkflowGraph } from "../workflow/validate";
import { escapeMarkup, renderDagSvg } from "./dagSvg";
import { COLORMAP_STOPS, PreviewSummary, previewSummaries } from "./preview";
import { stringifyExactJson } from "../notebook/exactJson";
import { groupDigits } from "../digitGroups";

/** How long one step of one item took (0 s when it came from the cache). */
export interface StepTiming {
  readonly step: string;
  readonly item?: string;
  readonly seconds: number;
  readonly cached: boolean;
  readonly attempts: number;
}

export interface ReportInput {
  readonly workflow: string;
  readonly graph: WorkflowGraph;
  /** The merged GeoTIFFs. */
  readonly rasters: readonly { readonly feature: string; readonly path: string }[];
  readonly steps: readonly StepTiming[];
  readonly summary: {
    readonly points: number;
    readonly tiles: number;
    readonly seconds: number;
    readonly workers: number;
    readonly cachedSteps: number;
    readonly ranSteps: number;
    readonly params: Record<string, unknown>;
  };
}

/** The timings of one step id over all its runs (one per foreach item). */
export interface StepTimingRow {
  readonly step: string;
  readonly runs: number;
  readonly cached: number;
  readonly totalSeconds: number;
  readonly meanSeconds: number;
  readonly maxSeconds: number;
  readonly retries: number;
}

/** One row per step id: the graph's steps in order, then any other step ids that have timings. */
export function timingRows(graph: WorkflowGraph, timings: readonly StepTiming[]): StepTimingRow[] {
  const ids = graph.steps.map((s) => s.id);
  for (const t of timings) if (!ids.includes(t.step)) ids.push(t.step);
  return ids.map((step) => {
    const runs = timings.filter((t) => t.step === step);
    const totalSeconds = runs.reduce((sum, t) => sum + t.seconds, 0);
    return {
      step,
      runs: runs.length,
      cached: runs.filter((t) => t.cached).length,
      totalSeconds,
      meanSeconds: runs.length > 0 ? totalSeconds / runs.length : 0,
      maxSeconds: Math.max(0, ...runs.map((t) => t.seconds)),
      retries: runs.reduce((sum, t) => sum + Math.max(0, t.attempts - 1), 0),
    };
  });
}

/** How many items each foreach group ran over, from the timings of its steps. */
function foreachItemCounts(graph: WorkflowGraph, timings: readonly StepTiming[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const group of graph.foreach) {
    const items = new Set(timings.filter((t) => t.item !== undefined && group.steps.includes(t.step)).map((t) => t.item));
    if (items.size > 0) counts.set(group.id, items.size);
  }
  return counts;
}

/** A number for people: four significant digits, no exponent for everyday magnitudes. */
function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const rounded = Number(value.toPrecision(4));
  return Math.abs(rounded) >= 1e-3 && Math.abs(rounded) < 1e9 ? groupDigits(rounded) : String(rounded);
}

function formatDuration(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  return minutes < 60 ? `${minutes} min ${Math.round(seconds - minutes * 60)} s` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

const seconds3 = (s: number): string => s.toFixed(3);

function summarySection(input: ReportInput): string {
  const { summary } = input;
  const rate = summary.seconds > 0 && summary.points > 0 ? `${formatNumber(summary.points / summary.seconds)}` : "–";
  const facts: [string, string][] = [
    ["points computed", groupDigits(summary.points)],
    ["tiles", groupDigits(summary.tiles)],
    ["wall time", formatDuration(summary.seconds)],
    ["points / s", rate],
    ["workers", String(summary.workers)],
    ["steps run", String(summary.ranSteps)],
    ["steps from cache", String(summary.cachedSteps)],
  ];
  const params = Object.keys(summary.params)
    .sort()
    .map((name) => `<tr><th>${escapeMarkup(name)}</th><td><code>${escapeMarkup(summary.params[name] === undefined ? "undefined" : stringifyExactJson(summary.params[name], 0))}</code></td></tr>`);
  return [
    `<dl class="summary">${facts.map(([k, v]) => `<div><dt>${k}</dt><dd>${escapeMarkup(v)}</dd></div>`).join("")}</dl>`,
    params.length > 0 ? `<table class="params"><caption>params</caption>${params.join("")}</table>` : "",
  ].join("\n");
}

function timingsTable(rows: readonly StepTimingRow[]): string {
  const body = rows.map(
    (r) =>
      `<tr data-step="${escapeMarkup(r.step)}"><th>${escapeMarkup(r.step)}</th><td>${r.runs}</td><td>${r.cached}</td><td>${seconds3(r.totalSeconds)}</td>` +
      `<td>${r.runs > 0 ? seconds3(r.meanSeconds) : "–"}</td><td>${r.runs > 0 ? seconds3(r.maxSeconds) : "–"}</td><td>${r.retries}</td></tr>`,
  );
  const total = rows.reduce((sum, r) => sum + r.totalSeconds, 0);
  const runs = rows.reduce((sum, r) => sum + r.runs, 0);
  const footer =
    `<tr class="total"><th>all steps</th><td>${runs}</td><td>${rows.reduce((sum, r) => sum + r.cached, 0)}</td><td>${seconds3(total)}</td>` +
    `<td>${runs > 0 ? seconds3(total / runs) : "–"}</td><td>${seconds3(Math.max(0, ...rows.map((r) => r.maxSeconds)))}</td><td>${rows.reduce((sum, r) => sum + r.retries, 0)}</td></tr>`;
  return [
    `<table class="timings" id="timings">`,
    `<thead><tr><th>step</th><th>runs</th><th>cached</th><th>total s</th><th>mean s</th><th>max s</th><th>retries</th></tr></thead>`,
    `<tbody>${body.join("\n")}</tbody>`,
    `<tfoot>${footer}</tfoot>`,
    `</table>`,
    `<p class="note">Seconds are summed over runs; with several workers the total exceeds the wall time.</p>`,
  ].join("\n");
}

const LEGEND_GRADIENT = `linear-gradient(to right, ${COLORMAP_STOPS.map((c, i) => `rgb(${c.join(",")}) ${Math.round((i / (COLORMAP_STOPS.length - 1)) * 100)}%`).join(", ")})`;

function rasterFigure(raster: { feature: string; path: string }, { grid, preview }: PreviewSummary): string {
  const name = escapeMarkup(raster.feature);
  const range = preview.min === undefined ? "no data" : `min ${formatNumber(preview.min)}, max ${formatNumber(preview.max!)}`;
  const legend =
    preview.low === undefined
      ? ""
      : `<div class="legend"><span>${escapeMarkup(formatNumber(preview.low))}</span><span class="ramp"></span><span>${escapeMarkup(formatNumber(preview.high!))}</span>` +
        `<span class="legend-note">2nd–98th percentile</span></div>`;
  const crs = grid.epsg === undefined ? "no CRS" : `EPSG:${grid.epsg}`;
  return [
    `<figure class="raster" data-feature="${name}">`,
    `<figcaption><h3>${name}</h3><p>${escapeMarkup(range)} · ${grid.width} × ${grid.height} cells, cell size ${formatNumber(grid.cellSize)} · ${crs} · <code>${escapeMarkup(path.basename(raster.path))}</code></p></figcaption>`,
    `<img alt="${name}" width="${preview.width}" height="${preview.height}" src="data:image/png;base64,${preview.png.toString("base64")}">`,
    legend,
    `</figure>`,
  ].join("\n");
}

const STYLE = `
body{font:14px/1.45 system-ui,sans-serif;color:#1b2a38;margin:24px auto;max-width:1100px;padding:0 16px}
h1{font-size:22px;margin:0 0 12px}h2{font-size:17px;margin:28px 0 10px;border-bottom:1px solid #d8dee4}h3{font-size:15px;margin:0}
code{font:12px monospace;background:#f3f5f7;padding:1px 3px;border-radius:3px}
dl.summary{display:flex;flex-wrap:wrap;gap:10px 28px;margin:0 0 12px}dl.summary div{min-width:90px}dt{font-size:12px;color:#5a6978}dd{margin:0;font-size:17px;font-weight:600}
table{border-collapse:collapse}th,td{padding:3px 10px;border-bottom:1px solid #e4e8ec;text-align:right}th:first-child{text-align:left}
table.params th{text-align:left;font-weight:normal;color:#5a6978}table.params td{text-align:left}caption{text-align:left;font-size:12px;color:#5a6978}
tfoot tr{font-weight:600}.note{font-size:12px;color:#5a6978}
.dag-wrap{overflow-x:auto}
figure.raster{margin:0 0 28px}figure.raster p{margin:2px 0 8px;color:#5a6978}
figure.raster img{image-rendering:pixelated;max-width:100%;height:auto;background:repeating-conic-gradient(#ddd 0% 25%,#f7f7f7 0% 50%) 0 0/16px 16px;border:1px solid #ccd}
.legend{display:flex;align-items:center;gap:8px;font-size:12px;margin-top:4px}.legend .ramp{display:inline-block;width:220px;height:12px;background:${LEGEND_GRADIENT}}
.legend-note{color:#5a6978}`;

/** The report's HTML. */
export async function renderReport(input: ReportInput): Promise<string> {
  // As many rasters in memory at once as the run had workers.
  const summaries = await previewSummaries(input.rasters.map((r) => r.path), input.summary.workers);
  const figures = input.rasters.map((raster, i) => rasterFigure(raster, summaries[i]!));
  const title = escapeMarkup(input.workflow);
  return [
    "<!DOCTYPE html>",
    `<html lang="en"><head><meta charset="utf-8"><title>NaaW run: ${title}</title><style>${STYLE}</style></head><body>`,
    `<header><h1>Workflow <code>${title}</code></h1>`,
    summarySection(input),
    "</header>",
    `<section><h2>Workflow DAG</h2><div class="dag-wrap">${renderDagSvg(input.graph, foreachItemCounts(input.graph, input.steps))}</div></section>`,
    `<section><h2>Step timings</h2>${timingsTable(timingRows(input.graph, input.steps))}</section>`,
    `<section><h2>Rasters</h2>${figures.length > 0 ? figures.join("\n") : "<p>No rasters.</p>"}</section>`,
    "</body></html>",
    "",
  ].join("\n");
}

/** Writes the report to `file` atomically (a temporary file renamed into place). */
export async function writeReport(file: string, input: ReportInput): Promise<void> {
  const html = await renderReport(input);
  await fs.promises.mkdir(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}-${randomBytes(4).toString("hex")}.tmp`;
  try {
    await fs.promises.writeFile(temporary, html);
    await fs.promises.rename(temporary, file);
  } catch (error) {
    await fs.promises.rm(temporary, { force: true });
    throw error;
  }
}
