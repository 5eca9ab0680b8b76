/**
 * What the benchmark runners share: process facts from /proc (CPU seconds, RSS, process
 * trees), waiting for a quiet machine, the lock through which runners take turns, child
 * processes started with a raised open-file limit (and killed when the runner exits), their
 * output, and the statistics and number formats of the reports.
 *
 * @module
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const ROOT = join(import.meta.dirname, "..");
export const BIN = join(ROOT, "node_modules", ".bin");
const CLK_TCK = 100;

/** Progress on stderr (stdout carries the report). */
export function log(msg: string): void {
  process.stderr.write(`${msg}\n`);
}

/** The first line of `cmd args`' output, or why it is unavailable. */
export function versionOf(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: "utf8" }).split("\n")[0].trim();
  } catch (err) {
    return `unavailable (${(err as Error).message.split("\n")[0]})`;
  }
}

// ---- /proc ------------------------------------------------------------------------------------
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

export function rssBytes(pid: number): number {
  try {
    const m = readFileSync(`/proc/${pid}/status`, "utf8").match(/^VmRSS:\s+(\d+) kB/m);
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
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

export const sumOver = (pids: number[], f: (pid: number) => number) => pids.reduce((a, p) => a + (f(p) || 0), 0);

export function fdCount(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return 0;
  }
}

/** CPU seconds of every process, by pid (with its command line). */
export function allProcesses(): Map<number, { cpu: number; cmd: string }> {
  const out = new Map<number, { cpu: number; cmd: string }>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    const cpu = procCpu(pid);
    if (Number.isNaN(cpu)) continue;
    let cmd = "";
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ").trim();
    } catch { /* gone */ }
    out.set(pid, { cpu, cmd });
  }
  return out;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Other processes' CPU over `seconds`, as % of one core, with the top consumers. */
export async function quietCheck(seconds = 2): Promise<{ pct: number; top: string[] }> {
  const a = allProcesses();
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const b = allProcesses();
  const dt = (performance.now() - t0) / 1000;
  const rows: [number, string][] = [];
  let total = 0;
  for (const [pid, p] of b) {
    if (pid === process.pid) continue;
    const used = p.cpu - (a.get(pid)?.cpu ?? p.cpu);
    if (used <= 0) continue;
    total += used;
    rows.push([used, `${(100 * used / dt).toFixed(1)}% pid ${pid} ${p.cmd.slice(0, 80)}`]);
  }
  rows.sort((x, y) => y[0] - x[0]);
  return { pct: 100 * total / dt, top: rows.slice(0, 4).map((r) => r[1]) };
}

// ---- child processes --------------------------------------------------------------------------
export const live = new Set<ChildProcess>();
export function killAll(): void {
  for (const c of live) {
    for (const pid of c.pid ? processTree(c.pid) : []) {
      try {
        process.kill(pid, "SIGKILL");
      } catch { /* gone */ }
    }
  }
}
process.on("exit", killAll);
process.on("SIGINT", () => {
  killAll();
  process.exit(130);
});

/**
 * Waits (up to `maxSeconds`) until everything but this runner and its children uses less than
 * `noise` % of one core over a 1 s sample. Returns the last sample's figure.
 */
export async function waitQuiet(maxSeconds: number, noise: number): Promise<number> {
  const ours = () => {
    let sum = 0;
    for (const c of live) if (c.pid) sum += sumOver(processTree(c.pid), procCpu);
    const u = process.cpuUsage();
    return sum + (u.user + u.system) / 1e6;
  };
  const deadline = performance.now() + maxSeconds * 1000;
  let waited = false;
  let quietSamples = 0;
  for (;;) {
    const b0 = machineBusy();
    const o0 = ours();
    const t0 = performance.now();
    await sleep(1000);
    const other = (100 * Math.max(0, machineBusy() - b0 - (ours() - o0))) / ((performance.now() - t0) / 1000);
    quietSamples = other <= noise ? quietSamples + 1 : 0;
    if (quietSamples >= 2 || performance.now() >= deadline) {
      if (waited) log(`    ${other <= noise ? "quiet now" : "still busy, going on"} (other CPU ${other.toFixed(1)}%)`);
      return other;
    }
    if (!waited) log(`    machine busy (other CPU ${other.toFixed(1)}% of a core), waiting up to ${maxSeconds} s for quiet ...`);
    waited = true;
  }
}

/**
 * Benchmarks on this machine take turns: a runner holds the lock directory (with its pid in
 * it) while it measures, so that two cooperating runners never load the two cores at the same
 * time. A lock left by a dead process is taken over. Any runner can join by doing the same
 * with the same path (`--lock`, default /tmp/workerman-ts-bench.lock). An empty `lock` runs
 * `fn` without one.
 */
export async function withBenchLock<T>(lock: string, what: string, fn: () => Promise<T>): Promise<T> {
  if (!lock) return fn();
  const LOCK = lock;
  const deadline = performance.now() + 600_000;
  let told = false;
  for (;;) {
    try {
      mkdirSync(LOCK);
      writeFileSync(join(LOCK, "pid"), `${process.pid}\n${what}\n`);
      break;
    } catch (err) {
      if ((err as { code?: string }).code !== "EEXIST") throw err;
      let holder = 0;
      try {
        holder = Number(readFileSync(join(LOCK, "pid"), "utf8").split("\n")[0]);
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
        rmSync(LOCK, { recursive: true, force: true });
        continue;
      }
      if (performance.now() > deadline) {
        log(`    the benchmark lock ${LOCK} is still held by pid ${holder}; going on without it`);
        return fn();
      }
      if (!told) log(`    waiting for the benchmark lock ${LOCK} (held by pid ${holder || "?"}) ...`);
      told = true;
      await sleep(500);
    }
  }
  heldLock = LOCK;
  try {
    return await fn();
  } finally {
    releaseLock();
  }
}

/** The lock directory this process holds, if any. */
let heldLock = "";

function releaseLock(): void {
  const LOCK = heldLock;
  if (!LOCK) return;
  heldLock = "";
  try {
    if (Number(readFileSync(join(LOCK, "pid"), "utf8").split("\n")[0]) === process.pid) rmSync(LOCK, { recursive: true, force: true });
  } catch { /* not ours or gone */ }
}
process.on("exit", releaseLock);

/** Spawn `cmd` through bash with the open-file limit raised as far as allowed (exec keeps the pid). */
export function spawnLimited(cmd: string, args: string[]): ChildProcess {
  const child = spawn(
    "bash",
    ["-c", 'ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$@"', "bash", cmd, ...args],
    { cwd: ROOT, env: { ...process.env, NO_COLOR: "1" }, stdio: ["pipe", "pipe", "pipe"] },
  );
  live.add(child);
  child.on("exit", () => live.delete(child));
  return child;
}

/** Collects a child's output and lets callers wait for lines matching a pattern. */
export class Output {
  text = "";
  private waiters = new Set<() => void>();
  exited: number | string | null = null;
  readonly child: ChildProcess;
  readonly label: string;
  constructor(child: ChildProcess, label: string) {
    this.child = child;
    this.label = label;
    const add = (chunk: Buffer) => {
      this.text += chunk.toString();
      if (this.text.length > 1e6) this.text = this.text.slice(-5e5);
      for (const w of this.waiters) w();
    };
    child.stdout!.on("data", add);
    child.stderr!.on("data", add);
    child.on("exit", (code, signal) => {
      this.exited = code ?? signal ?? -1;
      for (const w of this.waiters) w();
    });
  }
  /** Waits for `pattern` in the output after position `from`. */
  wait(pattern: RegExp, timeoutMs: number, from = 0): Promise<RegExpMatchArray & { end: number }> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const rest = this.text.slice(from);
        const m = rest.match(pattern);
        if (m) {
          done();
          resolve(Object.assign(m, { end: from + m.index! + m[0].length }));
        } else if (this.exited !== null) {
          done();
          reject(new Error(`${this.label} exited (${this.exited}):\n${this.text.slice(-2000)}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.label}: no ${pattern} within ${timeoutMs} ms:\n${this.text.slice(-2000)}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }
}

// ---- statistics and formatting ----------------------------------------------------------------
export const median = (xs: number[]) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
export const minOf = (xs: number[]) => Math.min(...xs.filter(Number.isFinite));
export const maxOf = (xs: number[]) => Math.max(...xs.filter(Number.isFinite));
export const fmtRate = (x: number) =>
  !Number.isFinite(x) ? "–" : x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : `${(x / 1e3).toFixed(0)}k`;
export const pct = (x: number) => (Number.isFinite(x) ? `${(100 * x).toFixed(0)}%` : "–");
export const kb = (bytes: number) => (Number.isFinite(bytes) ? `${(bytes / 1024).toFixed(2)} KB` : "–");
