/**
 * The HTTP benchmark: on each runtime, in one invocation, the framework's `http://` hello world
 * (bench/http/servers/framework.ts) against the raw-socket ceiling (servers/raw.ts: hand-written
 * responses on the runtime's own sockets) and the runtime's own HTTP server (servers/native.ts:
 * `node:http`, `Deno.serve`, `Bun.serve`), all one process, loaded by `wrk` (one thread):
 *
 * - `keepalive`: `--conns` keep-alive connections, the same request over and over;
 * - `close`: `Connection: close` on every request (a new connection each time), `--close-conns`;
 * - `vary`: keep-alive, but every request has its own path, query, User-Agent, id and cookie
 *   (bench/http/vary.lua), so nothing can be answered from a cache of identical requests.
 *
 * Method (/work/shared/BENCHMARKING.md): the three servers of a runtime run side by side and are
 * measured interleaved (framework, raw, native, framework, ...) for `--rounds` rounds after a
 * warm-up of each; before each measurement the runner waits (up to `--wait-quiet` s) until other
 * processes use less than `--noise` % of a core, and a measurement taken while they used more is
 * marked noisy and repeated (up to `--extra-rounds` times). Throughput is wrk's request count;
 * server CPU is utime+stime of the server's processes (the framework's master and worker) from
 * /proc over the same window. wrk saturates around 150k req/s here, so the ranking figure is
 * requests per server CPU-second; reported are medians over rounds and the median of the
 * per-round ratios with their spread.
 *
 * Output: markdown on stdout, and the section between `<!-- bench:http:start -->` and
 * `<!-- bench:http:end -->` in bench/RESULTS.md (appended if missing; nothing else is touched).
 *
 * Usage: npm run bench:http -- [--runtimes node,deno,bun] [--workloads keepalive,close,vary]
 *        [--kinds framework,raw,native[,core,reuseport]] [--rounds 3] [--duration 3] [--warmup 1] [--conns 100] [--close-conns 50] [--no-build]
 *        [--no-write]
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createServer } from "node:net";
import { parseArgs } from "node:util";

const ROOT = join(import.meta.dirname, "..", "..");
const BIN = join(ROOT, "node_modules", ".bin");
const RESULTS = join(ROOT, "bench", "RESULTS.md");
const START = "<!-- bench:http:start -->";
const END = "<!-- bench:http:end -->";
const CLK_TCK = 100;

const { values: opts } = parseArgs({
  args: process.argv.slice(2),
  options: {
    runtimes: { type: "string", default: "node,deno,bun" },
    workloads: { type: "string", default: "keepalive,close,vary" },
    kinds: { type: "string", default: "framework,raw,native" },
    rounds: { type: "string", default: "3" },
    duration: { type: "string", default: "3" },
    warmup: { type: "string", default: "1" },
    conns: { type: "string", default: "100" },
    "close-conns": { type: "string", default: "50" },
    noise: { type: "string", default: "10" },
    "wait-quiet": { type: "string", default: "30" },
    "extra-rounds": { type: "string", default: "2" },
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
type Workload = "keepalive" | "close" | "vary";
/**
 * framework, raw, native: see above. Diagnostics (not in the default run): `core` = a tcp://
 * Worker answering with the hand-written response (what the framework costs without the http
 * protocol), `reuseport` = the framework with `reusePort = true` (Deno: with --unstable-net,
 * so its process accepts on a native Deno.listen socket instead of node:net; not on Node 20).
 */
type Kind = "framework" | "raw" | "native" | "core" | "reuseport";
const KINDS = opts.kinds!.split(",").map((s) => s.trim()).filter(Boolean) as Kind[];
for (const k of KINDS) if (!["framework", "raw", "native", "core", "reuseport"].includes(k)) throw new Error(`unknown kind ${k}`);
const RUNTIMES = opts.runtimes!.split(",").map((s) => s.trim()).filter(Boolean) as RuntimeName[];
const WORKLOADS = opts.workloads!.split(",").map((s) => s.trim()).filter(Boolean) as Workload[];
const ROUNDS = Math.max(1, Number(opts.rounds));
const DURATION = Number(opts.duration);
const WARMUP = Number(opts.warmup);
const CONNS = Number(opts.conns);
const CLOSE_CONNS = Number(opts["close-conns"]);
const NOISE = Number(opts.noise);
const WAIT_QUIET = Number(opts["wait-quiet"]);
const EXTRA = Number(opts["extra-rounds"]);
for (const r of RUNTIMES) if (!["node", "deno", "bun"].includes(r)) throw new Error(`unknown runtime ${r}`);
for (const w of WORKLOADS) if (!["keepalive", "close", "vary"].includes(w)) throw new Error(`unknown workload ${w}`);

/** The goals per server CPU-second: framework / reference ≥ goal (keep-alive hello world). */
const GOALS: Record<RuntimeName, Record<"raw" | "native", number>> = {
  node: { raw: 0.8, native: 1.6 },
  bun: { raw: 0.8, native: 0.9 },
  deno: { raw: 0.8, native: 0.8 },
};
const NATIVE_NAME: Record<RuntimeName, string> = { node: "node:http", deno: "Deno.serve", bun: "Bun.serve" };
const RAW_NAME: Record<RuntimeName, string> = { node: "net", deno: "Deno.listen", bun: "Bun.listen" };

// ---- /proc -------------------------------------------------------------------------------------
function procCpu(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / CLK_TCK;
  } catch {
    return NaN;
  }
}

function parents(): Map<number, number[]> {
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
  return children;
}

/** `pid` and all its descendants. */
function tree(pid: number): number[] {
  const children = parents();
  const out: number[] = [];
  const todo = [pid];
  while (todo.length > 0) {
    const p = todo.pop()!;
    out.push(p);
    todo.push(...(children.get(p) ?? []));
  }
  return out;
}

const treeCpu = (pids: number[]) => pids.reduce((a, p) => a + (procCpu(p) || 0), 0);

/**
 * Busy CPU seconds of the whole machine (user, nice, system, irq, softirq from /proc/stat):
 * unlike per-process snapshots it also sees processes that start and end within a measurement.
 */
function machineBusy(): number {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0];
  const [user, nice, system, , , irq, softirq] = line.split(/\s+/).slice(1).map(Number);
  return (user + nice + system + irq + softirq) / CLK_TCK;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Wait until the machine is idle but for us (< NOISE % of a core busy over 1 s), at most WAIT_QUIET s. */
async function waitQuiet(): Promise<number> {
  const deadline = Date.now() + WAIT_QUIET * 1000;
  for (;;) {
    const b0 = machineBusy();
    const s0 = process.cpuUsage();
    await sleep(1000);
    const s1 = process.cpuUsage(s0);
    const pct = 100 * Math.max(0, machineBusy() - b0 - (s1.user + s1.system) / 1e6);
    if (pct < NOISE || Date.now() > deadline) return pct;
  }
}

// ---- servers -----------------------------------------------------------------------------------
interface Server {
  runtime: RuntimeName;
  kind: Kind;
  proc: ChildProcess;
  port: number;
  pids: number[];
  output: () => string;
}

const live = new Set<ChildProcess>();
function killAll(): void {
  for (const c of live) {
    for (const pid of c.pid ? tree(c.pid) : []) {
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

function command(runtime: RuntimeName, kind: Kind): [string, string[]] {
  const file = kind === "reuseport" ? "framework" : kind;
  const args = kind === "framework" || kind === "reuseport" || kind === "core" ? ["start"] : [];
  switch (runtime) {
    case "node":
      return [process.execPath, [join(ROOT, "npm", "esm", "bench", "http", "servers", `${file}.js`), ...args]];
    case "deno":
      return [join(BIN, "deno"), [
        "run",
        "-A",
        ...(kind === "reuseport" ? ["--unstable-net"] : []),
        `--config=${join(ROOT, "deno.json")}`,
        join(ROOT, "bench", "http", "servers", `${file}.ts`),
        ...args,
      ]];
    case "bun":
      return [join(BIN, "bun"), [join(ROOT, "bench", "http", "servers", `${file}.ts`), ...args]];
  }
}

/** A port nobody listens on now (for servers whose banner cannot show it: reusePort). */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

async function startServer(runtime: RuntimeName, kind: Kind): Promise<Server> {
  const [cmd, args] = command(runtime, kind);
  const fixed = kind === "reuseport" ? await freePort() : 0;
  const proc = spawn(cmd, args, {
    cwd: ROOT,
    env: {
      ...process.env,
      NO_COLOR: "1",
      PID_FILE: `/tmp/wm-bench-http-${runtime}-${kind}-${process.pid}.pid`,
      ...(fixed ? { BENCH_PORT: String(fixed), BENCH_REUSE_PORT: "1" } : {}),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  live.add(proc);
  let out = "";
  proc.stdout!.on("data", (d) => (out += d));
  proc.stderr!.on("data", (d) => (out += d));
  const deadline = Date.now() + 20_000;
  while (!/Start success\./.test(out) || !/WORKER_PID \d+/.test(out)) {
    if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`${runtime} ${kind} did not start:\n${out}`);
    await sleep(50);
  }
  const port = fixed || Number(/(?:http|tcp):\/\/127\.0\.0\.1:(\d+)/.exec(out)![1]);
  await sleep(200);
  return { runtime, kind, proc, port, pids: tree(proc.pid!), output: () => out };
}

async function stopServer(s: Server): Promise<void> {
  s.proc.kill("SIGINT");
  const exited = new Promise((r) => s.proc.once("exit", r));
  const timer = setTimeout(() => s.proc.kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
  live.delete(s.proc);
}

// ---- wrk ---------------------------------------------------------------------------------------
interface WrkResult {
  requests: number;
  seconds: number;
  errors: string;
}

function wrkArgs(workload: Workload, port: number, seconds: number): string[] {
  const url = `http://127.0.0.1:${port}/`;
  switch (workload) {
    case "keepalive":
      return ["-t1", `-c${CONNS}`, `-d${seconds}s`, url];
    case "close":
      return ["-t1", `-c${CLOSE_CONNS}`, `-d${seconds}s`, "-H", "Connection: close", url];
    case "vary":
      return ["-t1", `-c${CONNS}`, `-d${seconds}s`, "-s", join(ROOT, "bench", "http", "vary.lua"), url];
  }
}

interface WrkRun extends WrkResult {
  /** wrk's own CPU seconds (last sample before it exited). */
  cpu: number;
}

function wrk(args: string[]): Promise<WrkRun> {
  return new Promise((resolve, reject) => {
    const p = spawn("wrk", args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let cpu = 0;
    const sampler = setInterval(() => {
      const c = procCpu(p.pid!);
      if (!Number.isNaN(c)) cpu = c;
    }, 50);
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (out += d));
    p.on("error", reject);
    p.on("exit", () => {
      clearInterval(sampler);
      const m = /(\d+) requests in ([\d.]+)(m?s)/.exec(out);
      if (!m) return reject(new Error(`wrk said:\n${out}`));
      const seconds = Number(m[2]) / (m[3] === "ms" ? 1000 : 1);
      const errors = [/Socket errors:[^\n]*/.exec(out)?.[0], /Non-2xx or 3xx responses: \d+/.exec(out)?.[0]].filter(Boolean).join("; ");
      resolve({ requests: Number(m[1]), seconds, errors, cpu });
    });
  });
}

// ---- measuring ---------------------------------------------------------------------------------
interface Sample {
  runtime: RuntimeName;
  workload: Workload;
  round: number;
  kind: Kind;
  rps: number;
  cpu: number;
  perCpu: number;
  other: number;
  noisy: boolean;
  errors: string;
}

async function measure(s: Server, workload: Workload, round: number): Promise<Sample> {
  await waitQuiet();
  const pids = tree(s.proc.pid!);
  const busy0 = machineBusy();
  const self0 = process.cpuUsage();
  const c0 = treeCpu(pids);
  const t0 = performance.now();
  const r = await wrk(wrkArgs(workload, s.port, DURATION));
  const wall = (performance.now() - t0) / 1000;
  const cpu = treeCpu(pids) - c0;
  const self = process.cpuUsage(self0);
  // Everything else the machine did meanwhile: busy CPU minus the server, wrk and this runner.
  const other = Math.max(0, machineBusy() - busy0 - cpu - r.cpu - (self.user + self.system) / 1e6);
  const otherPct = 100 * other / wall;
  return {
    runtime: s.runtime,
    workload,
    round,
    kind: s.kind,
    rps: r.requests / r.seconds,
    cpu: cpu / wall,
    perCpu: r.requests / cpu,
    other: otherPct,
    noisy: otherPct > NOISE,
    errors: r.errors,
  };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : n.toFixed(0));
const pct = (x: number) => `${x.toFixed(2)}×`;

// ---- main --------------------------------------------------------------------------------------
const started = Date.now();
if (!opts["no-build"]) execFileSync(process.execPath, [join(BIN, "tsx"), join(ROOT, "scripts", "build_npm.ts")], { cwd: ROOT, stdio: "inherit" });
try {
  execFileSync("wrk", ["-v"], { stdio: "pipe" });
} catch (err) {
  if ((err as { code?: string }).code === "ENOENT") throw new Error("wrk is not installed: apt-get install wrk");
}

const versions = {
  node: process.versions.node,
  deno: execFileSync(join(BIN, "deno"), ["--version"]).toString().split("\n")[0].replace("deno ", ""),
  bun: execFileSync(join(BIN, "bun"), ["--version"]).toString().trim(),
};
const samples: Sample[] = [];
const failures: string[] = [];

for (const runtime of RUNTIMES) {
  const servers: Server[] = [];
  try {
    for (const kind of KINDS) {
      if (kind === "reuseport" && runtime === "node") continue; // Node 20 has no SO_REUSEPORT
      servers.push(await startServer(runtime, kind));
    }
  } catch (err) {
    failures.push(`${runtime}: ${(err as Error).message.split("\n")[0]}`);
    for (const s of servers) await stopServer(s);
    continue;
  }
  for (const workload of WORKLOADS) {
    for (const s of servers) await wrk(wrkArgs(workload, s.port, WARMUP)); // warm-up (JIT)
    let extra = 0;
    for (let round = 1; round <= ROUNDS + extra; round++) {
      // rotate the order each round so no server always goes first
      const order = servers.map((_, i) => servers[(i + round - 1) % servers.length]);
      const got: Sample[] = [];
      for (const s of order) got.push(await measure(s, workload, round));
      samples.push(...got);
      const line = got.map((g) => `${g.kind} ${fmt(g.rps)}/s ${fmt(g.perCpu)}/cpu-s${g.noisy ? ` (noisy ${g.other.toFixed(0)}%)` : ""}`).join(", ");
      console.error(`${runtime} ${workload} round ${round}: ${line}`);
      if (got.some((g) => g.noisy) && extra < EXTRA) extra++;
    }
  }
  for (const s of servers) await stopServer(s);
}

// ---- report ------------------------------------------------------------------------------------
const lines: string[] = [];
const when = new Date(started).toISOString().replace("T", " ").slice(0, 19);
lines.push(`## HTTP: run of ${when} UTC`, "");
lines.push(`- Command: \`npm run bench:http -- ${process.argv.slice(2).join(" ")}\`${process.argv.length > 2 ? "" : "(defaults)"} (${Math.round((Date.now() - started) / 1000)} s)`);
lines.push(`- Runtimes: Node ${versions.node}, Deno ${versions.deno}, Bun ${versions.bun}; load generator \`wrk\` with one thread`);
lines.push(`- Servers, one process each: **framework** = bench/http/servers/framework.ts (the manual's http example, \`conn.send("hello world")\`), **raw** = servers/raw.ts (hand-written responses on the runtime's own sockets), **native** = servers/native.ts (\`node:http\`, \`Deno.serve\`, \`Bun.serve\`); the same 11-byte body`);
lines.push(`- Workloads: keepalive = ${CONNS} keep-alive connections; close = ${CLOSE_CONNS} connections with \`Connection: close\` (a new TCP connection per request); vary = keep-alive, every request with its own path, query, User-Agent, id and cookie (bench/http/vary.lua)`);
lines.push(`- Method: ${ROUNDS} interleaved rounds (order rotated each round) of ${DURATION} s after a ${WARMUP} s warm-up per server; before each measurement the runner waits until other processes use < ${NOISE}% of a core; rounds where they used more are marked noisy, repeated (up to ${EXTRA} extra) and left out of the medians unless all are noisy`);
lines.push("");
lines.push("### Throughput", "");
lines.push("Medians over the rounds used. CPU = server utime+stime / wall, in cores.", "");
lines.push("| runtime | workload | server | req/s | server CPU | req per server CPU-s |");
lines.push("| --- | --- | --- | ---: | ---: | ---: |");
const used = (rt: RuntimeName, w: Workload) => {
  const rows = samples.filter((s) => s.runtime === rt && s.workload === w);
  const rounds = [...new Set(rows.map((r) => r.round))];
  const clean = rounds.filter((r) => rows.filter((x) => x.round === r).every((x) => !x.noisy));
  const pick = clean.length > 0 ? clean : rounds;
  return rows.filter((r) => pick.includes(r.round));
};
for (const rt of RUNTIMES) {
  for (const w of WORKLOADS) {
    const rows = used(rt, w);
    for (const k of KINDS) {
      const ks = rows.filter((r) => r.kind === k);
      if (ks.length === 0) continue;
      const name = k === "native" ? NATIVE_NAME[rt] : k === "raw" ? `raw ${RAW_NAME[rt]}` : k === "framework" ? "framework" : `${k} (diagnostic)`;
      lines.push(`| ${rt} | ${w} | ${name} | ${fmt(median(ks.map((s) => s.rps)))} | ${median(ks.map((s) => s.cpu)).toFixed(2)} | ${fmt(median(ks.map((s) => s.perCpu)))} |`);
    }
  }
}
lines.push("", "### Framework / reference per server CPU-second (goals on keepalive)", "");
lines.push("Median of per-round ratios, spread (min–max) in brackets; req/s ratio for comparison.", "");
lines.push("| runtime | workload | rounds | vs raw per CPU-s | vs native per CPU-s | vs raw req/s | vs native req/s | goal (raw / native) | met |");
lines.push("| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | --- |");
for (const rt of RUNTIMES) {
  for (const w of WORKLOADS) {
    const rows = used(rt, w);
    const rounds = [...new Set(rows.map((r) => r.round))];
    const ratio = (ref: Kind, f: (s: Sample) => number) =>
      rounds.map((r) => {
        const fw = rows.find((x) => x.round === r && x.kind === "framework");
        const rf = rows.find((x) => x.round === r && x.kind === ref);
        return fw && rf ? f(fw) / f(rf) : NaN;
      }).filter((x) => !Number.isNaN(x));
    const show = (xs: number[]) => xs.length ? `${pct(median(xs))} (${pct(Math.min(...xs))}–${pct(Math.max(...xs))})` : "n/a";
    const rawCpu = ratio("raw", (s) => s.perCpu);
    const natCpu = ratio("native", (s) => s.perCpu);
    const goal = GOALS[rt];
    const met = w === "keepalive"
      ? `${median(rawCpu) >= goal.raw ? "**met**" : "**missed**"} / ${median(natCpu) >= goal.native ? "**met**" : "**missed**"}`
      : "";
    lines.push(`| ${rt} | ${w} | ${rounds.length} | ${show(rawCpu)} | ${show(natCpu)} | ${show(ratio("raw", (s) => s.rps))} | ${show(ratio("native", (s) => s.rps))} | ≥ ${goal.raw}× ${RAW_NAME[rt]} / ≥ ${goal.native}× ${NATIVE_NAME[rt]} | ${met} |`);
  }
}
const diagnostics = KINDS.filter((k) => k === "core" || k === "reuseport");
if (diagnostics.length > 0) {
  lines.push("", "### Diagnostics per server CPU-second, relative to raw", "");
  lines.push("core = a tcp:// Worker sending the hand-written response (the framework without the http protocol); reuseport = the framework with `reusePort = true` (Deno: --unstable-net, a native Deno.listen socket).", "");
  lines.push(`| runtime | workload | ${["framework", ...diagnostics].join(" | ")} |`);
  lines.push(`| --- | --- | ${["framework", ...diagnostics].map(() => "---:").join(" | ")} |`);
  for (const rt of RUNTIMES) {
    for (const w of WORKLOADS) {
      const rows = used(rt, w);
      const rounds = [...new Set(rows.map((r) => r.round))];
      const cell = (k: Kind) => {
        const xs = rounds.map((r) => {
          const a = rows.find((x) => x.round === r && x.kind === k);
          const b = rows.find((x) => x.round === r && x.kind === "raw");
          return a && b ? a.perCpu / b.perCpu : NaN;
        }).filter((x) => !Number.isNaN(x));
        return xs.length ? `${pct(median(xs))} (${pct(Math.min(...xs))}–${pct(Math.max(...xs))})` : "n/a";
      };
      lines.push(`| ${rt} | ${w} | ${["framework" as Kind, ...diagnostics].map(cell).join(" | ")} |`);
    }
  }
}
if (failures.length > 0) lines.push("", "### Failed", "", ...failures.map((f) => `- ${f}`));
lines.push("", "<details><summary>Every measurement</summary>", "");
lines.push("| runtime | workload | round | server | req/s | server CPU | req per CPU-s | other CPU | errors |");
lines.push("| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | --- |");
for (const s of samples) {
  lines.push(`| ${s.runtime} | ${s.workload} | ${s.round}${s.noisy ? " (noisy)" : ""} | ${s.kind} | ${fmt(s.rps)} | ${s.cpu.toFixed(2)} | ${fmt(s.perCpu)} | ${s.other.toFixed(0)}% | ${s.errors} |`);
}
lines.push("", "</details>");
const report = lines.join("\n");
console.log(report);

if (!opts["no-write"]) {
  const section = `${START}\n${report}\n${END}`;
  const old = existsSync(RESULTS) ? readFileSync(RESULTS, "utf8") : "# Benchmark results\n";
  const updated = old.includes(START) && old.includes(END)
    ? old.slice(0, old.indexOf(START)) + section + old.slice(old.indexOf(END) + END.length)
    : `${old.trimEnd()}\n\n${section}\n`;
  writeFileSync(RESULTS, updated);
  console.error(`wrote the HTTP section of ${RESULTS}`);
}
