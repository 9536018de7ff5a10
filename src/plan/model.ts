import type { Calibration, StepCalibration } from "./calibration";
import type { RegionalPrices } from "./prices/catalog";
import type { MachineType, ModelAssumptions, PlanRequest } from "./request";
import { TileCounts, tileCountsFor } from "./volume";

const GB = 1e9;
const HOURS_PER_MONTH = 730;
const GiB = 2 ** 30;

/** One cluster to price: a machine type, how many, on spot or on demand, and the tile size. */
export interface Candidate {
  readonly machine: MachineType;
  readonly nodes: number;
  readonly spot: boolean;
  readonly tileSize: number;
}

/** One line of the bill, Infracost's way. `cost` undefined: no price is known (OpenStack without prices). */
export interface CostLine {
  readonly name: string;
  readonly quantity: number;
  readonly unit: string;
  readonly unitPrice?: number;
  readonly cost?: number;
  /** `run`: paid for this run; `month`: a month of storage after it, shown apart. */
  readonly period: "run" | "month";
  /** The cost key of the JSON (`compute`, `nat`, ...). */
  readonly key: CostKey;
}

export type CostKey = "compute" | "systemNodes" | "controlPlane" | "nat" | "storage" | "requests" | "ebs" | "egress" | "storageMonth";

/** Where the time goes, in seconds. */
export interface Timeline {
  readonly clusterCreate: number;
  readonly nodeStart: number;
  readonly split: number;
  readonly tiles: number;
  readonly merge: number;
}

export interface Estimate {
  readonly candidate: Candidate;
  readonly tileCounts: TileCounts;
  /** Tile pods a node runs at once. */
  readonly slotsPerNode: number;
  /** Tile pods the cluster runs at once (Argo's `parallelism`). */
  readonly parallelism: number;
  readonly podMemoryGiB: number;
  readonly waves: number;
  readonly timeline: Timeline;
  readonly makespanHours: number;
  readonly nodeHours: number;
  readonly lines: readonly CostLine[];
  /** The run's total (without the month of storage); undefined when nothing is priced. */
  readonly totalCost?: number;
  readonly storageMonthCost?: number;
}

/** What pricing needs besides the candidate. */
export interface ModelContext {
  readonly request: PlanRequest;
  readonly calibration: Calibration;
  /** AWS: the region's fixed and usage prices; OpenStack: none (only compute is priced). */
  readonly regional?: RegionalPrices;
  /** AWS: the system node group's machine (on demand). */
  readonly systemMachine?: MachineType;
}

/** A step's memory at `points` points: the runtime's baseline plus the measured growth, scaled. */
export function stepMemoryBytes(step: StepCalibration, baselineMiB: number, points: number): number {
  const peak = step.peakMemoryMiB * 2 ** 20;
  const base = Math.min(peak, baselineMiB * 2 ** 20);
  return base + (peak - base) * (points / Math.max(1, step.pointsAtPeak));
}

/** Tile pods per node: whole vCPUs (one per pod: the steps are single-threaded) and memory, after what the node keeps. */
export function slotsPerNode(machine: MachineType, podMemoryGiB: number, a: ModelAssumptions): number {
  const cpuSlots = Math.floor(machine.vcpus - a.reservedCpuPerNode);
  const memory = machine.memoryGiB - a.reservedMemoryGiB - a.reservedMemoryFraction * machine.memoryGiB;
  return Math.max(0, Math.min(cpuSlots, Math.floor(memory / podMemoryGiB)));
}

function line(key: CostKey, name: string, quantity: number, unit: string, unitPrice: number | undefined, period: "run" | "month" = "run"): CostLine {
  return { key, name, quantity, unit, unitPrice, cost: unitPrice === undefined ? undefined : quantity * unitPrice, period };
}

/**
 * Prices one candidate. The split runs one pod per input file, the tiles one chain of pods per tile
 * (its steps in order) over the cluster's slots in waves, the merge one pod at the end; every pod
 * starts a runtime, moves its artifacts through S3, and the Argo controller creates pods at a
 * bounded rate. Undefined when a tile does not fit on the machine.
 */
export function estimate(candidate: Candidate, context: ModelContext): Estimate | undefined {
  const { request, calibration: cal, regional } = context;
  const a = request.assumptions;
  const { machine, nodes, spot, tileSize } = candidate;
  const counts = tileCountsFor(request.volume, tileSize);
  const points = request.volume.points;
  const steps = (phase: StepCalibration["phase"]) => cal.steps.filter((s) => s.phase === phase);
  const tileSteps = steps("tile");

  const podMemoryBytes = Math.max(...tileSteps.map((s) => stepMemoryBytes(s, cal.runtimeBaselineMiB, counts.maxPoints)), ...steps("split").map((s) => s.peakMemoryMiB * 2 ** 20)) * a.memoryHeadroom;
  const podMemoryGiB = Math.ceil((podMemoryBytes / GiB) * 4) / 4;
  const slots = slotsPerNode(machine, podMemoryGiB, a);
  if (slots === 0) return undefined;
  const parallelism = slots * nodes;

  const transfer = (bytes: number) => bytes / (a.s3MBPerSecondPerPod * 1e6);
  const cpu = (step: StepCalibration, pts: number) => (step.cpuSecondsPerMillionPoints * pts) / 1e6 / a.cpuSpeedFactor;
  const podOverhead = a.podStartSeconds + cal.runtimeStartCpuSeconds / a.cpuSpeedFactor;
  const artifactBytes = (step: StepCalibration, pts: number) => (step.outputBytesPerMillionPoints * pts) / 1e6;

  // Split: parallel over input files, each read whole and written as tiles.
  const filePoints = points / request.volume.files;
  const fileBytes = request.volume.bytes / request.volume.files;
  const splitPerFile = steps("split").reduce((t, s) => t + podOverhead + cpu(s, filePoints) + transfer(fileBytes + artifactBytes(s, filePoints)), 0);
  const splitNodes = Math.min(nodes, Math.ceil(request.volume.files / slots));
  const split = Math.ceil(request.volume.files / parallelism) * splitPerFile;

  // Tiles: a chain of pods per tile; each reads its inputs and writes its outputs through S3.
  const chain = tileSteps.reduce((t, s) => t + podOverhead + cpu(s, counts.meanPoints) + transfer(2 * artifactBytes(s, counts.meanPoints)), 0);
  const waves = Math.ceil(counts.tiles / parallelism);
  const podRateBound = (counts.tiles * tileSteps.length) / a.argoPodsPerSecond;
  const tiles = Math.max(waves * chain, podRateBound) * (spot ? 1 + a.spotInterruptionOverhead : 1);

  const merge = steps("merge").reduce((t, s) => t + podOverhead + cpu(s, points) + transfer(artifactBytes(s, points)), 0);
  const nodeStart = a.nodeBootSeconds + a.imagePullSeconds;
  const timeline: Timeline = { clusterCreate: a.clusterCreateHours * 3600, nodeStart, split, tiles, merge };
  const runSeconds = nodeStart + split + tiles + merge;
  const makespanHours = a.clusterCreateHours + runSeconds / 3600;

  // Nodes are billed from launch until Karpenter removes them empty; the merge keeps one.
  const nodeSeconds = nodes * (nodeStart + a.emptyNodeSeconds) + splitNodes * split + nodes * tiles + merge;
  const nodeHours = nodeSeconds / 3600;
  const price = spot ? machine.spotPrice : machine.price;
  const market = request.cloud === "aws" ? (spot ? ", spot" : ", on demand") : "";
  const lines: CostLine[] = [line("compute", `Workflow nodes (${machine.name}${market})`, nodeHours, "node-hours", price)];

  if (request.cloud === "aws" && regional && context.systemMachine) {
    const system = context.systemMachine;
    lines.push(line("systemNodes", `System nodes (${a.systemNodes} × ${system.name}, on demand)`, a.systemNodes * makespanHours, "node-hours", system.price));
    const controlPlanePrice = a.controlPlaneSupport === "standard" ? regional.controlPlaneStandardPerHour : regional.controlPlaneExtendedPerHour;
    lines.push(line("controlPlane", `EKS control plane (${a.controlPlaneSupport} support)`, makespanHours, "hours", controlPlanePrice));
    lines.push(line("nat", "NAT gateway", makespanHours, "hours", regional.natGatewayPerHour));
    const inputGB = request.inputLocation === "internet" ? request.volume.bytes / GB : 0;
    const imageGB = (nodes + a.systemNodes) * a.imageGBPerNode;
    lines.push(line("nat", `NAT data (${request.inputLocation === "internet" ? "input from the internet + " : ""}image pulls)`, inputGB + imageGB, "GB", regional.natGatewayPerGB));

    const intermediateBytes = [...steps("split"), ...tileSteps].reduce((n, s) => n + artifactBytes(s, points), 0);
    const outputBytes = steps("merge").reduce((n, s) => n + artifactBytes(s, points), 0);
    const inputStored = request.inputLocation === "s3" ? request.volume.bytes : 0;
    // Everything is counted as stored for the whole run: an upper bound that S3's per-hour billing rounds toward.
    lines.push(line("storage", `S3 storage during the run (${request.inputLocation === "s3" ? "input, " : ""}intermediates, outputs)`, ((inputStored + intermediateBytes + outputBytes) / GB) * (makespanHours / HOURS_PER_MONTH), "GB-months", regional.s3StoragePerGBMonth));

    const perTile = (s: StepCalibration) => (s.phase === "tile" ? counts.tiles : 1);
    const tilesPerSample = Math.max(1, cal.sample.tiles);
    // Split writes per tile and merge reads per tile: scale the sample's counts by the tiles.
    const puts = cal.steps.reduce((n, s) => n + (s.phase === "split" ? (s.outputFilesPerRun / tilesPerSample) * counts.tiles : s.outputFilesPerRun * perTile(s)), 0);
    const inputGets = request.inputLocation === "s3" ? Math.ceil(request.volume.bytes / (a.inputReadChunkMiB * 2 ** 20)) : 0;
    const gets = inputGets + cal.steps.reduce((n, s) => n + (s.phase === "merge" ? (s.inputFilesPerRun / tilesPerSample) * counts.tiles : s.inputFilesPerRun * perTile(s)), 0);
    lines.push(line("requests", "S3 PUT requests (artifacts written)", puts / 1000, "1000 requests", regional.s3PutPer1000));
    lines.push(line("requests", `S3 GET requests (artifacts read${inputGets > 0 ? ", input in ranges" : ""})`, gets / 1000, "1000 requests", regional.s3GetPer1000));
    lines.push(line("ebs", "EBS gp3 root volumes", ((nodeHours + a.systemNodes * makespanHours) * a.ebsGBPerNode) / HOURS_PER_MONTH, "GB-months", regional.ebsGp3PerGBMonth));
    lines.push(line("egress", "Data transfer out (results downloaded once)", a.downloadResults ? outputBytes / GB : 0, "GB", regional.egressPerGB));
    // Apart, because Argo's artifact GC can delete the intermediates when the run ends; the outputs are the point.
    lines.push(line("storageMonth", "S3 storage of the intermediates, a month after the run", intermediateBytes / GB, "GB-months", regional.s3StoragePerGBMonth, "month"));
    lines.push(line("storageMonth", "S3 storage of the outputs, a month after the run", outputBytes / GB, "GB-months", regional.s3StoragePerGBMonth, "month"));
  }

  const run = lines.filter((l) => l.period === "run");
  const priced = run.every((l) => l.cost !== undefined);
  const month = lines.filter((l) => l.period === "month");
  return {
    candidate,
    tileCounts: counts,
    slotsPerNode: slots,
    parallelism,
    podMemoryGiB,
    waves,
    timeline,
    makespanHours,
    nodeHours,
    lines,
    totalCost: priced ? run.reduce((n, l) => n + l.cost!, 0) : undefined,
    storageMonthCost: month.length > 0 && month.every((l) => l.cost !== undefined) ? month.reduce((n, l) => n + l.cost!, 0) : undefined,
  };
}

/** The run's cost per JSON key (`compute`, `nat`, ...), summed over lines. */
export function costByKey(e: Estimate): Partial<Record<CostKey, number>> {
  const totals: Partial<Record<CostKey, number>> = {};
  for (const l of e.lines) if (l.cost !== undefined) totals[l.key] = (totals[l.key] ?? 0) + l.cost;
  return totals;
}
