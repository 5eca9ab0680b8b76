/**
 * Gateway benchmarks, on each runtime (node, deno, bun), in one invocation:
 *
 * - `broadcast`: `--conns` (10,000) WebSocket clients on one Gateway process; one of them
 *   keeps `--depth` triggers in flight, and for each the BusinessWorker calls
 *   `Gateway.sendToAll` with a 32-byte payload. Reported: deliveries (frames received by all
 *   clients) per second.
 * - `echo`: `--echo-conns` clients keep `--echo-depth` 32-byte messages each in flight; the
 *   BusinessWorker answers each with `Gateway.sendToCurrentClient`. Reported: round trips
 *   per second through Gateway + BusinessWorker (a Register beside them).
 *
 * There is no reference server for the Gateway model; the reference is the framework's own
 * plain `websocket://` Worker in one process doing the same (loop over its connections /
 * `conn.send` back), measured interleaved with the gateway round by round (gateway, plain,
 * gateway, plain, ...) for `--rounds` rounds of `--duration` seconds after `--ramp` seconds.
 * Both servers and both load clients (bench/gateway/ws_client.ts) stay up for all rounds of
 * a workload, so 10,000 connections are made once per server. Server CPU is utime+stime of
 * the server's whole process tree (master, Register, Gateway, BusinessWorker) over the window;
 * "other CPU" is what the rest of the machine used meanwhile (% of one core).
 *
 * Output: markdown tables on stdout and in bench/RESULTS.md between the gateway markers.
 *
 * Usage: npx tsx bench/gateway/run.ts [--runtimes node,deno,bun] [--workloads broadcast,echo]
 *   [--rounds 3] [--duration 3] [--ramp 1] [--conns 10000] [--depth 4] [--echo-conns 100]
 *   [--echo-depth 8] [--client bun|node] [--noise 10] [--wait-quiet 20] [--lock PATH] [--no-build] [--no-write]
 *
 * Before each round it waits (up to `--wait-quiet` s) for the rest of the machine to use less
 * than `--noise` % of a core, and it measures only while holding the benchmark lock that
 * bench/run.ts also takes, so cooperating runners do not overlap.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import WebSocket from "ws";
import { freePorts } from "../../test/helpers/ports.ts";
import { machineBusy, processTree, procCpu, sumOver, waitForQuiet, withLock } from "../proc.ts";

const ROOT = join(import.meta.dirname, "..", "..");
const BIN = join(ROOT, "node_modules", ".bin");
const RESULTS = join(ROOT, "bench", "RESULTS.md");
const START = "<!-- bench:gateway:start -->";
const END = "<!-- bench:gateway:end -->";

const { values: opts } = parseArgs({
  options: {
    runtimes: { type: "string", default: "node,deno,bun" },
    workloads: { type: "string", default: "broadcast,echo" },
    rounds: { type: "string", default: "3" },
    duration: { type: "string", default: "3" },
    ramp: { type: "string", default: "1" },
    conns: { type: "string", default: "10000" },
    depth: { type: "string", default: "4" },
    "echo-conns": { type: "string", default: "100" },
    "echo-depth": { type: "string", default: "8" },
    client: { type: "string", default: "bun" },
    noise: { type: "string", default: "10" },
    "wait-quiet": { type: "string", default: "20" },
    lock: { type: "string", default: "/tmp/workerman-ts-bench.lock" },
    "no-build": { type: "boolean", default: false },
    "no-write": { type: "boolean", default: false },
  },
});

type RuntimeName = "node" | "deno" | "bun";
type Workload = "broadcast" | "echo";
type Kind = "gateway" | "plain";
const RUNTIMES = opts.runtimes!.split(",") as RuntimeName[];
const WORKLOADS = opts.workloads!.split(",") as Workload[];
const ROUNDS = Number(opts.rounds);
const DURATION = Number(opts.duration);
const RAMP = Number(opts.ramp);
const NOISE = Number(opts.noise);
const WAIT_QUIET = Number(opts["wait-quiet"]);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (line: string) => process.stderr.write(`${line}\n`);

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

/** A child started through bash with the open-file limit raised (10,000 sockets each side). */
class Child {
  text = "";
  exited: number | string | null = null;
  readonly proc: ChildProcess;
  readonly label: string;
  private waiters = new Set<() => void>();

  constructor(label: string, cmd: string, args: string[], env: Record<string, string> = {}) {
    this.label = label;
    this.proc = spawn("bash", ["-c", 'ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$@"', "bash", cmd, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env, NO_COLOR: "1" },
      stdio: ["pipe", "pipe", "pipe"],
    });
    live.add(this.proc);
    const add = (chunk: Buffer) => {
      this.text += chunk.toString();
      if (this.text.length > 1e6) this.text = this.text.slice(-5e5);
      for (const w of this.waiters) w();
    };
    this.proc.stdout!.on("data", add);
    this.proc.stderr!.on("data", add);
    this.proc.on("exit", (code, signal) => {
      live.delete(this.proc);
      this.exited = code ?? signal ?? -1;
      for (const w of this.waiters) w();
    });
  }

  /** Waits for `pattern` in the output after position `from`; returns the match and where it ends. */
  wait(pattern: RegExp, timeoutMs: number, from = 0): Promise<{ m: RegExpMatchArray; end: number }> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const m = this.text.slice(from).match(pattern);
        if (m) {
          done();
          resolve({ m, end: from + m.index! + m[0].length });
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

  /** SIGINT, SIGKILL after 5 s, then SIGKILL whatever of its tree is left. */
  async stop(): Promise<void> {
    const tree = this.proc.pid ? processTree(this.proc.pid) : [];
    if (this.exited === null) {
      this.proc.kill("SIGINT");
      const t = setTimeout(() => this.proc.kill("SIGKILL"), 5000);
      await new Promise((r) => (this.exited !== null ? r(null) : this.proc.once("exit", r)));
      clearTimeout(t);
    }
    for (const pid of tree) {
      try {
        process.kill(pid, "SIGKILL");
      } catch { /* exited */ }
    }
  }
}

function serverCommand(runtime: RuntimeName, kind: Kind): [string, string[]] {
  const script = kind === "gateway" ? "gateway" : "plain_ws";
  switch (runtime) {
    case "node":
      return [process.execPath, [join(ROOT, "npm", "esm", "bench", "gateway", "servers", `${script}.js`), "start"]];
    case "deno":
      return [join(BIN, "deno"), ["run", "-A", `--config=${join(ROOT, "deno.json")}`, join(ROOT, "bench", "gateway", "servers", `${script}.ts`), "start"]];
    case "bun":
      return [join(BIN, "bun"), [join(ROOT, "bench", "gateway", "servers", `${script}.ts`), "start"]];
  }
}

interface Server {
  child: Child;
  port: number;
}

async function startServer(runtime: RuntimeName, kind: Kind, workload: Workload): Promise<Server> {
  const [registerPort] = await freePorts(1);
  const env = {
    BENCH_MODE: workload,
    REGISTER_PORT: String(registerPort),
    PID_FILE: join("/tmp", `wm-bench-gateway-${kind}-${process.pid}.pid`),
  };
  const child = new Child(`${runtime} ${kind} ${workload} server`, ...serverCommand(runtime, kind), env);
  await child.wait(/Start success\./, 30_000);
  const { m } = await child.wait(/websocket:\/\/127\.0\.0\.1:(\d+)/, 1000);
  const server = { child, port: Number(m[1]) };
  await untilServing(server, workload);
  return server;
}

/**
 * Resolves once a fresh WebSocket client gets an answer: for the gateway, that means a
 * BusinessWorker has connected (clients arriving before that are closed by the Gateway).
 */
async function untilServing(server: Server, workload: Workload): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const answered = await new Promise<boolean>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${server.port}/`);
      const timer = setTimeout(() => finish(false), 1000);
      const finish = (ok: boolean) => {
        clearTimeout(timer);
        ws.terminate();
        resolve(ok);
      };
      ws.on("open", () => ws.send(workload === "echo" ? "probe" : "b"));
      ws.on("message", () => finish(true));
      ws.on("error", () => finish(false));
      ws.on("close", () => finish(false));
    });
    if (answered) return;
    if (Date.now() > deadline) throw new Error(`${server.child.label} answers no WebSocket client:\n${server.child.text.slice(-2000)}`);
    await sleep(200);
  }
}

interface Client {
  child: Child;
  pos: number;
}

async function startClient(workload: Workload, port: number): Promise<Client> {
  const args = workload === "broadcast"
    ? ["broadcast", "--port", String(port), "--conns", opts.conns!, "--depth", opts.depth!]
    : ["echo", "--port", String(port), "--conns", opts["echo-conns"]!, "--depth", opts["echo-depth"]!];
  const [cmd, argv]: [string, string[]] = opts.client === "node"
    ? [process.execPath, [join(ROOT, "npm", "esm", "bench", "gateway", "ws_client.js"), ...args]]
    : [join(BIN, "bun"), [join(ROOT, "bench", "gateway", "ws_client.ts"), ...args]];
  const child = new Child(`${workload} client`, cmd, argv);
  const { end } = await child.wait(/READY \d+\n/, 120_000);
  return { child, pos: end };
}

async function mark(client: Client): Promise<{ frames: number; ms: number }> {
  client.child.proc.stdin!.write("m\n");
  const { m, end } = await client.child.wait(/M (\d+) ([\d.]+)\n/, 5000, client.pos);
  client.pos = end;
  return { frames: Number(m[1]), ms: Number(m[2]) };
}

interface Sample {
  /** Frames per second over the window. */
  rate: number;
  /** Frames per server CPU-second. */
  perCpu: number;
  serverCpu: number;
  clientCpu: number;
  otherPct: number;
}

/** One measurement: start sending, ramp up, count frames over the window, pause and drain. */
async function measure(server: Server, client: Client): Promise<Sample> {
  const serverPids = processTree(server.child.proc.pid!);
  const clientPid = client.child.proc.pid!;
  client.child.proc.stdin!.write("g\n");
  await sleep(RAMP * 1000);
  const a = await mark(client);
  const s0 = sumOver(serverPids, procCpu);
  const c0 = procCpu(clientPid);
  const b0 = machineBusy();
  await sleep(DURATION * 1000);
  const b = await mark(client);
  const s1 = sumOver(serverPids, procCpu);
  const c1 = procCpu(clientPid);
  const b1 = machineBusy();
  client.child.proc.stdin!.write("p\n");
  await sleep(1000);
  const seconds = (b.ms - a.ms) / 1000;
  const serverCpu = s1 - s0;
  const clientCpu = c1 - c0;
  return {
    rate: (b.frames - a.frames) / seconds,
    perCpu: (b.frames - a.frames) / serverCpu,
    serverCpu,
    clientCpu,
    otherPct: (100 * Math.max(0, b1 - b0 - serverCpu - clientCpu)) / seconds,
  };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((p, q) => p - q);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};
const fmt = (x: number) => (x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : x >= 1e3 ? `${(x / 1e3).toFixed(1)}k` : x.toFixed(0));

interface Row {
  runtime: RuntimeName;
  workload: Workload;
  samples: Record<Kind, Sample[]>;
}

async function runWorkload(runtime: RuntimeName, workload: Workload): Promise<Row> {
  const row: Row = { runtime, workload, samples: { gateway: [], plain: [] } };
  const servers: Partial<Record<Kind, Server>> = {};
  const clients: Partial<Record<Kind, Client>> = {};
  try {
    for (const kind of ["gateway", "plain"] as Kind[]) {
      servers[kind] = await startServer(runtime, kind, workload);
      clients[kind] = await startClient(workload, servers[kind]!.port);
      log(`  ${runtime} ${workload} ${kind}: ${clients[kind]!.child.text.match(/READY (\d+)/)![1]} clients connected`);
    }
    const ours = () => [...live].flatMap((c) => (c.pid ? processTree(c.pid) : []));
    for (let round = 0; round < ROUNDS; round++) {
      await waitForQuiet(WAIT_QUIET, NOISE, ours, log);
      for (const kind of ["gateway", "plain"] as Kind[]) {
        const s = await measure(servers[kind]!, clients[kind]!);
        row.samples[kind].push(s);
        log(`  ${runtime} ${workload} round ${round + 1} ${kind}: ${fmt(s.rate)}/s, server CPU ${s.serverCpu.toFixed(2)} s, client CPU ${s.clientCpu.toFixed(2)} s, other CPU ${s.otherPct.toFixed(0)}%`);
      }
    }
  } finally {
    for (const kind of ["gateway", "plain"] as Kind[]) {
      clients[kind]?.child.proc.stdin!.write("q\n");
      await clients[kind]?.child.stop();
      await servers[kind]?.child.stop();
    }
  }
  return row;
}

function table(rows: Row[]): string {
  const unit: Record<Workload, string> = { broadcast: "deliveries/s", echo: "round trips/s" };
  const lines = [
    "| runtime | workload | gateway | plain websocket | gateway / plain (min–max) | gateway per server CPU-s | plain per server CPU-s | per CPU-s ratio | client CPU (gateway / plain) | other CPU (max) |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const r of rows) {
    const g = r.samples.gateway;
    const p = r.samples.plain;
    const ratios = g.map((s, i) => s.rate / p[i].rate);
    const perCpu = (xs: Sample[]) => median(xs.map((s) => s.perCpu));
    const clientCpu = (xs: Sample[]) => `${(100 * median(xs.map((s) => s.clientCpu)) / DURATION).toFixed(0)}%`;
    lines.push(
      `| ${r.runtime} | ${r.workload} (${unit[r.workload]}) | ${fmt(median(g.map((s) => s.rate)))} | ${fmt(median(p.map((s) => s.rate)))} | ` +
        `${median(ratios).toFixed(2)} (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}) | ` +
        `${fmt(perCpu(g))} | ${fmt(perCpu(p))} | ${(perCpu(g) / perCpu(p)).toFixed(2)} | ${clientCpu(g)} / ${clientCpu(p)} | ` +
        `${Math.max(...[...g, ...p].map((s) => s.otherPct)).toFixed(0)}% |`,
    );
  }
  return lines.join("\n");
}

function versionOf(runtime: RuntimeName): string {
  const cmd = runtime === "node" ? process.execPath : join(BIN, runtime);
  return execFileSync(cmd, ["--version"], { encoding: "utf8" }).split("\n")[0].trim();
}

async function main(): Promise<void> {
  if (!opts["no-build"] && RUNTIMES.includes("node")) execFileSync("npm", ["run", "build"], { cwd: ROOT, stdio: "inherit" });
  const startedAt = new Date();
  const rows: Row[] = [];
  for (const runtime of RUNTIMES) {
    for (const workload of WORKLOADS) rows.push(await withLock(opts.lock!, `gateway ${runtime} ${workload}`, () => runWorkload(runtime, workload), log));
  }
  const command = `npx tsx bench/gateway/run.ts ${process.argv.slice(2).join(" ")}`.trim();
  const section = [
    START,
    `## Gateway: run of ${startedAt.toISOString().replace("T", " ").slice(0, 19)} UTC`,
    "",
    `Command: \`${command}\`. Runtimes: ${RUNTIMES.map((r) => `${r} ${versionOf(r)}`).join(", ")}; load client: ${opts.client}.`,
    `broadcast: ${opts.conns} clients on one Gateway process (+ Register, one BusinessWorker), ${opts.depth} broadcasts in flight, 32-byte payload; ` +
      `reference: one plain \`websocket://\` process looping over its connections. echo: ${opts["echo-conns"]} clients × ${opts["echo-depth"]} ` +
      `messages of 32 bytes in flight, answered by the BusinessWorker with sendToCurrentClient; reference: a plain websocket echo process. ` +
      `Medians of ${ROUNDS} interleaved rounds of ${DURATION} s; server CPU = utime+stime of the whole server process tree.`,
    "",
    table(rows),
    END,
  ].join("\n");
  console.log(section);
  if (opts["no-write"]) return;
  const old = existsSync(RESULTS) ? readFileSync(RESULTS, "utf8") : "";
  const a = old.indexOf(START);
  const b = old.indexOf(END);
  const next = a !== -1 && b !== -1 ? old.slice(0, a) + section + old.slice(b + END.length) : `${old.trimEnd()}\n\n${section}\n`;
  writeFileSync(RESULTS, next);
}

await main();
