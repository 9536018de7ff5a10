import { spawnSync } from "child_process";
import * as fs from "fs";

/** What Linux says about a process: CPU time so far and its peak resident memory. */
export interface ProcessSample {
  readonly pid: number;
  /** User + system CPU seconds (`/proc/<pid>/stat` fields 14 and 15). */
  readonly cpuSeconds: number;
  /** Peak resident set size in bytes (`VmHWM` of `/proc/<pid>/status`). */
  readonly peakRssBytes: number;
}

let ticksPerSecond: number | undefined;

/** Clock ticks per second of `/proc/<pid>/stat` (`getconf CLK_TCK`; 100 on every Linux we know). */
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    const answer = spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" });
    const value = Number(answer.stdout?.trim());
    ticksPerSecond = answer.status === 0 && Number.isInteger(value) && value > 0 ? value : 100;
  }
  return ticksPerSecond;
}

/** The process's CPU time and peak RSS, or undefined when it has exited (or this is not Linux). */
export function sampleProcess(pid: number): ProcessSample | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) is in parentheses and may hold spaces: count fields after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]);
    const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    const hwm = /^VmHWM:\s+(\d+)\s+kB/m.exec(status);
    return { pid, cpuSeconds: ticks / clockTicks(), peakRssBytes: hwm ? Number(hwm[1]) * 1024 : 0 };
  } catch {
    return undefined;
  }
}

/** Whether CPU and memory of other processes can be read here (Linux `/proc`). */
export function canSampleProcesses(): boolean {
  return sampleProcess(process.pid) !== undefined;
}
