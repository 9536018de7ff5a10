import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DEFAULT_CACHE_DIR } from "../local/cache";
import { resolveParams } from "../local/params";
import { LocalRunner, RunResult, TaskInfo } from "../local/runner";
import { filesOf, StepValue } from "../local/values";
import { pythonEnv, pythonExecutable } from "../python/interpreter";
import { GraphStep, WorkflowGraph } from "../workflow/validate";
import { Calibration, CalibrationError, CalibrationMachine, componentHashes, StepCalibration, stepPhases } from "./calibration";
import { canSampleProcesses, sampleProcess } from "./procStats";
import { DataVolume, volumeFromHeaders } from "./volume";

const MiB = 2 ** 20;

/** What was measured while one step ran. */
interface StepMeasurement {
  readonly step: string;
  readonly item?: number;
  cpuSeconds: number;
  wallSeconds: number;
  peakRssBytes: number;
}

/** The interpreter's version, as the component runtime runs it. */
function pythonVersion(): string {
  const answer = spawnSync(pythonExecutable(), ["--version"], { encoding: "utf8", env: pythonEnv() });
  return (answer.stdout || answer.stderr || "unknown").trim().replace(/^Python\s+/, "");
}

/**
 * What an idle component runtime costs: peak RSS and CPU seconds of Python starting with numpy and
 * the runtime imported, nothing run. On a cluster every step is a pod that pays this once.
 */
function runtimeBaseline(): { rssBytes: number; cpuSeconds: number } {
  const code = "import resource, numpy, naaw_runtime; u = resource.getrusage(resource.RUSAGE_SELF); print(u.ru_maxrss, u.ru_utime + u.ru_stime)";
  const answer = spawnSync(pythonExecutable(), ["-c", code], { encoding: "utf8", env: pythonEnv() });
  const [kib, cpu] = answer.stdout.trim().split(" ").map(Number);
  if (answer.status !== 0 || !Number.isFinite(kib) || !Number.isFinite(cpu)) throw new CalibrationError(`could not measure the component runtime: ${answer.stderr.trim()}`);
  return { rssBytes: kib! * 1024, cpuSeconds: cpu! };
}

export function describeMachine(): CalibrationMachine {
  return {
    cpuModel: os.cpus()[0]?.model.trim() ?? "unknown",
    cores: os.availableParallelism(),
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    node: process.version,
    python: pythonVersion(),
  };
}

/** The basename of the `--component DIR` a service process was started with (its /proc cmdline). */
function componentDirOf(pid: number): string | undefined {
  try {
    const args = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    const at = args.indexOf("--component");
    return at >= 0 && args[at + 1] ? path.basename(args[at + 1]!) : undefined;
  } catch {
    return undefined;
  }
}

/** Files a step reads per run: one per input binding, a fan-in of a foreach one per item. */
function inputFilesPerRun(step: GraphStep, items: number): number {
  return step.bindings
    .filter((b) => b.slot === "input" && b.binding.kind === "reference")
    .reduce((n, b) => {
      const reference = b.binding.kind === "reference" ? b.binding.reference : undefined;
      return n + (reference?.kind === "step" && step.foreach === undefined ? items : 1);
    }, 0);
}

/**
 * The files behind an output: file values, plain lists of paths (merge's rasters), and each file's
 * JSON sidecar (split's `<tile>.json` beside `<tile>.npy`), which engines store as artifacts too.
 */
function writtenFiles(value: StepValue): string[] {
  const listed = value.kind === "value" && Array.isArray(value.value) ? value.value.filter((v): v is string => typeof v === "string" && fs.existsSync(v)) : filesOf(value);
  const sidecars = listed.map((f) => f.replace(/\.[^./]+$/, ".json")).filter((s) => !listed.includes(s) && fs.existsSync(s));
  return [...listed, ...sidecars];
}

function bytesOf(files: readonly string[]): number {
  return files.reduce((n, f) => n + (fs.existsSync(f) ? fs.statSync(f).size : 0), 0);
}

export interface CalibrateOptions {
  readonly workflow: string;
  readonly graph: WorkflowGraph;
  /** The sample's LAS/LAZ path or glob (the workflow's `input` param). */
  readonly sample: string;
  /** Shown in the file: how to measure again. */
  readonly command: string;
  /** The workflow's `tile_size` for the run (default: its own): larger tiles measure what large tiles cost. */
  readonly tileSize?: number;
}

/**
 * Runs the workflow once on the sample with one worker and no cache (every step computes, none
 * overlaps another), measuring each step: CPU seconds and peak RSS of the service process that ran a
 * component (from /proc), or of this process for a built-in, and the files each wrote.
 */
export async function calibrate(options: CalibrateOptions): Promise<Calibration> {
  if (!canSampleProcesses()) throw new CalibrationError("calibration reads CPU time and memory from /proc, which this system does not have (Linux only)");
  const { graph } = options;
  const volume = volumeFromHeaders(options.sample);
  const settings = [`input=${options.sample}`, ...(options.tileSize !== undefined ? [`tile_size=${options.tileSize}`] : [])];
  const params = resolveParams(graph.params, settings, options.workflow);
  // --no-cache semantics: a private cache beside the real one, removed afterwards.
  const parent = path.dirname(path.resolve(DEFAULT_CACHE_DIR));
  fs.mkdirSync(parent, { recursive: true });
  const cacheDir = fs.mkdtempSync(path.join(parent, "calibrate-"));
  const measurements: StepMeasurement[] = [];
  const itemPoints = new Map<number, number>();
  const lastCpu = new Map<number, number>();
  let selfCpuAtStart = 0;
  let startedAt = 0;
  let runner: LocalRunner | undefined = undefined;
  const baseline = runtimeBaseline();
  // The built-ins load their modules on first use (ts-node transpiles them then): load them now, so
  // that the CPU measured for split and merge is their work, not the loading.
  await Promise.all([import("../lidar/split"), import("../lidar/merge")]);
  /** CPU since the last look and peak RSS of the service processes of one step's component. */
  const serviceUsage = (step: GraphStep): { cpu: number; peak: number } => {
    const entry = step.component.entry!;
    // The runner names a component's context directory `<name>-<hash prefix>` (localContextDir).
    const dir = `${entry.spec.name}-${entry.hash.slice(0, 12)}`;
    let cpu = 0;
    let peak = 0;
    for (const pid of runner!.servicePids()) {
      if (componentDirOf(pid) !== dir) continue;
      const sample = sampleProcess(pid);
      if (!sample) continue;
      // A new service's start (Python, numpy, the runtime) is not work per point: it is counted per pod.
      const before = lastCpu.get(pid) ?? Math.min(baseline.cpuSeconds, sample.cpuSeconds);
      lastCpu.set(pid, sample.cpuSeconds);
      cpu += sample.cpuSeconds - before;
      peak = Math.max(peak, sample.peakRssBytes);
    }
    return { cpu, peak };
  };
  runner = new LocalRunner(graph, {
    workers: 1,
    cacheDir,
    useCache: false,
    // A service per component, as a pod per step has: each component's CPU and memory measured alone.
    fuseItems: false,
    params,
    events: {
      stepStarted: () => {
        const usage = process.cpuUsage();
        selfCpuAtStart = (usage.user + usage.system) / 1e6;
        startedAt = performance.now();
      },
      stepFinished: (task: TaskInfo) => {
        const wallSeconds = (performance.now() - startedAt) / 1000;
        const step = graph.steps.find((s) => s.id === task.step)!;
        if (step.component.builtin) {
          const usage = process.cpuUsage();
          const cpu = (usage.user + usage.system) / 1e6 - selfCpuAtStart;
          measurements.push({ step: task.step, item: task.item, cpuSeconds: cpu, wallSeconds, peakRssBytes: process.resourceUsage().maxRSS * 1024 });
        } else {
          const { cpu, peak } = serviceUsage(step);
          measurements.push({ step: task.step, item: task.item, cpuSeconds: cpu, wallSeconds, peakRssBytes: peak });
        }
      },
      itemFinished: (_group: string, item: number, points: number) => itemPoints.set(item, points),
    },
  });
  try {
    const result = await runner.run();
    // The sizes of the files the steps wrote are read before the private cache goes.
    return summarize(options, volume, result, measurements, itemPoints, params, baseline);
  } finally {
    fs.rmSync(cacheDir, { recursive: true, force: true, maxRetries: 2 });
  }
}

function summarize(
  options: CalibrateOptions,
  volume: DataVolume,
  result: RunResult,
  measurements: readonly StepMeasurement[],
  itemPoints: ReadonlyMap<number, number>,
  params: Record<string, unknown>,
  baseline: { rssBytes: number; cpuSeconds: number },
): Calibration {
  const { graph } = options;
  const phases = stepPhases(graph);
  const tiles = result.items;
  const steps: StepCalibration[] = graph.steps.map((step) => {
    const runs = measurements.filter((m) => m.step === step.id);
    const points = step.foreach !== undefined ? runs.reduce((n, m) => n + (itemPoints.get(m.item ?? -1) ?? 0), 0) : result.points;
    const cpuSeconds = runs.reduce((n, m) => n + m.cpuSeconds, 0);
    const wallSeconds = runs.reduce((n, m) => n + m.wallSeconds, 0);
    const written = step.foreach !== undefined ? [...Array(tiles).keys()].map((i) => result.outputs.get(`${step.id}#${i}`)) : [result.outputs.get(step.id)];
    const outputs = written.flatMap((values) => Object.values(values ?? {}).flatMap(writtenFiles));
    const millions = Math.max(points, 1) / 1e6;
    const pointsAtPeak = step.foreach !== undefined ? Math.max(0, ...runs.map((m) => itemPoints.get(m.item ?? -1) ?? 0)) : result.points;
    return {
      step: step.id,
      uses: step.component.uses,
      phase: phases.get(step.id)!,
      runs: runs.length,
      points,
      cpuSeconds: round(cpuSeconds, 3),
      wallSeconds: round(wallSeconds, 3),
      cpuSecondsPerMillionPoints: round(cpuSeconds / millions, 4),
      peakMemoryMiB: round(Math.max(0, ...runs.map((m) => m.peakRssBytes)) / MiB, 1),
      pointsAtPeak,
      outputBytesPerMillionPoints: Math.round(bytesOf(outputs) / millions),
      outputFilesPerRun: round(outputs.length / Math.max(1, runs.length), 2),
      inputFilesPerRun: inputFilesPerRun(step, tiles),
      perRun: runs.map((m) => ({ points: step.foreach !== undefined ? (itemPoints.get(m.item ?? -1) ?? 0) : result.points, cpuSeconds: round(m.cpuSeconds, 3) })),
    };
  });
  return {
    workflow: options.workflow.split(path.sep).join("/"),
    measuredAt: new Date().toISOString(),
    command: options.command,
    sample: { input: options.sample, files: volume.files, points: result.points, bytes: volume.bytes, tiles, tileSize: Number(params.tile_size ?? 0) },
    machine: describeMachine(),
    runtimeBaselineMiB: round(baseline.rssBytes / MiB, 1),
    runtimeStartCpuSeconds: round(baseline.cpuSeconds, 3),
    steps,
    components: componentHashes(graph),
  };
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
