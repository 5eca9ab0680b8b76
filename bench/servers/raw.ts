/**
 * Reference servers written directly on each runtime's own socket API, the baselines the
 * framework is compared with. One file for the three runtimes; the first argument picks the
 * workload:
 *
 * - `tcp`:  echo every chunk as it arrives.
 *   Node: `node:net`. Deno: `Deno.listen`, 4 KiB reads, a write loop for partial writes.
 *   Bun: `Bun.listen`, keeping the unwritten tail and flushing it on `drain`.
 * - `text`: line echo that coalesces: every complete line of one read is found (one
 *   `indexOf` per line) and all of them are answered with ONE write; an incomplete line is
 *   kept for the next read. This is the ceiling a line protocol can reach on the runtime.
 *
 * Prints `raw <runtime> <kind> listening tcp://127.0.0.1:<port>` then `Start success.`.
 * Usage: `<runtime> bench/servers/raw.ts tcp|text [port]`
 */
// deno-lint-ignore-file no-explicit-any
const g = globalThis as any;
const runtimeName: "node" | "deno" | "bun" = g.Bun ? "bun" : g.Deno ? "deno" : "node";
const argv: string[] = runtimeName === "deno" ? g.Deno.args : g.process.argv.slice(2);
const kind = argv[0] === "text" ? "text" : "tcp";
const wantedPort = Number(argv[1] ?? 0);
const HOST = "127.0.0.1";
const LF = 10;

function announce(port: number): void {
  console.log(`raw ${runtimeName} ${kind} listening tcp://${HOST}:${port}`);
  console.log("Start success.");
}

/** End of the last complete line in `buf[0..len)` (0 when there is none), visiting every line. */
function completeLinesEnd(buf: Uint8Array, len: number): number {
  let end = 0;
  for (;;) {
    const i = buf.indexOf(LF, end);
    if (i === -1 || i >= len) return end;
    end = i + 1;
  }
}

/** A copy of `a` followed by `b` (fresh memory). */
function concat2(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

const copyOf = (b: Uint8Array, start = 0): Uint8Array => Uint8Array.prototype.slice.call(b, start);

// ---------------------------------------------------------------------------------------------
async function nodeServer(): Promise<void> {
  const net = await import("node:net");
  // Exit normally on Ctrl+C so that `node --cpu-prof` writes its profile.
  g.process.on("SIGINT", () => g.process.exit(0));
  const server = net.createServer({ noDelay: true }, (s) => {
    s.on("error", () => {});
    if (kind === "tcp") {
      s.on("data", (chunk) => s.write(chunk));
      return;
    }
    let tail: Uint8Array | null = null;
    s.on("data", (chunk: Uint8Array) => {
      const buf = tail ? concat2(tail, chunk) : chunk;
      const end = completeLinesEnd(buf, buf.length);
      if (end > 0) s.write(end === buf.length ? buf : buf.subarray(0, end));
      tail = end < buf.length ? copyOf(buf, end) : null;
    });
  });
  server.listen({ host: HOST, port: wantedPort, backlog: 511 }, () => {
    announce((server.address() as { port: number }).port);
  });
}

// ---------------------------------------------------------------------------------------------
const READ_SIZE = 4096;

async function writeAll(conn: any, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await conn.write(off === 0 ? data : data.subarray(off));
}

async function denoTcpConn(conn: any): Promise<void> {
  const buf = new Uint8Array(READ_SIZE);
  for (;;) {
    const n: number | null = await conn.read(buf);
    if (n === null) break;
    await writeAll(conn, buf.subarray(0, n));
  }
}

async function denoTextConn(conn: any): Promise<void> {
  let buf = new Uint8Array(READ_SIZE);
  let kept = 0; // an incomplete line at the start of buf
  for (;;) {
    if (kept === buf.length) {
      const bigger = new Uint8Array(buf.length * 2);
      bigger.set(buf);
      buf = bigger;
    }
    const n: number | null = await conn.read(kept === 0 ? buf : buf.subarray(kept));
    if (n === null) break;
    const len = kept + n;
    const end = completeLinesEnd(buf, len);
    if (end > 0) await writeAll(conn, buf.subarray(0, end));
    if (end > 0 && end < len) buf.copyWithin(0, end, len);
    kept = len - end;
  }
}

async function denoServer(): Promise<void> {
  const Deno = g.Deno;
  Deno.addSignalListener("SIGINT", () => Deno.exit(0));
  const listener = Deno.listen({ hostname: HOST, port: wantedPort });
  announce(listener.addr.port);
  const serve = kind === "tcp" ? denoTcpConn : denoTextConn;
  for await (const conn of listener) {
    conn.setNoDelay?.(true);
    serve(conn).catch(() => {}).finally(() => {
      try {
        conn.close();
      } catch { /* closed already */ }
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Bun: `socket.data` stays undefined for a connection with nothing pending (the idle case);
// otherwise it holds the unwritten output tail (tcp) or { line, out } (text).
function bunSend(s: any, data: Uint8Array): Uint8Array | null {
  const n = s.write(data);
  const written = n > 0 ? n : 0;
  return written < data.length ? copyOf(data, written) : null;
}

const bunTcp = {
  data(s: any, chunk: Uint8Array) {
    const out: Uint8Array | undefined = s.data;
    if (out) s.data = concat2(out, chunk);
    else s.data = bunSend(s, chunk) ?? undefined;
  },
  drain(s: any) {
    const out: Uint8Array | undefined = s.data;
    if (out) s.data = bunSend(s, out) ?? undefined;
  },
  error() {},
};

interface BunTextState {
  line: Uint8Array | null;
  out: Uint8Array | null;
}
const bunText = {
  data(s: any, chunk: Uint8Array) {
    const st: BunTextState | undefined = s.data;
    const buf = st?.line ? concat2(st.line, chunk) : chunk;
    const end = completeLinesEnd(buf, buf.length);
    let out = st?.out ?? null;
    if (end > 0) {
      const reply = end === buf.length ? buf : buf.subarray(0, end);
      out = out ? concat2(out, reply) : bunSend(s, reply);
    }
    const line = end < buf.length ? copyOf(buf, end) : null;
    s.data = line || out ? { line, out } : undefined;
  },
  drain(s: any) {
    const st: BunTextState | undefined = s.data;
    if (!st?.out) return;
    st.out = bunSend(s, st.out);
    if (!st.out && !st.line) s.data = undefined;
  },
  error() {},
};

function bunServer(): void {
  g.process.on("SIGINT", () => g.process.exit(0));
  const server = g.Bun.listen({
    hostname: HOST,
    port: wantedPort,
    socket: kind === "tcp" ? bunTcp : bunText,
  });
  announce(server.port);
}

// ---------------------------------------------------------------------------------------------
if (runtimeName === "node") await nodeServer();
else if (runtimeName === "deno") await denoServer();
else bunServer();
