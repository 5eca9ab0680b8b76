/**
 * Bun adapter: `Bun.listen` / `Bun.connect` (tcp, tls, unix) on Bun's native socket layer,
 * `Bun.udpSocket`, `Bun.spawn` with an IPC channel, and sockets shared by a master with its
 * children bound through libc (`bun:ffi`). Signals, files and process facts come
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
 * - `Bun.listen({ fd })` accepts on a descriptor that is already listening (TCP, unix, and TLS
 *   with `tls`); it sets O_NONBLOCK, reports no hostname/port, and `stop()` closes the descriptor.
 * - `Bun.udpSocket({ fd })` reads a bound UDP descriptor (undocumented; Bun's node:dgram adopts
 *   sockets passed over IPC this way); its `hostname` then says 0.0.0.0 whatever the binding,
 *   and `close()` closes the descriptor.
 * - `Bun.spawn` takes descriptor numbers in stdio slots past 2 (dup2'ed, so close-on-exec does not
 *   carry over); the IPC channel then gets the next number. Every other descriptor is closed in
 *   the child (Bun.spawn and node:child_process alike). `detached: true` runs setsid().
 *
 * @module
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as net from "node:net";
import * as dns from "node:dns";
import * as util from "node:util";
import { Buffer } from "node:buffer";
import process from "node:process";
import type {
  Child,
  Conn,
  ConnectOptions,
  ConnHandler,
  Datagram,
  Listener,
  ListenOptions,
  LookupAddress,
  Runtime,
  SharedSocket,
  SpawnOptions,
  UdpOptions,
  UdpSocket,
} from "./types.ts";
import type {
  BunFfi,
  BunGlobal,
  BunListener,
  BunSocket,
  BunSocketHandler,
  BunStdio,
  BunSubprocess,
  BunTlsOptions,
  BunUdpOptions,
  BunUdpSocket,
} from "./_bun_types.ts";
import { commonProcessFacts, displayPath, programName, shellWord } from "./_process.ts";
import { gzip, rawZlib } from "./_zlib.ts";

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

/** Data the kernel did not take yet, in order, and its size as counted by `bufferedAmount`. */
interface Queue {
  items: (Uint8Array | string)[];
  units: number;
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

/**
 * One Bun socket in the {@link Conn} shape. Kept small: it is the per-connection cost (six
 * fields are a 64-byte object in JSC, seven an 80-byte one).
 */
class BunConn implements Conn {
  socket: BunSocket<BunConn>;
  handler: ConnHandler | null = null;
  /** Unwritten data; null when nothing is queued. */
  queue: Queue | null = null;
  flags = 0;
  /** Held events, delivered in order by `replay()`; null when nothing is held. */
  early: Early | null = null;
  /** Cached at open: Bun forgets it once the socket is closed, when `handleClose` may still ask. */
  readonly remotePort: number;

  constructor(socket: BunSocket<BunConn>, tls: boolean) {
    this.socket = socket;
    if (tls) this.flags = TLS;
    this.remotePort = socket.remotePort ?? 0;
    // Read once now: Bun keeps the string it made from then on, also after the socket is
    // closed (when `handleClose` may still ask), and answers "" otherwise.
    void socket.remoteAddress;
  }

  get remoteAddress(): string {
    return this.socket.remoteAddress ?? "";
  }
  get localAddress(): string {
    return this.socket.localAddress ?? "";
  }
  get localPort(): number {
    return this.socket.localPort ?? 0;
  }
  get bufferedAmount(): number {
    return this.queue?.units ?? 0;
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
    const queue = this.queue;
    if (queue !== null) {
      // Something is waiting already: append, never overtake it.
      queue.items.push(data);
      queue.units += units(data);
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
    this.queue = { items: [tail], units: tail.byteLength };
    return false;
  }

  /** Bun's `drain`: write as much of the queue as the kernel takes now. */
  flush(): void {
    const queue = this.queue;
    if (queue === null || this.flags & CLOSED) return;
    const q = queue.items;
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
        queue.units -= covered;
        i = next;
        continue;
      }
      const bytes = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk;
      const tail = bytes.subarray(n);
      queue.units += tail.byteLength - covered;
      q[next - 1] = tail;
      if (next - 1 > 0) q.splice(0, next - 1);
      return;
    }
    this.queue = null;
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

/** The TLS settings of a server socket, or undefined for plain TCP / unix. */
function serverTls(options: ListenOptions): BunTlsOptions | undefined {
  if (options.transport !== "ssl") return undefined;
  if (!options.tls?.cert || !options.tls.key) throw new Error("a ssl listener needs tls.cert and tls.key");
  return { cert: options.tls.cert, key: options.tls.key };
}

/** The {@link Listener} of a Bun listener; `unixPath` is removed on close (the socket file this process made). */
function listenerOf(
  listener: BunListener,
  host: string,
  port: number,
  path: string | undefined,
  unixPath: string | undefined,
): Listener {
  let closed = false;
  return {
    host,
    port,
    path,
    close() {
      if (closed) return;
      closed = true;
      listener.stop(); // open connections stay; Bun also removes a unix socket file it bound
      if (unixPath) {
        try {
          fs.unlinkSync(unixPath);
        } catch { /* already gone */ }
      }
    },
  };
}

async function listen(options: ListenOptions, onConnection: (conn: Conn) => void): Promise<Listener> {
  const tls = serverTls(options);
  const socket = serverHandler(onConnection, tls !== undefined);
  let listener: BunListener;
  if (options.transport === "unix") {
    const unixPath = options.path;
    if (!unixPath) throw new Error("a unix listener needs a path");
    removeStaleSocket(unixPath);
    listener = bun.listen<BunConn>({ unix: unixPath, allowHalfOpen: true, socket });
    return listenerOf(listener, "", 0, unixPath, unixPath);
  }
  listener = bun.listen<BunConn>({
    hostname: options.host || "0.0.0.0",
    port: options.port ?? 0,
    tls,
    allowHalfOpen: true,
    reusePort: options.reusePort === true,
    socket,
  });
  // `options.backlog` has no equivalent in Bun.listen (Bun passes its own backlog to listen(2)).
  return listenerOf(listener, listener.hostname ?? "", listener.port ?? 0, undefined, undefined);
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
      const servername = options.tls?.servername ??
        (options.host && !net.isIP(options.host) ? options.host : undefined);
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

function udpHandler(onDatagram: (d: Datagram) => void): BunUdpOptions["socket"] {
  return {
    data(_s, data, port, address) {
      onDatagram({ data, address, port });
    },
    error(_s, err) {
      process.stderr.write(`udp error: ${err.message}\n`);
    },
  };
}

async function udp(options: UdpOptions, onDatagram: (d: Datagram) => void): Promise<UdpSocket> {
  if (options.reusePort) {
    // Bun.udpSocket has no documented SO_REUSEPORT option; Bun's node:dgram sets it.
    return (await import("./node.ts")).udp(options, onDatagram);
  }
  const socket = await bun.udpSocket({ hostname: options.host, port: options.port, socket: udpHandler(onDatagram) });
  return udpSocketOf(socket, socket.hostname, socket.port);
}

function udpSocketOf(socket: BunUdpSocket, host: string, port: number): UdpSocket {
  return {
    host,
    port,
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

// ---- shared listening sockets: libc through bun:ffi --------------------------------------
//
// The master binds with socket/bind/listen itself (Bun.listen would accept on it) and keeps
// only the descriptor. Children get it as stdio slot 3, 4, ... of Bun.spawn and accept on it
// with Bun.listen({ fd }). The master's descriptor is close-on-exec (no leak into other
// programs); the dup2 into a stdio slot clears that flag in the child.

/** The socket constants and sockaddr layout of one platform. */
interface Platform {
  libc: string[];
  errno: string;
  AF_INET6: number;
  SOL_SOCKET: number;
  SO_REUSEADDR: number;
  SO_REUSEPORT: number;
  IPV6_V6ONLY: number;
  /** Or'ed into the socket type: close-on-exec and non-blocking at creation (0 where unsupported). */
  SOCK_FLAGS: number;
  /** BSD sockaddrs start with a length byte, then a one-byte family. */
  saLen: boolean;
  sunPath: number;
}

const AF_UNIX = 1;
const AF_INET = 2;
const SOCK_STREAM = 1;
const SOCK_DGRAM = 2;
const IPPROTO_IPV6 = 41;

function platform(): Platform {
  const arch = process.arch === "x64" ? "x86_64" : process.arch === "arm64" ? "aarch64" : process.arch;
  if (process.platform === "linux") {
    return {
      libc: ["libc.so.6", `libc.musl-${arch}.so.1`, "libc.so"],
      errno: "__errno_location",
      AF_INET6: 10,
      SOL_SOCKET: 1,
      SO_REUSEADDR: 2,
      SO_REUSEPORT: 15,
      IPV6_V6ONLY: 26,
      SOCK_FLAGS: 0x80000 | 0x800, // SOCK_CLOEXEC | SOCK_NONBLOCK
      saLen: false,
      sunPath: 108,
    };
  }
  if (process.platform === "darwin") {
    return {
      libc: ["libc.dylib", "/usr/lib/libSystem.B.dylib"],
      errno: "__error",
      AF_INET6: 30,
      SOL_SOCKET: 0xffff,
      SO_REUSEADDR: 4,
      SO_REUSEPORT: 0x200,
      IPV6_V6ONLY: 27,
      SOCK_FLAGS: 0,
      saLen: true,
      sunPath: 104,
    };
  }
  throw new Error(`shared listening sockets are not supported by the Bun adapter on ${process.platform}`);
}

interface Libc {
  p: Platform;
  socket(domain: number, type: number, protocol: number): number;
  setsockopt(fd: number, level: number, name: number, value: ArrayBufferView, length: number): number;
  bind(fd: number, address: ArrayBufferView, length: number): number;
  listen(fd: number, backlog: number): number;
  getsockname(fd: number, address: ArrayBufferView, length: ArrayBufferView): number;
  close(fd: number): number;
  dup(fd: number): number;
  if_nametoindex(name: ArrayBufferView): number;
  /** errno of the last failed call; read it right after the call. */
  errno(): number;
}

let libcInstance: Libc | undefined;

/** `bun:ffi` is imported by a computed name so that Node and Deno never try to resolve it. */
const FFI_MODULE = "bun:ffi";

async function loadLibc(): Promise<Libc> {
  if (libcInstance) return libcInstance;
  const p = platform();
  const ffi = (await import(FFI_MODULE)) as BunFfi;
  const symbols = {
    socket: { args: ["i32", "i32", "i32"], returns: "i32" },
    setsockopt: { args: ["i32", "i32", "i32", "ptr", "u32"], returns: "i32" },
    bind: { args: ["i32", "ptr", "u32"], returns: "i32" },
    listen: { args: ["i32", "i32"], returns: "i32" },
    getsockname: { args: ["i32", "ptr", "ptr"], returns: "i32" },
    close: { args: ["i32"], returns: "i32" },
    dup: { args: ["i32"], returns: "i32" },
    if_nametoindex: { args: ["ptr"], returns: "u32" },
    [p.errno]: { args: [], returns: "ptr" },
  } satisfies Parameters<BunFfi["dlopen"]>[1];
  let lib: ReturnType<BunFfi["dlopen"]> | undefined;
  let firstError: unknown;
  for (const name of p.libc) {
    try {
      lib = ffi.dlopen(name, symbols);
      break;
    } catch (err) {
      firstError ??= err;
    }
  }
  if (!lib) throw new Error(`cannot load the C library for shared sockets: ${(firstError as Error)?.message}`);
  const f = lib.symbols;
  const errnoLocation = f[p.errno];
  libcInstance = {
    p,
    socket: f.socket,
    setsockopt: f.setsockopt,
    bind: f.bind,
    listen: f.listen,
    getsockname: f.getsockname,
    close: f.close,
    dup: f.dup,
    if_nametoindex: f.if_nametoindex,
    errno: () => ffi.read.i32(errnoLocation(), 0),
  };
  return libcInstance;
}

/** errno number -> [name, text], as Node's `util.getSystemErrorMap` (keyed by the negative errno). */
let errnoNames: Map<number, [string, string]> | undefined;

function errnoInfo(errno: number): [string, string] {
  if (!errnoNames) {
    try {
      errnoNames = util.getSystemErrorMap();
    } catch {
      errnoNames = new Map(Object.entries(os.constants.errno).map(([name, num]) => [-num, [name, name]]));
    }
  }
  return errnoNames.get(-errno) ?? [`E${errno}`, `error ${errno}`];
}

/** An Error shaped like Node's system errors: `listen EADDRINUSE: address already in use 127.0.0.1:80`. */
function systemError(syscall: string, errno: number, address?: string, port?: number): Error {
  const [code, text] = errnoInfo(errno);
  const where = address === undefined ? "" : port === undefined ? ` ${address}` : ` ${address}:${port}`;
  const err = new Error(`${syscall} ${code}: ${text}${where}`) as Error & Record<string, unknown>;
  err.code = code;
  err.errno = -errno;
  err.syscall = syscall;
  if (address !== undefined) err.address = address;
  if (port !== undefined) err.port = port;
  return err;
}

/** Write the family at the start of a sockaddr (BSD: length byte, family byte). */
function setFamily(p: Platform, sa: Uint8Array, family: number): void {
  if (p.saLen) {
    sa[0] = sa.byteLength;
    sa[1] = family;
  } else {
    new DataView(sa.buffer).setUint16(0, family, true);
  }
}

function ipv4Bytes(ip: string): number[] {
  return ip.split(".").map(Number);
}

/** 16 bytes of a (validated) IPv6 literal without zone; an embedded IPv4 tail is allowed. */
function ipv6Bytes(ip: string): Uint8Array {
  const out = new Uint8Array(16);
  let text = ip;
  let v4: number[] | null = null;
  const lastColon = text.lastIndexOf(":");
  if (text.indexOf(".", lastColon) >= 0) {
    v4 = ipv4Bytes(text.slice(lastColon + 1));
    text = text.slice(0, lastColon + 1) + "0:0";
  }
  const [head, tail] = text.split("::");
  const front = head ? head.split(":") : [];
  const back = tail === undefined ? [] : tail ? tail.split(":") : [];
  const groups = [...front, ...new Array<string>(8 - front.length - back.length).fill("0"), ...back];
  groups.forEach((g, i) => {
    const n = parseInt(g, 16);
    out[i * 2] = n >> 8;
    out[i * 2 + 1] = n & 0xff;
  });
  if (v4) out.set(v4, 12);
  return out;
}

/** RFC 5952 text of 16 address bytes. */
function formatIPv6(b: Uint8Array): string {
  if (b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff) {
    return `::ffff:${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  }
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((b[i] << 8) | b[i + 1]);
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (g: number[]) => g.map((x) => x.toString(16)).join(":");
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLength))}`;
}

/** A sockaddr_in / sockaddr_in6 for an IP literal (IPv6 may carry a `%zone`). */
function inetAddress(c: Libc, ip: string, family: number, port: number): Uint8Array {
  if (family === 4) {
    const sa = new Uint8Array(16); // family, port, in_addr, zero[8]
    setFamily(c.p, sa, AF_INET);
    new DataView(sa.buffer).setUint16(2, port, false);
    sa.set(ipv4Bytes(ip), 4);
    return sa;
  }
  const sa = new Uint8Array(28); // family, port, flowinfo, in6_addr, scope_id
  const dv = new DataView(sa.buffer);
  setFamily(c.p, sa, c.p.AF_INET6);
  dv.setUint16(2, port, false);
  const zoneAt = ip.indexOf("%");
  sa.set(ipv6Bytes(zoneAt < 0 ? ip : ip.slice(0, zoneAt)), 8);
  if (zoneAt >= 0) {
    const zone = ip.slice(zoneAt + 1);
    const scope = /^\d+$/.test(zone) ? Number(zone) : c.if_nametoindex(Buffer.from(`${zone}\0`));
    dv.setUint32(24, scope, true);
  }
  return sa;
}

/** A sockaddr_un for a filesystem path. */
function unixAddress(c: Libc, path: string): Uint8Array {
  const bytes = Buffer.from(path, "utf8");
  if (bytes.byteLength >= c.p.sunPath) {
    throw systemError("bind", os.constants.errno.ENAMETOOLONG, path);
  }
  const sa = new Uint8Array(2 + bytes.byteLength + 1); // family, path, NUL
  setFamily(c.p, sa, AF_UNIX);
  sa.set(bytes, 2);
  return sa;
}

/** The address a descriptor is bound to (getsockname). */
function boundAddress(c: Libc, fd: number): { host: string; port: number; path?: string } {
  const sa = new Uint8Array(128);
  const length = new Uint32Array([sa.byteLength]);
  if (c.getsockname(fd, sa, length) < 0) throw systemError("getsockname", c.errno());
  const dv = new DataView(sa.buffer);
  const family = c.p.saLen ? sa[1] : dv.getUint16(0, true);
  if (family === AF_INET) return { host: `${sa[4]}.${sa[5]}.${sa[6]}.${sa[7]}`, port: dv.getUint16(2, false) };
  if (family === c.p.AF_INET6) {
    const scope = dv.getUint32(24, true);
    return { host: formatIPv6(sa.subarray(8, 24)) + (scope ? `%${scope}` : ""), port: dv.getUint16(2, false) };
  }
  if (family === AF_UNIX) {
    const end = Math.min(length[0], sa.byteLength);
    let path = Buffer.from(sa.subarray(2, end)).toString("utf8");
    const nul = path.indexOf("\0");
    if (nul >= 0) path = path.slice(0, nul);
    return { host: "", port: 0, path };
  }
  throw new Error(`socket ${fd} has an unknown address family ${family}`);
}

/** A listening socket bound by this (master) process for its children; see {@link bindShared}. */
class BunSharedSocket implements SharedSocket {
  readonly host: string;
  readonly port: number;
  readonly path: string | undefined;
  /** The listening descriptor, passed to children as a stdio slot; -1 once closed. */
  fd: number;
  /** The inode of the socket file this process created (to not remove someone else's on close). */
  readonly inode: number;

  constructor(fd: number, host: string, port: number, path: string | undefined, inode: number) {
    this.fd = fd;
    this.host = host;
    this.port = port;
    this.path = path;
    this.inode = inode;
  }

  close(): void {
    if (this.fd < 0) return;
    libcInstance!.close(this.fd);
    this.fd = -1;
    if (this.path === undefined) return;
    try {
      if (fs.statSync(this.path).ino === this.inode) fs.unlinkSync(this.path);
    } catch { /* already gone */ }
  }
}

/** Remove a socket file left by a previous run; anything else at the path makes bind fail (EADDRINUSE). */
function removeStaleSocket(path: string): void {
  try {
    if (fs.lstatSync(path).isSocket()) fs.unlinkSync(path);
  } catch { /* nothing there */ }
}

/** The sockaddr of `host:port` (a name is resolved), its domain, and whether it is the IPv6 wildcard. */
async function inetSockaddr(
  c: Libc,
  host: string,
  port: number,
): Promise<{ sa: Uint8Array; domain: number; ip: string; anyIPv6: boolean }> {
  let ip = host;
  let family = net.isIP(host.replace(/%.*$/, ""));
  if (family === 0) {
    let found: { address: string; family: number };
    try {
      found = await dns.promises.lookup(host);
    } catch (err) {
      // Bun's message leaves out the name ("getaddrinfo ENOTFOUND"); Node's has it.
      const e = err as Error;
      if (!e.message.includes(host)) e.message += ` ${host}`;
      throw e;
    }
    ip = found.address;
    family = found.family;
  }
  return {
    sa: inetAddress(c, ip, family, port),
    domain: family === 4 ? AF_INET : c.p.AF_INET6,
    ip,
    anyIPv6: family === 6 && ipv6Bytes(ip.replace(/%.*$/, "")).every((b) => b === 0),
  };
}

async function bindShared(options: ListenOptions): Promise<SharedSocket> {
  const c = await loadLibc();
  const p = c.p;
  let sa: Uint8Array;
  let domain: number;
  let shown: string; // the address for error messages
  let port: number | undefined;
  let anyIPv6 = false;
  if (options.transport === "unix") {
    if (!options.path) throw new Error("a unix listener needs a path");
    sa = unixAddress(c, options.path);
    domain = AF_UNIX;
    shown = options.path;
  } else {
    port = options.port ?? 0;
    const inet = await inetSockaddr(c, options.host || "0.0.0.0", port);
    ({ sa, domain, anyIPv6 } = inet);
    shown = inet.ip;
  }
  const fd = c.socket(domain, SOCK_STREAM | p.SOCK_FLAGS, 0);
  if (fd < 0) throw systemError("socket", c.errno());
  const fail = (syscall: string, errno: number): never => {
    c.close(fd);
    throw systemError(syscall, errno, shown, port);
  };
  const on = new Int32Array([1]);
  if (domain !== AF_UNIX) {
    if (c.setsockopt(fd, p.SOL_SOCKET, p.SO_REUSEADDR, on, 4) < 0) fail("setsockopt", c.errno());
    if (options.reusePort && c.setsockopt(fd, p.SOL_SOCKET, p.SO_REUSEPORT, on, 4) < 0) fail("setsockopt", c.errno());
    // `::` takes IPv4 too where the system allows it (ignored when it does not).
    if (anyIPv6) {
      c.setsockopt(fd, IPPROTO_IPV6, p.IPV6_V6ONLY, new Int32Array([0]), 4);
    }
  } else {
    removeStaleSocket(options.path!);
  }
  if (c.bind(fd, sa, sa.byteLength) < 0) fail("bind", c.errno());
  if (c.listen(fd, options.backlog ?? 511) < 0) fail("listen", c.errno());
  let bound: { host: string; port: number; path?: string };
  try {
    bound = boundAddress(c, fd);
  } catch (err) {
    c.close(fd);
    throw err;
  }
  if (domain === AF_UNIX) {
    let inode = 0;
    try {
      inode = fs.statSync(options.path!).ino;
    } catch { /* removed meanwhile */ }
    return new BunSharedSocket(fd, "", 0, options.path, inode);
  }
  return new BunSharedSocket(fd, bound.host, bound.port, undefined, 0);
}

/**
 * A UDP socket for children: socket + bind through libc, never read here (no event loop knows
 * the descriptor), passed like a listening socket; children read it with `Bun.udpSocket({ fd })`.
 */
async function bindSharedUdp(options: UdpOptions): Promise<SharedSocket> {
  const c = await loadLibc();
  const { sa, domain, ip, anyIPv6 } = await inetSockaddr(c, options.host || "0.0.0.0", options.port);
  const fd = c.socket(domain, SOCK_DGRAM | c.p.SOCK_FLAGS, 0);
  if (fd < 0) throw systemError("socket", c.errno());
  if (anyIPv6) c.setsockopt(fd, IPPROTO_IPV6, c.p.IPV6_V6ONLY, new Int32Array([0]), 4);
  if (c.bind(fd, sa, sa.byteLength) < 0) {
    const errno = c.errno();
    c.close(fd);
    throw systemError("bind", errno, ip, options.port);
  }
  let bound: { host: string; port: number };
  try {
    bound = boundAddress(c, fd);
  } catch (err) {
    c.close(fd);
    throw err;
  }
  return new BunSharedSocket(fd, bound.host, bound.port, undefined, 0);
}

/** Descriptors of the shared sockets passed by the parent (`spawnSelf({ shared })`), in order. */
const FDS_ENV = "WORKERMAN_RT_FDS";
const inheritedFds: number[] = (process.env[FDS_ENV] ?? "").split(",").filter((x) => x !== "").map(Number);
// Not for this process's own children: they get their own list, or none.
delete process.env[FDS_ENV];

async function listenInherited(
  index: number,
  options: ListenOptions,
  onConnection: (conn: Conn) => void,
): Promise<Listener> {
  const inherited = inheritedFds[index];
  if (inherited === undefined) {
    throw new Error(`no inherited listening socket #${index} (this process got ${inheritedFds.length})`);
  }
  const tls = serverTls(options);
  const c = await loadLibc();
  const bound = boundAddress(c, inherited);
  // Bun closes the descriptor it listens on when stopped: give it a copy, so that `close()`
  // stops only this listener and a later `listenInherited(index)` can accept again.
  const fd = c.dup(inherited);
  if (fd < 0) throw systemError("dup", c.errno());
  let listener: BunListener;
  try {
    listener = bun.listen<BunConn>({
      fd,
      tls,
      allowHalfOpen: true,
      socket: serverHandler(onConnection, tls !== undefined),
    });
  } catch (err) {
    c.close(fd);
    throw err;
  }
  // The socket file belongs to the master: this listener's close() leaves it in place.
  return listenerOf(listener, bound.host, bound.port, bound.path, undefined);
}

async function udpInherited(index: number, onDatagram: (d: Datagram) => void): Promise<UdpSocket> {
  const inherited = inheritedFds[index];
  if (inherited === undefined) {
    throw new Error(`no inherited UDP socket #${index} (this process got ${inheritedFds.length})`);
  }
  const c = await loadLibc();
  const bound = boundAddress(c, inherited);
  // Bun.udpSocket({ fd }) reads the descriptor and closes it on close(): give it a copy.
  const fd = c.dup(inherited);
  if (fd < 0) throw systemError("dup", c.errno());
  let socket: BunUdpSocket;
  try {
    socket = await bun.udpSocket({ fd, socket: udpHandler(onDatagram) });
  } catch (err) {
    c.close(fd);
    throw err;
  }
  return udpSocketOf(socket, bound.host, bound.port);
}

// ---- child processes --------------------------------------------------------------------

/** Inside an executable made by `bun build --compile` the script is embedded, not on the command line. */
function isStandalone(): boolean {
  return bun.main.startsWith("/$bunfs/") || /^[A-Za-z]:[\\/]~BUN[\\/]/.test(bun.main);
}

const signalNames = new Map<number, string>(
  Object.entries(os.constants.signals).map(([name, num]) => [num as number, name]),
);

/** The command line that runs this script again: same runtime, flags and arguments. */
function selfCommand(): string[] {
  return isStandalone()
    ? [process.execPath, ...process.argv.slice(2)]
    : [process.execPath, ...process.execArgv, path.resolve(bun.main), ...process.argv.slice(2)];
}

/** `bun [flags] script` as this process was started (the executable alone when standalone). */
function scriptCommand(): string {
  const words = isStandalone()
    ? [displayPath(process.execPath)]
    : [programName(process.execPath), ...process.execArgv, displayPath(path.resolve(bun.main))];
  return words.map(shellWord).join(" ");
}

/**
 * Start this script again with an IPC channel. Stdio slots: 0-2 as asked, then one slot per
 * shared socket (3, 4, ..., listed in {@link FDS_ENV}); Bun puts the IPC channel on the next
 * number after the last slot and tells the child through NODE_CHANNEL_FD.
 */
function spawnChild(options: SpawnOptions, daemon: boolean): Child {
  const env: Record<string, string | undefined> = { ...process.env, ...options.env };
  delete env[FDS_ENV];
  const stdio: BunStdio[] = [];
  let outFd = -1;
  if (options.stdoutFile !== undefined) {
    outFd = fs.openSync(options.stdoutFile, "a");
    stdio.push("ignore", outFd, outFd);
  } else {
    const mode = daemon || options.inheritStdio === false ? "ignore" : "inherit";
    stdio.push(mode, mode, mode);
  }
  const slots: number[] = [];
  for (const socket of options.shared ?? []) {
    if (!(socket instanceof BunSharedSocket) || socket.fd < 0) {
      if (outFd >= 0) fs.closeSync(outFd);
      throw new Error("spawn: shared sockets must come from bindShared() and be open");
    }
    slots.push(stdio.length);
    stdio.push(socket.fd);
  }
  if (slots.length > 0) env[FDS_ENV] = slots.join(",");
  let exited = false;
  let detached = false;
  let proc: BunSubprocess;
  try {
    proc = bun.spawn(selfCommand(), {
      env,
      stdio,
      detached: daemon,
      // Same wire format as node.ts's fork (and so the same message semantics on every runtime).
      serialization: "json",
      ipc(message) {
        if (!detached) options.onMessage?.(message);
      },
      onExit(_p, exitCode, signalCode) {
        if (exited) return;
        exited = true;
        if (detached) return;
        const signal = typeof signalCode === "number"
          ? (signalNames.get(signalCode) ?? String(signalCode))
          : signalCode;
        options.onExit(signal ? null : exitCode, signal ?? null);
      },
    });
  } finally {
    if (outFd >= 0) fs.closeSync(outFd); // the child has its own copy
  }
  return {
    get pid() {
      return proc.pid;
    },
    send(message) {
      if (exited || detached || !proc.connected) return false;
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
    detach() {
      if (detached) return;
      detached = true;
      try {
        proc.disconnect();
      } catch { /* already closed */ }
      proc.unref();
    },
  };
}

function spawnSelf(options: SpawnOptions): Child {
  return spawnChild(options, false);
}

/** A new session (setsid), stdin closed, stdout/stderr to `stdoutFile` or /dev/null. */
function spawnDaemon(options: SpawnOptions): Child {
  return spawnChild(options, true);
}

export const runtime: Runtime = {
  name: "bun",
  version: bun.version,
  listen,
  connect,
  udp,
  bindShared,
  listenInherited,
  supportsReusePort: true,
  bindSharedUdp,
  udpInherited,
  async lookup(host: string): Promise<LookupAddress> {
    const family = net.isIP(host);
    if (family !== 0) return { address: host, family: family as 4 | 6 };
    const found = await dns.promises.lookup(host);
    return { address: found.address, family: found.family === 6 ? 6 : 4 };
  },
  spawnSelf,
  spawnDaemon,
  ...commonProcessFacts,
  rawZlib,
  gzip,
  get args() {
    return process.argv.slice(2);
  },
  get mainScript() {
    return path.resolve(bun.main);
  },
  scriptCommand,
  tempDir: () => os.tmpdir(),
};
