/**
 * Micro-benchmark of the framework's per-message work on `text://`, without sockets: a
 * TcpConnection over an in-memory connection is fed reads of 16 lines (24 bytes each) and
 * echoes every line, as the text echo benchmark does. Prints ns per message (the fastest of
 * 7 runs, as other load only ever slows a run down); run it on each
 * runtime to see the cost of framing, decoding, the callback, encoding and coalescing.
 *
 * Usage: node --import tsx bench/micro/text_loop.ts | deno run -A bench/micro/text_loop.ts | bun bench/micro/text_loop.ts
 */
import { TcpConnection, Text } from "../../mod.ts";
import type { Conn, ConnHandler } from "../../runtime/types.ts";

let written = 0;
const sink: Conn = {
  remoteAddress: "127.0.0.1",
  remotePort: 1,
  localAddress: "127.0.0.1",
  localPort: 2,
  bufferedAmount: 0,
  start(_h: ConnHandler) {},
  write(data: Uint8Array | string) {
    written += data.length;
    return true;
  },
  pause() {},
  resume() {},
  end() {},
  destroy() {},
};

const line = "x".repeat(23) + "\n";
const read = new TextEncoder().encode(line.repeat(16));
const conn = new TcpConnection(sink, null, Text);
conn.onMessage = (c: TcpConnection, data: string) => c.send(data);

function run(reads: number): number {
  const start = performance.now();
  // A fresh copy per read, as a socket delivers fresh memory.
  for (let i = 0; i < reads; i++) conn.handleData(read.slice());
  return ((performance.now() - start) * 1e6) / (reads * 16);
}

run(20_000); // warm up
const samples = Array.from({ length: 7 }, () => run(50_000)).sort((a, b) => a - b);
const name = (globalThis as { Deno?: unknown; Bun?: unknown }).Bun
  ? "bun"
  : (globalThis as { Deno?: unknown }).Deno
  ? "deno"
  : "node";
console.log(`${name}: ${samples[0].toFixed(0)} ns per message (fastest of 7 runs; ${written} bytes written)`);
