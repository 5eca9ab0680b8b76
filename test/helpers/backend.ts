/**
 * A backend for the proxy tests, on Node's own sockets. The first line a connection sends
 * picks what it does:
 *
 * - `echo`: sends back everything that follows;
 * - `source <n>`: sends `n` bytes of {@link patternByte}, then closes; the time it spent waiting
 *   for `drain` (its peer not reading) is added to `stats.waitedMs`;
 * - `sink <n> [<pause ms>]`: reads `n` bytes (pausing `pause ms` after the first chunk), then
 *   answers `got <n> <ok|corrupt>\n` and closes;
 * - `close`: closes at once.
 */
import { createServer, type Server, type Socket } from "node:net";

/** Byte `i` of the test pattern (not periodic in 256, so a lost or doubled chunk shows). */
export function patternByte(i: number): number {
  return (i * 31 + (i >>> 8) * 7 + (i >>> 16)) & 0xff;
}

/** `length` pattern bytes starting at `offset`. */
export function pattern(offset: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) out[i] = patternByte(offset + i);
  return out;
}

/** Checks that consecutive chunks continue the pattern. */
export class PatternChecker {
  received = 0;
  ok = true;
  add(chunk: Uint8Array): void {
    for (let i = 0; i < chunk.length && this.ok; i++) {
      if (chunk[i] !== patternByte(this.received + i)) this.ok = false;
    }
    this.received += chunk.length;
  }
}

export interface Backend {
  server: Server;
  port: number;
  stats: { waitedMs: number; closed: number; accepted: number };
  close(): Promise<void>;
}

const CHUNK = 1 << 20;

function source(socket: Socket, total: number, stats: Backend["stats"]): void {
  let sent = 0;
  const pump = () => {
    while (sent < total) {
      const n = Math.min(CHUNK, total - sent);
      const more = socket.write(pattern(sent, n));
      sent += n;
      if (!more) {
        const since = Date.now();
        socket.once("drain", () => {
          stats.waitedMs += Date.now() - since;
          pump();
        });
        return;
      }
    }
    socket.end();
  };
  pump();
}

export function startBackend(): Promise<Backend> {
  const stats = { waitedMs: 0, closed: 0, accepted: 0 };
  const open = new Set<Socket>();
  const server = createServer((socket) => {
    stats.accepted++;
    open.add(socket);
    socket.on("close", () => open.delete(socket));
    socket.on("error", () => {});
    socket.on("close", () => stats.closed++);
    let head = Buffer.alloc(0);
    const onHead = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const eol = head.indexOf(10);
      if (eol < 0) return;
      socket.off("data", onHead);
      const [cmd, a, b] = head.subarray(0, eol).toString().split(" ");
      const rest = head.subarray(eol + 1);
      if (cmd === "echo") {
        if (rest.length) socket.write(rest);
        socket.on("data", (d) => socket.write(d));
      } else if (cmd === "source") {
        source(socket, Number(a), stats);
      } else if (cmd === "sink") {
        const total = Number(a);
        const checker = new PatternChecker();
        let paused = false;
        const take = (d: Uint8Array) => {
          checker.add(d);
          if (!paused && Number(b) > 0) {
            paused = true;
            socket.pause();
            setTimeout(() => socket.resume(), Number(b));
          }
          if (checker.received >= total) socket.end(`got ${checker.received} ${checker.ok ? "ok" : "corrupt"}\n`);
        };
        if (rest.length) take(rest);
        socket.on("data", take);
      } else {
        socket.destroy();
      }
    };
    socket.on("data", onHead);
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      resolve({
        server,
        port: (server.address() as { port: number }).port,
        stats,
        close: () =>
          new Promise((r) => {
            for (const s of open) s.destroy();
            server.close(() => r());
          }),
      });
    });
  });
}
