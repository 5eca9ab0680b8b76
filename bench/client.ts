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
 * Protocol with the runner (stdin/stdout, one line each):
 *   client prints `READY` (load: all connected and sending; idle: `READY <open>`),
 *   runner sends `m` -> client prints `M <replies> <ms>`, runner sends `q` -> client exits.
 * Any connection that fails or closes early is fatal (`FATAL ...` on stderr, exit 2).
 *
 * Usage: `bun bench/client.ts load --port P [--conns 100 --depth 16 --size 24 --kind text]`
 */
// deno-lint-ignore-file no-explicit-any
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

function fatal(msg: string): never {
  proc.stderr.write(`FATAL ${msg}\n`);
  proc.exit(2);
  throw new Error(msg);
}

// One message, and a batch of DEPTH of them (replies are replaced by sending a prefix of it).
const msg = new Uint8Array(SIZE);
for (let i = 0; i < SIZE; i++) msg[i] = 97 + (i % 26);
if (KIND === "text") msg[SIZE - 1] = 10;
const batch = new Uint8Array(SIZE * DEPTH);
for (let i = 0; i < DEPTH; i++) batch.set(msg, i * SIZE);

let replies = 0;
let closing = false;

/** Per connection: bytes of a partly received reply, and (Bun) an unwritten output tail. */
interface State {
  acc: number;
  out: Uint8Array | null;
}

/** Count the replies in `chunk`; returns how many messages to send now. */
function received(st: State, chunk: Uint8Array): number {
  if (CHECK) {
    for (let i = 0; i < chunk.length; i++) {
      if (chunk[i] !== msg[(st.acc + i) % SIZE]) fatal(`reply byte ${st.acc + i} is ${chunk[i]}, expected ${msg[(st.acc + i) % SIZE]}`);
    }
  }
  const t = st.acc + chunk.length;
  const k = (t / SIZE) | 0;
  st.acc = t - k * SIZE;
  replies += k;
  return k;
}

const part = (k: number) => (k === DEPTH ? batch : batch.subarray(0, k * SIZE));

// ---- Bun --------------------------------------------------------------------------------------
function bunWrite(s: any, st: State, data: Uint8Array): void {
  if (st.out) {
    const both = new Uint8Array(st.out.length + data.length);
    both.set(st.out);
    both.set(data, st.out.length);
    st.out = both;
    return;
  }
  const n = s.write(data);
  const w = n > 0 ? n : 0;
  if (w < data.length) st.out = data.slice(w);
}

const bunHandlers = {
  data(s: any, chunk: Uint8Array) {
    const st: State = s.data;
    const k = received(st, chunk);
    if (k > 0) bunWrite(s, st, part(k));
  },
  drain(s: any) {
    const st: State = s.data;
    if (!st?.out) return;
    const out = st.out;
    st.out = null;
    bunWrite(s, st, out);
  },
  close() {
    if (!closing) fatal("a connection closed");
  },
  error(_s: any, err: Error) {
    if (!closing) fatal(`socket error: ${err?.message}`);
  },
};

function bunConnect(): Promise<any> {
  return g.Bun.connect({ hostname: HOST, port: PORT, socket: bunHandlers, data: { acc: 0, out: null } });
}

// ---- Node -------------------------------------------------------------------------------------
let net: any = null;
function nodeConnect(): Promise<any> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: HOST, port: PORT, noDelay: true });
    const st: State = { acc: 0, out: null };
    s.once("connect", () => {
      s.off("error", reject);
      s.on("error", (err: Error) => {
        if (!closing) fatal(`socket error: ${err.message}`);
      });
      s.on("close", () => {
        if (!closing) fatal("a connection closed");
      });
      if (mode === "load") {
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
async function openAll(n: number): Promise<any[]> {
  if (!isBun) net = await import("node:net");
  const connectOne = isBun ? bunConnect : nodeConnect;
  const sockets: any[] = [];
  let next = 0;
  async function lane() {
    while (next < n) {
      next++;
      try {
        sockets.push(await connectOne());
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
      if (cmd === "m") proc.stdout.write(`M ${replies} ${performance.now()}\n`);
      else if (cmd === "q") quit(sockets);
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
    if (isBun) bunWrite(s, s.data, batch);
    else s.write(batch);
  }
  proc.stdout.write("READY\n");
} else {
  proc.stdout.write(`READY ${sockets.length}\n`);
}
controlLoop(sockets);
