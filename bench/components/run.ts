/**
 * Channel and GlobalData speed, embedded servers against Redis, on the runtime that runs this
 * script (the client side; the embedded servers run on the same runtime in their own process).
 *
 * - publish → deliver: one ChannelClient publishes, another (its own connection) is the only
 *   subscriber. Throughput: `--messages` published back to back, timed until the last is
 *   delivered. Latency: `--pings` messages one at a time (the next after the previous arrived),
 *   p50 / p99 of publish-to-callback time.
 * - GlobalData: `--increments` increments of one key with `--inflight` in flight.
 *
 * Each backend is measured `--rounds` times, interleaved (embedded, redis, embedded, ...); the
 * medians are printed as a markdown table.
 *
 * Usage: npx tsx bench/components/run.ts | deno run -A --config=deno.json bench/components/run.ts |
 *        bun bench/components/run.ts   [--rounds 3 --messages 50000 --pings 2000 --increments 50000 --inflight 100]
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { ChannelClient, GlobalDataClient } from "../../mod.ts";
import { startRedis } from "../../test/helpers/services.ts";
import { BIN, launchServer, median, parseOptions, ROOT, type Server, sleep } from "../lib.ts";

const values = parseOptions(import.meta.url, {
  rounds: { type: "string", default: "3" },
  messages: { type: "string", default: "50000" },
  pings: { type: "string", default: "2000" },
  increments: { type: "string", default: "50000" },
  inflight: { type: "string", default: "100" },
});
const ROUNDS = Number(values.rounds);
const MESSAGES = Number(values.messages);
const PINGS = Number(values.pings);
const INCREMENTS = Number(values.increments);
const INFLIGHT = Number(values.inflight);

const g = globalThis as { Deno?: unknown; Bun?: unknown };
const RUNTIME = g.Bun ? "bun" : g.Deno ? "deno" : "node";

async function until(check: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(1);
  }
}

/** The embedded servers in their own process on this runtime; resolves with their ports. */
async function startEmbedded(): Promise<{ server: Server; channel: string; global: string }> {
  const script = join(ROOT, "test", "fixtures", "components_servers.ts");
  const command: [string, string[]] = RUNTIME === "deno"
    ? [join(BIN, "deno"), ["run", "-A", `--config=${join(ROOT, "deno.json")}`, script, "start"]]
    : RUNTIME === "bun"
    ? [join(BIN, "bun"), [script, "start"]]
    : [join(BIN, "tsx"), [script, "start"]];
  const server = await launchServer("the embedded servers", command, {
    env: { PID_FILE: `/tmp/wm-bench-components-${process.pid}.pid` },
  });
  const ports = [...server.out.text.matchAll(/tcp:\/\/127\.0\.0\.1:(\d+)/g)].map((m) => m[1]);
  return { server, channel: `127.0.0.1:${ports[0]}`, global: `127.0.0.1:${ports[1]}` };
}

interface Result {
  perSecond: number;
  p50: number;
  p99: number;
  increments: number;
}

async function connectPair(address: string): Promise<{ pub: ChannelClient; sub: ChannelClient }> {
  const pub = ChannelClient.connect(address, 0, { maxPending: 10_000_000 });
  const sub = ChannelClient.connect(address, 0, { maxPending: 10_000_000 });
  await until(() => pub.connected && sub.connected, "the Channel clients");
  // Make sure the subscription is in place before measuring.
  let ready = false;
  sub.on("warm", () => (ready = true));
  while (!ready) {
    pub.publish("warm", 1);
    await sleep(20);
  }
  return { pub, sub };
}

async function measure(channelAddress: string, globalAddress: string): Promise<Result> {
  const { pub, sub } = await connectPair(channelAddress);
  let received = 0;
  let pingAt = 0;
  const latencies: number[] = [];
  sub.on("bench", () => received++);
  sub.on("ping", () => latencies.push(performance.now() - pingAt));

  const started = performance.now();
  for (let i = 0; i < MESSAGES; i++) {
    pub.publish("bench", i);
    if (i % 1000 === 999) await sleep(0); // let the sockets drain
  }
  await until(() => received >= MESSAGES, "every published message");
  const perSecond = MESSAGES / ((performance.now() - started) / 1000);

  for (let i = 0; i < PINGS; i++) {
    pingAt = performance.now();
    pub.publish("ping", i);
    await until(() => latencies.length > i, "the ping");
  }
  latencies.sort((a, b) => a - b);
  pub.close();
  sub.close();

  const data = new GlobalDataClient(globalAddress);
  await data.set("counter", 0);
  const t0 = performance.now();
  let issued = 0;
  const workers = Array.from({ length: INFLIGHT }, async () => {
    while (issued < INCREMENTS) {
      issued++;
      await data.increment("counter");
    }
  });
  await Promise.all(workers);
  const increments = INCREMENTS / ((performance.now() - t0) / 1000);
  if ((await data.get("counter")) !== INCREMENTS) throw new Error("lost increments");
  data.close();
  return { perSecond, p50: latencies[Math.floor(PINGS / 2)], p99: latencies[Math.floor(PINGS * 0.99)], increments };
}

/** The machine's 1-minute load average: other sessions' work makes the figures noisy. */
const load = () => Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0]);
const loads: number[] = [];

const embedded = await startEmbedded();
const redisDir = mkdtempSync(join(tmpdir(), "wm-bench-redis-"));
const redis = await startRedis(redisDir);
const results: Record<string, Result[]> = { embedded: [], redis: [] };
try {
  for (let round = 0; round < ROUNDS; round++) {
    loads.push(load());
    results.embedded.push(await measure(embedded.channel, embedded.global));
    results.redis.push(await measure(redis.url, redis.url));
  }
} finally {
  await embedded.server.stop();
  await redis.stop();
  rmSync(redisDir, { recursive: true, force: true });
}

console.log(
  `\n${RUNTIME} clients, ${ROUNDS} rounds, medians (min–max of publish→deliver/s); load average ${Math.min(...loads)}–${
    Math.max(...loads)
  } on ${availableParallelism()} cores\n`,
);
console.log("| backend | publish→deliver msgs/s | latency p50 ms | latency p99 ms | GlobalData increments/s |");
console.log("| --- | ---: | ---: | ---: | ---: |");
for (const [name, rs] of Object.entries(results)) {
  const rate = rs.map((r) => r.perSecond);
  console.log(
    `| ${name} | ${Math.round(median(rate)).toLocaleString("en")} (${Math.round(Math.min(...rate) / 1000)}k–${
      Math.round(Math.max(...rate) / 1000)
    }k) | ` +
      `${median(rs.map((r) => r.p50)).toFixed(3)} | ${median(rs.map((r) => r.p99)).toFixed(3)} | ` +
      `${Math.round(median(rs.map((r) => r.increments))).toLocaleString("en")} |`,
  );
}
process.exit(0);
