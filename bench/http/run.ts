/**
 * The HTTP benchmark: on each runtime, in one invocation, the framework's `http://` hello world
 * (bench/http/servers/framework.ts) against the raw-socket ceiling (servers/raw.ts: hand-written
 * responses on the runtime's own sockets) and the runtime's own HTTP server (servers/native.ts:
 * `node:http`, `Deno.serve`, `Bun.serve`), all one process, loaded by `wrk` (one thread):
 *
 * - `keepalive`: `--conns` keep-alive connections, the same request over and over;
 * - `close`: `Connection: close` on every request (a new connection each time), `--close-conns`
 *   (every server listens below 32768: wrk fills the ephemeral port range with TIME_WAIT);
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
 * per-round ratios with their spread, and every round's ratios with the other load it saw.
 *
 * Output: markdown on stdout, and the section between `<!-- bench:http:start -->` and
 * `<!-- bench:http:end -->` in bench/RESULTS.md (appended if missing; nothing else is touched).
 *
 * Usage: npm run bench:http -- [--runtimes node,deno,bun] [--workloads keepalive,close,vary]
 *        [--kinds framework,raw,native[,core,reuseport,netsocket]] [--rounds 3] [--duration 3] [--warmup 1] [--conns 100] [--close-conns 50] [--no-build]
 *        [--no-write]
 */
import { execFileSync, spawn } from "node:child_process";
import { join } from "node:path";
import {
  buildNpm,
  launchServer,
  listOption,
  lowFreePort,
  machineBusy,
  median,
  parseOptions,
  procCpu,
  processTree,
  quietRounds,
  RESULTS,
  ROOT,
  runtimeCommand,
  runtimeVersions,
  type Server,
  sleep,
  sumOver,
  waitQuiet,
  writeSection,
} from "../lib.ts";

const opts = parseOptions(import.meta.url, {
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
});

type RuntimeName = "node" | "deno" | "bun";
type Workload = "keepalive" | "close" | "vary";
/**
 * framework, raw, native: see above. Diagnostics (not in the default run): `core` = a tcp://
 * Worker answering with the hand-written response (what the framework costs without the http
 * protocol), `netsocket` = the framework on Deno with WORKERMAN_DENO_NET_SOCKETS=1 (a `net.Socket`
 * per connection, as before runtime/_deno_uv.ts; Deno only), `reuseport` = the framework with `reusePort = true` (Deno: with --unstable-net,
 * so its process accepts on a native Deno.listen socket instead of node:net; not on Node 20).
 */
type Kind = "framework" | "raw" | "native" | "core" | "reuseport" | "netsocket";
const KINDS = listOption<Kind>(opts.kinds, ["framework", "raw", "native", "core", "reuseport", "netsocket"], "kind");
const RUNTIMES = listOption<RuntimeName>(opts.runtimes, ["node", "deno", "bun"], "runtime");
const WORKLOADS = listOption<Workload>(opts.workloads, ["keepalive", "close", "vary"], "workload");
const ROUNDS = Math.max(1, Number(opts.rounds));
const DURATION = Number(opts.duration);
const WARMUP = Number(opts.warmup);
const CONNS = Number(opts.conns);
const CLOSE_CONNS = Number(opts["close-conns"]);
const NOISE = Number(opts.noise);
const WAIT_QUIET = Number(opts["wait-quiet"]);
const EXTRA = Number(opts["extra-rounds"]);

/**
 * The goals per server CPU-second: framework / reference ≥ goal (issue 17): keep-alive hello
 * world against raw sockets and the runtime's own server, `Connection: close` against the
 * runtime's own server (none against raw there).
 */
const GOALS: Record<RuntimeName, Partial<Record<Workload, Partial<Record<"raw" | "native", number>>>>> = {
  node: { keepalive: { raw: 0.8, native: 1.6 }, close: { native: 1 } },
  bun: { keepalive: { raw: 0.8, native: 0.9 }, close: { native: 1 } },
  deno: { keepalive: { raw: 0.85, native: 0.9 }, close: { native: 1 } },
};
const NATIVE_NAME: Record<RuntimeName, string> = { node: "node:http", deno: "Deno.serve", bun: "Bun.serve" };
const RAW_NAME: Record<RuntimeName, string> = { node: "net", deno: "Deno.listen", bun: "Bun.listen" };

// ---- servers -----------------------------------------------------------------------------------
/** A server of one kind on one runtime (its banner prints the worker's pid, its CPU is its tree's). */
interface HttpServer {
  runtime: RuntimeName;
  kind: Kind;
  server: Server;
  port: number;
  pids: number[];
}

function command(runtime: RuntimeName, kind: Kind): [string, string[]] {
  const file = kind === "reuseport" || kind === "netsocket" ? "framework" : kind;
  const args = kind === "framework" || kind === "reuseport" || kind === "netsocket" || kind === "core" ? ["start"] : [];
  const [cmd, argv] = runtimeCommand(runtime, `bench/http/servers/${file}.ts`, args);
  if (runtime === "deno" && kind === "reuseport") argv.splice(2, 0, "--unstable-net"); // after `run -A`
  return [cmd, argv];
}

async function startServer(runtime: RuntimeName, kind: Kind): Promise<HttpServer> {
  // Every server gets its port: below the ephemeral range, which wrk fills with its own ports
  // in TIME_WAIT on the close workload (and a reusePort server cannot print the port it got).
  const fixed = await lowFreePort();
  const server = await launchServer(`${runtime} ${kind}`, command(runtime, kind), {
    env: {
      PID_FILE: `/tmp/wm-bench-http-${runtime}-${kind}-${process.pid}.pid`,
      BENCH_PORT: String(fixed),
      ...(kind === "reuseport" ? { BENCH_REUSE_PORT: "1" } : {}),
      ...(kind === "netsocket" ? { WORKERMAN_DENO_NET_SOCKETS: "1" } : {}),
    },
    ready: /WORKER_PID \d+/,
    port: fixed,
  });
  await sleep(200);
  return { runtime, kind, server, port: server.port, pids: processTree(server.pid) };
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
      const errors = [/Socket errors:[^\n]*/.exec(out)?.[0], /Non-2xx or 3xx responses: \d+/.exec(out)?.[0]].filter(
        Boolean,
      ).join("; ");
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

async function measure(s: HttpServer, workload: Workload, round: number): Promise<Sample> {
  await waitQuiet(WAIT_QUIET, NOISE);
  const pids = processTree(s.server.pid);
  const busy0 = machineBusy();
  const self0 = process.cpuUsage();
  const c0 = sumOver(pids, procCpu);
  const t0 = performance.now();
  const r = await wrk(wrkArgs(workload, s.port, DURATION));
  const wall = (performance.now() - t0) / 1000;
  const cpu = sumOver(pids, procCpu) - c0;
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

const fmt = (
  n: number,
) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : n.toFixed(0));
const pct = (x: number) => `${x.toFixed(2)}×`;

// ---- main --------------------------------------------------------------------------------------
const started = Date.now();
if (!opts["no-build"]) buildNpm();
try {
  execFileSync("wrk", ["-v"], { stdio: "pipe" });
} catch (err) {
  if ((err as { code?: string }).code === "ENOENT") throw new Error("wrk is not installed: apt-get install wrk");
}

const versions = runtimeVersions();
const samples: Sample[] = [];
const failures: string[] = [];

for (const runtime of RUNTIMES) {
  const servers: HttpServer[] = [];
  try {
    for (const kind of KINDS) {
      if (kind === "reuseport" && runtime === "node") continue; // Node 20 has no SO_REUSEPORT
      if (kind === "netsocket" && runtime !== "deno") continue;
      servers.push(await startServer(runtime, kind));
    }
  } catch (err) {
    failures.push(`${runtime}: ${(err as Error).message.split("\n")[0]}`);
    for (const s of servers) await s.server.stop();
    continue;
  }
  for (const workload of WORKLOADS) {
    for (const s of servers) await wrk(wrkArgs(workload, s.port, WARMUP)); // warm-up (JIT)
    await quietRounds(ROUNDS, EXTRA, async (round) => {
      // rotate the order each round so no server always goes first
      const order = servers.map((_, i) => servers[(i + round - 1) % servers.length]);
      const got: Sample[] = [];
      for (const s of order) got.push(await measure(s, workload, round));
      samples.push(...got);
      const line = got.map((g) =>
        `${g.kind} ${fmt(g.rps)}/s ${fmt(g.perCpu)}/cpu-s other ${g.other.toFixed(0)}%${g.noisy ? " (noisy)" : ""}`
      ).join(", ");
      const fw = got.find((g) => g.kind === "framework");
      const ratios = got.filter((g) => g !== fw && fw).map((g) => `fw/${g.kind} ${pct(fw!.perCpu / g.perCpu)}`).join(
        " ",
      );
      console.error(`${runtime} ${workload} round ${round}: ${line}; per CPU-s ${ratios}`);
      return got.some((g) => g.noisy);
    });
  }
  for (const s of servers) await s.server.stop();
}

// ---- report ------------------------------------------------------------------------------------
const lines: string[] = [];
const when = new Date(started).toISOString().replace("T", " ").slice(0, 19);
lines.push(`## HTTP: run of ${when} UTC`, "");
lines.push(
  `- Command: \`npm run bench:http -- ${process.argv.slice(2).join(" ")}\`${
    process.argv.length > 2 ? "" : "(defaults)"
  } (${Math.round((Date.now() - started) / 1000)} s)`,
);
lines.push(
  `- Runtimes: Node ${versions.node}, Deno ${versions.deno}, Bun ${versions.bun}; load generator \`wrk\` with one thread`,
);
lines.push(
  `- Servers, one process each: **framework** = bench/http/servers/framework.ts (the manual's http example, \`conn.send("hello world")\`), **raw** = servers/raw.ts (hand-written responses on the runtime's own sockets), **native** = servers/native.ts (\`node:http\`, \`Deno.serve\`, \`Bun.serve\`); the same 11-byte body`,
);
lines.push(
  `- Workloads: keepalive = ${CONNS} keep-alive connections; close = ${CLOSE_CONNS} connections with \`Connection: close\` (a new TCP connection per request); vary = keep-alive, every request with its own path, query, User-Agent, id and cookie (bench/http/vary.lua)`,
);
lines.push(
  `- Method: ${ROUNDS} interleaved rounds (order rotated each round) of ${DURATION} s after a ${WARMUP} s warm-up per server; before each measurement the runner waits until other processes use < ${NOISE}% of a core; rounds where they used more are marked noisy, repeated (up to ${EXTRA} extra) and left out of the medians unless all are noisy`,
);
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
      const name = k === "native"
        ? NATIVE_NAME[rt]
        : k === "raw"
        ? `raw ${RAW_NAME[rt]}`
        : k === "framework"
        ? "framework"
        : `${k} (diagnostic)`;
      lines.push(
        `| ${rt} | ${w} | ${name} | ${fmt(median(ks.map((s) => s.rps)))} | ${
          median(ks.map((s) => s.cpu)).toFixed(2)
        } | ${fmt(median(ks.map((s) => s.perCpu)))} |`,
      );
    }
  }
}
lines.push("", "### Framework / reference per server CPU-second", "");
lines.push("Median of per-round ratios, spread (min–max) in brackets; req/s ratio for comparison.", "");
lines.push(
  "| runtime | workload | rounds | vs raw per CPU-s | vs native per CPU-s | vs raw req/s | vs native req/s | goal per CPU-s | met |",
);
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
    const show = (xs: number[]) =>
      xs.length ? `${pct(median(xs))} (${pct(Math.min(...xs))}–${pct(Math.max(...xs))})` : "n/a";
    const rawCpu = ratio("raw", (s) => s.perCpu);
    const natCpu = ratio("native", (s) => s.perCpu);
    const goal = GOALS[rt][w] ?? {};
    const goals: string[] = [];
    const mets: string[] = [];
    for (const [ref, xs, name] of [["raw", rawCpu, RAW_NAME[rt]], ["native", natCpu, NATIVE_NAME[rt]]] as const) {
      const g = goal[ref];
      if (g === undefined) continue;
      goals.push(`≥ ${g}× ${name}`);
      mets.push(xs.length === 0 ? "not measured" : median(xs) >= g ? "**met**" : "**missed**");
    }
    lines.push(
      `| ${rt} | ${w} | ${rounds.length} | ${show(rawCpu)} | ${show(natCpu)} | ${show(ratio("raw", (s) => s.rps))} | ${
        show(ratio("native", (s) => s.rps))
      } | ${goals.join(" / ")} | ${mets.join(" / ")} |`,
    );
  }
}
const diagnostics = KINDS.filter((k) => k === "core" || k === "reuseport" || k === "netsocket");
if (diagnostics.length > 0) {
  lines.push("", "### Diagnostics per server CPU-second, relative to raw", "");
  lines.push(
    "core = a tcp:// Worker sending the hand-written response (the framework without the http protocol); reuseport = the framework with `reusePort = true` (Deno: --unstable-net, a native Deno.listen socket); netsocket = the Deno framework with a net.Socket per connection (WORKERMAN_DENO_NET_SOCKETS=1).",
    "",
  );
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
lines.push("", "### Every round: ratios per server CPU-second and the other load", "");
lines.push(
  "Each round measures the servers back to back (order rotated); a ratio is framework / reference within one round, so a bimodal " +
    `framework shows here as two groups. Other load = the most any measurement of the round saw of other processes' CPU (% of one core; above ${NOISE}% the round is noisy, repeated and left out of the medians unless all are).`,
  "",
);
const others = KINDS.filter((k) => k !== "framework");
lines.push(
  `| runtime | workload | round | ${KINDS.map((k) => `${k} per CPU-s`).join(" | ")} | ${
    others.map((k) => `framework / ${k}`).join(" | ")
  } | other load |`,
);
lines.push(`| --- | --- | ---: | ${[...KINDS, ...others].map(() => "---:").join(" | ")} | ---: |`);
for (const rt of RUNTIMES) {
  for (const w of WORKLOADS) {
    const rows = samples.filter((s) => s.runtime === rt && s.workload === w);
    for (const r of [...new Set(rows.map((x) => x.round))]) {
      const of = (k: Kind) => rows.find((x) => x.round === r && x.kind === k);
      const fw = of("framework");
      const rel = (k: Kind) => (fw && of(k) ? pct(fw.perCpu / of(k)!.perCpu) : "–");
      const inRound = rows.filter((x) => x.round === r);
      const other = Math.max(...inRound.map((x) => x.other));
      const noisy = inRound.some((x) => x.noisy);
      lines.push(
        `| ${rt} | ${w} | ${r}${noisy ? " (noisy)" : ""} | ${
          KINDS.map((k) => (of(k) ? fmt(of(k)!.perCpu) : "–")).join(" | ")
        } | ${others.map(rel).join(" | ")} | ${other.toFixed(0)}% |`,
      );
    }
  }
}
lines.push("", "<details><summary>Every measurement</summary>", "");
lines.push("| runtime | workload | round | server | req/s | server CPU | req per CPU-s | other CPU | errors |");
lines.push("| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | --- |");
for (const s of samples) {
  lines.push(
    `| ${s.runtime} | ${s.workload} | ${s.round}${s.noisy ? " (noisy)" : ""} | ${s.kind} | ${fmt(s.rps)} | ${
      s.cpu.toFixed(2)
    } | ${fmt(s.perCpu)} | ${s.other.toFixed(0)}% | ${s.errors} |`,
  );
}
lines.push("", "</details>");
const report = lines.join("\n");
console.log(report);

if (!opts["no-write"]) {
  writeSection("http", report);
  console.error(`wrote the HTTP section of ${RESULTS}`);
}
