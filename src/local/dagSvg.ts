/**
 * An SVG picture of a workflow's DAG for the run report: steps in layers by their longest path from
 * a source, a box per step (its id and what it uses), a dashed frame around each foreach group and an
 * arrow per dependency. The output depends only on its inputs (no ids, no dates), so reports diff.
 */
import { Reference } from "../workflow/spec";
import { GraphStep, WorkflowGraph } from "../workflow/validate";

/** Escapes text for HTML and SVG, in content and in quoted attributes. */
export function escapeMarkup(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

const MARGIN = 16;
const BOX_HEIGHT = 44;
const MIN_BOX_WIDTH = 140;
/** Approximate advance of a character of the 13 px label font. */
const CHAR_WIDTH = 7.4;
const H_GAP = 28;
const V_GAP = 64;
const FRAME_PAD = 14;
const FRAME_LABEL = 18;
/** Room an edge takes where it passes a layer without a step of its own. */
const CROSSING_WIDTH = 8;

export interface DagEdge {
  readonly from: string;
  readonly to: string;
}

function stepReferences(step: GraphStep): string[] {
  return step.bindings.flatMap((b) => {
    const references: Reference[] =
      b.binding.kind === "reference" ? [b.binding.reference] : b.binding.kind === "template" ? b.binding.parts.filter((p): p is Reference => typeof p !== "string") : [];
    return references.flatMap((r) => (r.kind === "step" ? [r.step] : []));
  });
}

/**
 * Step-to-step edges. A step's dependencies may name a foreach group: from inside the group that is
 * the group's own input (drawn from what the group depends on, for the group's first steps); from
 * outside it is a fan-in (drawn from the group's steps it reads, else from the group's last steps).
 */
export function dagEdges(graph: WorkflowGraph): DagEdge[] {
  const steps = new Map(graph.steps.map((s) => [s.id, s]));
  const groups = new Map(graph.foreach.map((g) => [g.id, g]));
  const lastSteps = (groupId: string): string[] => {
    const members = graph.steps.filter((s) => s.foreach === groupId);
    return members.filter((m) => !members.some((other) => other.dependencies.includes(m.id))).map((m) => m.id);
  };
  const expand = (id: string): string[] => (steps.has(id) ? [id] : groups.has(id) ? lastSteps(id) : []);
  const edges = new Map<string, DagEdge>();
  const add = (from: string, to: string): void => {
    if (from !== to) edges.set(`${from}\n${to}`, { from, to });
  };
  for (const step of graph.steps) {
    for (const dependency of step.dependencies) {
      if (steps.has(dependency)) {
        add(dependency, step.id);
        continue;
      }
      const group = groups.get(dependency);
      if (!group) continue;
      if (dependency === step.foreach) {
        const startsGroup = !step.dependencies.some((d) => steps.get(d)?.foreach === group.id);
        if (startsGroup) for (const outer of group.dependencies) for (const from of expand(outer)) add(from, step.id);
        continue;
      }
      const read = stepReferences(step).filter((id) => steps.get(id)?.foreach === group.id);
      for (const from of read.length > 0 ? read : lastSteps(group.id)) add(from, step.id);
    }
  }
  return [...edges.values()].sort((a, b) => compare(a.from, b.from) || compare(a.to, b.to));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Layer of each step: the length of the longest path to it from a step with no dependencies. */
export function dagLayers(graph: WorkflowGraph, edges: readonly DagEdge[]): Map<string, number> {
  const layers = new Map<string, number>();
  // graph.steps is in dependency order, so every predecessor has its layer already.
  for (const step of graph.steps) {
    const before = edges.filter((e) => e.to === step.id).map((e) => (layers.get(e.from) ?? 0) + 1);
    layers.set(step.id, Math.max(0, ...before));
  }
  return layers;
}

/** Something that takes room in a layer: a step's box, or the point where a longer edge crosses the layer. */
interface LayerItem {
  readonly key: string;
  readonly layer: number;
  readonly group?: string;
  readonly width: number;
  readonly step?: GraphStep;
  /** Keys of the items in the layer above that lead here (for ordering by their mean position). */
  readonly above: string[];
  x: number;
}

/** An edge as drawn: its step's item, the crossing points of the layers it passes, its target's item. */
type Route = readonly string[];

function layoutItems(graph: WorkflowGraph, edges: readonly DagEdge[], layers: ReadonlyMap<string, number>, boxWidth: number): { items: Map<string, LayerItem>; routes: Route[] } {
  const items = new Map<string, LayerItem>();
  const steps = new Map(graph.steps.map((s) => [s.id, s]));
  for (const step of graph.steps) {
    items.set(step.id, { key: step.id, layer: layers.get(step.id)!, group: step.foreach, width: boxWidth, step, above: [], x: 0 });
  }
  const routes = edges.map(({ from, to }) => {
    const route = [from];
    const [a, b] = [steps.get(from)!, steps.get(to)!];
    // A crossing belongs to a group only if the whole edge does, so frames enclose their own edges.
    const group = a.foreach === b.foreach ? a.foreach : undefined;
    for (let layer = layers.get(from)! + 1; layer < layers.get(to)!; layer++) {
      const key = `${from} -> ${to} @${layer}`;
      items.set(key, { key, layer, group, width: CROSSING_WIDTH, above: [], x: 0 });
      route.push(key);
    }
    route.push(to);
    for (let i = 1; i < route.length; i++) items.get(route[i]!)!.above.push(route[i - 1]!);
    return route;
  });
  return { items, routes };
}

/**
 * The SVG. `itemCounts` gives how many items each foreach group ran over (when known), for the
 * frame's label.
 */
export function renderDagSvg(graph: WorkflowGraph, itemCounts: ReadonlyMap<string, number> = new Map()): string {
  const edges = dagEdges(graph);
  const layers = dagLayers(graph, edges);
  const layerCount = Math.max(0, ...layers.values()) + 1;
  const longestLabel = Math.max(0, ...graph.steps.map((s) => Math.max(s.id.length, s.spec.uses.length)));
  const boxWidth = Math.max(MIN_BOX_WIDTH, Math.ceil(longestLabel * CHAR_WIDTH) + 24);
  const { items, routes } = layoutItems(graph, edges, layers, boxWidth);
  const layerNumbers = [...Array(layerCount).keys()];
  const inLayer = (layer: number, group: string | undefined): LayerItem[] => [...items.values()].filter((i) => i.layer === layer && i.group === group);
  const rowWidth = (row: readonly LayerItem[]): number => row.reduce((sum, i) => sum + i.width, 0) + H_GAP * Math.max(0, row.length - 1);

  // Each foreach group gets a band of fixed width, side by side, so its frame is a rectangle; items
  // outside any group go right of the bands in the layers the bands cross, and centred elsewhere.
  const groups = graph.foreach.filter((g) => graph.steps.some((s) => s.foreach === g.id));
  const bandWidths = groups.map((g) => Math.max(...layerNumbers.map((l) => rowWidth(inLayer(l, g.id)))) + 2 * FRAME_PAD);
  const bandsWidth = bandWidths.reduce((sum, w) => sum + w, 0) + H_GAP * Math.max(0, groups.length - 1);
  const crossed = (layer: number): boolean => groups.some((g) => inLayer(layer, g.id).length > 0);
  const freeWidth = (layer: number): number => rowWidth(inLayer(layer, undefined));
  const mixedWidth = Math.max(0, ...layerNumbers.filter(crossed).map((l) => (freeWidth(l) > 0 ? H_GAP + freeWidth(l) : 0)));
  const innerWidth = Math.max(bandsWidth + mixedWidth, ...layerNumbers.filter((l) => !crossed(l)).map(freeWidth));
  const width = innerWidth + 2 * MARGIN;
  const layerY = (layer: number): number => MARGIN + FRAME_LABEL + FRAME_PAD + layer * (BOX_HEIGHT + V_GAP);
  const height = layerY(layerCount - 1) + BOX_HEIGHT + FRAME_PAD + MARGIN;
  const bandsLeft = MARGIN + (innerWidth - bandsWidth - mixedWidth) / 2;
  const bandLefts = groups.map((_, g) => bandsLeft + bandWidths.slice(0, g).reduce((sum, w) => sum + w + H_GAP, 0));

  // Layer by layer, each row in the order of the mean position of what leads to it (fewer crossings).
  const centre = (item: LayerItem): number => item.x + item.width / 2;
  const place = (row: LayerItem[], left: number, span: number): void => {
    const order = row.map((item, index) => {
      const above = item.above.map((key) => centre(items.get(key)!));
      return { item, index, at: above.length > 0 ? above.reduce((a, b) => a + b, 0) / above.length : 0 };
    });
    order.sort((a, b) => a.at - b.at || a.index - b.index);
    let x = left + (span - rowWidth(row)) / 2;
    for (const { item } of order) {
      item.x = x;
      x += item.width + H_GAP;
    }
  };
  for (const layer of layerNumbers) {
    groups.forEach((group, g) => place(inLayer(layer, group.id), bandLefts[g]! + FRAME_PAD, bandWidths[g]! - 2 * FRAME_PAD));
    if (crossed(layer)) place(inLayer(layer, undefined), bandsLeft + bandsWidth + H_GAP, freeWidth(layer));
    else place(inLayer(layer, undefined), MARGIN, innerWidth);
  }

  const frames = groups.map((group, g) => {
    const used = layerNumbers.filter((l) => graph.steps.some((s) => s.foreach === group.id && layers.get(s.id) === l));
    const top = layerY(used[0]!) - FRAME_PAD - FRAME_LABEL;
    const bottom = layerY(used[used.length - 1]!) + BOX_HEIGHT + FRAME_PAD;
    const count = itemCounts.get(group.id);
    const label = `${group.id}: foreach ${count === undefined ? `over ${overText(group.over)}` : `${count} item${count === 1 ? "" : "s"}`}`;
    return (
      `<g class="foreach" data-group="${escapeMarkup(group.id)}">` +
      `<rect x="${n(bandLefts[g]!)}" y="${n(top)}" width="${n(bandWidths[g]!)}" height="${n(bottom - top)}" rx="8" fill="none" stroke="#7a7a7a" stroke-dasharray="6 4"/>` +
      `<text x="${n(bandLefts[g]! + 8)}" y="${n(top + 13)}" class="frame-label">${escapeMarkup(label)}</text></g>`
    );
  });
  const arrows = routes.map((route) => {
    const first = items.get(route[0]!)!;
    let [x, y] = [centre(first), layerY(first.layer) + BOX_HEIGHT];
    let d = `M${n(x)},${n(y)}`;
    for (const key of route.slice(1)) {
      const next = items.get(key)!;
      const [x2, y2] = [centre(next), layerY(next.layer) - (next.step ? 2 : 0)];
      const bend = (y2 - y) / 2;
      d += ` C${n(x)},${n(y + bend)} ${n(x2)},${n(y2 - bend)} ${n(x2)},${n(y2)}`;
      [x, y] = [x2, y2];
      if (!next.step) {
        y += BOX_HEIGHT;
        d += ` L${n(x)},${n(y)}`;
      }
    }
    return `<path class="edge" data-from="${escapeMarkup(route[0]!)}" data-to="${escapeMarkup(route[route.length - 1]!)}" d="${d}" fill="none" stroke="#555" stroke-width="1.3" marker-end="url(#naaw-arrow)"/>`;
  });
  const stepBoxes = graph.steps.map((step) => {
    const { x, layer } = items.get(step.id)!;
    const y = layerY(layer);
    const fill = step.spec.uses.startsWith("builtin/") ? "#eef3fb" : "#f4f9ef";
    return (
      `<g class="step" data-step="${escapeMarkup(step.id)}">` +
      `<rect x="${n(x)}" y="${n(y)}" width="${boxWidth}" height="${BOX_HEIGHT}" rx="6" fill="${fill}" stroke="#3b5b7a"/>` +
      `<text x="${n(x + boxWidth / 2)}" y="${n(y + 18)}" text-anchor="middle" class="step-id">${escapeMarkup(step.id)}</text>` +
      `<text x="${n(x + boxWidth / 2)}" y="${n(y + 35)}" text-anchor="middle" class="step-uses">${escapeMarkup(step.spec.uses)}</text></g>`
    );
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" class="dag" width="${n(width)}" height="${n(height)}" viewBox="0 0 ${n(width)} ${n(height)}" role="img" aria-label="workflow DAG">`,
    `<defs><marker id="naaw-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>`,
    `<style>.step-id{font:600 13px sans-serif;fill:#1b2a38}.step-uses{font:11px monospace;fill:#4a5968}.frame-label{font:italic 12px sans-serif;fill:#555}</style>`,
    ...frames,
    ...arrows,
    ...stepBoxes,
    "</svg>",
  ].join("\n");
}

function overText(over: Reference): string {
  return over.kind === "step" ? `${over.step}.${over.output}` : over.kind === "param" ? `params.${over.name}` : "item";
}

/** A coordinate, without float noise in the text. */
function n(value: number): string {
  return String(Math.round(value * 10) / 10);
}
