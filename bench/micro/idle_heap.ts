/**
 * Where the memory of an idle connection goes on Bun: `bun:jsc` `heapStats()` and RSS before
 * and after `--conns` connections are opened (by bench/client.ts in its own process) to one
 * server in this process, after a full GC each time. Prints the JS heap and RSS per connection
 * (RSS also before that GC, with the garbage accepting them left) and the object types whose
 * count grew the most.
 *
 * Servers: `raw` (a bare `Bun.listen` that only keeps its sockets), `tcp` (a `tcp://` Worker)
 * and `ws` (a `websocket://` Worker; the client completes the handshake).
 *
 * Usage: `bun bench/micro/idle_heap.ts raw|tcp|ws [--conns 10000]`
 */
// deno-lint-ignore-file no-explicit-any
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import process from "node:process";
import { Worker } from "../../mod.ts";

const JSC = "bun:jsc"; // a Bun built-in the type checker does not know
const jsc: any = await import(JSC);
const Bun = (globalThis as any).Bun;

const kind = process.argv[2] ?? "tcp";
const at = process.argv.indexOf("--conns");
const conns = at > 0 ? Number(process.argv[at + 1]) : 10000;

/** Start the server; its port. */
async function serve(): Promise<number> {
  if (kind === "raw") {
    const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {}, close() {} } });
    return server.port;
  }
  if (kind !== "tcp" && kind !== "ws") throw new Error(`unknown server ${kind}: raw, tcp or ws`);
  const worker = new Worker(kind === "ws" ? "websocket://127.0.0.1:0" : "tcp://127.0.0.1:0");
  worker.onMessage = (c: any, data: unknown) => c.send(data);
  await worker.listen();
  return worker.localPort;
}

interface Snapshot {
  heap: number;
  /** RSS before the GC: with the garbage the connections made (what the benchmark sees). */
  rssLive: number;
  rss: number;
  types: Record<string, number>;
}

function snapshot(): Snapshot {
  const rssLive = process.memoryUsage().rss;
  Bun.gc(true);
  Bun.gc(true);
  const s = jsc.heapStats();
  return { heap: s.heapSize, rssLive, rss: process.memoryUsage().rss, types: s.objectTypeCounts };
}

/** Open `n` idle connections from a client process; resolves (with its stdin to quit it) once all are open. */
function openIdle(port: number, n: number): Promise<() => void> {
  const args = [
    "bench/client.ts",
    "idle",
    "--port",
    String(port),
    "--conns",
    String(n),
    ...(kind === "ws" ? ["--kind", "ws"] : []),
  ];
  const child = spawn(process.execPath, args, { stdio: ["pipe", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    child.on("exit", (code) => reject(new Error(`client exited with ${code}`)));
    createInterface({ input: child.stdout! }).on("line", (line) => {
      if (line.startsWith("READY")) resolve(() => child.stdin!.write("q\n"));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const port = await serve();
(await openIdle(port, 100))(); // warm up the code paths
await sleep(500);
const before = snapshot();
const quit = await openIdle(port, conns);
await sleep(1000);
const after = snapshot();
const per = (a: number, b: number) => `${((b - a) / conns).toFixed(0)} B`;
console.log(
  `${kind}: ${conns} connections, per connection: JS heap +${per(before.heap, after.heap)}, ` +
    `RSS +${per(before.rss, after.rss)} after a full GC (+${per(before.rss, after.rssLive)} before it)`,
);
const grown = Object.keys(after.types)
  .map((t) => [t, (after.types[t] ?? 0) - (before.types[t] ?? 0)] as const)
  .filter(([, d]) => Math.abs(d) >= conns / 10)
  .sort((a, b) => b[1] - a[1]);
for (const [t, d] of grown) console.log(`  ${t}: ${d > 0 ? "+" : ""}${d} (${(d / conns).toFixed(2)} per connection)`);
quit();
await sleep(300);
process.exit(0);
