/**
 * Process figures from /proc (Linux): CPU time (utime + stime) and memory (VmRSS, VmHWM) of a
 * process and, for a cluster, of its children. Reading /proc costs the measured process nothing.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";

let ticksPerSecond = 100;
try {
  ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
} catch {
  ticksPerSecond = 100;
}

function statFields(pid: number): string[] | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name, which is in parentheses and may contain spaces.
    return text.slice(text.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

/** CPU seconds (user + system) the process has used so far; 0 when it is gone. */
export function cpuSeconds(pid: number): number {
  const fields = statFields(pid);
  if (!fields) return 0;
  // After ")": state is field 3, so utime (14) and stime (15) are at indexes 11 and 12.
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}

/** The process and its direct children (cluster workers). */
export function processTree(pid: number): number[] {
  const pids = [pid];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(Number(entry));
    if (fields && Number(fields[1]) === pid) pids.push(Number(entry));
  }
  return pids;
}

/** CPU seconds of a set of processes. */
export function treeCpuSeconds(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
}

/** Memory of one process in MB: current RSS and peak RSS (high-water mark). */
export function memoryMb(pid: number): { rss: number; hwm: number } {
  try {
    const text = readFileSync(`/proc/${pid}/status`, "utf8");
    const read = (key: string) => Number(new RegExp(`^${key}:\\s*(\\d+)`, "m").exec(text)?.[1] ?? 0) / 1024;
    return { rss: read("VmRSS"), hwm: read("VmHWM") };
  } catch {
    return { rss: 0, hwm: 0 };
  }
}

/** Resets the peak-RSS mark of a process we own (writes 5 to clear_refs); false when not allowed. */
export function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}

/** Samples RSS every `everyMs` until stopped, keeping the maximum (a fallback when clear_refs fails). */
export function sampleRss(pids: readonly number[], everyMs = 50): { stop(): number } {
  let max = 0;
  const tick = () => {
    const total = pids.reduce((sum, pid) => sum + memoryMb(pid).rss, 0);
    if (total > max) max = total;
  };
  tick();
  const timer = setInterval(tick, everyMs);
  return {
    stop() {
      clearInterval(timer);
      tick();
      return max;
    },
  };
}
