import type { Calibration, StepCalibration } from "./calibration";
import type { MachineType, ModelAssumptions } from "./request";

/*
 * The pods of the batched rendering (docs/argo-scale.md, src/workflow/argo/batched/), sized as the
 * `budget` scheduling policy (src/schedule/budget.ts) requests them, so that the slots the planner
 * prices are the pods Kubernetes can place:
 * - a split pod: one container, the split step's measured cores and its peak memory (it streams);
 * - a tile batch pod: a containerSet whose containers (the join and each tile step) run at once,
 *   pipelined tile by tile. Each holds one tile at a time, so the pod asks for the SUM of its
 *   containers' requests: each step's mean cores, and its memory scaled to the largest tile.
 */

const MiB = 2 ** 20;
const GiB = 2 ** 30;

/** The join container's requests, as the rendering sets them (src/workflow/argo/batched/chainTemplate.ts); budget keeps them. */
export const JOIN_MILLICORES = 250;
export const JOIN_MEMORY_MIB = 256;

/** A step's memory at `points` points: the runtime's baseline plus the measured growth, scaled. */
export function stepMemoryBytes(step: StepCalibration, baselineMiB: number, points: number): number {
  const peak = step.peakMemoryMiB * MiB;
  const base = Math.min(peak, baselineMiB * MiB);
  return base + (peak - base) * (points / Math.max(1, step.pointsAtPeak));
}

/** Mean cores a step kept busy, in millicores: rounded up to 50m, within [100m, 1000m] (the steps are single-threaded); budget's rule. */
export function stepMillicores(step: StepCalibration): number {
  const cores = step.wallSeconds > 0 ? step.cpuSeconds / step.wallSeconds : 1;
  return Math.min(1000, Math.max(100, Math.ceil((cores * 1000) / 50) * 50));
}

/** One container's requests. */
export interface ContainerSize {
  readonly name: string;
  readonly millicores: number;
  readonly memoryMiB: number;
}

/** A pod's requests: its containers' and their sum (what the scheduler places). */
export interface PodSize {
  readonly containers: readonly ContainerSize[];
  readonly millicores: number;
  readonly memoryMiB: number;
  /** The sum rounded up to a quarter GiB, as the plan shows it and counts slots with. */
  readonly memoryGiB: number;
}

function pod(containers: readonly ContainerSize[]): PodSize {
  const memoryMiB = containers.reduce((n, c) => n + c.memoryMiB, 0);
  return { containers, millicores: containers.reduce((n, c) => n + c.millicores, 0), memoryMiB, memoryGiB: Math.ceil(((memoryMiB * MiB) / GiB) * 4) / 4 };
}

/** The tile batch pod for tiles of up to `maxPoints` points: the join plus every tile step, each sized for its own step. */
export function tileBatchPod(calibration: Calibration, maxPoints: number, headroom: number): PodSize {
  const steps = calibration.steps.filter((s) => s.phase === "tile");
  return pod([
    { name: "join", millicores: JOIN_MILLICORES, memoryMiB: JOIN_MEMORY_MIB },
    ...steps.map((s) => ({ name: s.step, millicores: stepMillicores(s), memoryMiB: Math.ceil((stepMemoryBytes(s, calibration.runtimeBaselineMiB, maxPoints) * headroom) / MiB) })),
  ]);
}

/** A split pod: the split step as measured (it streams its inputs, so its memory does not grow with them); the largest, should there be several. */
export function splitPod(calibration: Calibration, headroom: number): PodSize {
  const steps = calibration.steps.filter((s) => s.phase === "split");
  const millicores = Math.max(0, ...steps.map(stepMillicores));
  const memoryMiB = Math.max(0, ...steps.map((s) => Math.ceil((s.peakMemoryMiB * MiB * headroom) / MiB)));
  return pod([{ name: steps.map((s) => s.step).join("+") || "split", millicores, memoryMiB }]);
}

/** Pods of this size a node runs at once: by cores and by memory, after what the node keeps. */
export function podsPerNode(machine: MachineType, size: PodSize, a: ModelAssumptions): number {
  const millicores = (machine.vcpus - a.reservedCpuPerNode) * 1000;
  const memoryGiB = machine.memoryGiB - a.reservedMemoryGiB - a.reservedMemoryFraction * machine.memoryGiB;
  const byCpu = size.millicores > 0 ? Math.floor(millicores / size.millicores + 1e-9) : Number.POSITIVE_INFINITY;
  const byMemory = Math.floor(memoryGiB / Math.max(size.memoryGiB, 1 / 1024) + 1e-9);
  return Math.max(0, Math.min(byCpu, byMemory));
}

/** Bytes a step writes per point (the calibration's outputBytesPerMillionPoints), summed over steps. */
function bytesPerPoint(steps: readonly StepCalibration[]): number {
  return steps.reduce((n, s) => n + s.outputBytesPerMillionPoints, 0) / 1e6;
}

/** What a tile batch pod keeps on its volume at its fullest, in bytes, before headroom. */
export interface BatchDisk {
  /** Its tiles' pieces: Argo downloads the bucket's whole folder before the containers start. */
  readonly pieces: number;
  /** The chain's window: CHAIN_WINDOW tiles' intermediates of every tile step at once. */
  readonly window: number;
  /** The rasters it exports, kept until the pod ends (Argo uploads them then). */
  readonly rasters: number;
}

/**
 * A tile batch pod's disk for `tilesPerBatch` tiles of up to `maxPoints` points (every tile taken at
 * the largest: a bucket may be all full tiles), with `window` tiles in flight. The pieces are the
 * split's output (37 B a point); the intermediates, each tile step's; the rasters, the last step's.
 */
export function tileBatchDisk(calibration: Calibration, tilesPerBatch: number, maxPoints: number, window: number): BatchDisk {
  const split = calibration.steps.filter((s) => s.phase === "split");
  const tile = calibration.steps.filter((s) => s.phase === "tile");
  return {
    pieces: tilesPerBatch * maxPoints * bytesPerPoint(split),
    window: Math.min(tilesPerBatch, window) * maxPoints * bytesPerPoint(tile),
    rasters: tilesPerBatch * maxPoints * bytesPerPoint(tile.slice(-1)),
  };
}

/** The pod's ephemeral-storage request in whole GiB: the three parts times the headroom, rounded up. */
export function batchDiskGiB(disk: BatchDisk, headroom: number): number {
  return Math.max(1, Math.ceil(((disk.pieces + disk.window + disk.rasters) * headroom) / GiB));
}

/**
 * A node's volume in GiB for `slots` batch pods of `podGiB` each: the pods' requests plus the system's
 * share (OS, images), grown so that the kubelet's hard eviction threshold (nodefs.available below
 * `evictionFraction` of the disk) is never reached when every pod fills its request.
 */
export function nodeVolumeGiB(slots: number, podGiB: number, a: Pick<ModelAssumptions, "systemDiskGB" | "diskEvictionFraction">): number {
  return Math.ceil((slots * podGiB + a.systemDiskGB) / (1 - a.diskEvictionFraction));
}
