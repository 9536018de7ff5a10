import * as fs from "fs";
import * as path from "path";
import { BUILTINS_REVISION } from "../local/builtinSteps";
import { WorkflowGraph } from "../workflow/validate";
import { compareText } from "../textOrder";

/**
 * The phase a step belongs to: `split` (steps before the foreach, parallel over input files), `tile`
 * (inside the foreach, parallel over tiles), `merge` (after it, once).
 */
export type StepPhase = "split" | "tile" | "merge";

/** What one step cost on the calibration machine. */
export interface StepCalibration {
  readonly step: string;
  readonly uses: string;
  readonly phase: StepPhase;
  /** Runs measured (tiles for a tile step, 1 otherwise). */
  readonly runs: number;
  /** Points those runs processed (a tile step: its tiles'; split and merge: all). */
  readonly points: number;
  readonly cpuSeconds: number;
  readonly wallSeconds: number;
  readonly cpuSecondsPerMillionPoints: number;
  /** Peak resident memory of the process that ran the step (a component's service; naaw itself for a built-in). */
  readonly peakMemoryMiB: number;
  /** The points of the largest tile the step ran on (its memory grows with them). */
  readonly pointsAtPeak: number;
  readonly outputBytesPerMillionPoints: number;
  /** Files the step wrote per run (artifacts: S3 PUTs on a cluster). */
  readonly outputFilesPerRun: number;
  /** Files the step read per run (artifacts: S3 GETs on a cluster). */
  readonly inputFilesPerRun: number;
  /** Each run's points and CPU seconds, so a reader can see how CPU grows with a tile's points. */
  readonly perRun: readonly { readonly points: number; readonly cpuSeconds: number }[];
}

export interface CalibrationMachine {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly platform: string;
  readonly node: string;
  readonly python: string;
}

/** `workflows/<name>.calibration.json`: measured, never invented (`naaw plan --calibrate` writes it). */
export interface Calibration {
  readonly workflow: string;
  readonly measuredAt: string;
  readonly command: string;
  readonly sample: { readonly input: string; readonly files: number; readonly points: number; readonly bytes: number; readonly tiles: number; readonly tileSize: number };
  readonly machine: CalibrationMachine;
  /** RSS of an idle component runtime (Python + numpy): the part of a step's memory that does not grow with points. */
  readonly runtimeBaselineMiB: number;
  /** CPU seconds that runtime takes to start: paid once per pod on a cluster. */
  readonly runtimeStartCpuSeconds: number;
  readonly steps: readonly StepCalibration[];
  /** The code the figures belong to: each notebook component's context hash, and the built-ins' revision. */
  readonly components: Readonly<Record<string, string>>;
}

export class CalibrationError extends Error {}

/** `workflows/lidar.yaml` → `workflows/lidar.calibration.json`. */
export function calibrationPath(workflow: string): string {
  return path.join(path.dirname(workflow), `${path.basename(workflow).replace(/\.ya?ml$/i, "")}.calibration.json`);
}

/** Each step's phase from where it stands relative to the foreach groups. */
export function stepPhases(graph: WorkflowGraph): Map<string, StepPhase> {
  const phases = new Map<string, StepPhase>();
  let seenForeach = false;
  for (const step of graph.steps) {
    if (step.foreach !== undefined) {
      seenForeach = true;
      phases.set(step.id, "tile");
    } else {
      phases.set(step.id, seenForeach ? "merge" : "split");
    }
  }
  return phases;
}

/** The hash each step's code has now: a component's context hash, or the built-ins' revision. */
export function componentHashes(graph: WorkflowGraph): Record<string, string> {
  const hashes: Record<string, string> = {};
  for (const step of graph.steps) {
    const c = step.component;
    hashes[c.uses] = c.builtin ? `builtin:${BUILTINS_REVISION}` : c.entry!.hash;
  }
  return Object.fromEntries(Object.entries(hashes).sort(([a], [b]) => compareText(a, b)));
}

/** The components whose code changed since the calibration (a warning: the figures may be off). */
export function staleComponents(calibration: Calibration, graph: WorkflowGraph): string[] {
  const now = componentHashes(graph);
  return Object.keys(now).filter((uses) => calibration.components[uses] !== now[uses]);
}

function checkNumber(value: unknown, where: string, file: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) throw new CalibrationError(`${file}: ${where} must be a non-negative number`);
  return value;
}

/** Reads and checks a calibration file. */
export function readCalibration(file: string): Calibration {
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new CalibrationError(`${file}: no calibration yet; run \`npx naaw plan --calibrate\` to measure the workflow on this machine`);
    throw new CalibrationError(`${file}: not a calibration file: ${(error as Error).message}`);
  }
  const c = json as Calibration;
  if (typeof c !== "object" || c === null || !Array.isArray(c.steps) || typeof c.components !== "object" || typeof c.machine !== "object") {
    throw new CalibrationError(`${file}: not a calibration file (expected steps, components and machine); run \`npx naaw plan --calibrate\` again`);
  }
  c.steps.forEach((s, i) => {
    for (const key of ["runs", "points", "cpuSecondsPerMillionPoints", "peakMemoryMiB", "pointsAtPeak", "outputBytesPerMillionPoints", "outputFilesPerRun", "inputFilesPerRun"] as const) {
      checkNumber(s[key], `steps[${i}].${key}`, file);
    }
    if (!["split", "tile", "merge"].includes(s.phase)) throw new CalibrationError(`${file}: steps[${i}].phase must be split, tile or merge`);
  });
  checkNumber(c.runtimeBaselineMiB, "runtimeBaselineMiB", file);
  checkNumber(c.runtimeStartCpuSeconds, "runtimeStartCpuSeconds", file);
  checkNumber(c.sample?.tiles, "sample.tiles", file);
  return c;
}
