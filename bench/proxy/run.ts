/**
 * The pipe-proxy benchmark: moves `--size` MB (default 1024) through the manual's pipe()
 * proxy (bench/proxy/pipe_proxy.ts) in each direction, on each runtime, and samples the
 * proxy process's RSS every 100 ms while it does. The reference, measured in the same run
 * and interleaved with it, is the same proxy written with the runtime's own node:net streams
 * (bench/proxy/raw_proxy.ts).
 *
 * - `download`: the client asks the backend for `--size` MB, which flows backend → proxy → client;
 * - `upload`: the client sends `--size` MB, which flows client → proxy → backend.
 *
 * The backend and the client live in this process (Node), on Node's sockets, writing one
 * preallocated 1 MiB buffer over and over and honouring `drain`; the proxy runs alone in its
 * own process. "Flat memory" means the proxy's RSS does not grow with the bytes moved:
 * reported as the RSS before the transfer, the peak during it, and the RSS at each tenth of it.
 *
 * Output: markdown on stdout, and the section between `<!-- bench:proxy:start -->` and
 * `<!-- bench:proxy:end -->` in bench/RESULTS.md (appended if missing; nothing else is touched).
 *
 * Usage: npx tsx bench/proxy/run.ts [--runtimes node,deno,bun] [--size 1024] [--rounds 2]
 *        [--no-build] [--no-write]
 */
import { connect, createServer, type Server, type Socket } from "node:net";
import {
  buildNpm,
  launchServer,
  listOption,
  log,
  median,
  parseOptions,
  procCpu,
  RESULTS,
  rssBytes,
  runtimeCommand,
  runtimeVersions,
  sleep,
  writeSection,
} from "../lib.ts";

const MB = 1 << 20;

const opts = parseOptions(import.meta.url, {
  runtimes: { type: "string", default: "node,deno,bun" },
  size: { type: "string", default: "1024" },
  rounds: { type: "string", default: "2" },
  "no-build": { type: "boolean", default: false },
  "no-write": { type: "boolean", default: false },
});

type RuntimeName = "node" | "deno" | "bun";
type Kind = "framework" | "raw";
type Direction = "download" | "upload";
const RUNTIMES = listOption<RuntimeName>(opts.runtimes, ["node", "deno", "bun"], "runtime");
const SIZE = Number(opts.size) * MB;
const ROUNDS = Math.max(1, Number(opts.rounds));

// ---- the backend ------------------------------------------------------------------------

const BLOCK = Buffer.alloc(MB, "workerman-ts pipe proxy benchmark ");

/** First line `source <n>`: sends n bytes then ends; `sink <n>`: reads n bytes, answers `got <n>\n`. */
function startBackend(): Promise<{ server: Server; port: number }> {
  const server = createServer((socket) => {
    socket.on("error", () => {});
    let head = "";
    const onHead = (chunk: Buffer) => {
      head += chunk.toString("latin1");
      const eol = head.indexOf("\n");
      if (eol < 0) return;
      socket.off("data", onHead);
      const [cmd, n] = head.slice(0, eol).split(" ");
      const total = Number(n);
      if (cmd === "source") {
        let sent = 0;
        const pump = () => {
          while (sent < total) {
            const chunk = total - sent >= MB ? BLOCK : BLOCK.subarray(0, total - sent);
            sent += chunk.length;
            if (!socket.write(chunk)) return void socket.once("drain", pump);
          }
          socket.end();
        };
        pump();
      } else {
        let got = head.length - eol - 1;
        const done = () => socket.end(`got ${got}\n`);
        if (got >= total) return done();
        socket.on("data", (d: Buffer) => {
          got += d.length;
          if (got >= total) done();
        });
      }
    };
    socket.on("data", onHead);
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve({ server, port: (server.address() as { port: number }).port }))
  );
}

// ---- the proxies ------------------------------------------------------------------------

interface Proxy {
  port: number;
  /** The process that moves the bytes (the worker process for the framework). */
  pid: number;
  stop(): Promise<void>;
}

async function startProxy(runtime: RuntimeName, kind: Kind, backendPort: number): Promise<Proxy> {
  const script = kind === "framework" ? "pipe_proxy" : "raw_proxy";
  const command = runtimeCommand(runtime, `bench/proxy/${script}.ts`, kind === "framework" ? ["start"] : []);
  const server = await launchServer(`${runtime} ${kind} proxy`, command, {
    env: { BACKEND_PORT: String(backendPort) },
    ready: /PROXY PID \d+/,
  });
  const pid = Number(/PROXY PID (\d+)/.exec(server.out.text)![1]);
  return { port: server.port, pid, stop: () => server.stop() };
}

// ---- measuring --------------------------------------------------------------------------

const rssMB = (pid: number) => rssBytes(pid) / MB;

interface Sample {
  ms: number;
  bytes: number;
  rss: number;
}

interface Run {
  runtime: RuntimeName;
  kind: Kind;
  direction: Direction;
  round: number;
  seconds: number;
  mbPerSecond: number;
  cpu: number;
  idleRss: number;
  peakRss: number;
  /** RSS when 10%, 20%, ..., 100% of the bytes had moved. */
  tenths: number[];
}

/** One transfer of SIZE bytes through the proxy on `port`; `progress()` is what the client has moved so far. */
function transfer(port: number, direction: Direction, onProgress: (bytes: number) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(port, "127.0.0.1");
    socket.on("error", reject);
    if (direction === "download") {
      let got = 0;
      socket.write(`source ${SIZE}\n`);
      socket.on("data", (d: Buffer) => {
        got += d.length;
        onProgress(got);
      });
      socket.on("end", () => {
        socket.destroy();
        if (got === SIZE) resolve();
        else reject(new Error(`download: got ${got} of ${SIZE} bytes`));
      });
      return;
    }
    let answer = "";
    let sent = 0;
    socket.write(`sink ${SIZE}\n`);
    socket.on("data", (d: Buffer) => (answer += d.toString()));
    socket.on("end", () => {
      socket.destroy();
      if (answer === `got ${SIZE}\n`) resolve();
      else reject(new Error(`upload: backend answered ${JSON.stringify(answer)}`));
    });
    const pump = () => {
      while (sent < SIZE) {
        const chunk = SIZE - sent >= MB ? BLOCK : BLOCK.subarray(0, SIZE - sent);
        sent += chunk.length;
        onProgress(sent);
        if (!socket.write(chunk)) return void socket.once("drain", pump);
      }
    };
    pump();
  });
}

async function measure(
  runtime: RuntimeName,
  kind: Kind,
  proxy: Proxy,
  direction: Direction,
  round: number,
): Promise<Run> {
  await sleep(300); // let the previous transfer's garbage settle
  const idleRss = rssMB(proxy.pid);
  const cpuBefore = procCpu(proxy.pid);
  const samples: Sample[] = [];
  let bytes = 0;
  const started = performance.now();
  const sampler = setInterval(
    () => samples.push({ ms: performance.now() - started, bytes, rss: rssMB(proxy.pid) }),
    100,
  );
  await transfer(proxy.port, direction, (b) => (bytes = b));
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  samples.push({ ms: seconds * 1000, bytes: SIZE, rss: rssMB(proxy.pid) });
  const cpu = procCpu(proxy.pid) - cpuBefore;
  const tenths = Array.from({ length: 10 }, (_, i) => {
    const at = samples.find((s) => s.bytes >= ((i + 1) / 10) * SIZE) ?? samples[samples.length - 1];
    return at.rss;
  });
  return {
    runtime,
    kind,
    direction,
    round,
    seconds,
    mbPerSecond: SIZE / MB / seconds,
    cpu,
    idleRss,
    peakRss: Math.max(idleRss, ...samples.map((s) => s.rss)),
    tenths,
  };
}

// ---- report -----------------------------------------------------------------------------

const f0 = (x: number) => x.toFixed(0);
const f1 = (x: number) => x.toFixed(1);

function report(runs: Run[], versions: Record<RuntimeName, string>, startedAt: Date, wallSeconds: number): string {
  const lines: string[] = [];
  lines.push(`## Pipe proxy: ${SIZE / MB} MB through \`pipe()\`, flat memory`, "");
  lines.push(
    `Written by \`npx tsx bench/proxy/run.ts\` (bench/proxy/) on ${
      startedAt.toISOString().replace("T", " ").slice(0, 19)
    } UTC ` +
      `in ${
        f0(wallSeconds)
      } s: Node ${versions.node}, Deno ${versions.deno}, Bun ${versions.bun}; ${ROUNDS} interleaved round(s) ` +
      `per runtime, direction and proxy.`,
    "",
    `The framework proxy is the manual's \`pipe()\` proxy (a TcpConnection piped both ways to an AsyncTcpConnection, ` +
      `\`maxSendBufferSize\` 1 MiB); the reference is the same proxy on the runtime's node:net streams. Backend and client ` +
      `are one Node process on Node's sockets; the proxy runs alone in its own process. RSS is the proxy process's ` +
      `(the worker, not the master), sampled every 100 ms.`,
    "",
  );
  lines.push(
    'MB/s and CPU are medians over rounds; "vs reference" is the median of the per-round ratios pipe() / node:net. ' +
      'RSS columns are of the last round, except the peak (all rounds); "10% → 100%" is how much the RSS grew ' +
      "between the first and the last tenth of the bytes: flat memory is a growth near 0 however many bytes move.",
    "",
    "| runtime | direction | proxy | MB/s | vs reference | proxy CPU-s per GB | RSS before | RSS peak | RSS growth 10% → 100% | RSS at each tenth of the bytes (MB) |",
    "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
  );
  for (const runtime of RUNTIMES) {
    for (const direction of ["download", "upload"] as Direction[]) {
      const raw = runs.filter((r) => r.runtime === runtime && r.direction === direction && r.kind === "raw");
      for (const kind of ["framework", "raw"] as Kind[]) {
        const rs = runs.filter((r) => r.runtime === runtime && r.direction === direction && r.kind === kind);
        if (rs.length === 0) continue;
        const last = rs[rs.length - 1];
        const ratios = rs.map((r) => r.mbPerSecond / (raw.find((x) => x.round === r.round)?.mbPerSecond ?? NaN));
        const growth = last.tenths[9] - last.tenths[0];
        lines.push(
          `| ${runtime} | ${direction} | ${kind === "framework" ? "pipe()" : "node:net pipe"} | ${
            f0(median(rs.map((r) => r.mbPerSecond)))
          } | ` +
            `${kind === "framework" ? `${f0(median(ratios) * 100)}%` : "(reference)"} | ` +
            `${f1(median(rs.map((r) => (r.cpu / SIZE) * 1024 * MB)))} | ${f0(last.idleRss)} MB | ${
              f0(Math.max(...rs.map((r) => r.peakRss)))
            } MB | ` +
            `${growth >= 0 ? "+" : ""}${f0(growth)} MB | ${last.tenths.map(f0).join(" → ")} |`,
        );
      }
    }
  }
  lines.push(
    "",
    "Every round:",
    "",
    "| runtime | direction | proxy | round | seconds | MB/s | proxy CPU-s |",
    "| --- | --- | --- | ---: | ---: | ---: | ---: |",
  );
  for (const r of runs) {
    lines.push(
      `| ${r.runtime} | ${r.direction} | ${r.kind} | ${r.round} | ${r.seconds.toFixed(2)} | ${f0(r.mbPerSecond)} | ${
        r.cpu.toFixed(2)
      } |`,
    );
  }
  return lines.join("\n") + "\n";
}

// ---- main -------------------------------------------------------------------------------

async function main(): Promise<void> {
  const startedAt = new Date();
  if (!opts["no-build"]) buildNpm();
  const versions = runtimeVersions();
  const backend = await startBackend();
  const runs: Run[] = [];
  try {
    for (const runtime of RUNTIMES) {
      const proxies = {
        framework: await startProxy(runtime, "framework", backend.port),
        raw: await startProxy(runtime, "raw", backend.port),
      };
      try {
        for (const direction of ["download", "upload"] as Direction[]) {
          for (let round = 1; round <= ROUNDS; round++) {
            for (const kind of ["framework", "raw"] as Kind[]) {
              const run = await measure(runtime, kind, proxies[kind], direction, round);
              runs.push(run);
              log(
                `${runtime} ${direction} ${kind} round ${round}: ${f0(run.mbPerSecond)} MB/s, ${
                  run.seconds.toFixed(2)
                } s, ` +
                  `cpu ${run.cpu.toFixed(2)} s, RSS ${f0(run.idleRss)} → peak ${f0(run.peakRss)} MB (${
                    run.tenths.map(f0).join(" ")
                  })`,
              );
            }
          }
        }
      } finally {
        await proxies.framework.stop();
        await proxies.raw.stop();
      }
    }
  } finally {
    backend.server.close();
  }
  const section = report(runs, versions, startedAt, (Date.now() - startedAt.getTime()) / 1000);
  process.stdout.write(section);
  if (!opts["no-write"]) {
    writeSection("proxy", section.trimEnd());
    log(`wrote the proxy section of ${RESULTS}`);
  }
}

// On the way out bench/lib.ts kills the proxies still running.
main().then(() => process.exit(0), (err) => {
  console.error(err);
  process.exit(1);
});
