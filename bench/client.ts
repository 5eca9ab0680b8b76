/**
 * The load generator: a small client over raw sockets, as cheap per message as possible so
 * that it saturates after the servers do. Runs on Bun (`Bun.connect`) or Node (`node:net`).
 *
 * Modes:
 * - `load`: `--conns` connections each keep `--depth` messages of `--size` bytes in flight.
 *   Replies are counted by bytes (every message has the same length); as soon as k replies
 *   have arrived on a connection, k new messages go out in one write. `--kind text` makes
 *   every message a line (`size - 1` characters and `\n`); `--check` compares every byte
 *   received with what was sent (used while warming up, not while measuring).
 * - `idle`: open `--conns` connections (`--concurrency` connects at a time) and keep them
 *   open without sending anything.
 *
 * `--kind ws` speaks WebSocket: each connection first sends an upgrade request (`--path`) and
 * waits for the 101; a message is then a masked text frame of `--size` payload bytes and a
 * reply the server's unmasked frame of the same payload. `--broadcast` (load): payloads start
 * with "B" and only the first connection sends (keeping `--depth` in flight, one new message
 * per reply it receives); every connection counts the frames it receives, so replies are
 * deliveries to all clients.
 *
 * Protocol with the runner (stdin/stdout, one line each):
 *   client prints `READY` (load: all connected and sending; idle: `READY <open>`),
 *   runner sends `m` -> client prints `M <replies> <ms> <p99 ms>` (the 99th percentile round
 *   trip since the previous `m`; 0 with `--broadcast`), runner sends `q` -> client exits.
 * Any connection that fails or closes early is fatal (`FATAL ...` on stderr, exit 2).
 *
 * Usage: `bun bench/client.ts load --port P [--conns 100 --depth 16 --size 24 --kind text]`
 */
// deno-lint-ignore-file no-explicit-any
import { bunDrain, bunWrite } from "./bun_tail.ts";

const g = globalThis as any;
const isBun = !!g.Bun;
const proc = g.process;

function opt(name: string, dflt: string): string {
  const i = proc.argv.indexOf(`--${name}`);
  return i > 0 && i + 1 < proc.argv.length ? proc.argv[i + 1] : dflt;
}
const mode = proc.argv[2] === "idle" ? "idle" : "load";
const HOST = opt("host", "127.0.0.1");
const PORT = Number(opt("port", "0"));
const CONNS = Number(opt("conns", mode === "idle" ? "10000" : "100"));
const DEPTH = Number(opt("depth", "16"));
const SIZE = Number(opt("size", "24"));
const KIND = opt("kind", "tcp");
const CHECK = proc.argv.includes("--check");
const CONCURRENCY = Number(opt("concurrency", "256"));
const WS = KIND === "ws";
const BROADCAST = proc.argv.includes("--broadcast");
const PATH = opt("path", "/");

function fatal(msg: string): never {
  proc.stderr.write(`FATAL ${msg}\n`);
  proc.exit(2);
  throw new Error(msg);
}

// One message, and a batch of DEPTH of them (replies are replaced by sending a prefix of it);
// `reply` is what comes back for one message.
const payload = new Uint8Array(SIZE);
for (let i = 0; i < SIZE; i++) payload[i] = 97 + (i % 26);
if (KIND === "text") payload[SIZE - 1] = 10;
if (BROADCAST) payload[0] = 66; // "B"
if (WS && SIZE > 125) fatal("--kind ws needs --size <= 125");
const MASK = [0x12, 0x34, 0x56, 0x78];
const msg = WS ? new Uint8Array([0x81, 0x80 | SIZE, ...MASK, ...payload.map((b, i) => b ^ MASK[i & 3])]) : payload;
const reply = WS ? new Uint8Array([0x81, SIZE, ...payload]) : payload;
const MSG = msg.length;
const REPLY = reply.length;
const batch = new Uint8Array(MSG * DEPTH);
for (let i = 0; i < DEPTH; i++) batch.set(msg, i * MSG);
const UPGRADE = new TextEncoder().encode(
  `GET ${PATH} HTTP/1.1\r\nHost: ${HOST}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
);

// Round trips: a histogram in 10 µs buckets (up to 2 s), read and reset by every `m`.
const BUCKET_MS = 0.01;
const histogram = new Uint32Array(200_001);
function p99(): number {
  let total = 0;
  for (let i = 0; i < histogram.length; i++) total += histogram[i];
  let seen = 0;
  for (let i = 0; i < histogram.length; i++) {
    seen += histogram[i];
    if (seen >= total * 0.99) return total === 0 ? 0 : (i + 1) * BUCKET_MS;
  }
  return NaN;
}

let replies = 0;
let closing = false;

/**
 * Per connection: bytes of a partly received reply, (Bun) an unwritten output tail, whether
 * it sends (all do, except in a broadcast where only the first does), the send times of the
 * messages in flight (a ring of DEPTH), and for WebSocket the handshake still being read.
 */
interface State {
  acc: number;
  out: Uint8Array | null;
  sends: boolean;
  sent: Float64Array;
  sentHead: number;
  sentCount: number;
  head: string | null;
  opened: (() => void) | null;
}

function newState(sends: boolean): State {
  return {
    acc: 0,
    out: null,
    sends,
    sent: new Float64Array(DEPTH),
    sentHead: 0,
    sentCount: 0,
    head: WS ? "" : null,
    opened: null,
  };
}

const latin1 = new TextDecoder("latin1");

/** Note that `k` messages leave now. */
function sending(st: State, k: number): void {
  const now = performance.now();
  for (let i = 0; i < k; i++) st.sent[(st.sentHead + st.sentCount++) % DEPTH] = now;
}

/** Count the replies in `chunk` (after a WebSocket's 101); returns how many messages to send now. */
function received(st: State, chunk: Uint8Array): number {
  if (st.head !== null) {
    const before = st.head.length;
    st.head += latin1.decode(chunk);
    const end = st.head.indexOf("\r\n\r\n");
    if (end === -1) return 0;
    if (!st.head.startsWith("HTTP/1.1 101")) fatal(`handshake refused: ${st.head.split("\r\n")[0]}`);
    chunk = chunk.subarray(end + 4 - before);
    st.head = null;
    st.opened?.();
    if (chunk.length === 0) return 0;
  }
  if (CHECK) {
    for (let i = 0; i < chunk.length; i++) {
      if (chunk[i] !== reply[(st.acc + i) % REPLY]) {
        fatal(`reply byte ${st.acc + i} is ${chunk[i]}, expected ${reply[(st.acc + i) % REPLY]}`);
      }
    }
  }
  const t = st.acc + chunk.length;
  const k = (t / REPLY) | 0;
  st.acc = t - k * REPLY;
  replies += k;
  if (!st.sends || k === 0) return 0;
  if (!BROADCAST) {
    const now = performance.now();
    for (let i = 0; i < k && st.sentCount > 0; i++) {
      const ms = now - st.sent[st.sentHead];
      st.sentHead = (st.sentHead + 1) % DEPTH;
      st.sentCount--;
      histogram[Math.min(histogram.length - 1, (ms / BUCKET_MS) | 0)]++;
    }
  }
  // in a broadcast the sender gets every message back once: one new message per copy
  if (!BROADCAST) sending(st, k);
  return k;
}

const part = (k: number) => (k === DEPTH ? batch : batch.subarray(0, k * MSG));

// ---- Bun --------------------------------------------------------------------------------------
const bunHandlers = {
  data(s: any, chunk: Uint8Array) {
    const st: State = s.data;
    const k = received(st, chunk);
    if (k > 0) bunWrite(s, st, part(k));
  },
  drain: bunDrain,
  close() {
    if (!closing) fatal("a connection closed");
  },
  error(_s: any, err: Error) {
    if (!closing) fatal(`socket error: ${err?.message}`);
  },
};

function bunConnect(sends: boolean): Promise<any> {
  return g.Bun.connect({ hostname: HOST, port: PORT, socket: bunHandlers, data: newState(sends) });
}

// ---- Node -------------------------------------------------------------------------------------
let net: any = null;
function nodeConnect(sends: boolean): Promise<any> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: HOST, port: PORT, noDelay: true });
    const st = s.data = newState(sends);
    s.once("connect", () => {
      s.off("error", reject);
      s.on("error", (err: Error) => {
        if (!closing) fatal(`socket error: ${err.message}`);
      });
      s.on("close", () => {
        if (!closing) fatal("a connection closed");
      });
      if (mode === "load" || WS) {
        s.on("data", (chunk: Uint8Array) => {
          const k = received(st, chunk);
          if (k > 0) s.write(part(k));
        });
      }
      resolve(s);
    });
    s.once("error", reject);
  });
}

// -----------------------------------------------------------------------------------------------
/** Send the upgrade request; resolves once the 101 has arrived. */
function handshake(s: any): Promise<void> {
  return new Promise((resolve) => {
    s.data.opened = resolve;
    if (isBun) bunWrite(s, s.data, UPGRADE);
    else s.write(UPGRADE);
  });
}

async function openAll(n: number): Promise<any[]> {
  if (!isBun) net = await import("node:net");
  const connectOne = isBun ? bunConnect : nodeConnect;
  const sockets: any[] = [];
  let next = 0;
  let senders = 0; // a broadcast has one sender: the first connection started
  async function lane() {
    while (next < n) {
      next++;
      try {
        const s = await connectOne(!BROADCAST || senders++ === 0);
        if (WS) await handshake(s);
        sockets.push(s);
      } catch (err) {
        fatal(`connect to ${HOST}:${PORT} failed after ${sockets.length} connections: ${(err as Error).message}`);
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, n) }, lane));
  return sockets;
}

function controlLoop(sockets: any[]): void {
  let buffered = "";
  proc.stdin.setEncoding?.("utf8");
  proc.stdin.on("data", (text: string) => {
    buffered += text;
    let nl: number;
    while ((nl = buffered.indexOf("\n")) !== -1) {
      const cmd = buffered.slice(0, nl).trim();
      buffered = buffered.slice(nl + 1);
      if (cmd === "m") {
        proc.stdout.write(`M ${replies} ${performance.now()} ${p99()}\n`);
        histogram.fill(0);
      } else if (cmd === "q") quit(sockets);
    }
  });
  proc.stdin.on("end", () => quit(sockets));
}

function quit(sockets: any[]): void {
  closing = true;
  for (const s of sockets) {
    try {
      if (isBun) s.end();
      else s.destroy();
    } catch { /* gone */ }
  }
  proc.exit(0);
}

const sockets = await openAll(CONNS);
if (mode === "load") {
  for (const s of sockets) {
    if (!s.data.sends) continue;
    if (!BROADCAST) sending(s.data, DEPTH);
    if (isBun) bunWrite(s, s.data, batch);
    else s.write(batch);
  }
  proc.stdout.write("READY\n");
} else {
  proc.stdout.write(`READY ${sockets.length}\n`);
}
controlLoop(sockets);
