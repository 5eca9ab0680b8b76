/**
 * What the benchmark runners share: their command line, process facts from /proc (CPU seconds,
 * RSS, process trees), waiting for a quiet machine and the rounds that repeat noisy
 * measurements, the lock through which runners take turns, child processes started with a
 * raised open-file limit (and killed when the runner exits), their output, the statistics and
 * number formats of the reports, and their sections of bench/RESULTS.md.
 *
 * @module
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs, type ParseArgsConfig } from "node:util";

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

// ---- command line -----------------------------------------------------------------------------
/** A runner's options: each a string or a flag, each with its default. */
type Options = Record<
  string,
  { type: "string"; default: string; short?: string } | { type: "boolean"; default: boolean; short?: string }
>;
/** The parsed values of `O`. */
export type OptionValues<O extends Options> = { [K in keyof O]: O[K]["default"] extends boolean ? boolean : string };

/**
 * The runner's options (`options` plus `--help`/`-h`; unknown ones are an error). With
 * `--help` it prints the runner's doc comment (the file `url` up to its first `*\/`) and exits.
 */
export function parseOptions<const O extends Options>(url: string, options: O): OptionValues<O> {
  const config: ParseArgsConfig = {
    args: process.argv.slice(2),
    options: { ...options, help: { type: "boolean", short: "h", default: false } },
    strict: true,
  };
  const { values } = parseArgs(config);
  if (values.help) {
    console.log(readFileSync(new URL(url), "utf8").split("*/")[0]);
    process.exit(0);
  }
  return values as OptionValues<O>;
}

/**
 * Options most runners take, to spread into their own table (a runner that waits longer for
 * quiet overrides `wait-quiet` after the spread).
 */
export const RUNNER_OPTIONS = {
  runtimes: { type: "string", default: "node,deno,bun" },
  noise: { type: "string", default: "10" },
  "wait-quiet": { type: "string", default: "20" },
  lock: { type: "string", default: "/tmp/workerman-ts-bench.lock" },
  "no-build": { type: "boolean", default: false },
  "no-write": { type: "boolean", default: false },
} as const;

/** A comma-separated option as a list, each item checked against `allowed`. */
export function listOption<T extends string>(value: string | undefined, allowed: readonly T[], what: string): T[] {
  const items = (value ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  for (const item of items) if (!allowed.includes(item as T)) throw new Error(`unknown ${what} ${item}`);
  return items as T[];
}

/** Builds npm/ (scripts/build_npm.ts), which Node runs; the build's errors go to stderr. */
export function buildNpm(): void {
  log("building npm/ (scripts/build_npm.ts) ...");
  execFileSync(join(BIN, "tsx"), [join(ROOT, "scripts", "build_npm.ts")], {
    cwd: ROOT,
    stdio: ["ignore", "ignore", "inherit"],
  });
}

/** The versions of the three runtimes (Deno's and Bun's from the binaries the runners start). */
export function runtimeVersions(): Record<"node" | "deno" | "bun", string> {
  return {
    node: process.versions.node,
    deno: versionOf(join(BIN, "deno"), ["--version"]).replace(/^deno /, ""),
    bun: versionOf(join(BIN, "bun"), ["--version"]),
  };
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

/** Resident memory (VmRSS) of a process, in bytes. */
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

/** The sum of `f` over `pids` (processes that are gone count 0). */
export const sumOver = (pids: number[], f: (pid: number) => number) => pids.reduce((a, p) => a + (f(p) || 0), 0);

/** Open file descriptors of a process. */
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
/** SIGKILL to each of `pids` that is still there. */
function killPids(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch { /* gone */ }
  }
}

/** The child processes started by {@link spawnLimited} that are still running. */
export const live = new Set<ChildProcess>();
/** Kills every live child with all its descendants. */
export function killAll(): void {
  for (const c of live) if (c.pid) killPids(processTree(c.pid));
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
    // A quiet first sample waits for its second without saying so.
    if (!waited && other > noise) {
      log(`    machine busy (other CPU ${other.toFixed(1)}% of a core), waiting up to ${maxSeconds} s for quiet ...`);
      waited = true;
    }
  }
}

/**
 * Runs rounds 1, 2, ... until `rounds` of them were quiet (`round` resolves with whether its
 * measurements were noisy), so that a noisy round is repeated; at most `rounds + extraRounds`.
 */
export async function quietRounds(
  rounds: number,
  extraRounds: number,
  round: (n: number) => Promise<boolean>,
): Promise<void> {
  for (let n = 1, quiet = 0; quiet < rounds && n <= rounds + extraRounds; n++) {
    if (!(await round(n))) quiet++;
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
    if (Number(readFileSync(join(LOCK, "pid"), "utf8").split("\n")[0]) === process.pid) {
      rmSync(LOCK, { recursive: true, force: true });
    }
  } catch { /* not ours or gone */ }
}
process.on("exit", releaseLock);

/**
 * Spawn `cmd` through bash with the open-file limit raised as far as allowed (exec keeps the
 * pid), `env` added to this process's environment.
 */
export function spawnLimited(cmd: string, args: string[], env: Record<string, string> = {}): ChildProcess {
  const child = spawn(
    "bash",
    ["-c", 'ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$@"', "bash", cmd, ...args],
    { cwd: ROOT, env: { ...process.env, NO_COLOR: "1", ...env }, stdio: ["pipe", "pipe", "pipe"] },
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
/** The median of the finite values of `xs` (NaN when there are none). */
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

// ---- bench/RESULTS.md ----------------------------------------------------------------------------
export const RESULTS = join(ROOT, "bench", "RESULTS.md");

/**
 * Puts `section` between `<!-- bench:<name>:start -->` and `<!-- bench:<name>:end -->` in
 * bench/RESULTS.md, replacing what was there, or appends it with the markers; nothing else in
 * the file changes.
 */
export function writeSection(name: string, section: string): void {
  const start = `<!-- bench:${name}:start -->`;
  const end = `<!-- bench:${name}:end -->`;
  let doc = existsSync(RESULTS) ? readFileSync(RESULTS, "utf8") : "# Benchmark results\n";
  const block = `${start}\n${section}\n${end}`;
  if (doc.includes(start) && doc.includes(end)) {
    doc = doc.slice(0, doc.indexOf(start)) + block + doc.slice(doc.indexOf(end) + end.length);
  } else {
    doc = `${doc.trimEnd()}\n\n${block}\n`;
  }
  writeFileSync(RESULTS, doc.endsWith("\n") ? doc : doc + "\n");
}

// ---- servers and clients ---------------------------------------------------------------------
/**
 * The command that runs the bench script `script` (relative to the repository, `.ts`) on
 * `runtime`: Node runs its npm build (npm/esm/<script>.js), Deno and Bun the source.
 */
export function runtimeCommand(runtime: "node" | "deno" | "bun", script: string, args: string[]): [string, string[]] {
  switch (runtime) {
    case "node":
      return [process.execPath, [join(ROOT, "npm", "esm", script.replace(/\.ts$/, ".js")), ...args]];
    case "deno":
      return [join(BIN, "deno"), ["run", "-A", `--config=${join(ROOT, "deno.json")}`, join(ROOT, script), ...args]];
    case "bun":
      return [join(BIN, "bun"), [join(ROOT, script), ...args]];
  }
}

/** A running server. */
export interface Server {
  label: string;
  pid: number;
  port: number;
  out: Output;
  stop(): Promise<void>;
}

/** A port nobody listens on now (for a server that cannot print the port it was given). */
export { freePort } from "../test/helpers/ports.ts";

/**
 * A port below the ephemeral range (32768–60999 here) that nobody listens on now: a load
 * generator opening a connection per request fills the ephemeral range with its own ports in
 * TIME_WAIT, and a server on a port inside it can collide with them.
 */
export async function lowFreePort(): Promise<number> {
  const { createServer } = await import("node:net");
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    const ok = await new Promise<boolean>((resolve) => {
      const srv = createServer();
      srv.once("error", () => resolve(false));
      srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
    });
    if (ok) return port;
  }
  throw new Error("no free port between 20000 and 32000");
}

/**
 * Start a server (`command`, with `env` added to its environment) and wait for its
 * `Start success.` line and, when given, a line matching `ready`; its port is `port` when given
 * (a server whose banner cannot show it), else the first group of the first match of `address`
 * in its output (default: the first `<scheme>://127.0.0.1:<port>` it prints). A server that
 * fails to start is killed. `stop()` sends SIGINT, then kills what is left of its process tree.
 */
export async function launchServer(
  label: string,
  [cmd, args]: [string, string[]],
  { env = {}, ready, port = 0, address = /[a-z][\w+.-]*:\/\/127\.0\.0\.1:(\d+)/i }: {
    env?: Record<string, string>;
    ready?: RegExp;
    port?: number;
    address?: RegExp;
  } = {},
): Promise<Server> {
  const child = spawnLimited(cmd, args, env);
  const out = new Output(child, label);
  try {
    await out.wait(/Start success\./, 30_000);
    if (ready) await out.wait(ready, 30_000);
    port ||= Number(out.text.match(address)?.[1] ?? 0);
    if (!port) throw new Error(`${label}: no address in its output:\n${out.text}`);
  } catch (err) {
    killPids(processTree(child.pid!));
    throw err;
  }
  return {
    label,
    pid: child.pid!,
    port,
    out,
    async stop() {
      const tree = processTree(child.pid!);
      if (out.exited === null) {
        child.kill("SIGINT");
        const t = setTimeout(() => child.kill("SIGKILL"), 5000);
        await new Promise((r) => (out.exited !== null ? r(null) : child.once("exit", r)));
        clearTimeout(t);
      }
      // Worker processes the master did not take down (only the ones this server started).
      await sleep(100);
      killPids(tree.slice(1));
    },
  };
}

/** A running load client. */
export interface Client {
  pid: number;
  out: Output;
  /** The READY line. */
  ready: string;
  /** Ask for the reply count; resolves with it, the client's clock (ms) and the p99 round trip (ms) since the last mark. */
  mark(): Promise<{ replies: number; ms: number; p99: number }>;
  quit(): Promise<void>;
}

/** Start the load client (bench/client.ts, `command`) and wait for its READY line. */
export async function launchClient([cmd, argv]: [string, string[]], readyTimeoutMs = 30_000): Promise<Client> {
  const child = spawnLimited(cmd, argv);
  const out = new Output(child, "client");
  const ready = await out.wait(/READY[^\n]*\n/, readyTimeoutMs);
  let pos = ready.end;
  return {
    pid: child.pid!,
    out,
    ready: ready[0].trim(),
    async mark() {
      child.stdin!.write("m\n");
      const m = await out.wait(/M (\d+) ([\d.]+)(?: ([\d.]+|NaN))?\n/, 5000, pos);
      pos = m.end;
      return { replies: Number(m[1]), ms: Number(m[2]), p99: Number(m[3] ?? NaN) };
    },
    async quit() {
      if (out.exited !== null) return;
      child.stdin!.write("q\n");
      const t = setTimeout(() => child.kill("SIGKILL"), 3000);
      await new Promise((r) => (out.exited !== null ? r(null) : child.once("exit", r)));
      clearTimeout(t);
    },
  };
}

// ---- idle memory -------------------------------------------------------------------------------
/** RSS of a server's process tree before and after `opened` idle connections. */
export interface MemSample {
  before: number;
  /** RSS once every connection is accepted and the figure is steady (about 1–3 s after the last one). */
  after: number;
  perConn: number; // bytes
  opened: number;
  /**
   * RSS `settleSeconds` after the last connection was accepted, with the connections still
   * open: what stays once the runtime has given back what the accept burst took (V8 shrinks
   * its young generation and runs its memory reducer a while after the allocation rate drops).
   * NaN when not measured.
   */
  settled: number;
  perConnSettled: number; // bytes, NaN when not measured
}

/**
 * RSS per idle connection of `s`: warm its accept path with 100 connections, let it settle,
 * then open `conns` with `openIdle(n)` (a client that connects n and keeps them open) and read
 * the RSS of the whole process tree (the framework serves from a worker under its master) once
 * every connection is accepted and the figure is steady. With `settleSeconds`, also the RSS
 * that long after the last accept (`settled`), over a baseline that was given as long to settle.
 */
export async function idleMemory(
  s: Server,
  openIdle: (conns: number) => Promise<Client>,
  conns: number,
  settleSeconds = 0,
): Promise<MemSample> {
  const warm = await openIdle(100);
  await warm.quit();
  // With a settled figure to take, the baseline settles as long first: the runtime gives back
  // what start-up and the warm-up took too, and a baseline taken before that would make the
  // settled figure per connection too small.
  await sleep(settleSeconds > 0 ? settleSeconds * 1000 : 700);
  const pids = processTree(s.pid);
  const rss = () => sumOver(pids, rssBytes);
  const fds = () => sumOver(pids, fdCount);
  const before = rss();
  const fds0 = fds();
  const client = await openIdle(conns);
  try {
    const opened = Number(client.ready.split(" ")[1]);
    const deadline = Date.now() + 30_000;
    while (fds() < fds0 + conns && Date.now() < deadline) await sleep(100);
    const lastAccept = Date.now();
    const accepted = fds() - fds0;
    if (accepted < conns * 0.99) throw new Error(`${s.label} holds only ${accepted} of ${conns} connections`);
    // Let lazily started work (read loops, GC) finish; take the RSS once it is steady.
    let after = rss();
    for (let i = 0; i < 10; i++) {
      await sleep(300);
      const now = rss();
      const steady = Math.abs(now - after) < 0.002 * now;
      after = now;
      if (steady && i >= 2) break;
    }
    let settled = NaN;
    if (settleSeconds > 0) {
      await sleep(Math.max(0, lastAccept + settleSeconds * 1000 - Date.now()));
      // A server that closes idle connections by itself (Deno.serve's WebSockets did) has no settled figure.
      if (fds() - fds0 >= accepted * 0.99) settled = rss();
      else log(`    ${s.label} closed idle connections while settling: no settled figure`);
    }
    return {
      before,
      after,
      perConn: (after - before) / conns,
      opened,
      settled,
      perConnSettled: (settled - before) / conns,
    };
  } finally {
    await client.quit();
  }
}

/**
 * `rounds` rounds of idle memory on `runtime`, each after a quiet wait (`quiet` = the
 * {@link waitQuiet} arguments): the framework (`measure(true)`) into `fw`, then the reference
 * called `refName` (`measure(false)`) into `ref`. Logs each round; a failure ends the rounds
 * and is returned (logged as FAILED).
 */
export async function memoryRounds(
  runtime: string,
  refName: string,
  rounds: number,
  quiet: [maxSeconds: number, noise: number],
  measure: (framework: boolean) => Promise<MemSample>,
  fw: MemSample[],
  ref: MemSample[],
): Promise<string | undefined> {
  try {
    for (let round = 1; round <= rounds; round++) {
      await waitQuiet(...quiet);
      const a = await measure(true);
      fw.push(a);
      const b = await measure(false);
      ref.push(b);
      const settled = (m: MemSample) => (Number.isFinite(m.perConnSettled) ? `, settled ${kb(m.perConnSettled)}` : "");
      log(
        `  ${runtime} memory round ${round}: framework ${kb(a.perConn)}/conn${settled(a)}, ${refName} ${
          kb(b.perConn)
        }/conn${settled(b)}`,
      );
    }
  } catch (err) {
    const error = (err as Error).message;
    log(`  ${runtime} memory: FAILED ${error.split("\n")[0]}`);
    return error;
  }
}

// ---- load measurements -------------------------------------------------------------------------
/** What a load client and the server did over one measured window. */
export interface Window<T> {
  /** What `during` returned. */
  during: T;
  replies: number;
  /** Replies per second. */
  msgs: number;
  /** Server CPU seconds per second (cores). */
  serverCpu: number;
  /** Replies per server CPU-second. */
  perCpu: number;
  /** Client CPU (cores). */
  clientCpu: number;
  /** Busy CPU of everything else, in % of one core. */
  otherCpu: number;
  /** The client's 99th percentile round trip over the window (ms; NaN when it has none). */
  p99: number;
}

/**
 * Measure one window: mark the client, run `during` (it waits, and may count things meanwhile),
 * mark again; server CPU over `serverPids`, the client's own CPU, and the rest of the machine.
 */
export async function sampleWindow<T>(
  client: Client,
  serverPids: number[],
  during: () => Promise<T>,
): Promise<Window<T>> {
  const snap = async () => {
    const c = await client.mark();
    return {
      ...c,
      server: sumOver(serverPids, procCpu),
      client: procCpu(client.pid),
      self: process.cpuUsage(),
      busy: machineBusy(),
    };
  };
  const a = await snap();
  const result = await during();
  const b = await snap();
  if (client.out.exited !== null) throw new Error(`client failed:\n${client.out.text}`);
  const dt = (b.ms - a.ms) / 1000;
  const serverCpu = b.server - a.server;
  const clientCpu = b.client - a.client;
  const selfCpu = (b.self.user + b.self.system - a.self.user - a.self.system) / 1e6;
  const other = Math.max(0, b.busy - a.busy - serverCpu - clientCpu - selfCpu);
  const replies = b.replies - a.replies;
  return {
    during: result,
    replies,
    msgs: replies / dt,
    serverCpu: serverCpu / dt,
    perCpu: serverCpu > 0 ? replies / serverCpu : NaN,
    clientCpu: clientCpu / dt,
    otherCpu: 100 * other / dt,
    p99: b.p99,
  };
}
