/**
 * How the RSS of idle WebSocket connections on Node evolves over time: the framework's
 * `websocket://` server (bench/ws/servers/framework.ts), the `ws` package
 * (bench/ws/servers/native.ts) and the floor, plain `node:net` (bench/ws/servers/raw_node.ts)
 * after one handshake read and write per connection, and with no byte exchanged at all.
 *
 * Each server, `--rounds` times: after a warm-up of 100 idle connections, `--idle-conns`
 * connections are opened by bench/client.ts `idle` (`--kind ws`, or `--kind tcp` for the
 * silent floor) and the RSS of the server's process tree is sampled every second for
 * `--seconds` seconds; the table shows the RSS per connection over the baseline at a few of
 * those seconds, every round (V8 gives its grown young generation back at a moment of its own
 * choosing, so rounds differ and a median would hide it). The idle memory of bench/ws/run.ts
 * is taken about 1–3 s after the last connection is accepted.
 *
 * Output: markdown on stdout (nothing is written to bench/RESULTS.md).
 *
 * Usage: npx tsx bench/ws/floor.ts [--idle-conns 5000] [--seconds 30] [--rounds 2] [--no-build]
 */
import {
  buildNpm,
  type Client,
  launchClient,
  launchServer,
  log,
  parseOptions,
  processTree,
  rssBytes,
  runtimeCommand,
  type Server,
  sleep,
  sumOver,
  withBenchLock,
} from "../lib.ts";

const opts = parseOptions(import.meta.url, {
  "idle-conns": { type: "string", default: "5000" },
  seconds: { type: "string", default: "30" },
  rounds: { type: "string", default: "2" },
  lock: { type: "string", default: "/tmp/workerman-ts-bench.lock" },
  "no-build": { type: "boolean", default: false },
});
const CONNS = Number(opts["idle-conns"]);
const SECONDS = Math.max(3, Number(opts.seconds));
const ROUNDS = Math.max(1, Number(opts.rounds));
/** The seconds shown in the table (the last one: the end of the sampling). */
const SHOWN = [...new Set([1, 3, 10, 15, 20, SECONDS].filter((s) => s <= SECONDS))];

interface Subject {
  label: string;
  script: string;
  args: string[];
  /** What the idle client speaks: a WebSocket handshake, or nothing at all. */
  kind: "ws" | "tcp";
}
const SUBJECTS: Subject[] = [
  { label: "node:net, no byte exchanged", script: "bench/ws/servers/raw_node.ts", args: ["silent"], kind: "tcp" },
  {
    label: "node:net, one handshake read and write",
    script: "bench/ws/servers/raw_node.ts",
    args: ["handshake"],
    kind: "ws",
  },
  { label: "framework websocket://", script: "bench/ws/servers/framework.ts", args: ["start"], kind: "ws" },
  { label: "ws package", script: "bench/ws/servers/native.ts", args: [], kind: "ws" },
];

function openIdle(kind: Subject["kind"], port: number, conns: number): Promise<Client> {
  const args = ["idle", "--kind", kind, "--port", String(port), "--size", "32", "--conns", String(conns)];
  return launchClient(runtimeCommand("bun", "bench/client.ts", args), 120_000);
}

/** RSS per connection over the baseline, one sample per second (index 0 = 1 s after all are open). */
async function timeline(subject: Subject): Promise<number[]> {
  const server: Server = await launchServer(subject.label, runtimeCommand("node", subject.script, subject.args));
  try {
    const warm = await openIdle(subject.kind, server.port, 100);
    await warm.quit();
    await sleep(700);
    const pids = processTree(server.pid);
    const rss = () => sumOver(pids, rssBytes);
    const before = rss();
    const client = await openIdle(subject.kind, server.port, CONNS);
    try {
      const opened = Number(client.ready.split(" ")[1]);
      if (opened < CONNS) throw new Error(`${subject.label}: only ${opened} of ${CONNS} connections opened`);
      const perConn: number[] = [];
      for (let s = 1; s <= SECONDS; s++) {
        await sleep(1000);
        perConn.push((rss() - before) / CONNS);
      }
      return perConn;
    } finally {
      await client.quit();
    }
  } finally {
    await server.stop();
  }
}

async function main(): Promise<void> {
  if (!opts["no-build"]) buildNpm();
  const rows: string[] = [];
  for (const subject of SUBJECTS) {
    const rounds: number[][] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const perConn = await withBenchLock(opts.lock!, `ws floor ${subject.label}`, () => timeline(subject));
      log(`  ${subject.label} round ${round}: ${perConn.map((b) => (b / 1024).toFixed(2)).join(" ")} KB/conn`);
      rounds.push(perConn);
    }
    const at = (s: number) => rounds.map((r) => (r[s - 1] / 1024).toFixed(2)).join(" / ");
    rows.push(`| ${subject.label} | ${SHOWN.map(at).join(" | ")} |`);
  }
  console.log(
    [
      `RSS per idle connection on Node ${process.versions.node} (${CONNS} open; server process tree over its baseline, KB per connection in each of ${ROUNDS} rounds), by seconds since all were open:`,
      "",
      `| server | ${SHOWN.map((s) => `${s} s`).join(" | ")} |`,
      `| --- | ${SHOWN.map(() => "---:").join(" | ")} |`,
      ...rows,
    ].join("\n"),
  );
}

await main();
process.exit(0);
