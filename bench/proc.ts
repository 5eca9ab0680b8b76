/** What the benchmark runners read from /proc: CPU time of processes and of the machine. */
import { readdirSync, readFileSync } from "node:fs";

const CLK_TCK = 100;

/** utime+stime of a process (all its threads), in seconds. */
export function procCpu(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / CLK_TCK;
  } catch {
    return NaN;
  }
}

/** Busy CPU seconds of the whole machine. The kernel has no IRQ time accounting, so softirq
 * time (loopback TCP) is also charged to the task it interrupted: busy includes irq+softirq. */
export function machineBusy(): number {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0];
  const [user, nice, system, , , irq, softirq] = line.split(/\s+/).slice(1).map(Number);
  return (user + nice + system + irq + softirq) / CLK_TCK;
}

/** `pid` and all its descendants (the framework runs a master and its worker processes). */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid)!.push(Number(name));
    } catch { /* gone */ }
  }
  const out: number[] = [];
  const todo = [pid];
  while (todo.length > 0) {
    const p = todo.pop()!;
    out.push(p);
    todo.push(...(children.get(p) ?? []));
  }
  return out;
}

/** Sum of `f` over `pids` (processes that vanished count 0). */
export const sumOver = (pids: number[], f: (pid: number) => number) => pids.reduce((a, p) => a + (f(p) || 0), 0);
