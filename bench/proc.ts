/**
 * Shared by the benchmark runners: CPU time of processes and of the machine from /proc, waiting
 * for a quiet machine, and the lock through which runners take turns.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Waits (up to `maxSeconds`) until everything but this runner and the processes `ours()` lists
 * uses less than `noise` % of one core, twice in a row over 1 s samples. Returns the last
 * sample's figure.
 */
export async function waitForQuiet(maxSeconds: number, noise: number, ours: () => number[], log: (line: string) => void): Promise<number> {
  const ourCpu = () => {
    const u = process.cpuUsage();
    return sumOver(ours(), procCpu) + (u.user + u.system) / 1e6;
  };
  const deadline = performance.now() + maxSeconds * 1000;
  let waited = false;
  let quietSamples = 0;
  for (;;) {
    const b0 = machineBusy();
    const o0 = ourCpu();
    const t0 = performance.now();
    await sleep(1000);
    const other = (100 * Math.max(0, machineBusy() - b0 - (ourCpu() - o0))) / ((performance.now() - t0) / 1000);
    quietSamples = other <= noise ? quietSamples + 1 : 0;
    if (quietSamples >= 2 || performance.now() >= deadline) {
      if (waited) log(`    ${other <= noise ? "quiet now" : "still busy, going on"} (other CPU ${other.toFixed(1)}%)`);
      return other;
    }
    if (!waited) log(`    machine busy (other CPU ${other.toFixed(1)}% of a core), waiting up to ${maxSeconds} s for quiet ...`);
    waited = true;
  }
}

let heldLock = "";

/**
 * Benchmarks on this machine take turns: a runner holds the lock directory `lock` (with its
 * pid in it) while it measures, so that two cooperating runners never load the two cores at
 * the same time. A lock left by a dead process is taken over; after 10 minutes of waiting the
 * runner goes on without it.
 */
export async function withLock<T>(lock: string, what: string, fn: () => Promise<T>, log: (line: string) => void): Promise<T> {
  const deadline = performance.now() + 600_000;
  let told = false;
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, "pid"), `${process.pid}\n${what}\n`);
      break;
    } catch (err) {
      if ((err as { code?: string }).code !== "EEXIST") throw err;
      let holder = 0;
      try {
        holder = Number(readFileSync(join(lock, "pid"), "utf8").split("\n")[0]);
      } catch { /* being written or removed */ }
      let alive = true;
      if (holder > 0) {
        try {
          process.kill(holder, 0);
        } catch {
          alive = false;
        }
      }
      if (!alive) {
        rmSync(lock, { recursive: true, force: true });
        continue;
      }
      if (performance.now() > deadline) {
        log(`    the benchmark lock ${lock} is still held by pid ${holder}; going on without it`);
        return fn();
      }
      if (!told) log(`    waiting for the benchmark lock ${lock} (held by pid ${holder || "?"}) ...`);
      told = true;
      await sleep(500);
    }
  }
  heldLock = lock;
  try {
    return await fn();
  } finally {
    releaseLock();
  }
}

function releaseLock(): void {
  if (!heldLock) return;
  try {
    if (Number(readFileSync(join(heldLock, "pid"), "utf8").split("\n")[0]) === process.pid) rmSync(heldLock, { recursive: true, force: true });
  } catch { /* not ours or gone */ }
  heldLock = "";
}
process.on("exit", releaseLock);
