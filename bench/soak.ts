/**
 * Soak: minutes of connect/send/close churn against the framework's text:// and websocket://
 * echo (bench/servers/soak.ts) on each runtime at once, sampling the RSS of the worker
 * processes every `--every` seconds. Memory must level off, not grow with the connections served.
 *
 *   npx tsx bench/soak.ts [--minutes 10] [--every 30] [--clients 8] [--runtimes node,deno,bun] [--no-write]
 *
 * Each runtime gets `--clients` text churners and as many WebSocket churners. A churner loops:
 * connect, send 1-20 messages of 1 B-4 KiB one after another checking each echo, then close
 * (one time in five it destroys the socket with a message still in flight). Every echo is checked;
 * a wrong echo or a failed connection counts as an error. Results go to stdout and, unless
 * --no-write, to a section of bench/RESULTS.md.
 */
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import WebSocket from "ws";
import { ROOT, runFixture, type RunningServer, type RuntimeName } from "../test/helpers/server.ts";

const { values: opts } = parseArgs({
  options: {
    minutes: { type: "string", default: "10" },
    every: { type: "string", default: "30" },
    clients: { type: "string", default: "8" },
    runtimes: { type: "string", default: "node,deno,bun" },
    "no-write": { type: "boolean", default: false },
  },
});
const MINUTES = Number(opts.minutes);
const EVERY = Number(opts.every);
const CLIENTS = Number(opts.clients);
const RUNTIMES = opts.runtimes!.split(",") as RuntimeName[];

interface Counts {
  connections: number;
  messages: number;
  errors: number;
}

const rnd = (n: number) => Math.floor(Math.random() * n);
const payload = (n: number) => "m".repeat(n).replace(/m/g, () => String.fromCharCode(97 + rnd(26)));

/** One text connection: send lines one at a time, check each echo, close or destroy. */
function textSession(port: number, counts: Counts): Promise<void> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const lines = Array.from({ length: 1 + rnd(20) }, () => payload(1 + rnd(4096)));
    const abort = rnd(5) === 0 ? rnd(lines.length) : -1;
    let at = 0;
    let buffer = "";
    const done = () => {
      socket.destroy();
      resolve();
    };
    socket.on("error", () => {
      counts.errors++;
      done();
    });
    socket.connect(port, "127.0.0.1", () => {
      counts.connections++;
      socket.write(`${lines[0]}\n`);
    });
    socket.on("data", (chunk) => {
      buffer += chunk.toString();
      const nl = buffer.indexOf("\n");
      if (nl === -1) return;
      if (buffer.slice(0, nl) !== lines[at]) counts.errors++;
      buffer = buffer.slice(nl + 1);
      counts.messages++;
      at++;
      if (at === abort) {
        socket.write(`${payload(100)}\n`); // in flight when the socket goes
        return done();
      }
      if (at === lines.length) {
        socket.end();
        return resolve();
      }
      socket.write(`${lines[at]}\n`);
    });
  });
}

/** One WebSocket connection: send messages one at a time, check each echo, close or terminate. */
function wsSession(port: number, counts: Counts): Promise<void> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
    const messages = Array.from({ length: 1 + rnd(20) }, () => payload(1 + rnd(4096)));
    const abort = rnd(5) === 0 ? rnd(messages.length) : -1;
    let at = 0;
    const finish = () => resolve();
    ws.on("error", () => {
      counts.errors++;
      finish();
    });
    ws.on("open", () => {
      counts.connections++;
      ws.send(messages[0]);
    });
    ws.on("close", finish);
    ws.on("message", (data) => {
      if (String(data) !== messages[at]) counts.errors++;
      counts.messages++;
      at++;
      if (at === abort) {
        ws.send(payload(100));
        return ws.terminate();
      }
      if (at === messages.length) return ws.close(1000);
      ws.send(messages[at]);
    });
  });
}

/** Ask a worker for its heap after a full GC (`__heap`), over text:// or WebSocket; NaN on failure. */
async function heapKiB(port: number, kind: "text" | "ws"): Promise<number> {
  const answer = await new Promise<string>((resolve) => {
    const timer = setTimeout(() => resolve(""), 10_000);
    const done = (s: string) => {
      clearTimeout(timer);
      resolve(s);
    };
    if (kind === "ws") {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
      ws.on("open", () => ws.send("__heap"));
      ws.on("message", (d) => {
        done(String(d));
        ws.close();
      });
      ws.on("error", () => done(""));
    } else {
      const socket = new Socket();
      let text = "";
      socket.connect(port, "127.0.0.1", () => socket.write("__heap\n"));
      socket.on("data", (d) => {
        text += d.toString();
        if (text.includes("\n")) {
          done(text.trim());
          socket.end();
        }
      });
      socket.on("error", () => done(""));
    }
  });
  const m = /^heap (\d+)$/.exec(answer);
  return m ? Number(m[1]) / 1024 : NaN;
}

function rssKiB(pid: number): number {
  try {
    return Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]);
  } catch {
    return NaN;
  }
}

interface Run {
  runtime: RuntimeName;
  server: RunningServer;
  pids: Record<string, number>;
  counts: { text: Counts; ws: Counts };
  ports: number[];
  /** [seconds, text worker RSS KiB, ws worker RSS KiB] */
  samples: [number, number, number][];
  /** [seconds, text worker heap after GC KiB, ws worker heap after GC KiB] */
  heaps: [number, number, number][];
}

async function start(runtime: RuntimeName): Promise<Run> {
  const pidFile = join(tmpdir(), `workerman-ts-soak-${runtime}-${process.pid}.pid`);
  const server = runFixture(runtime, "../../bench/servers/soak", ["start"], { PID_FILE: pidFile });
  await server.waitForOutput(/Start success\./, 60_000);
  await server.waitForOutput(/WORKER SoakText pid=\d+/);
  await server.waitForOutput(/WORKER SoakWs pid=\d+/);
  const pids = {
    text: Number(/WORKER SoakText pid=(\d+)/.exec(server.output())![1]),
    ws: Number(/WORKER SoakWs pid=(\d+)/.exec(server.output())![1]),
  };
  const ports = [...server.output().matchAll(/(?:text|websocket):\/\/127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1]));
  const zero = () => ({ connections: 0, messages: 0, errors: 0 });
  return { runtime, server, pids, counts: { text: zero(), ws: zero() }, ports, samples: [], heaps: [] };
}

async function churn(run: Run, deadline: number): Promise<void> {
  const [textPort, wsPort] = run.ports;
  const loop = async (session: (port: number, c: Counts) => Promise<void>, port: number, counts: Counts) => {
    while (Date.now() < deadline) await session(port, counts);
  };
  const loops: Promise<void>[] = [];
  for (let i = 0; i < CLIENTS; i++) {
    loops.push(loop(textSession, textPort, run.counts.text), loop(wsSession, wsPort, run.counts.ws));
  }
  await Promise.all(loops);
}

const runs = await Promise.all(RUNTIMES.map(start));
const began = Date.now();
const deadline = began + MINUTES * 60_000;
const sample = async () => {
  const t = Math.round((Date.now() - began) / 1000);
  for (const r of runs) r.samples.push([t, rssKiB(r.pids.text), rssKiB(r.pids.ws)]);
  await Promise.all(runs.map(async (r) => {
    r.heaps.push([t, await heapKiB(r.ports[0], "text"), await heapKiB(r.ports[1], "ws")]);
  }));
  console.log(
    `t=${t}s ` + runs.map((r) => {
      const s = r.samples.at(-1)!;
      const h = r.heaps.at(-1)!;
      const c = (k: Counts) => `${k.connections}c/${k.messages}m/${k.errors}e`;
      return `${r.runtime}: text ${(s[1] / 1024).toFixed(1)}/${(h[1] / 1024).toFixed(1)} MiB ${c(r.counts.text)}, ` +
        `ws ${(s[2] / 1024).toFixed(1)}/${(h[2] / 1024).toFixed(1)} MiB ${c(r.counts.ws)}`;
    }).join(" | "),
  );
};
await sample();
const timer = setInterval(sample, EVERY * 1000);
await Promise.all(runs.map((r) => churn(r, deadline)));
clearInterval(timer);
await sample();
for (const r of runs) await r.server.stop();

// ---- report ---------------------------------------------------------------------------------------
const mib = (k: number) => (k / 1024).toFixed(1);
type Series = [number, number, number][];
const curve = (series: Series, col: 1 | 2) => series.map((s) => mib(s[col])).join(" → ");
/** Growth over the second half of the run: what "levels off" means in numbers. */
const lateGrowth = (series: Series, col: 1 | 2) => {
  const mid = series[Math.floor(series.length / 2)][col];
  return mib(series.at(-1)![col] - mid);
};
const cpu = execFileSync("nproc").toString().trim();
let md =
  `Command: \`npx tsx bench/soak.ts --minutes ${MINUTES} --every ${EVERY} --clients ${CLIENTS} --runtimes ${
    RUNTIMES.join(",")
  }\`` +
  ` (${new Date(began).toISOString()}, ${cpu} cores shared with other work; the three runtimes ran at the same time, ` +
  `each with ${CLIENTS} text and ${CLIENTS} WebSocket churners).\n\n` +
  "| runtime | worker | connections | messages | errors | RSS start → end | RSS growth in 2nd half | heap after GC start → end | heap growth in 2nd half |\n" +
  "| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n";
let curves = `\nEvery ${EVERY} s (MiB), RSS / heap after a full GC:\n\n`;
for (const r of runs) {
  for (const [name, col, counts] of [["text://", 1, r.counts.text], ["websocket://", 2, r.counts.ws]] as const) {
    md += `| ${r.runtime} | ${name} | ${counts.connections} | ${counts.messages} | ${counts.errors} | ` +
      `${mib(r.samples[0][col])} → ${mib(r.samples.at(-1)![col])} MiB | ${lateGrowth(r.samples, col)} MiB | ` +
      `${mib(r.heaps[0][col])} → ${mib(r.heaps.at(-1)![col])} MiB | ${lateGrowth(r.heaps, col)} MiB |\n`;
    curves += `- ${r.runtime} ${name}: RSS ${curve(r.samples, col)}; heap ${curve(r.heaps, col)}\n`;
  }
}
md += curves;
console.log(`\n${md}`);
if (!opts["no-write"]) {
  const path = join(ROOT, "bench", "RESULTS.md");
  const begin = "<!-- soak:begin -->";
  const end = "<!-- soak:end -->";
  const section = `${begin}\n## Soak: memory under connection churn\n\n${md}${end}`;
  const old = readFileSync(path, "utf8");
  const at = old.indexOf(begin);
  writeFileSync(
    path,
    at === -1
      ? `${old.trimEnd()}\n\n${section}\n`
      : old.slice(0, at) + section + old.slice(old.indexOf(end) + end.length),
  );
}
