import { Candidate, estimate, Estimate, ModelContext } from "./model";
import type { MachineType, PlanRequest } from "./request";
import { tileCountsFor } from "./volume";
import { compareText } from "../textOrder";

/** Node counts tried for each machine type: dense where a node matters, sparser further out. */
const NODE_STEPS = [1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24, 32, 40, 48, 64, 80, 96, 128, 160, 192, 256, 320, 384, 512, 640, 768, 1024];

/** The answer: the chosen estimate, or why none fits and what would. */
export type PlanChoice =
  | { readonly feasible: true; readonly chosen: Estimate; readonly candidates: readonly Estimate[] }
  | { readonly feasible: false; readonly reason: string; readonly minimum: { readonly budget?: number; readonly deadlineHours?: number }; readonly candidates: readonly Estimate[] };

/** Node counts for a machine: up to the quota, and no further than the first that gives every tile a slot. */
export function nodeCounts(maxNodes: number, tiles: number, slotsPerNode: number): number[] {
  const counts: number[] = [];
  for (const n of NODE_STEPS) {
    if (n > maxNodes) break;
    counts.push(n);
    if (n * slotsPerNode >= tiles) break;
  }
  if (counts.length === 0) counts.push(Math.max(1, maxNodes));
  return counts;
}

/** Every candidate of the request, priced (those whose tile does not fit the machine left out). */
export function priceCandidates(machines: readonly MachineType[], context: ModelContext): Estimate[] {
  const { request } = context;
  const estimates: Estimate[] = [];
  for (const machine of machines) {
    const markets = request.spot && machine.spotPrice !== undefined ? [false, true] : [false];
    for (const tileSize of request.tileSizes) {
      const tiles = tileCountsFor(request.volume, tileSize).tiles;
      for (const spot of markets) {
        const probe = estimate({ machine, nodes: 1, spot, tileSize }, context);
        if (!probe) continue;
        for (const nodes of nodeCounts(request.maxNodes, tiles, probe.slotsPerNode)) {
          const candidate: Candidate = { machine, nodes, spot, tileSize };
          estimates.push(nodes === 1 ? probe : estimate(candidate, context)!);
        }
      }
    }
  }
  return estimates;
}

const cost = (e: Estimate): number => e.totalCost ?? Number.POSITIVE_INFINITY;
const vcpus = (e: Estimate): number => e.candidate.nodes * e.candidate.machine.vcpus;

/** Objective order: `time` fastest first (then cheaper); `cost` cheapest first (then faster). Unpriced plans: fewest vCPUs that meet the deadline. */
export function byObjective(request: PlanRequest): (a: Estimate, b: Estimate) => number {
  const stable = (a: Estimate, b: Estimate) => compareText(a.candidate.machine.name, b.candidate.machine.name) || a.candidate.nodes - b.candidate.nodes || Number(a.candidate.spot) - Number(b.candidate.spot) || a.candidate.tileSize - b.candidate.tileSize;
  if (request.objective === "cost") return (a, b) => cost(a) - cost(b) || a.makespanHours - b.makespanHours || stable(a, b);
  return (a, b) => a.makespanHours - b.makespanHours || cost(a) - cost(b) || stable(a, b);
}

/** Up to two decimals, rounded up: a minimum printed must still be enough when given back. */
export const ceilCents = (value: number): number => Math.ceil(value * 100 - 1e-9) / 100;

function money(value: number, currency: string): string {
  return `${value.toFixed(2)} ${currency}`;
}

/**
 * Chooses among priced candidates: within the deadline and the budget, the fastest (`time`) or the
 * cheapest (`cost`). With no prices (OpenStack without configured prices) the smallest cluster that
 * meets the deadline, or the fastest when there is none. An infeasible request says the minimum budget
 * (or deadline) that would work.
 */
export function choosePlan(estimates: readonly Estimate[], request: PlanRequest): PlanChoice {
  const order = byObjective(request);
  if (estimates.length === 0) {
    return { feasible: false, reason: "no machine type fits one tile's pods; try a smaller tile size or a machine with more memory", minimum: {}, candidates: [] };
  }
  // Candidates whose nodes cannot have the disk they need never run; when none can, the one needing least says what would.
  const sorted = estimates.filter((e) => e.unfit === undefined).sort(order);
  if (sorted.length === 0) {
    const least = [...estimates].sort((a, b) => a.nodeDiskNeedGiB - b.nodeDiskNeedGiB || order(a, b))[0]!;
    return { feasible: false, reason: `no candidate's nodes can have the disk they need; the least: ${least.unfit}`, minimum: {}, candidates: [...estimates].sort(order) };
  }
  const unpriced = sorted.some((e) => e.totalCost === undefined);
  const meetsDeadline = (e: Estimate) => request.deadlineHours === undefined || e.makespanHours <= request.deadlineHours;
  const withinBudget = (e: Estimate) => request.budget === undefined || cost(e) <= request.budget;
  if (unpriced) {
    const inTime = sorted.filter(meetsDeadline).sort((a, b) => vcpus(a) - vcpus(b) || a.makespanHours - b.makespanHours);
    if (inTime.length > 0) return { feasible: true, chosen: request.deadlineHours === undefined ? sorted.sort((a, b) => a.makespanHours - b.makespanHours)[0]! : inTime[0]!, candidates: sorted };
    const fastest = Math.min(...sorted.map((e) => e.makespanHours));
    return { feasible: false, reason: `no plan finishes within ${request.deadlineHours} h: the fastest takes ${ceilCents(fastest)} h (--deadline ${ceilCents(fastest)})`, minimum: { deadlineHours: ceilCents(fastest) }, candidates: sorted };
  }
  const feasible = sorted.filter((e) => meetsDeadline(e) && withinBudget(e));
  if (feasible.length > 0) return { feasible: true, chosen: feasible[0]!, candidates: sorted };

  const inTime = sorted.filter(meetsDeadline);
  if (inTime.length > 0) {
    // Some plans meet the deadline, all over budget: the cheapest of them is the budget needed.
    const needed = ceilCents(Math.min(...inTime.map(cost)));
    const deadline = request.deadlineHours === undefined ? "" : ` finishes within ${request.deadlineHours} h`;
    return { feasible: false, reason: `no plan within ${money(request.budget!, request.currency)}${deadline}: the cheapest costs ${money(needed, request.currency)} (--budget ${needed})`, minimum: { budget: needed }, candidates: sorted };
  }
  const affordable = sorted.filter(withinBudget);
  if (affordable.length > 0) {
    const needed = ceilCents(Math.min(...affordable.map((e) => e.makespanHours)));
    const within = request.budget === undefined ? "" : ` within ${money(request.budget, request.currency)}`;
    return { feasible: false, reason: `no plan finishes within ${request.deadlineHours} h: the fastest${within} takes ${needed} h (--deadline ${needed})`, minimum: { deadlineHours: needed }, candidates: sorted };
  }
  // Neither alone: the fastest plan's time and price together.
  const fastest = [...sorted].sort((a, b) => a.makespanHours - b.makespanHours || cost(a) - cost(b))[0]!;
  const deadline = ceilCents(fastest.makespanHours);
  const budget = ceilCents(cost(fastest));
  return {
    feasible: false,
    reason: `no plan finishes within ${request.deadlineHours} h or costs at most ${money(request.budget!, request.currency)}: the fastest takes ${deadline} h for ${money(budget, request.currency)} (--deadline ${deadline} --budget ${budget})`,
    minimum: { deadlineHours: deadline, budget },
    candidates: sorted,
  };
}

/** The best candidate of each machine type and market, in objective order: SkyPilot's table. */
export function bestPerMachine(estimates: readonly Estimate[], request: PlanRequest, chosen?: Estimate): Estimate[] {
  const order = byObjective(request);
  estimates = estimates.filter((e) => e.unfit === undefined);
  const fits = (e: Estimate) => (request.deadlineHours === undefined || e.makespanHours <= request.deadlineHours) && (request.budget === undefined || cost(e) <= request.budget);
  const best = new Map<string, Estimate>();
  for (const e of [...estimates].sort((a, b) => Number(fits(b)) - Number(fits(a)) || order(a, b))) {
    const key = `${e.candidate.machine.name}/${e.candidate.spot}`;
    if (!best.has(key)) best.set(key, e);
  }
  if (chosen) best.set(`${chosen.candidate.machine.name}/${chosen.candidate.spot}`, chosen);
  return [...best.values()].sort((a, b) => Number(fits(b)) - Number(fits(a)) || order(a, b));
}
