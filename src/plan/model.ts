import { BatchPlan, batchingForParallelism, planBatches } from "../workflow/argo/batching";
import { CHAIN_WINDOW } from "../workflow/argo/batched/layout";
import type { Calibration, StepCalibration } from "./calibration";
import { BatchDisk, batchDiskGiB, nodeVolumeGiB, podsPerNode, PodSize, splitPod, tileBatchDisk, tileBatchPod } from "./pods";
import type { RegionalPrices } from "./prices/catalog";
import { MachineType, PlanInputError, PlanRequest } from "./request";
import { TileCounts, tileCountsFor } from "./volume";

export { stepMemoryBytes } from "./pods";

const GB = 1e9;
const HOURS_PER_MONTH = 730;
/** The largest EBS gp3 volume, GiB (16 TiB). */
export const EBS_GP3_MAX_GIB = 16384;
/** The system node group's root volume, GiB: the EKS managed node group's default diskSize, which components/AwsCluster.ts keeps. */
export const SYSTEM_NODE_DISK_GIB = 20;

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
  /** Tile batch pods a node runs at once. */
  readonly slotsPerNode: number;
  /** Pods the cluster runs at once (Argo's `parallelism`); the rendering makes one tile batch per such pod, up to MAX_TILE_BATCHES. */
  readonly parallelism: number;
  /** A tile batch pod's memory request: the sum of its containers' (they run at once). */
  readonly podMemoryGiB: number;
  /** A tile batch pod's CPU request in cores: the sum of its containers'. */
  readonly podCpu: number;
  /** Split pods a node runs at once. */
  readonly splitSlotsPerNode: number;
  /** The batched run's sizes: split batches, tile batches, tiles per batch, the Workflow object's nodes. */
  readonly batches: BatchPlan;
  /** Bytes on a tile batch pod's volume at its fullest: its tiles' pieces, the tiles in flight, its rasters. */
  readonly batchDisk: BatchDisk;
  /** A tile batch pod's ephemeral-storage request, GiB (the budget policy sets it on the pod's join container). */
  readonly podDiskGiB: number;
  /** The disk a node needs for `slotsPerNode` such pods and the system, GiB. */
  readonly nodeDiskNeedGiB: number;
  /** The workflow nodes' root volume, GiB: the need, or `naaw:ebsGBPerNode` when the stack fixes it. Priced per node-hour. */
  readonly nodeVolumeGiB: number;
  /** Set when the candidate cannot run: its nodes need more disk than the volume can have (names the key and the size needed). */
  readonly unfit?: string;
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

function line(key: CostKey, name: string, quantity: number, unit: string, unitPrice: number | undefined, period: "run" | "month" = "run"): CostLine {
  return { key, name, quantity, unit, unitPrice, cost: unitPrice === undefined ? undefined : quantity * unitPrice, period };
}

/** The batch sizes the rendering uses for this many pods at once (src/workflow/argo/batching.ts); input it cannot fit is the user's to change. */
function batchesFor(files: number, tiles: number, parallelism: number): BatchPlan {
  const { inputsPerSplit, tileBatches } = batchingForParallelism(parallelism);
  try {
    return planBatches({ inputs: files, tiles, parallelism: tileBatches, inputsPerSplit });
  } catch (e) {
    if (e instanceof RangeError) throw new PlanInputError(`${files} input files: ${e.message}; merge the input files into fewer, larger ones`);
    throw e;
  }
}

/**
 * Prices one candidate as the batched rendering runs it (docs/argo-scale.md):
 * - split: ceil(files / 10) pods, each reading its 10 files and writing their points to S3 as pieces
 *   keyed by tile, at most `parallelism` pods at once (Argo's limit counts every pod of the run);
 * - tiles: K tile batch pods (K ≤ parallelism, so one wave), each downloading its tiles' pieces,
 *   running the join and the tile steps at once, pipelined tile by tile (docs/pod-chain.md: nothing
 *   goes through S3 in between), and uploading its rasters;
 * - merge: one pod at the end.
 * Undefined when a pod does not fit on the machine.
 */
export function estimate(candidate: Candidate, context: ModelContext): Estimate | undefined {
  const { request, calibration: cal, regional } = context;
  const a = request.assumptions;
  const { machine, nodes, spot, tileSize } = candidate;
  const counts = tileCountsFor(request.volume, tileSize);
  const { points, files } = request.volume;
  const steps = (phase: StepCalibration["phase"]) => cal.steps.filter((s) => s.phase === phase);
  const tileSteps = steps("tile");

  const batchPod: PodSize = tileBatchPod(cal, counts.maxPoints, a.memoryHeadroom);
  const slots = podsPerNode(machine, batchPod, a);
  const splitSlots = podsPerNode(machine, splitPod(cal, a.memoryHeadroom), a);
  if (slots === 0 || splitSlots === 0) return undefined;
  const parallelism = slots * nodes;
  const batches = batchesFor(files, counts.tiles, parallelism);

  const transfer = (bytes: number) => bytes / (a.s3MBPerSecondPerPod * 1e6);
  const cpu = (step: StepCalibration, pts: number) => (step.cpuSecondsPerMillionPoints * pts) / 1e6 / a.cpuSpeedFactor;
  // Once per pod: scheduling and start, and the runtime's start (a pod's containers start together).
  const podOverhead = a.podStartSeconds + cal.runtimeStartCpuSeconds / a.cpuSpeedFactor;
  const bytesPerPoint = (list: readonly StepCalibration[]) => list.reduce((n, s) => n + s.outputBytesPerMillionPoints, 0) / 1e6;
  // The pieces are the split's tiles cut by input file: the points once, at the split's bytes a point.
  const pieceBytesPerPoint = bytesPerPoint(steps("split"));
  // What leaves a batch pod: the last tile step's outputs (the rasters merge reads).
  const rasterBytesPerPoint = bytesPerPoint(tileSteps.slice(-1));

  // Split: list and plan the input batches (two small pods), then S pods of up to 10 files each.
  const perSplit = Math.min(files, batches.inputsPerSplit);
  const splitPoints = (points / files) * perSplit;
  const splitPodSeconds = steps("split").reduce((t, s) => t + cpu(s, splitPoints), podOverhead + transfer((request.volume.bytes / files) * perSplit + splitPoints * pieceBytesPerPoint));
  const splitAtOnce = Math.min(batches.splitBatches, parallelism, nodes * splitSlots);
  const splitNodes = Math.min(nodes, Math.ceil(splitAtOnce / splitSlots));
  const split = 2 * podOverhead + Math.max(Math.ceil(batches.splitBatches / splitAtOnce) * splitPodSeconds, batches.splitBatches / a.argoPodsPerSecond);

  // Tiles: the buckets pod, then K batches at once. A batch's steps run pipelined over its n tiles:
  // the first tile passes every step, then one tile leaves per slowest step's time. The join
  // streams the downloaded pieces into one file per tile and is not calibrated: its time is not counted.
  const n = batches.tilesPerBatch;
  const perTile = tileSteps.map((s) => cpu(s, counts.meanPoints));
  const pipeline = perTile.reduce((t, x) => t + x, 0) + (n - 1) * Math.max(0, ...perTile);
  const batchSeconds = podOverhead + transfer(n * counts.meanPoints * pieceBytesPerPoint) + pipeline + transfer(n * counts.meanPoints * rasterBytesPerPoint);
  const tileWaves = Math.ceil(batches.tileBatches / parallelism);
  const tiles = podOverhead + Math.max(tileWaves * batchSeconds, batches.tileBatches / a.argoPodsPerSecond) * (spot ? 1 + a.spotInterruptionOverhead : 1);
  const tileNodes = Math.min(nodes, Math.ceil(batches.tileBatches / slots));
  // Disk: Argo puts a batch's pieces on the pod's volume before the containers start; the chain keeps
  // CHAIN_WINDOW tiles' intermediates; the rasters stay until the pod ends. A node holds `slots` such pods.
  const batchDisk = tileBatchDisk(cal, n, counts.maxPoints, CHAIN_WINDOW);
  const podDiskGiB = batchDiskGiB(batchDisk, a.diskHeadroom);
  const nodeDiskNeedGiB = nodeVolumeGiB(slots, podDiskGiB, a);
  const fixedVolume = request.cloud === "aws" ? request.nodeVolumeGB : undefined;
  const volume = fixedVolume ?? nodeDiskNeedGiB;
  const needs = `${nodes} × ${machine.name} nodes need ${nodeDiskNeedGiB} GiB of disk each (${slots} tile batch pod${slots === 1 ? "" : "s"} of ${podDiskGiB} GiB, mostly ${n} tiles' pieces, and ${a.systemDiskGB} GiB for the OS and images)`;
  const unfit =
    fixedVolume !== undefined && fixedVolume < nodeDiskNeedGiB
      ? `naaw:ebsGBPerNode is ${fixedVolume} GiB, but ${needs}: set naaw:ebsGBPerNode to at least ${nodeDiskNeedGiB}, or unset it so that the plan sizes the volume`
      : request.cloud === "aws" && volume > EBS_GP3_MAX_GIB
        ? `${needs}, more than an EBS gp3 volume holds (${EBS_GP3_MAX_GIB} GiB): more nodes make more, smaller batches`
        : undefined;

  const merge = steps("merge").reduce((t, s) => t + podOverhead + cpu(s, points) + transfer(bytesPerPoint([s]) * points), 0);
  const nodeStart = a.nodeBootSeconds + a.imagePullSeconds;
  const timeline: Timeline = { clusterCreate: a.clusterCreateHours * 3600, nodeStart, split, tiles, merge };
  const runSeconds = nodeStart + split + tiles + merge;
  const makespanHours = a.clusterCreateHours + runSeconds / 3600;

  // Nodes are billed from launch until Karpenter removes them empty: in each phase those with pods; the merge keeps one.
  const nodeSeconds = nodes * (nodeStart + a.emptyNodeSeconds) + splitNodes * split + tileNodes * tiles + merge;
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

    // In S3 between the phases: the pieces (the points once) and each tile's rasters; no step's intermediates.
    const intermediateBytes = points * (pieceBytesPerPoint + rasterBytesPerPoint);
    const outputBytes = points * bytesPerPoint(steps("merge"));
    const inputStored = request.inputLocation === "s3" ? request.volume.bytes : 0;
    // Everything is counted as stored for the whole run: an upper bound that S3's per-hour billing rounds toward.
    lines.push(line("storage", `S3 storage during the run (${request.inputLocation === "s3" ? "input, " : ""}pieces, tile rasters, outputs)`, ((inputStored + intermediateBytes + outputBytes) / GB) * (makespanHours / HOURS_PER_MONTH), "GB-months", regional.s3StoragePerGBMonth));

    // Per tile: the split writes its pieces (the sample's files per tile) and the batch pods read them;
    // the last tile step writes the tile's rasters and merge reads them; merge writes its outputs once.
    const perSampleTile = (files: number) => (files / Math.max(1, cal.sample.tiles)) * counts.tiles;
    const pieceFiles = steps("split").reduce((n, s) => n + perSampleTile(s.outputFilesPerRun), 0);
    const rasterFiles = tileSteps.slice(-1).reduce((n, s) => n + s.outputFilesPerRun * counts.tiles, 0);
    const puts = pieceFiles + rasterFiles + steps("merge").reduce((n, s) => n + s.outputFilesPerRun, 0);
    const inputGets = request.inputLocation === "s3" ? Math.ceil(request.volume.bytes / (a.inputReadChunkMiB * 2 ** 20)) : 0;
    const gets = inputGets + pieceFiles + steps("merge").reduce((n, s) => n + perSampleTile(s.inputFilesPerRun), 0);
    lines.push(line("requests", "S3 PUT requests (pieces, tile rasters, outputs)", puts / 1000, "1000 requests", regional.s3PutPer1000));
    lines.push(line("requests", `S3 GET requests (pieces, tile rasters${inputGets > 0 ? ", input in ranges" : ""})`, gets / 1000, "1000 requests", regional.s3GetPer1000));
    // Billed for each node's life: the workflow nodes' volume as the plan sizes it, the system nodes' EKS default.
    lines.push(line("ebs", `EBS gp3 root volumes (${volume} GiB a workflow node, ${SYSTEM_NODE_DISK_GIB} GiB a system node)`, (nodeHours * volume + a.systemNodes * makespanHours * SYSTEM_NODE_DISK_GIB) / HOURS_PER_MONTH, "GB-months", regional.ebsGp3PerGBMonth));
    lines.push(line("egress", "Data transfer out (results downloaded once)", a.downloadResults ? outputBytes / GB : 0, "GB", regional.egressPerGB));
    // Apart, because Argo's artifact GC can delete the intermediates when the run ends; the outputs are the point.
    lines.push(line("storageMonth", "S3 storage of the intermediates (pieces, tile rasters), a month after the run", intermediateBytes / GB, "GB-months", regional.s3StoragePerGBMonth, "month"));
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
    podMemoryGiB: batchPod.memoryGiB,
    podCpu: batchPod.millicores / 1000,
    splitSlotsPerNode: splitSlots,
    batches,
    batchDisk,
    podDiskGiB,
    nodeDiskNeedGiB,
    nodeVolumeGiB: volume,
    ...(unfit ? { unfit } : {}),
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
