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
import { join } from "node:path";
import WebSocket from "ws";
import {
  buildNpm,
  type Client,
  freePort,
  launchClient,
  launchServer,
  log,
  median,
  parseOptions,
  processTree,
  RUNNER_OPTIONS,
  runtimeCommand,
  runtimeVersions,
  sampleWindow,
  type Server,
  sleep,
  waitQuiet,
  withBenchLock,
  writeSection,
} from "../lib.ts";

const opts = parseOptions(import.meta.url, {
  ...RUNNER_OPTIONS,
  workloads: { type: "string", default: "broadcast,echo" },
  rounds: { type: "string", default: "3" },
  duration: { type: "string", default: "3" },
  ramp: { type: "string", default: "1" },
  conns: { type: "string", default: "10000" },
  depth: { type: "string", default: "4" },
  "echo-conns": { type: "string", default: "100" },
  "echo-depth": { type: "string", default: "8" },
  client: { type: "string", default: "bun" },
});

type RuntimeName = "node" | "deno" | "bun";
type Workload = "broadcast" | "echo";
type Kind = "gateway" | "plain";
const RUNTIMES = opts.runtimes.split(",") as RuntimeName[];
const WORKLOADS = opts.workloads.split(",") as Workload[];
const ROUNDS = Number(opts.rounds);
const DURATION = Number(opts.duration);
const RAMP = Number(opts.ramp);
const NOISE = Number(opts.noise);
const WAIT_QUIET = Number(opts["wait-quiet"]);

async function startServer(runtime: RuntimeName, kind: Kind, workload: Workload): Promise<Server> {
  const registerPort = await freePort();
  const script = `bench/gateway/servers/${kind === "gateway" ? "gateway" : "plain_ws"}.ts`;
  const env = {
    BENCH_MODE: workload,
    REGISTER_PORT: String(registerPort),
    PID_FILE: join("/tmp", `wm-bench-gateway-${kind}-${process.pid}.pid`),
  };
  // The banner also names the Register's text:// address: the clients' port is the websocket one.
  const address = /websocket:\/\/127\.0\.0\.1:(\d+)/;
  const server = await launchServer(
    `${runtime} ${kind} ${workload} server`,
    runtimeCommand(runtime, script, ["start"]),
    { env, ready: address, address },
  );
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
    if (Date.now() > deadline) {
      throw new Error(`${server.label} answers no WebSocket client:\n${server.out.text.slice(-2000)}`);
    }
    await sleep(200);
  }
}

/** The load client (bench/gateway/ws_client.ts), its connections open. */
function startClient(workload: Workload, port: number): Promise<Client> {
  const args = workload === "broadcast"
    ? ["broadcast", "--port", String(port), "--conns", opts.conns, "--depth", opts.depth]
    : ["echo", "--port", String(port), "--conns", opts["echo-conns"], "--depth", opts["echo-depth"]];
  const command = runtimeCommand(opts.client === "node" ? "node" : "bun", "bench/gateway/ws_client.ts", args);
  return launchClient(command, 120_000);
}

interface Sample {
  /** Frames per second over the window. */
  rate: number;
  /** Frames per server CPU-second. */
  perCpu: number;
  /** Server CPU (cores). */
  serverCpu: number;
  /** Client CPU (cores). */
  clientCpu: number;
  /** Busy CPU of everything else, in % of one core. */
  otherPct: number;
}

/** One measurement: start sending, ramp up, count frames over the window, pause and drain. */
async function measure(server: Server, client: Client): Promise<Sample> {
  const command = (c: string) => client.out.child.stdin!.write(`${c}\n`);
  command("g");
  await sleep(RAMP * 1000);
  const w = await sampleWindow(client, processTree(server.pid), () => sleep(DURATION * 1000));
  command("p");
  await sleep(1000);
  return { rate: w.msgs, perCpu: w.perCpu, serverCpu: w.serverCpu, clientCpu: w.clientCpu, otherPct: w.otherCpu };
}

const fmt = (
  x: number,
) => (x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : x >= 1e3 ? `${(x / 1e3).toFixed(1)}k` : x.toFixed(0));

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
      log(`  ${runtime} ${workload} ${kind}: ${clients[kind]!.ready.split(" ")[1]} clients connected`);
    }
    for (let round = 0; round < ROUNDS; round++) {
      await waitQuiet(WAIT_QUIET, NOISE);
      for (const kind of ["gateway", "plain"] as Kind[]) {
        const s = await measure(servers[kind]!, clients[kind]!);
        row.samples[kind].push(s);
        log(
          `  ${runtime} ${workload} round ${round + 1} ${kind}: ${fmt(s.rate)}/s, server CPU ${
            s.serverCpu.toFixed(2)
          } cores, client CPU ${s.clientCpu.toFixed(2)} cores, other CPU ${s.otherPct.toFixed(0)}%`,
        );
      }
    }
  } finally {
    for (const kind of ["gateway", "plain"] as Kind[]) {
      await clients[kind]?.quit();
      await servers[kind]?.stop();
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
    const clientCpu = (xs: Sample[]) => `${(100 * median(xs.map((s) => s.clientCpu))).toFixed(0)}%`;
    lines.push(
      `| ${r.runtime} | ${r.workload} (${unit[r.workload]}) | ${fmt(median(g.map((s) => s.rate)))} | ${
        fmt(median(p.map((s) => s.rate)))
      } | ` +
        `${median(ratios).toFixed(2)} (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}) | ` +
        `${fmt(perCpu(g))} | ${fmt(perCpu(p))} | ${(perCpu(g) / perCpu(p)).toFixed(2)} | ${clientCpu(g)} / ${
          clientCpu(p)
        } | ` +
        `${Math.max(...[...g, ...p].map((s) => s.otherPct)).toFixed(0)}% |`,
    );
  }
  return lines.join("\n");
}

async function main(): Promise<void> {
  if (!opts["no-build"] && (RUNTIMES.includes("node") || opts.client === "node")) buildNpm();
  const startedAt = new Date();
  const rows: Row[] = [];
  for (const runtime of RUNTIMES) {
    for (const workload of WORKLOADS) {
      rows.push(await withBenchLock(opts.lock, `gateway ${runtime} ${workload}`, () => runWorkload(runtime, workload)));
    }
  }
  const versions = runtimeVersions();
  const command = `npx tsx bench/gateway/run.ts ${process.argv.slice(2).join(" ")}`.trim();
  const section = [
    `## Gateway: run of ${startedAt.toISOString().replace("T", " ").slice(0, 19)} UTC`,
    "",
    `Command: \`${command}\`. Runtimes: ${
      RUNTIMES.map((r) => `${r} ${versions[r]}`).join(", ")
    }; load client: ${opts.client}.`,
    `broadcast: ${opts.conns} clients on one Gateway process (+ Register, one BusinessWorker), ${opts.depth} broadcasts in flight, 32-byte payload; ` +
    `reference: one plain \`websocket://\` process looping over its connections. echo: ${
      opts["echo-conns"]
    } clients × ${opts["echo-depth"]} ` +
    `messages of 32 bytes in flight, answered by the BusinessWorker with sendToCurrentClient; reference: a plain websocket echo process. ` +
    `Medians of ${ROUNDS} interleaved rounds of ${DURATION} s; server CPU = utime+stime of the whole server process tree.`,
    "",
    table(rows),
  ].join("\n");
  console.log(section);
  if (!opts["no-write"]) writeSection("gateway", section);
}

await main();
