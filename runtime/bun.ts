/**
 * Bun adapter: `Bun.listen` / `Bun.connect` (tcp, tls, unix) on Bun's native socket layer,
 * `Bun.udpSocket`, `Bun.spawn` with an IPC channel. Signals, files and process facts come
 * from `_process.ts` (Bun's `node:process`, `node:fs` and `node:os` behave as Node's).
 *
 * Bun calls one handler object per listener with the socket as first argument; the
 * per-connection state ({@link BunConn}) lives in `socket.data`, so an idle connection costs
 * Bun's own socket plus one small object, and no closures.
 *
 * Facts this file relies on (Bun 1.4, checked by experiment):
 * - `socket.write()` writes what the kernel takes and returns that byte count (-1 when closed);
 *   the rest is dropped, so the adapter queues the tail and flushes it from `drain`.
 * - With `allowHalfOpen: true` the peer's FIN calls `end` and the socket stays writable.
 * - `shutdown()` sends FIN and keeps reading; Bun closes the socket once the peer's FIN arrives
 *   (calling `close`, not `end`).
 * - `end()` on TCP closes the descriptor at once (FIN after what the kernel holds, `close`
 *   synchronously); on TLS it sends close_notify and FIN and leaves the socket to Bun until the
 *   peer closes (`terminate()` is a no-op from then on, data is still read).
 *   `terminate()` closes with a reset, losing what the kernel still holds; `close` fires
 *   synchronously.
 * - `pause()` stops polling for reading: the kernel buffer fills and the peer's writes block.
 *   On TLS one already decrypted record may still be delivered after `pause()`; it is held.
 * - An exception thrown by a handler is passed to the `error` handler; rethrowing it there
 *   makes it an ordinary uncaught exception, as on Node. Socket I/O errors (ECONNRESET...)
 *   come as the second argument of `close`.
 * - TLS: `open` fires on accept, `handshake` once the handshake is done (false on failure,
 *   after which Bun closes the socket). `Bun.connect` resolves at `open`, before the handshake.
 * - `socket.timeout()` has a granularity of about 4 s.
 * - TCP_NODELAY is on by default.
 * - A second bind of a port fails with EADDRINUSE unless both use `reusePort: true`.
 *
 * @module
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as net from "node:net";
import { Buffer } from "node:buffer";
import process from "node:process";
import type {
  Child,
  Conn,
  ConnectOptions,
  ConnHandler,
  Datagram,
  ListenOptions,
  Listener,
  Runtime,
  SpawnOptions,
  UdpOptions,
  UdpSocket,
} from "./types.ts";
import type { BunGlobal, BunSocket, BunSocketHandler, BunTlsOptions } from "./_bun_types.ts";
import { commonProcessFacts } from "./_process.ts";

const bun = (globalThis as unknown as { Bun: BunGlobal }).Bun;

// ---- stream connections -----------------------------------------------------------------

/** `pause()` was called by the user. */
const PAUSED = 1;
/** Reading is paused by the adapter until `start()` attaches a handler. */
const HELD = 2;
/** `end()` was called: FIN goes out once the queue is flushed; no more writes. */
const ENDING = 4;
/** FIN was sent (`socket.shutdown()`). */
const SHUT = 8;
/** The peer's FIN was seen (`handleEnd` delivered or recorded). */
const GOT_END = 16;
/** `handleClose` is delivered or scheduled; the socket is unusable for the core. */
const CLOSED = 32;
/** `destroy()` was called. */
const DESTROYED = 64;
/** Bun's `close` handler ran: the descriptor is gone. */
const GONE = 128;
/** A TLS socket. */
const TLS = 256;

/** After `destroy()` of a TLS socket, wait at most this long for the peer to close before a reset. */
const TLS_DESTROY_LINGER_MS = 5000;
/** A TLS client must finish its handshake within this many seconds (Node's `handshakeTimeout`). */
const TLS_HANDSHAKE_TIMEOUT_S = 120;
/** Queued chunks smaller than this are merged with their neighbours before a flush. */
const SMALL_CHUNK = 16 * 1024;
/** Upper bound of one merged flush write. */
const MERGE_LIMIT = 64 * 1024;

/** Events held back: they arrived before `start()` or while paused, or after held ones. */
interface Early {
  chunks: Uint8Array[];
  end: boolean;
  closed: boolean;
  error: Error | undefined;
}

/** Size of a queued item as counted by `bufferedAmount`: bytes, or UTF-16 units for strings. */
function units(item: Uint8Array | string): number {
  return typeof item === "string" ? item.length : item.byteLength;
}

function byteLength(item: Uint8Array | string): number {
  return typeof item === "string" ? Buffer.byteLength(item, "utf8") : item.byteLength;
}

/** The value last rethrown from a core callback, so the `error` handler can tell it from an I/O error. */
let thrown: unknown;

function rethrow(err: unknown): never {
  thrown = err;
  throw err;
}

/** One Bun socket in the {@link Conn} shape. Kept small: it is the per-connection cost. */
class BunConn implements Conn {
  socket: BunSocket<BunConn>;
  handler: ConnHandler | null = null;
  /** Unwritten data in order; null when nothing is queued. */
  queue: (Uint8Array | string)[] | null = null;
  queued = 0;
  flags = 0;
  /** Held events, delivered in order by `replay()`; null when nothing is held. */
  early: Early | null = null;
  /** Cached at open: Bun forgets them once the socket is closed, when `handleClose` may still ask. */
  readonly remoteAddress: string;
  readonly remotePort: number;

  constructor(socket: BunSocket<BunConn>, tls: boolean) {
    this.socket = socket;
    if (tls) this.flags = TLS;
    this.remoteAddress = socket.remoteAddress ?? "";
    this.remotePort = socket.remotePort ?? 0;
  }

  get localAddress(): string {
    return this.socket.localAddress ?? "";
  }
  get localPort(): number {
    return this.socket.localPort ?? 0;
  }
  get bufferedAmount(): number {
    return this.queued;
  }

  start(handler: ConnHandler): void {
    if (this.handler !== null) return;
    this.handler = handler;
    if (this.flags & HELD) {
      this.flags &= ~HELD;
      if (!(this.flags & (PAUSED | CLOSED))) this.socket.resume();
    }
    if (this.early !== null) queueMicrotask(() => this.replay());
  }

  /**
   * Deliver held events in order. Stops while paused (what is left waits for `resume()`),
   * unless the socket is closed: then everything goes out, close last.
   */
  replay(): void {
    const e = this.early;
    const h = this.handler;
    if (e === null || h === null) return;
    const chunks = e.chunks;
    while (chunks.length > 0) {
      if (this.early !== e) return; // destroyed meanwhile: the rest is discarded
      if (this.flags & PAUSED && !e.closed) return;
      h.handleData(chunks.shift()!);
    }
    if (this.early !== e || (this.flags & PAUSED && !e.closed)) return;
    this.early = null;
    if (e.end) h.handleEnd();
    if (e.closed) h.handleClose(e.error);
  }

  earlyEvents(): Early {
    return (this.early ??= { chunks: [], end: false, closed: false, error: undefined });
  }

  write(data: Uint8Array | string): boolean {
    if (this.flags & (CLOSED | ENDING)) return false;
    if (this.queue !== null) {
      // Something is waiting already: append, never overtake it.
      this.queue.push(data);
      this.queued += units(data);
      return false;
    }
    const n = this.socket.write(data);
    let tail: Uint8Array;
    if (typeof data === "string") {
      // UTF-8 never has fewer bytes than the string has UTF-16 units.
      if (n >= data.length && n === Buffer.byteLength(data, "utf8")) return true;
      if (n < 0) return false; // closed; `close` reports it
      const bytes = Buffer.from(data, "utf8");
      if (n >= bytes.byteLength) return true;
      tail = bytes.subarray(n);
    } else {
      if (n === data.byteLength) return true;
      if (n < 0) return false;
      tail = data.subarray(n);
    }
    this.queue = [tail];
    this.queued = tail.byteLength;
    return false;
  }

  /** Bun's `drain`: write as much of the queue as the kernel takes now. */
  flush(): void {
    const q = this.queue;
    if (q === null || this.flags & CLOSED) return;
    const s = this.socket;
    let i = 0;
    while (i < q.length) {
      let chunk = q[i];
      let next = i + 1;
      let covered = units(chunk);
      if (next < q.length && covered < SMALL_CHUNK) {
        // Merge a run of small chunks into one write.
        let total = byteLength(chunk);
        let j = next;
        while (j < q.length) {
          const size = byteLength(q[j]);
          if (size >= SMALL_CHUNK || total + size > MERGE_LIMIT) break;
          total += size;
          j++;
        }
        if (j > next) {
          const merged = Buffer.allocUnsafe(total);
          let offset = 0;
          covered = 0;
          for (let k = i; k < j; k++) {
            const item = q[k];
            covered += units(item);
            if (typeof item === "string") offset += merged.write(item, offset, "utf8");
            else {
              merged.set(item, offset);
              offset += item.byteLength;
            }
          }
          chunk = merged;
          next = j;
        }
      }
      const n = s.write(chunk);
      if (n < 0 || this.flags & CLOSED) return; // closed meanwhile; `close` reports it
      if (n >= byteLength(chunk)) {
        this.queued -= covered;
        i = next;
        continue;
      }
      const bytes = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk;
      const tail = bytes.subarray(n);
      this.queued += tail.byteLength - covered;
      q[next - 1] = tail;
      if (next - 1 > 0) q.splice(0, next - 1);
      return;
    }
    this.queue = null;
    this.queued = 0;
    if (this.flags & ENDING) {
      this.shutdown();
      return;
    }
    const h = this.handler;
    if (h === null) return;
    try {
      h.handleDrain();
    } catch (err) {
      rethrow(err);
    }
  }

  pause(): void {
    this.flags |= PAUSED;
    if (!(this.flags & (HELD | CLOSED))) this.socket.pause();
  }

  resume(): void {
    if (!(this.flags & PAUSED)) return;
    this.flags &= ~PAUSED;
    if (!(this.flags & (HELD | CLOSED))) this.socket.resume();
    if (this.early !== null && this.handler !== null) queueMicrotask(() => this.replay());
  }

  end(): void {
    if (this.flags & (CLOSED | ENDING)) return;
    this.flags |= ENDING;
    if (this.queue === null) this.shutdown();
  }

  /** FIN now; Bun keeps reading and closes the socket when the peer's FIN arrives. */
  shutdown(): void {
    this.flags |= SHUT;
    this.socket.shutdown();
  }

  destroy(): void {
    if (this.flags & CLOSED) return;
    this.flags |= DESTROYED;
    this.markClosed(undefined);
    const s = this.socket;
    if (!(this.flags & TLS)) {
      // close(2) at once: the kernel still delivers what it holds, then FIN (like Node's
      // destroy). A reset (`terminate`) would throw away data the core was told was written.
      s.end();
      return;
    }
    // TLS `end()` would hand the socket to Bun until the peer closes, out of our reach
    // (`terminate` is then a no-op). Instead: close_notify and FIN now, reset if the peer
    // sends more or has not closed within the linger time; its FIN closes the socket earlier.
    s.shutdown();
    setTimeout(terminateSocket, TLS_DESTROY_LINGER_MS, s).unref();
  }

  /** The socket is closed for the core: deliver `handleClose` once, after the current call returns. */
  markClosed(error: Error | undefined): void {
    const f = this.flags;
    if (f & CLOSED) return;
    this.flags = f | CLOSED;
    this.queue = null;
    this.queued = 0;
    const h = this.handler;
    // After our FIN Bun closes on the peer's FIN without calling `end`: report the EOF as Node does.
    const eof = error === undefined && (f & (SHUT | GOT_END | DESTROYED)) === SHUT;
    if (f & DESTROYED) this.early = null; // destroy() discards what is held
    if (h === null || this.early !== null) {
      // Close after what is held (before start(), or paused): replay() delivers it last.
      const e = this.earlyEvents();
      e.end ||= eof;
      e.closed = true;
      e.error = error;
      if (h !== null) queueMicrotask(() => this.replay());
      return;
    }
    queueMicrotask(() => {
      if (eof) h.handleEnd();
      h.handleClose(error);
    });
  }
}

function onSocketData(s: BunSocket<BunConn>, chunk: Uint8Array): void {
  const c = s.data;
  if (c.flags & CLOSED) {
    // Only a destroyed TLS socket lingering for its peer's close still reads: cut it.
    s.terminate();
    return;
  }
  const h = c.handler;
  if (h === null || c.early !== null || c.flags & PAUSED) {
    // Not started, paused (TLS may hand over a decrypted record after pause()), or behind held data.
    c.earlyEvents().chunks.push(chunk);
    return;
  }
  try {
    h.handleData(chunk);
  } catch (err) {
    rethrow(err);
  }
}

function onSocketDrain(s: BunSocket<BunConn>): void {
  s.data.flush();
}

function onSocketEnd(s: BunSocket<BunConn>): void {
  const c = s.data;
  if (c.flags & (CLOSED | GOT_END)) return;
  c.flags |= GOT_END;
  const h = c.handler;
  if (h === null || c.early !== null || c.flags & PAUSED) {
    c.earlyEvents().end = true;
    return;
  }
  try {
    h.handleEnd();
  } catch (err) {
    rethrow(err);
  }
}

function onSocketClose(s: BunSocket<BunConn>, error?: Error): void {
  const c = s.data;
  c.flags |= GONE;
  c.markClosed(error ?? undefined);
}

function onSocketError(s: BunSocket<BunConn>, error: Error): void {
  if (error === thrown) {
    // A core callback threw: let it be an uncaught exception, as on Node.
    thrown = undefined;
    throw error;
  }
  // An I/O error Bun reported here rather than through `close`.
  const c = s.data as BunConn | ConnectRequest;
  if (c instanceof BunConn) c.markClosed(error);
  else if (c instanceof ConnectRequest) c.reject(error);
  s.terminate();
}

/** Reset a socket (a no-op once it is closed). */
function terminateSocket(s: BunSocket<BunConn>): void {
  s.terminate();
}

/** Hand a new server connection to the core; hold reading if it does not start it at once. */
function announce(c: BunConn, onConnection: (conn: Conn) => void): void {
  try {
    onConnection(c);
  } catch (err) {
    rethrow(err);
  }
  if (c.handler === null && !(c.flags & CLOSED)) {
    c.flags |= HELD;
    c.socket.pause();
  }
}

function serverHandler(onConnection: (conn: Conn) => void, ssl: boolean): BunSocketHandler<BunConn> {
  const handler: BunSocketHandler<BunConn> = {
    open(s) {
      const c = new BunConn(s, ssl);
      s.data = c;
      if (ssl) s.timeout(TLS_HANDSHAKE_TIMEOUT_S);
      else announce(c, onConnection);
    },
    data: onSocketData,
    drain: onSocketDrain,
    end: onSocketEnd,
    close: onSocketClose,
    error: onSocketError,
  };
  if (ssl) {
    // The core sees a TLS connection only once the handshake succeeded: a plain-text or
    // broken client is dropped here without anyone noticing.
    handler.handshake = (s, success) => {
      const c = s.data;
      if (c.flags & CLOSED) return;
      if (!success) {
        c.flags |= CLOSED;
        s.terminate();
        return;
      }
      s.timeout(0);
      announce(c, onConnection);
    };
    // Only armed until the handshake is done: a client that never completes it is dropped.
    handler.timeout = (s) => {
      const c = s.data;
      if (c.handler !== null || c.flags & CLOSED) return;
      c.flags |= CLOSED;
      s.terminate();
    };
  }
  return handler;
}

async function listen(options: ListenOptions, onConnection: (conn: Conn) => void): Promise<Listener> {
  const ssl = options.transport === "ssl";
  let tls: BunTlsOptions | undefined;
  if (ssl) {
    if (!options.tls?.cert || !options.tls.key) throw new Error("a ssl listener needs tls.cert and tls.key");
    tls = { cert: options.tls.cert, key: options.tls.key };
  }
  const socket = serverHandler(onConnection, ssl);
  const unixPath = options.transport === "unix" ? options.path : undefined;
  let listener;
  if (options.transport === "unix") {
    if (!unixPath) throw new Error("a unix listener needs a path");
    if (fs.existsSync(unixPath)) fs.unlinkSync(unixPath); // a stale socket file from a previous run
    listener = bun.listen<BunConn>({ unix: unixPath, allowHalfOpen: true, socket });
  } else {
    listener = bun.listen<BunConn>({
      hostname: options.host || "0.0.0.0",
      port: options.port ?? 0,
      tls,
      allowHalfOpen: true,
      reusePort: options.reusePort === true,
      socket,
    });
  }
  // `options.backlog` has no equivalent in Bun.listen (Bun passes its own backlog to listen(2)).
  let closed = false;
  return {
    host: listener.hostname ?? "",
    port: listener.port ?? 0,
    path: unixPath,
    close() {
      if (closed) return;
      closed = true;
      listener.stop(); // open connections stay; Bun also removes the unix socket file
      if (unixPath) {
        try {
          fs.unlinkSync(unixPath);
        } catch { /* already gone */ }
      }
    },
  };
}

/** `socket.data` of an outgoing socket until it is established. */
class ConnectRequest {
  resolve: (conn: Conn) => void;
  reject: (err: Error) => void;
  ssl: boolean;
  constructor(resolve: (conn: Conn) => void, reject: (err: Error) => void, ssl: boolean) {
    this.resolve = resolve;
    this.reject = reject;
    this.ssl = ssl;
  }
}

/** The outgoing socket is usable: swap in its Conn, held until `start()`. */
function established(s: BunSocket<BunConn>, request: ConnectRequest): void {
  const c = new BunConn(s, request.ssl);
  s.data = c;
  c.flags |= HELD;
  s.pause();
  request.resolve(c);
}

const clientHandler: BunSocketHandler<BunConn> = {
  open(s) {
    const r = s.data as unknown;
    if (r instanceof ConnectRequest && !r.ssl) established(s, r);
  },
  handshake(s, success, authorizationError) {
    const r = s.data as unknown;
    if (!(r instanceof ConnectRequest)) return;
    if (!success) {
      r.reject(authorizationError ?? new Error("TLS handshake failed"));
      s.terminate();
      return;
    }
    established(s, r);
  },
  connectError(s, error) {
    const r = s.data as unknown;
    if (r instanceof ConnectRequest) r.reject(error);
  },
  close(s, error) {
    const r = s.data as unknown;
    if (r instanceof ConnectRequest) {
      r.reject(error ?? new Error("connection closed before it was established"));
      return;
    }
    onSocketClose(s, error);
  },
  // Until established, `socket.data` is the request: nothing to deliver to yet.
  data(s, chunk) {
    if ((s.data as unknown) instanceof BunConn) onSocketData(s, chunk);
  },
  drain(s) {
    if ((s.data as unknown) instanceof BunConn) s.data.flush();
  },
  end(s) {
    if ((s.data as unknown) instanceof BunConn) onSocketEnd(s);
  },
  error: onSocketError,
};

function connect(options: ConnectOptions): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const ssl = options.transport === "ssl";
    const request = new ConnectRequest(resolve, reject, ssl);
    let tls: BunTlsOptions | undefined;
    if (ssl) {
      const servername = options.tls?.servername ?? (options.host && !net.isIP(options.host) ? options.host : undefined);
      tls = { rejectUnauthorized: options.tls?.verify !== false };
      if (servername) tls.serverName = servername;
      if (options.tls?.ca) tls.ca = options.tls.ca;
    }
    const common = { allowHalfOpen: true, data: request as unknown as BunConn, socket: clientHandler };
    const pending = options.transport === "unix"
      ? bun.connect<BunConn>({ unix: options.path, ...common })
      : bun.connect<BunConn>({ hostname: options.host ?? "127.0.0.1", port: options.port, tls, ...common });
    pending.then(undefined, reject);
  });
}

// ---- datagrams --------------------------------------------------------------------------

async function udp(options: UdpOptions, onDatagram: (d: Datagram) => void): Promise<UdpSocket> {
  if (options.reusePort) {
    // Bun.udpSocket has no documented SO_REUSEPORT option; Bun's node:dgram sets it.
    return (await import("./node.ts")).udp(options, onDatagram);
  }
  const socket = await bun.udpSocket({
    hostname: options.host,
    port: options.port,
    socket: {
      data(_s, data, port, address) {
        onDatagram({ data, address, port });
      },
      error(_s, err) {
        process.stderr.write(`udp error: ${err.message}\n`);
      },
    },
  });
  return {
    host: socket.hostname,
    port: socket.port,
    send(data, port, address) {
      try {
        // Bun sends only to IP literals (no DNS lookup); anything else is refused.
        return socket.send(data, port, address);
      } catch {
        return false;
      }
    },
    close() {
      try {
        socket.close();
      } catch { /* already closed */ }
    },
  };
}

// ---- child processes --------------------------------------------------------------------

/** Inside an executable made by `bun build --compile` the script is embedded, not on the command line. */
function isStandalone(): boolean {
  return bun.main.startsWith("/$bunfs/") || /^[A-Za-z]:[\\/]~BUN[\\/]/.test(bun.main);
}

const signalNames = new Map<number, string>(
  Object.entries(os.constants.signals).map(([name, num]) => [num as number, name]),
);

function spawnSelf(options: SpawnOptions): Child {
  const cmd = isStandalone()
    ? [process.execPath, ...process.argv.slice(2)]
    : [process.execPath, ...process.execArgv, path.resolve(bun.main), ...process.argv.slice(2)];
  const stdio = options.inheritStdio === false ? "ignore" : "inherit";
  let exited = false;
  const proc = bun.spawn(cmd, {
    env: { ...process.env, ...options.env },
    stdio: [stdio, stdio, stdio],
    // Same wire format as node.ts's fork (and so the same message semantics on every runtime).
    serialization: "json",
    ipc(message) {
      options.onMessage?.(message);
    },
    onExit(_p, exitCode, signalCode) {
      if (exited) return;
      exited = true;
      const signal = typeof signalCode === "number" ? (signalNames.get(signalCode) ?? String(signalCode)) : signalCode;
      options.onExit(signal ? null : exitCode, signal ?? null);
    },
  });
  return {
    get pid() {
      return proc.pid;
    },
    send(message) {
      if (exited || !proc.connected) return false;
      try {
        return proc.send(message) !== false;
      } catch {
        return false;
      }
    },
    kill(signal = "SIGTERM") {
      try {
        proc.kill(signal);
      } catch { /* already gone */ }
    },
  };
}

export const runtime: Runtime = {
  name: "bun",
  version: bun.version,
  listen,
  connect,
  udp,
  spawnSelf,
  ...commonProcessFacts,
  get args() {
    return process.argv.slice(2);
  },
  get mainScript() {
    return path.resolve(bun.main);
  },
  tempDir: () => os.tmpdir(),
};
