/**
 * The WebSocket benchmark: on each runtime, in one invocation, the framework's `websocket://`
 * server (bench/ws/servers/framework.ts) against the runtime's own WebSocket server
 * (bench/ws/servers/native.ts: the `ws` package on Node, `Bun.serve` on Bun with `publish`,
 * `Deno.upgradeWebSocket` on Deno), both one process, loaded by bench/client.ts `--kind ws`:
 *
 * - `echo`: `--conns` connections × `--depth` text messages of `--size` bytes in flight:
 *   messages/s, messages per server CPU-second and the client's p99 round trip;
 * - `broadcast`: `--clients` connected clients; one of them keeps `--bcast-depth` messages in
 *   flight, each sent by the server to every client: deliveries/s and per server CPU-second;
 * - `memory`: RSS per idle WebSocket connection (handshake done) with `--idle-conns` open: once
 *   every connection is accepted and the RSS is steady (1–3 s after the last handshake, while
 *   V8's young generation still holds the accept burst), and settled, `--settle` seconds after
 *   the last handshake (what stays; the goal applies to this one; 0 skips it).
 *
 * Method (/work/shared/BENCHMARKING.md): servers measured interleaved (framework, native,
 * framework, native, ...) for `--rounds` rounds after a warm-up of each with every reply byte
 * checked; before each round the runner waits (up to `--wait-quiet` s) for other processes to
 * use less than `--noise` % of a core, a noisy round is repeated (up to `--extra-rounds`), and
 * medians use the quiet rounds (all rounds when fewer than two were quiet). Ratios are the
 * median of per-round ratios with their spread. Runners take turns through the lock of
 * bench/lib.ts.
 *
 * Output: markdown on stdout, and the section between `<!-- bench:ws:start -->` and
 * `<!-- bench:ws:end -->` in bench/RESULTS.md (appended if missing; nothing else is touched).
 *
 * Usage: npm run bench:ws -- [--runtimes node,deno,bun] [--workloads echo,broadcast,memory]
 *        [--rounds 3] [--duration 3] [--warmup 1] [--conns 100] [--depth 8] [--size 32]
 *        [--clients 1000] [--bcast-depth 4] [--idle-conns 5000] [--settle 30] [--client bun|node] [--no-build] [--no-write]
 */
import {
  buildNpm,
  type Client,
  fmtRate,
  idleMemory,
  kb,
  launchClient,
  launchServer,
  listOption,
  log,
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
  type Window,
  withBenchLock,
  writeSection,
} from "../lib.ts";

const opts = parseOptions(import.meta.url, {
  ...RUNNER_OPTIONS,
  workloads: { type: "string", default: "echo,broadcast,memory" },
  rounds: { type: "string", default: "3" },
  duration: { type: "string", default: "3" },
  warmup: { type: "string", default: "1" },
  ramp: { type: "string", default: "0.5" },
  conns: { type: "string", default: "100" },
  depth: { type: "string", default: "8" },
  size: { type: "string", default: "32" },
  clients: { type: "string", default: "1000" },
  "bcast-depth": { type: "string", default: "4" },
  "idle-conns": { type: "string", default: "5000" },
  settle: { type: "string", default: "30" },
  client: { type: "string", default: "bun" },
  "wait-quiet": { type: "string", default: "30" },
  "extra-rounds": { type: "string", default: "2" },
  "no-lock": { type: "boolean", default: false },
});

type RuntimeName = "node" | "deno" | "bun";
type Kind = "framework" | "native";
type LoadWorkload = "echo" | "broadcast";

const RUNTIMES = listOption<RuntimeName>(opts.runtimes, ["node", "deno", "bun"], "runtime");
const WORKLOADS = listOption(opts.workloads, ["echo", "broadcast", "memory"], "workload");
const ROUNDS = Math.max(1, Number(opts.rounds));
const DURATION = Number(opts.duration);
const WARMUP = Number(opts.warmup);
const RAMP = Number(opts.ramp);
const NOISE = Number(opts.noise);
const WAIT_QUIET = Number(opts["wait-quiet"]);
const EXTRA_ROUNDS = Number(opts["extra-rounds"]);
const IDLE_CONNS = Number(opts["idle-conns"]);
const SETTLE = Number(opts.settle);
const LOCK = opts["no-lock"] ? "" : opts.lock!;
const CLIENT = opts.client === "node" ? "node" : "bun";

const NATIVE: Record<RuntimeName, string> = { node: "ws", deno: "Deno.upgradeWebSocket", bun: "Bun.serve" };
// Anchors measured on this machine (BENCHMARKING.md / issue 5) and the goals of the issue.
const WORKERMAN = { echo: 154_000, broadcast: 164_000, memoryKb: 4.1 };
const GOAL_VS_NATIVE: Record<RuntimeName, number> = { node: 1.5, deno: 1, bun: 0.5 };
const GOAL_MEMORY_KB: Record<RuntimeName, number> = { node: 4.1, deno: 12, bun: 2 };

/** Client arguments of a workload (without `--check`). */
function clientArgs(workload: LoadWorkload | "idle", port: number, conns?: number): string[] {
  const base = ["--kind", "ws", "--port", String(port), "--size", String(opts.size)];
  if (workload === "idle") return ["idle", ...base, "--conns", String(conns)];
  if (workload === "echo") return ["load", ...base, "--conns", String(opts.conns), "--depth", String(opts.depth)];
  return [
    "load",
    ...base,
    "--broadcast",
    "--conns",
    String(opts.clients),
    "--depth",
    String(opts["bcast-depth"]),
    "--concurrency",
    "64",
  ];
}

function startClient(args: string[], readyTimeoutMs = 60_000): Promise<Client> {
  return launchClient(runtimeCommand(CLIENT, "bench/client.ts", args), readyTimeoutMs);
}

function startServer(runtime: RuntimeName, kind: Kind): Promise<Server> {
  const label = `${runtime} ${kind === "framework" ? "framework" : NATIVE[runtime]} websocket server`;
  return launchServer(
    label,
    runtimeCommand(runtime, `bench/ws/servers/${kind}.ts`, kind === "framework" ? ["start"] : []),
  );
}

async function measure(server: Server, workload: LoadWorkload, seconds: number, check: boolean): Promise<Window<void>> {
  const client = await startClient([...clientArgs(workload, server.port), ...(check ? ["--check"] : [])]);
  try {
    await sleep(RAMP * 1000);
    return await sampleWindow(client, processTree(server.pid), async () => {
      await sleep(seconds * 1000);
    });
  } finally {
    await client.quit();
  }
}

// ---- results ------------------------------------------------------------------------------------
interface Round {
  round: number;
  fw: Window<void>;
  native: Window<void>;
  noisy: boolean;
}
interface LoadResult {
  runtime: RuntimeName;
  workload: LoadWorkload;
  rounds: Round[];
  error?: string;
}
interface MemResult {
  runtime: RuntimeName;
  fw: MemSample[];
  native: MemSample[];
  error?: string;
}
const loadResults: LoadResult[] = [];
const memResults: MemResult[] = [];

function usedRounds(r: LoadResult): Round[] {
  const quiet = r.rounds.filter((p) => !p.noisy);
  return quiet.length >= Math.min(ROUNDS, 2) ? quiet : r.rounds;
}

async function runLoad(runtime: RuntimeName, workloads: LoadWorkload[]): Promise<void> {
  const results = workloads.map((workload): LoadResult => ({ runtime, workload, rounds: [] }));
  loadResults.push(...results);
  let fw: Server | null = null;
  let native: Server | null = null;
  try {
    fw = await startServer(runtime, "framework");
    native = await startServer(runtime, "native");
    log(`  ${runtime}: warming up (framework on ${fw.port}, ${NATIVE[runtime]} on ${native.port})`);
    for (const w of workloads) {
      await measure(fw, w, WARMUP, true);
      await measure(native, w, WARMUP, true);
    }
    for (const result of results) {
      await quietRounds(ROUNDS, EXTRA_ROUNDS, async (round) => {
        await waitQuiet(WAIT_QUIET, NOISE);
        const a = await measure(fw!, result.workload, DURATION, false);
        const b = await measure(native!, result.workload, DURATION, false);
        const noisy = a.otherCpu > NOISE || b.otherCpu > NOISE;
        result.rounds.push({ round, fw: a, native: b, noisy });
        log(
          `  ${runtime} ${result.workload} round ${round}: framework ${fmtRate(a.msgs)} (${
            fmtRate(a.perCpu)
          }/CPU-s), ` +
            `${NATIVE[runtime]} ${fmtRate(b.msgs)} (${fmtRate(b.perCpu)}/CPU-s), ratio ${
              pct(a.msgs / b.msgs)
            } (per CPU-s ${pct(a.perCpu / b.perCpu)}), ` +
            `other CPU ${a.otherCpu.toFixed(1)}%/${b.otherCpu.toFixed(1)}%${noisy ? " NOISY" : ""}`,
        );
        return noisy;
      });
    }
  } catch (err) {
    for (const r of results) r.error ??= (err as Error).message;
    log(`  ${runtime}: FAILED ${(err as Error).message.split("\n")[0]}`);
  } finally {
    await fw?.stop();
    await native?.stop();
  }
}

async function measureIdle(runtime: RuntimeName, kind: Kind): Promise<MemSample> {
  const s = await startServer(runtime, kind);
  try {
    return await idleMemory(s, (conns) => startClient(clientArgs("idle", s.port, conns), 120_000), IDLE_CONNS, SETTLE);
  } finally {
    await s.stop();
  }
}

async function runMemory(runtime: RuntimeName): Promise<void> {
  const result: MemResult = { runtime, fw: [], native: [] };
  memResults.push(result);
  const measure = (framework: boolean) => measureIdle(runtime, framework ? "framework" : "native");
  result.error = await memoryRounds(
    runtime,
    NATIVE[runtime],
    ROUNDS,
    [WAIT_QUIET, NOISE],
    measure,
    result.fw,
    result.native,
  );
}

// ---- report -------------------------------------------------------------------------------------
const spread = (xs: number[]) => `${pct(minOf(xs))}–${pct(maxOf(xs))}`;
const ms = (x: number) => (Number.isFinite(x) ? `${x.toFixed(2)} ms` : "–");

function tables(): string {
  const out: string[] = [];
  const load = loadResults.filter((r) => !r.error);
  if (load.length > 0) {
    out.push(
      "| runtime | workload | rounds used | framework msgs/s | native msgs/s | ratio (spread) | framework per CPU-s | native per CPU-s | per-CPU ratio (spread) | p99 framework / native | goal vs native | vs Workerman |",
      "| --- | --- | ---: | ---: | ---: | --- | ---: | ---: | --- | --- | --- | --- |",
    );
    for (const r of load) {
      const rounds = usedRounds(r);
      const ratio = rounds.map((p) => p.fw.msgs / p.native.msgs);
      const ratioCpu = rounds.map((p) => p.fw.perCpu / p.native.perCpu);
      const fwMsgs = median(rounds.map((p) => p.fw.msgs));
      const p99 = r.workload === "echo"
        ? `${ms(median(rounds.map((p) => p.fw.p99)))} / ${ms(median(rounds.map((p) => p.native.p99)))}`
        : "–";
      const goal = GOAL_VS_NATIVE[r.runtime];
      out.push(
        `| ${r.runtime} | ${r.workload} | ${rounds.length}/${r.rounds.length} | ${fmtRate(fwMsgs)} | ` +
          `${fmtRate(median(rounds.map((p) => p.native.msgs)))} (${NATIVE[r.runtime]}) | ${pct(median(ratio))} (${
            spread(ratio)
          }) | ` +
          `${fmtRate(median(rounds.map((p) => p.fw.perCpu)))} | ${
            fmtRate(median(rounds.map((p) => p.native.perCpu)))
          } | ` +
          `${pct(median(ratioCpu))} (${spread(ratioCpu)}) | ${p99} | ≥ ${pct(goal)}: ${
            median(ratio) >= goal ? "met" : "missed"
          } | ` +
          `${pct(fwMsgs / WORKERMAN[r.workload])} of ${fmtRate(WORKERMAN[r.workload])} |`,
      );
    }
  }
  const mem = memResults.filter((r) => !r.error);
  if (mem.length > 0) {
    out.push(
      "",
      `Idle WebSocket connections (${IDLE_CONNS} open, handshake done), RSS of the server's process tree per connection over its RSS before, ` +
        `median of ${ROUNDS} rounds: "steady" once every connection is accepted and the RSS stops moving (1–3 s after the last handshake), ` +
        `"settled" ${SETTLE} s after the last handshake, connections still open (what stays; the goal is for this one). Per round in brackets.`,
      "",
      "| runtime | framework steady | framework settled | native steady | native settled | goal (settled) | goal met |",
      "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    );
    const each = (xs: MemSample[], f: (m: MemSample) => number) =>
      `${kb(median(xs.map(f)))} (${xs.map((m) => (f(m) / 1024).toFixed(2)).join(", ")})`;
    for (const r of mem) {
      const settled = median(r.fw.map((s) => s.perConnSettled));
      const goal = GOAL_MEMORY_KB[r.runtime];
      out.push(
        `| ${r.runtime} | ${each(r.fw, (m) => m.perConn)} | ${each(r.fw, (m) => m.perConnSettled)} | ${
          each(r.native, (m) => m.perConn)
        } | ` +
          `${each(r.native, (m) => m.perConnSettled)} (${NATIVE[r.runtime]}) | ≤ ${goal} KB | ${
            Number.isFinite(settled) ? (settled / 1024 <= goal ? "met" : "missed") : "not measured"
          } |`,
      );
    }
  }
  for (const r of [...loadResults, ...memResults]) {
    if (r.error) {
      out.push("", `- ${r.runtime} ${"workload" in r ? r.workload : "memory"} failed: ${r.error.split("\n")[0]}`);
    }
  }
  return out.join("\n");
}

function roundTable(): string {
  const out = [
    "| runtime | workload | round | server | msgs/s | server CPU | per CPU-s | client CPU | p99 | other CPU | framework / native per CPU-s |",
    "| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const r of loadResults) {
    for (const p of r.rounds) {
      for (const [name, w] of [["framework", p.fw], [NATIVE[r.runtime], p.native]] as const) {
        out.push(
          `| ${r.runtime} | ${r.workload} | ${p.round}${p.noisy ? " (noisy)" : ""} | ${name} | ${fmtRate(w.msgs)} | ${
            w.serverCpu.toFixed(2)
          } | ` +
            `${fmtRate(w.perCpu)} | ${w.clientCpu.toFixed(2)} | ${r.workload === "echo" ? ms(w.p99) : "–"} | ${
              w.otherCpu.toFixed(1)
            }% | ` +
            `${w === p.fw ? pct(p.fw.perCpu / p.native.perCpu) : ""} |`,
        );
      }
    }
  }
  return out.join("\n");
}

async function main(): Promise<void> {
  const started = new Date();
  const t0 = performance.now();
  const command = `npm run bench:ws${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`;
  if ((RUNTIMES.includes("node") || CLIENT === "node") && !opts["no-build"]) buildNpm();
  log("checking that the machine is quiet (2 s) ...");
  const quiet = await quietCheck(2);
  log(
    `  other processes: ${quiet.pct.toFixed(1)}% of one core${
      quiet.top.length ? `; top: ${quiet.top.join(" | ")}` : ""
    }`,
  );
  const loads = WORKLOADS.filter((w): w is LoadWorkload => w === "echo" || w === "broadcast");
  for (const runtime of RUNTIMES) {
    log(`== ${runtime}`);
    if (loads.length > 0) await withBenchLock(LOCK, `ws ${runtime} ${loads.join(",")}`, () => runLoad(runtime, loads));
    if (WORKLOADS.includes("memory")) await withBenchLock(LOCK, `ws ${runtime} memory`, () => runMemory(runtime));
  }
  const commit = versionOf("git", ["-C", ROOT, "rev-parse", "--short", "HEAD"]);
  const versions = runtimeVersions();
  const header = [
    `## WebSocket: run of ${started.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC")}`,
    "",
    `- Command: \`${command}\` (${((performance.now() - t0) / 1000).toFixed(0)} s), commit ${commit}`,
    `- Runtimes: Node ${versions.node}, Deno ${versions.deno}, Bun ${versions.bun}; load client bench/client.ts --kind ws on ${CLIENT}`,
    `- Echo: ${opts.conns} connections × ${opts.depth} text messages of ${opts.size} B in flight; broadcast: ${opts.clients} clients, ` +
    `one keeps ${opts["bcast-depth"]} messages in flight, each delivered to all (msgs/s = deliveries/s). ` +
    `${ROUNDS} interleaved rounds of ${DURATION} s (framework, native, …) after a checked warm-up; one server process each ` +
    "(the framework: master + one worker, CPU and RSS summed over the tree).",
    `- Quiet check before the run: other processes used ${quiet.pct.toFixed(1)}% of one core` +
    (quiet.top.length ? ` (top: ${quiet.top.slice(0, 2).join("; ")})` : "") +
    `; rounds where other processes used more than ${NOISE}% are marked noisy and left out of the medians when two quiet ones remain.`,
  ].join("\n");
  const section = `${header}\n\n${tables()}\n\n### Every round\n\n${roundTable()}`;
  console.log(section);
  if (!opts["no-write"]) {
    writeSection("ws", section);
    log(`wrote ${RESULTS}`);
  }
}

await main();
process.exit(0);
