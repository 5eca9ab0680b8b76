/**
 * The benchmark runner: in one invocation, on each runtime (node, deno, bun), compares the
 * framework with a hand-written server on the same runtime's own sockets (bench/servers/raw.ts):
 *
 * - `tcp`:  `tcp://` echo, `--conns` connections × `--depth` messages of `--tcp-size` bytes in flight;
 * - `text`: `text://` line echo against the raw coalescing line echo (the ceiling), lines of `--text-size` bytes;
 * - `memory`: RSS per idle connection with `--idle-conns` connections open.
 *
 * Method (see /work/shared/BENCHMARKING.md): both servers of a workload run side by side and
 * are measured interleaved (framework, raw, framework, raw, ...) for `--rounds` rounds after a
 * warm-up; each measurement is a fresh client run of `--duration` seconds. Throughput is replies
 * counted by the client; server CPU is utime+stime from /proc/<pid>/stat over the same window.
 * Reported: medians over rounds and the median of per-round ratios framework/raw with its
 * spread (min–max). The CPU used by everything else on the machine is recorded for every
 * measurement; rounds where it exceeds `--noise` % of a core are left out of the medians
 * (unless fewer than two quiet rounds would be left).
 *
 * Output: markdown tables on stdout, and the section between the markers in bench/RESULTS.md
 * (created if missing; text outside the markers is kept).
 *
 * Usage: npm run bench -- [options]
 *   --runtimes node,deno,bun     runtimes to measure (default all three)
 *   --workloads tcp,text,memory  workloads (default all three)
 *   --rounds 3 --duration 3      interleaved rounds, seconds per measurement
 *   --warmup 1.5 --ramp 0.5      warm-up per server (replies checked byte by byte), ramp-up per measurement
 *   --conns 100 --depth 16       connections and messages in flight per connection
 *   --tcp-size 32 --text-size 24 message sizes (a text line includes its \n)
 *   --idle-conns 10000           connections of the memory workload
 *   --client bun|node            runtime of the load generator (default bun, the cheapest per message)
 *   --noise 10 --wait-quiet 30 --extra-rounds 3
 *                                what "other CPU" (% of one core) makes a round noisy, how long to wait
 *                                for quiet before each round, how many noisy rounds may be repeated
 *   --lock PATH | --no-lock      take turns with other runners through a lock directory
 *   --syscalls                   also count the server's syscalls per message (perf stat tracepoints)
 *   --pin                        server on CPU 0, client on CPU 1 (taskset): steadier, client-bound msgs/s
 *   --no-build --no-write        skip the npm build (Node runs npm/esm/bench/...) / leave RESULTS.md alone
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { machineBusy, processTree, procCpu, sumOver, waitForQuiet, withLock } from "./proc.ts";
import { parseArgs } from "node:util";

const ROOT = join(import.meta.dirname, "..");
const BIN = join(ROOT, "node_modules", ".bin");
const RESULTS = join(ROOT, "bench", "RESULTS.md");

// ---- options ----------------------------------------------------------------------------------
const { values: opts } = parseArgs({
  args: process.argv.slice(2),
  options: {
    runtimes: { type: "string", default: "node,deno,bun" },
    workloads: { type: "string", default: "tcp,text,memory" },
    rounds: { type: "string", default: "3" },
    duration: { type: "string", default: "3" },
    warmup: { type: "string", default: "1.5" },
    ramp: { type: "string", default: "0.5" },
    conns: { type: "string", default: "100" },
    depth: { type: "string", default: "16" },
    "tcp-size": { type: "string", default: "32" },
    "text-size": { type: "string", default: "24" },
    "idle-conns": { type: "string", default: "10000" },
    client: { type: "string", default: "bun" },
    noise: { type: "string", default: "10" },
    "wait-quiet": { type: "string", default: "30" },
    "extra-rounds": { type: "string", default: "3" },
    syscalls: { type: "boolean", default: false },
    pin: { type: "boolean", default: false },
    lock: { type: "string", default: "/tmp/workerman-ts-bench.lock" },
    "no-lock": { type: "boolean", default: false },
    "no-build": { type: "boolean", default: false },
    "no-write": { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
  strict: true,
});
if (opts.help) {
  console.log(readFileSync(new URL(import.meta.url), "utf8").split("*/")[0]);
  process.exit(0);
}

type RuntimeName = "node" | "deno" | "bun";
type Workload = "tcp" | "text" | "memory";
type ServerKind = "framework" | "raw";

const RUNTIMES = opts.runtimes!.split(",").map((s) => s.trim()).filter(Boolean) as RuntimeName[];
const WORKLOADS = opts.workloads!.split(",").map((s) => s.trim()).filter(Boolean) as Workload[];
const ROUNDS = Math.max(1, Number(opts.rounds));
const DURATION = Number(opts.duration);
const WARMUP = Number(opts.warmup);
const RAMP = Number(opts.ramp);
const CONNS = Number(opts.conns);
const DEPTH = Number(opts.depth);
const SIZE: Record<"tcp" | "text", number> = { tcp: Number(opts["tcp-size"]), text: Number(opts["text-size"]) };
const IDLE_CONNS = Number(opts["idle-conns"]);
const CLIENT = opts.client === "node" ? "node" : "bun";
const NOISE = Number(opts.noise);
const WAIT_QUIET = Number(opts["wait-quiet"]);
const SYSCALLS = opts.syscalls!;
/** `--pin`: server (and its workers) on CPU 0, load client on CPU 1 (taskset). */
const PIN = opts.pin!;
const pinned = (cpu: number, cmd: string, args: string[]): [string, string[]] =>
  PIN ? ["taskset", ["-c", String(cpu), cmd, ...args]] : [cmd, args];
const LOCK = opts["no-lock"] ? "" : opts.lock!;
const EXTRA_ROUNDS = Number(opts["extra-rounds"]);
for (const r of RUNTIMES) if (!["node", "deno", "bun"].includes(r)) throw new Error(`unknown runtime ${r}`);
for (const w of WORKLOADS) if (!["tcp", "text", "memory"].includes(w)) throw new Error(`unknown workload ${w}`);

// Goals and anchors (BENCHMARKING.md and the task).
const WORKERMAN_TEXT = 181_000;
const GOAL_TEXT_OF_CEILING = 0.6;
const GOAL_TEXT_X_WORKERMAN = 5;
const GOAL_TCP_OF_RAW = 0.85;
const GOAL_MEM_ABOVE_RAW_KB = 1;
const ANCHOR_IDLE_KB: Record<RuntimeName, number> = { node: 3.4, bun: 0.95, deno: 10.4 };
const ANCHOR_TEXT_COALESCED: Record<RuntimeName, number> = { node: 1.9e6, bun: 1.8e6, deno: 1.5e6 };

// ---- /proc ------------------------------------------------------------------------------------
function rssBytes(pid: number): number {
  try {
    const m = readFileSync(`/proc/${pid}/status`, "utf8").match(/^VmRSS:\s+(\d+) kB/m);
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

function fdCount(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return 0;
  }
}

/** CPU seconds of every process, by pid (with its command line). */
function allProcesses(): Map<number, { cpu: number; cmd: string }> {
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Other processes' CPU over `seconds`, as % of one core, with the top consumers. */
async function quietCheck(seconds = 2): Promise<{ pct: number; top: string[] }> {
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
const live = new Set<ChildProcess>();
function killAll(): void {
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

/** Waits (up to `maxSeconds`) for other processes to use less than `NOISE` % of one core. */
const waitQuiet = (maxSeconds: number) =>
  waitForQuiet(maxSeconds, NOISE, () => [...live].flatMap((c) => (c.pid ? processTree(c.pid) : [])), log);

/** Runs `fn` holding the benchmark lock (`--lock`), see bench/proc.ts. */
const withBenchLock = <T>(what: string, fn: () => Promise<T>): Promise<T> => (LOCK ? withLock(LOCK, what, fn, log) : fn());

/** Spawn `cmd` through bash with the open-file limit raised as far as allowed (exec keeps the pid). */
function spawnLimited(cmd: string, args: string[]): ChildProcess {
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
class Output {
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

function serverCommand(runtime: RuntimeName, server: ServerKind, kind: "tcp" | "text"): [string, string[]] {
  const script = server === "framework" ? `framework_${kind}` : "raw";
  const args = server === "framework" ? ["start"] : [kind];
  switch (runtime) {
    case "node":
      return [process.execPath, [join(ROOT, "npm", "esm", "bench", "servers", `${script}.js`), ...args]];
    case "deno":
      return [join(BIN, "deno"), ["run", "-A", `--config=${join(ROOT, "deno.json")}`, join(ROOT, "bench", "servers", `${script}.ts`), ...args]];
    case "bun":
      return [join(BIN, "bun"), [join(ROOT, "bench", "servers", `${script}.ts`), ...args]];
  }
}

interface Server {
  label: string;
  pid: number;
  port: number;
  out: Output;
  stop(): Promise<void>;
}

async function startServer(runtime: RuntimeName, server: ServerKind, kind: "tcp" | "text"): Promise<Server> {
  const [cmd, args] = pinned(0, ...serverCommand(runtime, server, kind));
  const child = spawnLimited(cmd, args);
  const label = `${runtime} ${server} ${kind} server`;
  const out = new Output(child, label);
  await out.wait(/Start success\./, 30_000);
  const m = out.text.match(/[a-z][\w+.-]*:\/\/127\.0\.0\.1:(\d+)/i);
  if (!m) throw new Error(`${label}: no address in its output:\n${out.text}`);
  return {
    label,
    pid: child.pid!,
    port: Number(m[1]),
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
      for (const pid of tree.slice(1)) {
        try {
          process.kill(pid, "SIGKILL");
        } catch { /* exited */ }
      }
    },
  };
}

function clientCommand(args: string[]): [string, string[]] {
  return CLIENT === "bun"
    ? [join(BIN, "bun"), [join(ROOT, "bench", "client.ts"), ...args]]
    : [process.execPath, [join(ROOT, "npm", "esm", "bench", "client.js"), ...args]];
}

interface Client {
  pid: number;
  out: Output;
  /** Ask for the reply count; resolves with it and the client's clock (ms). */
  mark(): Promise<{ replies: number; ms: number }>;
  quit(): Promise<void>;
}

async function startClient(args: string[], readyTimeoutMs = 30_000): Promise<Client & { ready: string }> {
  const [cmd, argv] = pinned(1, ...clientCommand(args));
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
      const m = await out.wait(/M (\d+) ([\d.]+)\n/, 5000, pos);
      pos = m.end;
      return { replies: Number(m[1]), ms: Number(m[2]) };
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

// ---- measurements -----------------------------------------------------------------------------
/** Syscalls of the server per message, counted by `perf stat` tracepoints (`--syscalls`). */
interface Syscalls {
  reads: number;
  writes: number;
  polls: number;
  futex: number;
  msgsPerWrite: number;
}

const SYSCALL_GROUPS: Record<keyof Omit<Syscalls, "msgsPerWrite">, string[]> = {
  reads: ["read", "readv", "recvfrom", "recvmsg"],
  writes: ["write", "writev", "sendto", "sendmsg"],
  polls: ["epoll_wait", "epoll_pwait", "epoll_pwait2"],
  futex: ["futex"],
};

/** Count the syscalls of `pids` for `seconds` with `perf stat`. */
function countSyscalls(pids: number[], seconds: number): Promise<Record<string, number>> {
  const events = Object.values(SYSCALL_GROUPS).flat().map((n) => `syscalls:sys_enter_${n}`).join(",");
  return new Promise((resolve, reject) => {
    const perf = spawn("perf", ["stat", "-x", ",", "-e", events, "-p", pids.join(","), "--", "sleep", String(seconds)], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let err = "";
    perf.stderr.on("data", (c) => (err += c));
    perf.on("error", reject);
    perf.on("exit", (code) => {
      if (code !== 0) return reject(new Error(`perf stat failed (${code}): ${err}`));
      const counts: Record<string, number> = {};
      for (const line of err.split("\n")) {
        const f = line.split(",");
        const m = f[2]?.match(/sys_enter_(\w+)/);
        if (m) counts[m[1]] = Number(f[0]) || 0;
      }
      resolve(counts);
    });
  });
}

interface Sample {
  sys?: Syscalls;
  msgs: number; // replies per second
  serverCpu: number; // server CPU seconds per second (cores)
  perCpu: number; // replies per server CPU-second
  clientCpu: number; // cores
  otherCpu: number; // % of one core used by everything else
}

async function measureLoad(server: Server, kind: "tcp" | "text", seconds: number, check: boolean): Promise<Sample> {
  const args = ["load", "--port", String(server.port), "--conns", String(CONNS), "--depth", String(DEPTH), "--size", String(SIZE[kind]), "--kind", kind];
  if (check) args.push("--check");
  const serverPids = processTree(server.pid);
  const client = await startClient(args);
  try {
    await sleep(RAMP * 1000);
    const snap = async () => {
      const c = await client.mark();
      return { ...c, server: sumOver(serverPids, procCpu), client: procCpu(client.pid), self: process.cpuUsage(), busy: machineBusy() };
    };
    const a = await snap();
    const counts = SYSCALLS && !check ? await countSyscalls(serverPids, seconds) : null;
    if (!counts) await sleep(seconds * 1000);
    const b = await snap();
    if (client.out.exited !== null) throw new Error(`client failed:\n${client.out.text}`);
    const dt = (b.ms - a.ms) / 1000;
    const serverCpu = b.server - a.server;
    const clientCpu = b.client - a.client;
    const selfCpu = (b.self.user + b.self.system - a.self.user - a.self.system) / 1e6;
    const other = Math.max(0, b.busy - a.busy - serverCpu - clientCpu - selfCpu);
    const replies = b.replies - a.replies;
    let sys: Syscalls | undefined;
    if (counts) {
      const sum = (names: string[]) => names.reduce((t, n) => t + (counts[n] ?? 0), 0);
      const writes = sum(SYSCALL_GROUPS.writes);
      sys = {
        reads: sum(SYSCALL_GROUPS.reads) / replies,
        writes: writes / replies,
        polls: sum(SYSCALL_GROUPS.polls) / replies,
        futex: sum(SYSCALL_GROUPS.futex) / replies,
        msgsPerWrite: replies / writes,
      };
    }
    return {
      sys,
      msgs: replies / dt,
      serverCpu: serverCpu / dt,
      perCpu: serverCpu > 0 ? replies / serverCpu : NaN,
      clientCpu: clientCpu / dt,
      otherCpu: 100 * other / dt,
    };
  } finally {
    await client.quit();
  }
}

interface MemSample {
  before: number;
  after: number;
  perConn: number; // bytes
  opened: number;
}

async function measureIdle(runtime: RuntimeName, server: ServerKind): Promise<MemSample> {
  const s = await startServer(runtime, server, "tcp");
  try {
    // Warm the accept path with a few connections, then let the server settle.
    const warm = await startClient(["idle", "--port", String(s.port), "--conns", "100"]);
    await warm.quit();
    await sleep(700);
    // The framework serves from a worker process under its master: count the whole tree.
    const pids = processTree(s.pid);
    const rss = () => sumOver(pids, rssBytes);
    const fds = () => sumOver(pids, fdCount);
    const before = rss();
    const fds0 = fds();
    const client = await startClient(["idle", "--port", String(s.port), "--conns", String(IDLE_CONNS)], 120_000);
    try {
      const opened = Number(client.ready.split(" ")[1]);
      const deadline = Date.now() + 30_000;
      while (fds() < fds0 + IDLE_CONNS && Date.now() < deadline) await sleep(100);
      const accepted = fds() - fds0;
      if (accepted < IDLE_CONNS * 0.99) throw new Error(`${s.label} holds only ${accepted} of ${IDLE_CONNS} connections`);
      // Let lazily started work (read loops, GC) finish; take the RSS once it is steady.
      let after = rss();
      for (let i = 0; i < 10; i++) {
        await sleep(300);
        const now = rss();
        const steady = Math.abs(now - after) < 0.002 * now;
        after = now;
        if (steady && i >= 2) break;
      }
      return { before, after, perConn: (after - before) / IDLE_CONNS, opened };
    } finally {
      await client.quit();
    }
  } finally {
    await s.stop();
  }
}

// ---- statistics and formatting ----------------------------------------------------------------
const median = (xs: number[]) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const minOf = (xs: number[]) => Math.min(...xs.filter(Number.isFinite));
const maxOf = (xs: number[]) => Math.max(...xs.filter(Number.isFinite));
const fmtRate = (x: number) =>
  !Number.isFinite(x) ? "–" : x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : `${(x / 1e3).toFixed(0)}k`;
const pct = (x: number) => (Number.isFinite(x) ? `${(100 * x).toFixed(0)}%` : "–");
const kb = (bytes: number) => (Number.isFinite(bytes) ? `${(bytes / 1024).toFixed(2)} KB` : "–");
const yes = (ok: boolean | null) => (ok === null ? "–" : ok ? "**met**" : "**missed**");

interface RoundPair {
  round: number;
  fw: Sample | null;
  raw: Sample | null;
  noisy: boolean;
}
interface LoadResult {
  runtime: RuntimeName;
  kind: "tcp" | "text";
  rounds: RoundPair[];
  error?: string;
}
interface MemResult {
  runtime: RuntimeName;
  fw: MemSample[];
  raw: MemSample[];
  error?: string;
}

const loadResults: LoadResult[] = [];
const memResults: MemResult[] = [];
const notes: string[] = [];

function log(msg: string): void {
  process.stderr.write(`${msg}\n`);
}

/** The rounds used for medians: quiet ones, or all when none was quiet. */
function usedRounds(r: LoadResult): RoundPair[] {
  const complete = r.rounds.filter((p) => p.fw && p.raw);
  const quiet = complete.filter((p) => !p.noisy);
  return quiet.length >= Math.min(ROUNDS, 2) ? quiet : complete;
}

function summarize(r: LoadResult) {
  const rounds = usedRounds(r);
  const fw = rounds.map((p) => p.fw!);
  const raw = rounds.map((p) => p.raw!);
  const ratio = rounds.map((p) => p.fw!.msgs / p.raw!.msgs);
  const ratioCpu = rounds.map((p) => p.fw!.perCpu / p.raw!.perCpu);
  return {
    n: rounds.length,
    dropped: r.rounds.filter((p) => p.fw && p.raw).length - rounds.length,
    fwMsgs: median(fw.map((s) => s.msgs)),
    rawMsgs: median(raw.map((s) => s.msgs)),
    fwPerCpu: median(fw.map((s) => s.perCpu)),
    rawPerCpu: median(raw.map((s) => s.perCpu)),
    fwCpu: median(fw.map((s) => s.serverCpu)),
    rawCpu: median(raw.map((s) => s.serverCpu)),
    fwClient: median(fw.map((s) => s.clientCpu)),
    rawClient: median(raw.map((s) => s.clientCpu)),
    ratio: median(ratio),
    ratioMin: minOf(ratio),
    ratioMax: maxOf(ratio),
    ratioCpu: median(ratioCpu),
    ratioCpuMin: minOf(ratioCpu),
    ratioCpuMax: maxOf(ratioCpu),
  };
}

const sat = (cpu: number) => `${cpu.toFixed(2)}${cpu >= 0.9 ? " sat." : ""}`;
const spread = (a: number, b: number) => (Number.isFinite(a) ? `${pct(a)}–${pct(b)}` : "–");

function tables(): string {
  const out: string[] = [];
  const load = loadResults.filter((r) => !r.error);
  if (load.length > 0) {
    out.push(
      "### Throughput",
      "",
      `${CONNS} connections × ${DEPTH} messages in flight; tcp messages ${SIZE.tcp} B, text lines ${SIZE.text} B (incl. \\n). ` +
        "Medians over rounds; CPU in cores (utime+stime / wall); client = the load generator's CPU " +
        "(\"sat.\" when ≥ 0.9 core: the generator is near its limit and with 2 cores the machine is full, so msgs/s " +
        "understates that server and only msgs per server CPU-s ranks it).",
      "",
      "| runtime | workload | server | msgs/s | server CPU | msgs per server CPU-s | client CPU |",
      "| --- | --- | --- | ---: | ---: | ---: | ---: |",
    );
    for (const r of load) {
      const s = summarize(r);
      const raw = r.kind === "text" ? "raw coalesced" : "raw";
      out.push(`| ${r.runtime} | ${r.kind} echo | framework | ${fmtRate(s.fwMsgs)} | ${s.fwCpu.toFixed(2)} | ${fmtRate(s.fwPerCpu)} | ${sat(s.fwClient)} |`);
      out.push(`| ${r.runtime} | ${r.kind} echo | ${raw} | ${fmtRate(s.rawMsgs)} | ${s.rawCpu.toFixed(2)} | ${fmtRate(s.rawPerCpu)} | ${sat(s.rawClient)} |`);
    }
    out.push(
      "",
      "### Framework / raw",
      "",
      "Median of the per-round ratios framework/raw, spread (min–max) in brackets.",
      "",
      "| runtime | workload | rounds used | msgs/s ratio | per-CPU-s ratio | goal | goal met (msgs/s / per CPU-s) |",
      "| --- | --- | ---: | ---: | ---: | --- | --- |",
    );
    for (const r of load) {
      const s = summarize(r);
      const goal = r.kind === "text" ? GOAL_TEXT_OF_CEILING : GOAL_TCP_OF_RAW;
      const used = `${s.n}${s.dropped ? ` (${s.dropped} noisy dropped)` : ""}`;
      out.push(
        `| ${r.runtime} | ${r.kind} echo | ${used} | ${pct(s.ratio)} (${spread(s.ratioMin, s.ratioMax)}) | ` +
          `${pct(s.ratioCpu)} (${spread(s.ratioCpuMin, s.ratioCpuMax)}) | ≥ ${pct(goal)} of ${r.kind === "text" ? "raw coalesced" : "raw"} | ` +
          `${yes(s.ratio >= goal)} / ${yes(s.ratioCpu >= goal)} |`,
      );
    }
    const text = load.filter((r) => r.kind === "text");
    if (text.length > 0) {
      out.push(
        "",
        `### Text echo vs real Workerman (${fmtRate(WORKERMAN_TEXT)} msgs/s, goal ≥ ${GOAL_TEXT_X_WORKERMAN}× = ${fmtRate(WORKERMAN_TEXT * GOAL_TEXT_X_WORKERMAN)})`,
        "",
        "| runtime | framework msgs/s | × Workerman | framework msgs per CPU-s | × Workerman | goal met (msgs/s / per CPU-s) | raw coalesced (anchor) |",
        "| --- | ---: | ---: | ---: | ---: | --- | ---: |",
      );
      for (const r of text) {
        const s = summarize(r);
        const x1 = s.fwMsgs / WORKERMAN_TEXT;
        const x2 = s.fwPerCpu / WORKERMAN_TEXT;
        out.push(
          `| ${r.runtime} | ${fmtRate(s.fwMsgs)} | ${x1.toFixed(1)}× | ${fmtRate(s.fwPerCpu)} | ${x2.toFixed(1)}× | ` +
            `${yes(x1 >= GOAL_TEXT_X_WORKERMAN)} / ${yes(x2 >= GOAL_TEXT_X_WORKERMAN)} | ${fmtRate(s.rawMsgs)} (${fmtRate(ANCHOR_TEXT_COALESCED[r.runtime])}) |`,
        );
      }
    }
  }
  const mem = memResults.filter((r) => !r.error);
  if (mem.length > 0) {
    out.push(
      "",
      `### RSS per idle connection (${IDLE_CONNS.toLocaleString("en")} connections, VmRSS after − before; 1 KB = 1024 B)`,
      "",
      `| runtime | framework tcp:// | raw | framework − raw (spread) | goal ≤ ${GOAL_MEM_ABOVE_RAW_KB} KB above raw | raw anchor |`,
      "| --- | ---: | ---: | ---: | --- | ---: |",
    );
    for (const r of mem) {
      const n = Math.min(r.fw.length, r.raw.length);
      const diffs = Array.from({ length: n }, (_, i) => r.fw[i].perConn - r.raw[i].perConn);
      const fw = median(r.fw.map((s) => s.perConn));
      const raw = median(r.raw.map((s) => s.perConn));
      const d = median(diffs);
      out.push(
        `| ${r.runtime} | ${kb(fw)} | ${kb(raw)} | ${kb(d)} (${kb(minOf(diffs))} – ${kb(maxOf(diffs))}) | ${yes(d <= GOAL_MEM_ABOVE_RAW_KB * 1024)} | ${ANCHOR_IDLE_KB[r.runtime]} KB |`,
      );
    }
  }
  const failed = [...loadResults, ...memResults].filter((r) => r.error);
  if (failed.length > 0) {
    out.push("", "### Failed", "");
    for (const r of failed) {
      const what = "kind" in r ? `${r.kind} echo` : "memory";
      out.push(`- ${r.runtime} ${what}: ${r.error!.split("\n").slice(0, 6).join(" ⏎ ").slice(0, 600)}`);
    }
  }
  return out.join("\n");
}

function roundTables(): string {
  const out: string[] = [];
  if (loadResults.some((r) => r.rounds.length > 0)) {
    out.push(
      "### Every round",
      "",
      `"other CPU" = busy CPU of the whole machine minus server, client and runner, in % of one core; rounds above ${NOISE}% are left out of the medians (unless fewer than two quiet rounds would be left).`,
      "",
      "| runtime | workload | round | server | msgs/s | server CPU | msgs per CPU-s | client CPU | other CPU |",
      "| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |",
    );
    for (const r of loadResults) {
      for (const p of r.rounds) {
        for (const [name, s] of [["framework", p.fw], ["raw", p.raw]] as const) {
          if (!s) continue;
          out.push(
            `| ${r.runtime} | ${r.kind} | ${p.round}${p.noisy ? " (noisy)" : ""} | ${name} | ${fmtRate(s.msgs)} | ${s.serverCpu.toFixed(2)} | ${fmtRate(s.perCpu)} | ${s.clientCpu.toFixed(2)} | ${s.otherCpu.toFixed(1)}% |`,
          );
        }
      }
    }
  }
  if (loadResults.some((r) => r.rounds.some((p) => p.fw?.sys))) {
    out.push(
      "",
      "Server syscalls per 100 messages (`perf stat` on syscall tracepoints over the measured window, `--syscalls`; reads = read/readv/recvfrom/recvmsg, writes = write/writev/sendto/sendmsg, polls = epoll_wait/pwait/pwait2):",
      "",
      "| runtime | workload | round | server | reads | writes | polls | futex | msgs per write |",
      "| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |",
    );
    for (const r of loadResults) {
      for (const p of r.rounds) {
        for (const [name, s] of [["framework", p.fw], ["raw", p.raw]] as const) {
          if (!s?.sys) continue;
          const y = s.sys;
          out.push(
            `| ${r.runtime} | ${r.kind} | ${p.round} | ${name} | ${(100 * y.reads).toFixed(2)} | ${(100 * y.writes).toFixed(2)} | ${(100 * y.polls).toFixed(2)} | ${(100 * y.futex).toFixed(2)} | ${y.msgsPerWrite.toFixed(1)} |`,
          );
        }
      }
    }
  }
  if (memResults.some((r) => r.fw.length + r.raw.length > 0)) {
    out.push(
      "",
      "| runtime | round | server | RSS before | RSS after | connections | per connection |",
      "| --- | ---: | --- | ---: | ---: | ---: | ---: |",
    );
    for (const r of memResults) {
      for (let i = 0; i < Math.max(r.fw.length, r.raw.length); i++) {
        for (const [name, s] of [["framework", r.fw[i]], ["raw", r.raw[i]]] as const) {
          if (!s) continue;
          out.push(`| ${r.runtime} | ${i + 1} | ${name} | ${(s.before / 2 ** 20).toFixed(1)} MB | ${(s.after / 2 ** 20).toFixed(1)} MB | ${s.opened} | ${kb(s.perConn)} |`);
        }
      }
    }
  }
  return out.join("\n");
}

// ---- main ---------------------------------------------------------------------------------------
function versionOf(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: "utf8" }).split("\n")[0].trim();
  } catch (err) {
    return `unavailable (${(err as Error).message.split("\n")[0]})`;
  }
}

async function runLoad(runtime: RuntimeName, kind: "tcp" | "text"): Promise<void> {
  const result: LoadResult = { runtime, kind, rounds: [] };
  loadResults.push(result);
  let fw: Server | null = null;
  let raw: Server | null = null;
  try {
    fw = await startServer(runtime, "framework", kind);
    raw = await startServer(runtime, "raw", kind);
    // Warm-up (with every reply byte checked) before anything is measured.
    log(`  ${runtime} ${kind}: warming up (framework on ${fw.port}, raw on ${raw.port})`);
    await measureLoad(fw, kind, WARMUP, true);
    await measureLoad(raw, kind, WARMUP, true);
    // Noisy rounds are repeated (up to EXTRA_ROUNDS more) so that ROUNDS quiet ones are kept.
    for (let round = 1, quiet = 0; quiet < ROUNDS && round <= ROUNDS + EXTRA_ROUNDS; round++) {
      await waitQuiet(WAIT_QUIET);
      const pair: RoundPair = { round, fw: null, raw: null, noisy: false };
      result.rounds.push(pair);
      pair.fw = await measureLoad(fw, kind, DURATION, false);
      pair.raw = await measureLoad(raw, kind, DURATION, false);
      pair.noisy = pair.fw.otherCpu > NOISE || pair.raw.otherCpu > NOISE;
      if (!pair.noisy) quiet++;
      log(
        `  ${runtime} ${kind} round ${round}: framework ${fmtRate(pair.fw.msgs)} (${fmtRate(pair.fw.perCpu)}/CPU-s), ` +
          `raw ${fmtRate(pair.raw.msgs)} (${fmtRate(pair.raw.perCpu)}/CPU-s), ratio ${pct(pair.fw.msgs / pair.raw.msgs)}, ` +
          `other CPU ${pair.fw.otherCpu.toFixed(1)}%/${pair.raw.otherCpu.toFixed(1)}%${pair.noisy ? " NOISY" : ""}`,
      );
    }
  } catch (err) {
    result.error = (err as Error).message;
    log(`  ${runtime} ${kind}: FAILED ${result.error.split("\n")[0]}`);
  } finally {
    await fw?.stop();
    await raw?.stop();
  }
}

async function runMemory(runtime: RuntimeName): Promise<void> {
  const result: MemResult = { runtime, fw: [], raw: [] };
  memResults.push(result);
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      await waitQuiet(WAIT_QUIET);
      const a = await measureIdle(runtime, "framework");
      result.fw.push(a);
      const b = await measureIdle(runtime, "raw");
      result.raw.push(b);
      log(`  ${runtime} memory round ${round}: framework ${kb(a.perConn)}/conn, raw ${kb(b.perConn)}/conn`);
    }
  } catch (err) {
    result.error = (err as Error).message;
    log(`  ${runtime} memory: FAILED ${result.error.split("\n")[0]}`);
  }
}

function writeResults(header: string, body: string): void {
  const START = "<!-- bench:results:start -->";
  const END = "<!-- bench:results:end -->";
  const section = `${START}\n${header}\n\n${body}\n${END}`;
  let doc = existsSync(RESULTS) ? readFileSync(RESULTS, "utf8") : "";
  if (doc.includes(START) && doc.includes(END)) {
    doc = doc.slice(0, doc.indexOf(START)) + section + doc.slice(doc.indexOf(END) + END.length);
  } else {
    doc = `# Benchmark results\n\nWritten by \`npm run bench\` (bench/run.ts) between the markers below; notes outside them are kept.\n\n${section}\n${doc ? `\n${doc}` : ""}`;
  }
  writeFileSync(RESULTS, doc.endsWith("\n") ? doc : doc + "\n");
}

async function main(): Promise<void> {
  const started = new Date();
  const t0 = performance.now();
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`;
  const needNodeBuild = RUNTIMES.includes("node") || CLIENT === "node";
  if (needNodeBuild && !opts["no-build"]) {
    log("building npm/ (scripts/build_npm.ts) ...");
    try {
      execFileSync(join(BIN, "tsx"), [join(ROOT, "scripts", "build_npm.ts")], { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] });
    } catch (err) {
      // tsc still emits on type errors; go on if the build produced the files Node runs.
      if (!existsSync(join(ROOT, "npm", "esm", "bench", "servers", "raw.js"))) throw err;
      log("  the build reported errors (above); running what it emitted");
      notes.push("`npm run build` reported errors during this run; Node ran what tsc emitted.");
    }
  }
  const versions = {
    node: process.versions.node,
    deno: versionOf(join(BIN, "deno"), ["--version"]).replace(/^deno /, ""),
    bun: versionOf(join(BIN, "bun"), ["--version"]),
  };
  const kernel = versionOf("uname", ["-r"]);
  const commit = versionOf("git", ["-C", ROOT, "rev-parse", "--short", "HEAD"]);
  const dirty = versionOf("git", ["-C", ROOT, "status", "--porcelain", "--", "mod.ts", "core", "runtime", "protocols"]);
  const source = `commit ${commit}${dirty && !dirty.startsWith("unavailable") ? " plus uncommitted changes in mod.ts/core/runtime/protocols" : ""}`;
  const cpus = readFileSync("/proc/cpuinfo", "utf8").match(/^processor/gm)?.length ?? 0;
  const model = readFileSync("/proc/cpuinfo", "utf8").match(/^model name\s*:\s*(.*)$/m)?.[1] ?? "?";

  log("checking that the machine is quiet (2 s) ...");
  const quiet = await quietCheck(2);
  log(`  other processes: ${quiet.pct.toFixed(1)}% of one core${quiet.top.length ? `; top: ${quiet.top.join(" | ")}` : ""}`);
  if (quiet.pct > NOISE) notes.push(`The machine was not quiet before the run: other processes used ${quiet.pct.toFixed(1)}% of one core (${quiet.top.slice(0, 3).join("; ")}).`);

  for (const runtime of RUNTIMES) {
    log(`== ${runtime}`);
    for (const w of WORKLOADS) {
      if (w === "memory") await withBenchLock(`${runtime} memory`, () => runMemory(runtime));
      else await withBenchLock(`${runtime} ${w}`, () => runLoad(runtime, w));
    }
  }

  const elapsed = (performance.now() - t0) / 1000;
  const header = [
    `## Run of ${started.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC")}`,
    "",
    `- Command: \`${command}\` (${elapsed.toFixed(0)} s)`,
    `- Framework source: ${source}`,
    `- Runtimes: Node ${versions.node}, Deno ${versions.deno}, Bun ${versions.bun}; load client on ${CLIENT === "bun" ? `Bun ${versions.bun}` : `Node ${versions.node}`} (bench/client.ts)`,
    `- Machine: ${cpus} × ${model}, Linux ${kernel}; ${PIN ? "server pinned to CPU 0, client to CPU 1" : "client and server unpinned"}; the framework runs as a master plus one worker process, ` +
      "so its CPU and RSS are summed over the process tree (the master is idle)",
    `- Method: ${ROUNDS} interleaved rounds (framework, raw, framework, raw, …) of ${DURATION} s after ${RAMP} s ramp-up, ` +
      `each server warmed up ${WARMUP} s first (every reply byte checked during warm-up); before each round the runner waits ` +
      `(up to ${WAIT_QUIET} s) until other processes use < ${NOISE}% of a core, and a noisy round is repeated (up to ${EXTRA_ROUNDS} extra)`,
    `- Quiet check before the run: other processes used ${quiet.pct.toFixed(1)}% of one core` +
      (quiet.top.length ? ` (top: ${quiet.top.slice(0, 2).join("; ")})` : ""),
    ...notes.map((n) => `- Note: ${n}`),
  ].join("\n");
  const body = `${tables()}\n\n${roundTables()}`;
  console.log(`${header}\n\n${body}`);
  if (!opts["no-write"]) {
    writeResults(header, body);
    log(`wrote ${RESULTS}`);
  }
}

await main();
process.exit(0);
