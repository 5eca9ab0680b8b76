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
 *   --reuse-port                 the framework with `reusePort = true` (its own SO_REUSEPORT socket; on
 *                                Deno a native Deno.listen one) instead of the master's shared socket
 *   --no-build --no-write        skip the npm build (Node runs npm/esm/bench/...) / leave RESULTS.md alone
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  BIN,
  type Client,
  fmtRate,
  idleMemory,
  kb,
  launchClient,
  launchServer,
  listOption,
  log,
  lowFreePort,
  maxOf,
  median,
  memoryRounds,
  type MemSample,
  minOf,
  parseOptions,
  pct,
  processTree,
  quietCheck,
  quietRounds,
  RESULTS,
  ROOT,
  RUNNER_OPTIONS,
  runtimeCommand,
  runtimeVersions,
  sampleWindow,
  type Server,
  sleep,
  versionOf,
  waitQuiet,
  withBenchLock,
} from "./lib.ts";

// ---- options ----------------------------------------------------------------------------------
const opts = parseOptions(import.meta.url, {
  ...RUNNER_OPTIONS,
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
  "wait-quiet": { type: "string", default: "30" },
  "extra-rounds": { type: "string", default: "3" },
  syscalls: { type: "boolean", default: false },
  pin: { type: "boolean", default: false },
  "reuse-port": { type: "boolean", default: false },
  "no-lock": { type: "boolean", default: false },
});

type RuntimeName = "node" | "deno" | "bun";
type Workload = "tcp" | "text" | "memory";
type ServerKind = "framework" | "raw";

const RUNTIMES = listOption<RuntimeName>(opts.runtimes, ["node", "deno", "bun"], "runtime");
const WORKLOADS = listOption<Workload>(opts.workloads, ["tcp", "text", "memory"], "workload");
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

// Goals and anchors (BENCHMARKING.md and the task).
const WORKERMAN_TEXT = 181_000;
const GOAL_TEXT_OF_CEILING = 0.6;
const GOAL_TEXT_X_WORKERMAN = 5;
const GOAL_TCP_OF_RAW = 0.85;
const GOAL_MEM_ABOVE_RAW_KB = 1;
const ANCHOR_IDLE_KB: Record<RuntimeName, number> = { node: 3.4, bun: 0.95, deno: 10.4 };
const ANCHOR_TEXT_COALESCED: Record<RuntimeName, number> = { node: 1.9e6, bun: 1.8e6, deno: 1.5e6 };

function serverCommand(runtime: RuntimeName, server: ServerKind, kind: "tcp" | "text"): [string, string[]] {
  const script = server === "framework" ? `framework_${kind}` : "raw";
  const args = server === "framework" ? ["start"] : [kind];
  return runtimeCommand(runtime, `bench/servers/${script}.ts`, args);
}

/** `--reuse-port`: the framework's process binds its own SO_REUSEPORT socket (Deno: native Deno.listen). */
const REUSE_PORT = opts["reuse-port"]!;

async function startServer(runtime: RuntimeName, server: ServerKind, kind: "tcp" | "text"): Promise<Server> {
  const label = `${runtime} ${server} ${kind} server`;
  const command = pinned(0, ...serverCommand(runtime, server, kind));
  if (!(REUSE_PORT && server === "framework")) return launchServer(label, command);
  // A reusePort process binds for itself: give it a port (its banner cannot tell one it got from 0).
  const port = await lowFreePort();
  return launchServer(label, command, { env: { BENCH_PORT: String(port), BENCH_REUSE_PORT: "1" }, port });
}

function startClient(args: string[], readyTimeoutMs = 30_000): Promise<Client> {
  return launchClient(pinned(1, ...runtimeCommand(CLIENT, "bench/client.ts", args)), readyTimeoutMs);
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
    const perf = spawn(
      "perf",
      ["stat", "-x", ",", "-e", events, "-p", pids.join(","), "--", "sleep", String(seconds)],
      {
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
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
  const args = [
    "load",
    "--port",
    String(server.port),
    "--conns",
    String(CONNS),
    "--depth",
    String(DEPTH),
    "--size",
    String(SIZE[kind]),
    "--kind",
    kind,
  ];
  if (check) args.push("--check");
  const serverPids = processTree(server.pid);
  const client = await startClient(args);
  try {
    await sleep(RAMP * 1000);
    const w = await sampleWindow(client, serverPids, async () => {
      const counts = SYSCALLS && !check ? await countSyscalls(serverPids, seconds) : null;
      if (!counts) await sleep(seconds * 1000);
      return counts;
    });
    const counts = w.during;
    let sys: Syscalls | undefined;
    if (counts) {
      const sum = (names: string[]) => names.reduce((t, n) => t + (counts[n] ?? 0), 0);
      const writes = sum(SYSCALL_GROUPS.writes);
      sys = {
        reads: sum(SYSCALL_GROUPS.reads) / w.replies,
        writes: writes / w.replies,
        polls: sum(SYSCALL_GROUPS.polls) / w.replies,
        futex: sum(SYSCALL_GROUPS.futex) / w.replies,
        msgsPerWrite: w.replies / writes,
      };
    }
    return {
      sys,
      msgs: w.msgs,
      serverCpu: w.serverCpu,
      perCpu: w.perCpu,
      clientCpu: w.clientCpu,
      otherCpu: w.otherCpu,
    };
  } finally {
    await client.quit();
  }
}

async function measureIdle(runtime: RuntimeName, server: ServerKind): Promise<MemSample> {
  const s = await startServer(runtime, server, "tcp");
  try {
    return await idleMemory(
      s,
      (conns) => startClient(["idle", "--port", String(s.port), "--conns", String(conns)], 120_000),
      IDLE_CONNS,
    );
  } finally {
    await s.stop();
  }
}

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
        '("sat." when ≥ 0.9 core: the generator is near its limit and with 2 cores the machine is full, so msgs/s ' +
        "understates that server and only msgs per server CPU-s ranks it).",
      "",
      "| runtime | workload | server | msgs/s | server CPU | msgs per server CPU-s | client CPU |",
      "| --- | --- | --- | ---: | ---: | ---: | ---: |",
    );
    for (const r of load) {
      const s = summarize(r);
      const raw = r.kind === "text" ? "raw coalesced" : "raw";
      out.push(
        `| ${r.runtime} | ${r.kind} echo | framework | ${fmtRate(s.fwMsgs)} | ${s.fwCpu.toFixed(2)} | ${
          fmtRate(s.fwPerCpu)
        } | ${sat(s.fwClient)} |`,
      );
      out.push(
        `| ${r.runtime} | ${r.kind} echo | ${raw} | ${fmtRate(s.rawMsgs)} | ${s.rawCpu.toFixed(2)} | ${
          fmtRate(s.rawPerCpu)
        } | ${sat(s.rawClient)} |`,
      );
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
          `${pct(s.ratioCpu)} (${spread(s.ratioCpuMin, s.ratioCpuMax)}) | ≥ ${pct(goal)} of ${
            r.kind === "text" ? "raw coalesced" : "raw"
          } | ` +
          `${yes(s.ratio >= goal)} / ${yes(s.ratioCpu >= goal)} |`,
      );
    }
    const text = load.filter((r) => r.kind === "text");
    if (text.length > 0) {
      out.push(
        "",
        `### Text echo vs real Workerman (${fmtRate(WORKERMAN_TEXT)} msgs/s, goal ≥ ${GOAL_TEXT_X_WORKERMAN}× = ${
          fmtRate(WORKERMAN_TEXT * GOAL_TEXT_X_WORKERMAN)
        })`,
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
            `${yes(x1 >= GOAL_TEXT_X_WORKERMAN)} / ${yes(x2 >= GOAL_TEXT_X_WORKERMAN)} | ${fmtRate(s.rawMsgs)} (${
              fmtRate(ANCHOR_TEXT_COALESCED[r.runtime])
            }) |`,
        );
      }
    }
  }
  const mem = memResults.filter((r) => !r.error);
  if (mem.length > 0) {
    out.push(
      "",
      `### RSS per idle connection (${
        IDLE_CONNS.toLocaleString("en")
      } connections, VmRSS after − before; 1 KB = 1024 B)`,
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
        `| ${r.runtime} | ${kb(fw)} | ${kb(raw)} | ${kb(d)} (${kb(minOf(diffs))} – ${kb(maxOf(diffs))}) | ${
          yes(d <= GOAL_MEM_ABOVE_RAW_KB * 1024)
        } | ${ANCHOR_IDLE_KB[r.runtime]} KB |`,
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
      "| runtime | workload | round | server | msgs/s | server CPU | msgs per CPU-s | client CPU | other CPU | framework / raw per CPU-s |",
      "| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    );
    for (const r of loadResults) {
      for (const p of r.rounds) {
        for (const [name, s] of [["framework", p.fw], ["raw", p.raw]] as const) {
          if (!s) continue;
          out.push(
            `| ${r.runtime} | ${r.kind} | ${p.round}${p.noisy ? " (noisy)" : ""} | ${name} | ${fmtRate(s.msgs)} | ${
              s.serverCpu.toFixed(2)
            } | ${fmtRate(s.perCpu)} | ${s.clientCpu.toFixed(2)} | ${s.otherCpu.toFixed(1)}% | ` +
              `${s === p.fw && p.raw ? pct(p.fw.perCpu / p.raw.perCpu) : ""} |`,
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
            `| ${r.runtime} | ${r.kind} | ${p.round} | ${name} | ${(100 * y.reads).toFixed(2)} | ${
              (100 * y.writes).toFixed(2)
            } | ${(100 * y.polls).toFixed(2)} | ${(100 * y.futex).toFixed(2)} | ${y.msgsPerWrite.toFixed(1)} |`,
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
          out.push(
            `| ${r.runtime} | ${i + 1} | ${name} | ${(s.before / 2 ** 20).toFixed(1)} MB | ${
              (s.after / 2 ** 20).toFixed(1)
            } MB | ${s.opened} | ${kb(s.perConn)} |`,
          );
        }
      }
    }
  }
  return out.join("\n");
}

// ---- main ---------------------------------------------------------------------------------------
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
    await quietRounds(ROUNDS, EXTRA_ROUNDS, async (round) => {
      await waitQuiet(WAIT_QUIET, NOISE);
      const pair: RoundPair = { round, fw: null, raw: null, noisy: false };
      result.rounds.push(pair);
      pair.fw = await measureLoad(fw!, kind, DURATION, false);
      pair.raw = await measureLoad(raw!, kind, DURATION, false);
      pair.noisy = pair.fw.otherCpu > NOISE || pair.raw.otherCpu > NOISE;
      log(
        `  ${runtime} ${kind} round ${round}: framework ${fmtRate(pair.fw.msgs)} (${fmtRate(pair.fw.perCpu)}/CPU-s), ` +
          `raw ${fmtRate(pair.raw.msgs)} (${fmtRate(pair.raw.perCpu)}/CPU-s), ratio ${
            pct(pair.fw.msgs / pair.raw.msgs)
          } (per CPU-s ${pct(pair.fw.perCpu / pair.raw.perCpu)}), ` +
          `other CPU ${pair.fw.otherCpu.toFixed(1)}%/${pair.raw.otherCpu.toFixed(1)}%${pair.noisy ? " NOISY" : ""}`,
      );
      return pair.noisy;
    });
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
  const measure = (framework: boolean) => measureIdle(runtime, framework ? "framework" : "raw");
  result.error = await memoryRounds(runtime, "raw", ROUNDS, [WAIT_QUIET, NOISE], measure, result.fw, result.raw);
}

function writeResults(header: string, body: string): void {
  const START = "<!-- bench:results:start -->";
  const END = "<!-- bench:results:end -->";
  const section = `${START}\n${header}\n\n${body}\n${END}`;
  let doc = existsSync(RESULTS) ? readFileSync(RESULTS, "utf8") : "";
  if (doc.includes(START) && doc.includes(END)) {
    doc = doc.slice(0, doc.indexOf(START)) + section + doc.slice(doc.indexOf(END) + END.length);
  } else {
    doc =
      `# Benchmark results\n\nWritten by \`npm run bench\` (bench/run.ts) between the markers below; notes outside them are kept.\n\n${section}\n${
        doc ? `\n${doc}` : ""
      }`;
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
      execFileSync(join(BIN, "tsx"), [join(ROOT, "scripts", "build_npm.ts")], {
        cwd: ROOT,
        stdio: ["ignore", "ignore", "inherit"],
      });
    } catch (err) {
      // tsc still emits on type errors; go on if the build produced the files Node runs.
      if (!existsSync(join(ROOT, "npm", "esm", "bench", "servers", "raw.js"))) throw err;
      log("  the build reported errors (above); running what it emitted");
      notes.push("`npm run build` reported errors during this run; Node ran what tsc emitted.");
    }
  }
  const versions = runtimeVersions();
  const kernel = versionOf("uname", ["-r"]);
  const commit = versionOf("git", ["-C", ROOT, "rev-parse", "--short", "HEAD"]);
  const dirty = versionOf("git", ["-C", ROOT, "status", "--porcelain", "--", "mod.ts", "core", "runtime", "protocols"]);
  const source = `commit ${commit}${
    dirty && !dirty.startsWith("unavailable") ? " plus uncommitted changes in mod.ts/core/runtime/protocols" : ""
  }`;
  const cpus = readFileSync("/proc/cpuinfo", "utf8").match(/^processor/gm)?.length ?? 0;
  const model = readFileSync("/proc/cpuinfo", "utf8").match(/^model name\s*:\s*(.*)$/m)?.[1] ?? "?";

  log("checking that the machine is quiet (2 s) ...");
  const quiet = await quietCheck(2);
  log(
    `  other processes: ${quiet.pct.toFixed(1)}% of one core${
      quiet.top.length ? `; top: ${quiet.top.join(" | ")}` : ""
    }`,
  );
  if (quiet.pct > NOISE) {
    notes.push(
      `The machine was not quiet before the run: other processes used ${quiet.pct.toFixed(1)}% of one core (${
        quiet.top.slice(0, 3).join("; ")
      }).`,
    );
  }

  for (const runtime of RUNTIMES) {
    log(`== ${runtime}`);
    for (const w of WORKLOADS) {
      if (w === "memory") await withBenchLock(LOCK, `${runtime} memory`, () => runMemory(runtime));
      else await withBenchLock(LOCK, `${runtime} ${w}`, () => runLoad(runtime, w));
    }
  }

  const elapsed = (performance.now() - t0) / 1000;
  const header = [
    `## Run of ${started.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC")}`,
    "",
    `- Command: \`${command}\` (${elapsed.toFixed(0)} s)`,
    `- Framework source: ${source}`,
    `- Runtimes: Node ${versions.node}, Deno ${versions.deno}, Bun ${versions.bun}; load client on ${
      CLIENT === "bun" ? `Bun ${versions.bun}` : `Node ${versions.node}`
    } (bench/client.ts)`,
    `- Machine: ${cpus} × ${model}, Linux ${kernel}; ${
      PIN ? "server pinned to CPU 0, client to CPU 1" : "client and server unpinned"
    }; the framework runs as a master plus one worker process, ` +
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
