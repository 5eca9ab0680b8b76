/**
 * Benchmark server: the raw-socket ceiling for HTTP hello world on each runtime's own socket API.
 * It does the least an HTTP/1.1 server must: find each request's end (CRLFCRLF, with one native
 * search), answer every request of a read with one write of hand-written responses (the same
 * bytes the framework sends, Date refreshed each second), close after `Connection: close`.
 *
 * Node: `node:net`. Deno: `Deno.listen`, 4 KiB reads, a write loop for partial writes. Bun:
 * `Bun.listen`, keeping an unwritten tail and flushing it on `drain`.
 *
 * Prints `raw <runtime> listening http://127.0.0.1:<port>` then `Start success.`.
 */
// deno-lint-ignore-file no-explicit-any
import { Buffer } from "node:buffer";

const g = globalThis as any;
const runtimeName: "node" | "deno" | "bun" = g.Bun ? "bun" : g.Deno ? "deno" : "node";
const HOST = "127.0.0.1";
const port = Number(g.process?.env?.BENCH_PORT ?? 0);
const END = Buffer.from("\r\n\r\n");
const CLOSE = Buffer.from("Connection: close");

let keep = Buffer.alloc(0);
let shut = Buffer.alloc(0);
function refresh(): void {
  const head = (c: string) =>
    `HTTP/1.1 200 OK\r\nServer: workerman\r\nDate: ${new Date().toUTCString()}\r\nConnection: ${c}\r\n` +
    "Content-Type: text/html;charset=utf-8\r\nContent-Length: 11\r\n\r\nhello world";
  keep = Buffer.from(head("keep-alive"));
  shut = Buffer.from(head("close"));
}
refresh();
setInterval(refresh, 1000);

/** What to answer to buf: the responses for its complete requests, the unanswered tail, and whether to close. */
function answer(buf: Buffer): { out: Buffer | null; rest: Buffer | null; close: boolean } {
  let start = 0;
  let n = 0;
  let close = false;
  for (;;) {
    const end = buf.indexOf(END, start);
    if (end === -1) break;
    const c = buf.indexOf(CLOSE, start);
    n++;
    start = end + 4;
    if (c !== -1 && c < end) {
      close = true;
      break;
    }
  }
  let out: Buffer | null = null;
  if (n > 0) {
    if (close) out = n === 1 ? shut : Buffer.concat([...Array(n - 1).fill(keep), shut]);
    else out = n === 1 ? keep : Buffer.concat(Array(n).fill(keep));
  }
  return { out, rest: close || start >= buf.length ? null : buf.subarray(start), close };
}

function announce(p: number): void {
  console.log(`raw ${runtimeName} listening http://${HOST}:${p}`);
  console.log(`WORKER_PID ${g.process?.pid ?? g.Deno?.pid}`);
  console.log("Start success.");
}

if (runtimeName === "node") {
  const net = await import("node:net");
  const server = net.createServer({ noDelay: true }, (s) => {
    s.on("error", () => {});
    let tail: Buffer | null = null;
    s.on("data", (chunk: Buffer) => {
      const { out, rest, close } = answer(tail ? Buffer.concat([tail, chunk]) : chunk);
      tail = rest ? Buffer.from(rest) : null;
      if (out) s.write(out);
      if (close) s.end();
    });
  });
  server.listen({ host: HOST, port, backlog: 511 }, () => announce((server.address() as { port: number }).port));
} else if (runtimeName === "deno") {
  const listener = g.Deno.listen({ hostname: HOST, port });
  announce(listener.addr.port);
  const serve = async (conn: any) => {
    const buf = new Uint8Array(4096);
    let tail: Buffer | null = null;
    try {
      for (;;) {
        const n = await conn.read(buf);
        if (n === null) break;
        const chunk = Buffer.from(buf.buffer, 0, n);
        const { out, rest, close } = answer(tail ? Buffer.concat([tail, chunk]) : chunk);
        tail = rest ? Buffer.from(rest) : null;
        if (out) {
          let off = 0;
          while (off < out.length) off += await conn.write(off === 0 ? out : out.subarray(off));
        }
        if (close) break;
      }
    } catch { /* reset */ }
    try {
      conn.close();
    } catch { /* closed */ }
  };
  for await (const conn of listener) {
    conn.setNoDelay?.(true);
    serve(conn);
  }
} else {
  const listener = g.Bun.listen({
    hostname: HOST,
    port,
    socket: {
      open(s: any) {
        s.data = { tail: null, pending: null, close: false };
      },
      data(s: any, chunk: Buffer) {
        const st = s.data;
        const { out, rest, close } = answer(st.tail ? Buffer.concat([st.tail, chunk]) : chunk);
        st.tail = rest ? Buffer.from(rest) : null;
        if (out) {
          if (st.pending) st.pending = Buffer.concat([st.pending, out]);
          else {
            const written = s.write(out);
            if (written < out.length) st.pending = Buffer.from(out.subarray(Math.max(0, written)));
          }
        }
        if (close) {
          if (st.pending) st.close = true;
          else s.end();
        }
      },
      drain(s: any) {
        const st = s.data;
        if (!st.pending) return;
        const out = st.pending;
        const written = s.write(out);
        st.pending = written < out.length ? Buffer.from(out.subarray(Math.max(0, written))) : null;
        if (!st.pending && st.close) s.end();
      },
      error() {},
    },
  });
  announce(listener.port);
}
