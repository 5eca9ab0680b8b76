/**
 * WebSocket load generator for the Gateway benchmarks, over raw sockets on Bun (`Bun.connect`)
 * or Node (`node:net`), cheap enough to hold 10,000 connections in one process. It does the
 * HTTP upgrade itself, sends masked text frames (mask key 0) and only parses the headers of the
 * frames it receives, counting them.
 *
 * Modes:
 * - `echo`: every connection keeps `--depth` frames of `--size` bytes in flight; each frame
 *   received is answered by one new frame (round trips).
 * - `broadcast`: connection 0 is the driver: it sends a one-byte trigger frame whenever fewer
 *   than `--depth` broadcasts are in flight, a broadcast counting as delivered once
 *   `--conns` frames have arrived in total (over all connections). Every frame received by any
 *   connection is one delivery.
 *
 * Protocol with the runner (stdin/stdout, one line each): the client connects everything and
 * prints `READY <open>`; `g` starts sending, `p` pauses (no new frames; in-flight ones drain),
 * `m` prints `M <frames received> <ms>`, `q` exits. A connection that fails or closes is
 * fatal (`FATAL ...` on stderr, exit 2).
 *
 * Usage: `bun bench/gateway/ws_client.ts echo|broadcast --port P [--conns 100 --depth 8 --size 32]`
 */
// deno-lint-ignore-file no-explicit-any
import { bunDrain, bunWrite } from "../bun_tail.ts";

const g = globalThis as any;
const isBun = !!g.Bun;
const proc = g.process;

function opt(name: string, dflt: string): string {
  const i = proc.argv.indexOf(`--${name}`);
  return i > 0 && i + 1 < proc.argv.length ? proc.argv[i + 1] : dflt;
}
const MODE = proc.argv[2] === "broadcast" ? "broadcast" : "echo";
const HOST = opt("host", "127.0.0.1");
const PORT = Number(opt("port", "0"));
const CONNS = Number(opt("conns", "100"));
const DEPTH = Number(opt("depth", "8"));
const SIZE = Number(opt("size", "32"));
const CONCURRENCY = Number(opt("concurrency", "256"));

function fatal(msg: string): never {
  proc.stderr.write(`FATAL ${msg}\n`);
  proc.exit(2);
  throw new Error(msg);
}

const enc = new TextEncoder();
const UPGRADE = enc.encode(
  `GET / HTTP/1.1\r\nHost: ${HOST}:${PORT}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
);

/** A masked text frame (mask key 0, so the payload is sent as is) with `n` payload bytes. */
function frame(n: number): Uint8Array {
  const head = n < 126 ? 6 : 8;
  const f = new Uint8Array(head + n);
  f[0] = 0x81;
  if (n < 126) f[1] = 0x80 | n;
  else {
    f[1] = 0x80 | 126;
    f[2] = n >> 8;
    f[3] = n & 0xff;
  }
  for (let i = 0; i < n; i++) f[head + i] = 97 + (i % 26);
  return f;
}
const message = MODE === "echo" ? frame(SIZE) : frame(1);
const batch = new Uint8Array(message.length * DEPTH);
for (let i = 0; i < DEPTH; i++) batch.set(message, i * message.length);
const part = (k: number) => (k >= DEPTH ? batch : batch.subarray(0, k * message.length));

let frames = 0;
let running = false;
let closing = false;
let triggers = 0;

/** Per connection: handshake state, frame-header parsing state, unwritten output (Bun). */
interface State {
  upgraded: boolean;
  head: string;
  onOpen: (() => void) | null;
  hdr: Uint8Array;
  hdrLen: number;
  skip: number;
  out: Uint8Array | null;
  write: (data: Uint8Array) => void;
}

/** Bytes a header needs once its first two bytes are known. */
const headerSize = (b1: number) => ((b1 & 0x7f) === 126 ? 4 : (b1 & 0x7f) === 127 ? 10 : 2);

function payloadLength(h: Uint8Array): number {
  const n = h[1] & 0x7f;
  if (n < 126) return n;
  if (n === 126) return (h[2] << 8) | h[3];
  let len = 0;
  for (let i = 2; i < 10; i++) len = len * 256 + h[i];
  return len;
}

/** Count the frames in `chunk` (only headers are read); returns how many completed. */
function countFrames(st: State, chunk: Uint8Array): number {
  let done = 0;
  let i = 0;
  while (i < chunk.length) {
    if (st.skip > 0) {
      const take = Math.min(st.skip, chunk.length - i);
      st.skip -= take;
      i += take;
      continue;
    }
    st.hdr[st.hdrLen++] = chunk[i++];
    if (st.hdrLen >= 2 && st.hdrLen === headerSize(st.hdr[1])) {
      if ((st.hdr[0] & 0x0f) === 0x8) fatal("the server closed a WebSocket");
      st.skip = payloadLength(st.hdr);
      st.hdrLen = 0;
      done++;
    }
  }
  return done;
}

let driver: State | null = null;

function maybeTrigger(): void {
  if (!running || driver === null) return;
  const delivered = (frames / CONNS) | 0;
  const want = DEPTH - (triggers - delivered);
  if (want <= 0) return;
  triggers += want;
  driver.write(part(want));
}

function onData(st: State, chunk: Uint8Array): void {
  if (!st.upgraded) {
    st.head += new TextDecoder("latin1").decode(chunk);
    const end = st.head.indexOf("\r\n\r\n");
    if (end === -1) return;
    if (!st.head.startsWith("HTTP/1.1 101")) fatal(`upgrade refused: ${st.head.slice(0, 80)}`);
    st.upgraded = true;
    const rest = enc.encode(st.head.slice(end + 4));
    st.head = "";
    st.onOpen!();
    st.onOpen = null;
    if (rest.length === 0) return;
    chunk = rest;
  }
  const k = countFrames(st, chunk);
  frames += k;
  if (MODE === "echo") {
    if (running && k > 0) st.write(part(k));
  } else maybeTrigger();
}

function newState(): State {
  return {
    upgraded: false,
    head: "",
    onOpen: null,
    hdr: new Uint8Array(10),
    hdrLen: 0,
    skip: 0,
    out: null,
    write: () => {},
  };
}

// ---- Bun --------------------------------------------------------------------------------------
const bunHandlers = {
  open(s: any) {
    s.data.write = (data: Uint8Array) => bunWrite(s, s.data, data);
    s.data.write(UPGRADE);
  },
  data(s: any, chunk: Uint8Array) {
    onData(s.data, chunk);
  },
  drain: bunDrain,
  close() {
    if (!closing) fatal("a connection closed");
  },
  error(_s: any, err: Error) {
    if (!closing) fatal(`socket error: ${err?.message}`);
  },
};

function bunConnect(): Promise<{ socket: any; st: State }> {
  const st = newState();
  return new Promise((resolve, reject) => {
    g.Bun.connect({ hostname: HOST, port: PORT, socket: bunHandlers, data: st }).then((socket: any) => {
      st.onOpen = () => resolve({ socket, st });
    }, reject);
  });
}

// ---- Node -------------------------------------------------------------------------------------
let net: any = null;
function nodeConnect(): Promise<{ socket: any; st: State }> {
  const st = newState();
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: HOST, port: PORT, noDelay: true });
    st.write = (data: Uint8Array) => s.write(data);
    st.onOpen = () => resolve({ socket: s, st });
    s.once("connect", () => {
      s.off("error", reject);
      s.on("error", (err: Error) => {
        if (!closing) fatal(`socket error: ${err.message}`);
      });
      s.on("close", () => {
        if (!closing) fatal("a connection closed");
      });
      s.on("data", (chunk: Uint8Array) => onData(st, chunk));
      s.write(UPGRADE);
    });
    s.once("error", reject);
  });
}

// -----------------------------------------------------------------------------------------------
async function openAll(n: number): Promise<Array<{ socket: any; st: State }>> {
  if (!isBun) net = await import("node:net");
  const connectOne = isBun ? bunConnect : nodeConnect;
  const conns: Array<{ socket: any; st: State }> = [];
  let next = 0;
  async function lane() {
    while (next < n) {
      next++;
      try {
        conns.push(await connectOne());
      } catch (err) {
        fatal(`connect to ${HOST}:${PORT} failed after ${conns.length} connections: ${(err as Error).message}`);
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, n) }, lane));
  return conns;
}

function start(conns: Array<{ socket: any; st: State }>): void {
  if (running) return;
  running = true;
  if (MODE === "echo") { for (const c of conns) c.st.write(batch); }
  else {
    triggers = (frames / CONNS) | 0; // whatever was in flight has drained
    maybeTrigger();
  }
}

function quit(conns: Array<{ socket: any; st: State }>): void {
  closing = true;
  for (const c of conns) {
    try {
      if (isBun) c.socket.end();
      else c.socket.destroy();
    } catch { /* gone */ }
  }
  proc.exit(0);
}

const conns = await openAll(CONNS);
driver = conns[0].st;
proc.stdout.write(`READY ${conns.length}\n`);
let buffered = "";
proc.stdin.setEncoding?.("utf8");
proc.stdin.on("data", (text: string) => {
  buffered += text;
  let nl: number;
  while ((nl = buffered.indexOf("\n")) !== -1) {
    const cmd = buffered.slice(0, nl).trim();
    buffered = buffered.slice(nl + 1);
    if (cmd === "g") start(conns);
    else if (cmd === "p") running = false;
    else if (cmd === "m") proc.stdout.write(`M ${frames} ${performance.now()}\n`);
    else if (cmd === "q") quit(conns);
  }
});
proc.stdin.on("end", () => quit(conns));
