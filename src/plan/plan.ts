import type { Calibration } from "./calibration";
import { bestPerMachine, choosePlan, priceCandidates } from "./choose";
import { MAX_TILE_BATCHES } from "../workflow/argo/batching";
import { ARGO_OBJECT_LIMITS } from "../workflow/argo/scale";
import { formatBytes } from "./format";
import { costByKey, Estimate, ModelContext } from "./model";
import type { AwsPrices, PriceProvenance } from "./prices/catalog";
import { MachineType, OpenStackFlavor, PlanInputError, PlanRequest } from "./request";
import { groupDigits } from "../digitGroups";

/** A plan: the request, every priced candidate and the choice (or why there is none). */
export interface Plan {
  readonly request: PlanRequest;
  readonly feasible: boolean;
  readonly chosen?: Estimate;
  /** Infeasible: the one-line reason and the minimum that would work. */
  readonly reason?: string;
  readonly minimum?: { readonly budget?: number; readonly deadlineHours?: number };
  readonly candidates: readonly Estimate[];
  /** The best candidate per machine type and market (the table). */
  readonly alternatives: readonly Estimate[];
  readonly calibration: Calibration;
  readonly staleComponents: readonly string[];
  readonly prices: PriceProvenance;
  /** Things the reader should know (an unpriced budget, a workflow too large for one Argo object). */
  readonly notes: readonly string[];
}

/** The machine types of an AWS region (restricted to `instanceTypes` and to `architectures` when given), checked. */
export function awsMachines(prices: AwsPrices, region: string, instanceTypes?: readonly string[], architectures?: readonly string[]): MachineType[] {
  const regions = [...new Set(prices.offers.map((o) => o.region))].sort();
  if (!regions.includes(region)) throw new PlanInputError(`unknown region '${region}'; the price catalog has ${regions.join(", ")}`);
  const offers = prices.offers.filter((o) => o.region === region);
  const unknown = (instanceTypes ?? []).filter((t) => !offers.some((o) => o.instanceType === t));
  if (unknown.length > 0) throw new PlanInputError(`unknown instance type${unknown.length > 1 ? "s" : ""} ${unknown.map((t) => `'${t}'`).join(", ")} in ${region}; the catalog has ${offers.map((o) => o.instanceType).join(", ")}`);
  const wrongArch = offers.filter((o) => instanceTypes?.includes(o.instanceType) && architectures && !architectures.includes(o.arch));
  if (wrongArch.length > 0) throw new PlanInputError(`${wrongArch.map((o) => `${o.instanceType} is ${o.arch}`).join(", ")}, but the images are built for ${architectures!.join(", ")}; set naaw:architectures (or --arch) when the images are multi-arch`);
  return offers
    .filter((o) => (instanceTypes ? instanceTypes.includes(o.instanceType) : true))
    .filter((o) => (architectures ? architectures.includes(o.arch) : true))
    .map((o) => ({ name: o.instanceType, vcpus: o.vcpus, memoryGiB: o.memoryGiB, price: o.price, spotPrice: o.spotPrice, arch: o.arch }));
}

/** OpenStack flavors from config: priced when every flavor has a price, else none is. */
export function openStackMachines(flavors: readonly OpenStackFlavor[]): MachineType[] {
  if (flavors.length === 0) throw new PlanInputError("no OpenStack flavors configured; set naaw:openstackFlavors in the stack (a list of {name, vcpus, memoryGiB, pricePerHour})");
  const priced = flavors.every((f) => f.pricePerHour !== undefined);
  return flavors.map((f) => ({ name: f.name, vcpus: f.vcpus, memoryGiB: f.memoryGiB, price: priced ? f.pricePerHour : undefined }));
}

export interface PlanInputs {
  readonly request: PlanRequest;
  readonly calibration: Calibration;
  readonly staleComponents: readonly string[];
  /** AWS: the catalog; OpenStack: the configured flavors. */
  readonly aws?: AwsPrices;
  readonly flavors?: readonly OpenStackFlavor[];
}

/** The planner: every candidate priced, one chosen. Pure: the same inputs give the same plan. */
export function planRun(inputs: PlanInputs): Plan {
  const { request, calibration } = inputs;
  const notes: string[] = [];
  let machines: MachineType[];
  let context: ModelContext;
  let prices: PriceProvenance;
  if (request.cloud === "aws") {
    if (!inputs.aws) throw new PlanInputError("internal: AWS prices are needed for an AWS plan");
    machines = awsMachines(inputs.aws, request.region, request.instanceTypes, request.architectures);
    if (!request.architectures.includes("arm64")) notes.push("arm64 (Graviton: c7g, c8g) left out: the images are built for x86_64; with multi-arch images set naaw:architectures [x86_64, arm64] (or --arch x86_64,arm64)");
    const system = awsMachines(inputs.aws, request.region).find((m) => m.name === request.assumptions.systemNodeType);
    if (!system) throw new PlanInputError(`the system node type '${request.assumptions.systemNodeType}' is not in the ${request.region} catalog; set naaw:systemNodeType to one that is`);
    context = { request, calibration, regional: inputs.aws.regional.get(request.region), systemMachine: system };
    prices = inputs.aws.provenance;
    if (request.assumptions.controlPlaneSupport === "standard") notes.push("EKS control plane priced on standard support: the cluster must set upgradePolicy.supportType STANDARD (API-created clusters default to extended, 0.60 USD/h)");
  } else {
    machines = openStackMachines(inputs.flavors ?? []);
    if (request.instanceTypes) {
      const unknown = request.instanceTypes.filter((t) => !machines.some((m) => m.name === t));
      if (unknown.length > 0) throw new PlanInputError(`unknown flavor${unknown.length > 1 ? "s" : ""} ${unknown.map((t) => `'${t}'`).join(", ")}; naaw:openstackFlavors has ${machines.map((m) => m.name).join(", ")}`);
      machines = machines.filter((m) => request.instanceTypes!.includes(m.name));
    }
    const priced = machines.every((m) => m.price !== undefined);
    if (!priced && request.budget !== undefined) {
      throw new PlanInputError(`a budget cannot be checked on OpenStack without prices: set pricePerHour on every flavor in naaw:openstackFlavors (and naaw:currency), or leave out the budget`);
    }
    if (!priced) notes.push("OpenStack flavors have no prices in the stack config: the cluster is sized for the deadline and the budget cannot be checked (set pricePerHour on each flavor of naaw:openstackFlavors)");
    notes.push("OpenStack: only compute is priced (object storage, network and the Magnum control plane are the research cloud's, not in the config)");
    context = { request, calibration };
    prices = { source: priced ? "stack config (pricePerHour of naaw:openstackFlavors)" : "none configured (naaw:openstackFlavors has no pricePerHour)", date: "stack config" };
  }
  if (inputs.staleComponents.length > 0) notes.push(`the calibration is stale: ${inputs.staleComponents.join(", ")} changed since it was measured; run \`npx naaw plan --calibrate\``);

  const candidates = priceCandidates(machines, context);
  const choice = choosePlan(candidates, request);
  const chosen = choice.feasible ? choice.chosen : undefined;
  if (chosen) {
    notes.push(...batchNotes(chosen));
    notes.push(diskNote(chosen, request));
    const leftOut = candidates.filter((e) => e.unfit !== undefined).length;
    if (leftOut > 0 && request.nodeVolumeGB !== undefined) notes.push(`${leftOut} of the ${candidates.length} candidates left out: their nodes need more disk than naaw:ebsGBPerNode (${request.nodeVolumeGB} GiB)`);
    const intermediates = chosen.lines.find((l) => l.period === "month" && /intermediates/.test(l.name));
    if (intermediates?.cost !== undefined && chosen.totalCost !== undefined && intermediates.cost > chosen.totalCost) {
      notes.push(`keeping the intermediates a month (${intermediates.quantity.toFixed(0)} GB) costs ${intermediates.cost.toFixed(2)} ${request.currency}, more than the run: let Argo's artifact GC delete them when the workflow ends`);
    }
    const calibratedTile = Math.max(0, ...calibration.steps.filter((s) => s.phase === "tile").map((s) => s.pointsAtPeak));
    const ratio = chosen.tileCounts.maxPoints / Math.max(1, calibratedTile);
    if (ratio > 4) {
      // Per-point CPU is taken as constant, but sorting steps (normalize's lexsort) cost more per point on bigger tiles.
      notes.push(`tiles of up to ${(chosen.tileCounts.maxPoints / 1e6).toFixed(1)} M points are ${ratio.toFixed(0)}× the largest calibrated tile (${(calibratedTile / 1e6).toFixed(1)} M): per-point CPU is extrapolated linearly; calibrate on a sample with tiles this large (--calibrate SAMPLE --tile-size ${chosen.candidate.tileSize})`);
    }
    const merge = chosen.timeline.merge / 3600;
    if (merge > chosen.makespanHours / 2) notes.push(`the merge is one pod and takes ${merge.toFixed(2)} of the ${chosen.makespanHours.toFixed(2)} h: more nodes cannot shorten it (a merge per feature or per region would)`);
    if (request.inputLocation === "internet") notes.push("the input comes from the internet through the NAT gateway; staging it in S3 in the same region (a free gateway endpoint) removes the NAT data line");
  }
  return {
    request,
    feasible: choice.feasible,
    chosen,
    reason: choice.feasible ? undefined : choice.reason,
    minimum: choice.feasible ? undefined : choice.minimum,
    candidates,
    alternatives: bestPerMachine(candidates, request, chosen),
    calibration,
    staleComponents: inputs.staleComponents,
    prices,
    notes,
  };
}

/** What the batched run holds in its Workflow object. */
function batchNotes(e: Estimate): string[] {
  const b = e.batches;
  const limit = groupDigits(ARGO_OBJECT_LIMITS.nodes);
  const sizes = `${b.splitBatches} split pod${b.splitBatches === 1 ? "" : "s"} of up to ${b.inputsPerSplit} input files, ${b.tileBatches} tile batch pod${b.tileBatches === 1 ? "" : "s"} of up to ${b.tilesPerBatch} tile${b.tilesPerBatch === 1 ? "" : "s"}`;
  const notes = [
    b.childWorkflows === 0
      ? `the batched run holds ${groupDigits(b.nodes)} nodes in one Workflow object (at most ${limit}): ${sizes}`
      : `the batched run needs ${b.childWorkflows} child Workflow${b.childWorkflows === 1 ? "" : "s"} of up to ${b.batchesPerChild} tile batches (${sizes}; ${groupDigits(b.nodes)} nodes in the largest object, at most ${limit}), which the rendering does not make yet: merge the input files into fewer, larger ones`,
  ];
  if (e.parallelism > MAX_TILE_BATCHES && e.tileCounts.tiles > MAX_TILE_BATCHES) notes.push(`the cluster runs ${e.parallelism} pods at once but the rendering makes at most ${MAX_TILE_BATCHES} tile batches: the other slots serve only the split`);
  return notes;
}

/** What a tile batch pod holds on its node's disk, and where the node's volume size goes on the cloud. */
function diskNote(e: Estimate, request: PlanRequest): string {
  const d = e.batchDisk;
  const a = request.assumptions;
  const pod = `a tile batch pod requests ${e.podDiskGiB} GiB of ephemeral storage (its ${e.batches.tilesPerBatch === 1 ? "tile's" : `${e.batches.tilesPerBatch} tiles'`} pieces ${formatBytes(d.pieces)}, ${formatBytes(d.window)} of intermediates in flight, ${formatBytes(d.rasters)} of rasters, ×${a.diskHeadroom} headroom)`;
  const node = `${e.slotsPerNode} such pod${e.slotsPerNode === 1 ? "" : "s"} a node and ${a.systemDiskGB} GiB for the OS and images, ${Math.round(a.diskEvictionFraction * 100)}% kept free for the kubelet`;
  if (request.cloud === "openstack") {
    return `${pod}; ${node}: the nodes boot from a ${e.nodeVolumeGiB} GB Cinder volume (Magnum's boot_volume_size label), so the project's Cinder quota must hold ${e.candidate.nodes} × ${e.nodeVolumeGiB} GB; not priced (only compute is)`;
  }
  const fixed = request.nodeVolumeGB !== undefined ? `naaw:ebsGBPerNode fixes it at ${e.nodeVolumeGiB} GiB (${e.nodeDiskNeedGiB} needed)` : `the plan sizes it (set naaw:ebsGBPerNode to fix it)`;
  return `${pod}; ${node}: the workflow nodes' root volume is ${e.nodeVolumeGiB} GiB, ${fixed}`;
}

const round = (value: number, digits = 4): number => Math.round(value * 10 ** digits) / 10 ** digits;

function estimateJson(e: Estimate): Record<string, unknown> {
  return {
    instanceType: e.candidate.machine.name,
    vcpus: e.candidate.machine.vcpus,
    memoryGiB: e.candidate.machine.memoryGiB,
    spot: e.candidate.spot,
    nodes: e.candidate.nodes,
    parallelism: e.parallelism,
    tileSize: e.candidate.tileSize,
    nodeVolumeGiB: e.nodeVolumeGiB,
    makespanHours: round(e.makespanHours),
    cost: e.totalCost === undefined ? null : round(e.totalCost, 2),
  };
}

/** The `--json` answer. */
export function planJson(plan: Plan): Record<string, unknown> {
  const e = plan.chosen;
  const costs = e ? costByKey(e) : {};
  const c = plan.calibration;
  return {
    cloud: plan.request.cloud,
    region: plan.request.region,
    feasible: plan.feasible,
    ...(plan.feasible ? {} : { reason: plan.reason, minimum: plan.minimum }),
    instanceType: e?.candidate.machine.name ?? null,
    spot: e?.candidate.spot ?? null,
    nodes: e?.candidate.nodes ?? null,
    parallelism: e?.parallelism ?? null,
    tileSize: e?.candidate.tileSize ?? null,
    tiles: e?.tileCounts.tiles ?? null,
    podMemoryGiB: e?.podMemoryGiB ?? null,
    podCpu: e?.podCpu ?? null,
    podDiskGiB: e?.podDiskGiB ?? null,
    nodeVolumeGiB: e?.nodeVolumeGiB ?? null,
    batches: e ? { splitBatches: e.batches.splitBatches, inputsPerSplit: e.batches.inputsPerSplit, tileBatches: e.batches.tileBatches, tilesPerBatch: e.batches.tilesPerBatch, childWorkflows: e.batches.childWorkflows, workflowNodes: e.batches.nodes } : null,
    cpuLimit: e ? e.candidate.nodes * e.candidate.machine.vcpus : null,
    makespanHours: e ? round(e.makespanHours) : null,
    timelineSeconds: e ? Object.fromEntries(Object.entries(e.timeline).map(([k, v]) => [k, round(v, 1)])) : null,
    cost: {
      currency: plan.request.currency,
      total: e?.totalCost === undefined ? null : round(e.totalCost, 2),
      ...Object.fromEntries(Object.entries(costs).filter(([k]) => k !== "storageMonth").map(([k, v]) => [k, round(v, 2)])),
      storageMonth: costs.storageMonth === undefined ? null : round(costs.storageMonth, 2),
    },
    breakdown: e ? e.lines.map((l) => ({ name: l.name, quantity: round(l.quantity), unit: l.unit, unitPrice: l.unitPrice ?? null, cost: l.cost === undefined ? null : round(l.cost, 4), period: l.period })) : [],
    data: { given: plan.request.volume.given, kind: plan.request.volume.kind, points: plan.request.volume.points, bytes: Math.round(plan.request.volume.bytes), files: plan.request.volume.files, density: round(plan.request.volume.density, 3), inputLocation: plan.request.inputLocation },
    request: { budget: plan.request.budget ?? null, deadlineHours: plan.request.deadlineHours ?? null, objective: plan.request.objective, spotAllowed: plan.request.spot, maxNodes: plan.request.maxNodes },
    alternatives: plan.alternatives.map(estimateJson),
    candidatesPriced: plan.candidates.length,
    calibration: { measuredAt: c.measuredAt, machine: c.machine, sample: c.sample, stale: plan.staleComponents },
    prices: plan.prices,
    assumptions: plan.request.assumptions,
    notes: plan.notes,
  };
}
