/**
 * Deno: connections accepted on a node:net server driven through the server's native stream
 * handles, without a `net.Socket` per connection.
 *
 * Deno's node:net is a layer of Node's stream classes over native libuv-style handles
 * (`TCPWrap`, written in Rust since Deno 2.8). A Deno worker accepts on the master's shared
 * socket through it, because Deno cannot accept natively on an inherited socket. CPU profiles
 * of the worker (`deno run --cpu-prof`, wrk keep-alive) put the `net.Socket` layer above the
 * HTTP protocol: `onStreamRead`, `Buffer` views, `Readable.push`/`maybeReadMore`, `Writable`'s
 * `_write`, `WriteWrap`, `handleWriteReq`, `afterWriteDispatched`, `nextTick`, `emit`. The
 * handles underneath speak libuv's protocol (`readStart`/`onread`, `writeBuffer` with a write
 * request whose `oncomplete` follows only when the write went asynchronous, `shutdown`,
 * `close`), with the read count and the write's outcome in the `streamBaseState` array of
 * `process.binding("stream_wrap")`, which Deno provides. {@link UvConn} implements the
 * {@link Conn} contract on one handle directly.
 *
 * {@link adoptAccepts} takes over a listening server's accepts; where Deno's internals are not
 * what this module expects, it leaves the server alone (connections then arrive as
 * `net.Socket`s, as before). `WORKERMAN_DENO_NET_SOCKETS=1` in the environment keeps the
 * `net.Socket` path (for comparisons).
 *
 * @module
 */
import type * as net from "node:net";
import process from "node:process";
import type { Conn, ConnHandler } from "./types.ts";

/** The native stream handle of a TCP connection (the libuv calls used here). */
interface UvHandle {
  onread: ((this: UvHandle, buffer: ArrayBuffer | undefined) => void) | null;
  readStart(): number;
  readStop(): number;
  writeBuffer(req: WriteReq, data: Uint8Array): number;
  writeUtf8String(req: WriteReq, data: string): number;
  shutdown(req: ShutdownReq): number;
  close(cb?: () => void): void;
  setNoDelay(on: boolean): number;
  getpeername(out: Record<string, unknown>): number;
  getsockname(out: Record<string, unknown>): number;
  [OWNER]?: UvConn;
}

/** A listening server's handle: `onconnection(status)` is followed by `accept(newHandle)`. */
interface UvServerHandle {
  onconnection: ((status: number) => void) | null;
  accept(client: UvHandle): number;
  constructor: new (type: number) => UvHandle;
}

interface StreamBinding {
  streamBaseState: Int32Array;
  kReadBytesOrError: number;
  kArrayBufferOffset: number;
  kLastWriteWasAsync: number;
}

interface UvBinding {
  UV_EOF: number;
  errname(code: number): string;
  getErrorMessage?(code: number): string;
}

const OWNER = Symbol("uvConn");
/** `new TCPWrap(SOCKET)`: a handle for an accepted connection (Node's tcp_wrap constant). */
const SOCKET = 0;

let bindings: { stream: StreamBinding; uv: UvBinding } | null | undefined;

/** The bindings this module needs, or null where they are not as expected. */
function uvBindings(): { stream: StreamBinding; uv: UvBinding } | null {
  if (bindings !== undefined) return bindings;
  bindings = null;
  if (process.env.WORKERMAN_DENO_NET_SOCKETS === "1") return null;
  try {
    const binding = (process as unknown as { binding(name: string): unknown }).binding;
    const stream = binding("stream_wrap") as StreamBinding;
    const uv = binding("uv") as UvBinding;
    if (
      stream.streamBaseState instanceof Int32Array && typeof stream.kReadBytesOrError === "number" &&
      typeof stream.kArrayBufferOffset === "number" && typeof stream.kLastWriteWasAsync === "number" &&
      typeof uv.UV_EOF === "number" && typeof uv.errname === "function"
    ) bindings = { stream, uv };
  } catch { /* no process.binding, or not these modules */ }
  return bindings;
}

/** A libuv error code as an Error with Node's `code` and `syscall`. */
function uvError(code: number, syscall: string): Error {
  const uv = bindings!.uv;
  const name = uv.errname(code);
  const message = uv.getErrorMessage?.(code);
  return Object.assign(new Error(`${syscall} ${name}${message ? ` (${message})` : ""}`), {
    code: name,
    errno: code,
    syscall,
  });
}

/** The read loop ran (reading stopped only by `pause()` or the end). */
const READING = 1;
const PAUSED = 2;
/** The peer's FIN arrived. */
const EOF = 4;
/** `end()` was called: the shutdown request is queued behind the writes. */
const ENDING = 8;
/** Our FIN has been sent. */
const FIN_SENT = 16;
const CLOSED = 32;
/** A `write` returned false: `handleDrain` is owed once the pending writes complete. */
const OWE_DRAIN = 64;

const encoder = new TextEncoder();

/** One asynchronous write: keeps its bytes alive until the handle has written them. */
class WriteReq {
  conn: UvConn;
  bytes: number;
  data: Uint8Array | string | null = null;
  constructor(conn: UvConn, bytes: number) {
    this.conn = conn;
    this.bytes = bytes;
  }
  oncomplete(status: number): void {
    this.data = null;
    this.conn.afterWrite(this.bytes, status);
  }
}

class ShutdownReq {
  conn: UvConn;
  constructor(conn: UvConn) {
    this.conn = conn;
  }
  oncomplete(status: number): void {
    this.conn.afterShutdown(status);
  }
}

/** `onread` of every adopted handle (`this` = the handle): one shared function, no closure per connection. */
function onRead(this: UvHandle, buffer: ArrayBuffer | undefined): void {
  const conn = this[OWNER];
  if (conn === undefined || conn.flags & CLOSED) return;
  const state = bindings!.stream;
  const nread = state.streamBaseState[state.kReadBytesOrError];
  if (nread > 0) {
    conn.handler!.handleData(new Uint8Array(buffer!, state.streamBaseState[state.kArrayBufferOffset], nread));
  } else if (nread === bindings!.uv.UV_EOF) {
    conn.flags |= EOF;
    this.readStop();
    conn.handler!.handleEnd();
    if ((conn.flags & (FIN_SENT | CLOSED)) === FIN_SENT) conn.close(undefined, false);
  } else if (nread < 0) {
    conn.close(uvError(nread, "read"), false);
  }
}

/**
 * {@link Conn} on a native handle. Writes go to the handle at once: libuv writes synchronously
 * what the kernel takes (true), queues the rest and completes it later (false, counted in
 * `bufferedAmount`, `handleDrain` when every pending write completed). `end()` queues the
 * shutdown behind the writes, as libuv does.
 */
export class UvConn implements Conn {
  handle: UvHandle;
  handler: ConnHandler | null = null;
  flags = 0;
  bufferedAmount = 0;
  /** Writes handed to the handle and not completed yet. */
  pending = 0;
  peer: Record<string, unknown> | null = null;
  constructor(handle: UvHandle) {
    this.handle = handle;
  }
  private peerName(): Record<string, unknown> {
    if (this.peer === null) {
      const out: Record<string, unknown> = {};
      if ((this.flags & CLOSED) === 0 && this.handle.getpeername(out) === 0) this.peer = out;
      else return out;
    }
    return this.peer;
  }
  get remoteAddress(): string {
    return (this.peerName().address as string) ?? "";
  }
  get remotePort(): number {
    return (this.peerName().port as number) ?? 0;
  }
  get localAddress(): string {
    const out: Record<string, unknown> = {};
    if ((this.flags & CLOSED) === 0) this.handle.getsockname(out);
    return (out.address as string) ?? "";
  }
  get localPort(): number {
    const out: Record<string, unknown> = {};
    if ((this.flags & CLOSED) === 0) this.handle.getsockname(out);
    return (out.port as number) ?? 0;
  }

  start(handler: ConnHandler): void {
    this.handler = handler;
    if (this.flags & CLOSED) {
      queueMicrotask(() => handler.handleClose());
      return;
    }
    this.handle[OWNER] = this;
    this.handle.onread = onRead;
    if ((this.flags & PAUSED) === 0) this.readStart();
  }

  private readStart(): void {
    this.flags |= READING;
    const err = this.handle.readStart();
    if (err < 0) this.close(uvError(err, "read"), true);
  }

  write(data: Uint8Array | string): boolean {
    if (this.flags & (CLOSED | ENDING)) return false;
    let size: number;
    if (typeof data === "string") {
      size = data.length;
      if (size === 0) return true;
      data = encoder.encode(data);
    } else {
      size = data.byteLength;
      if (size === 0) return true;
    }
    const req = new WriteReq(this, size);
    const err = this.handle.writeBuffer(req, data);
    if (err < 0) {
      this.close(uvError(err, "write"), true);
      return false;
    }
    const state = bindings!.stream;
    if (state.streamBaseState[state.kLastWriteWasAsync] === 0) return true;
    req.data = data;
    this.pending++;
    this.bufferedAmount += size;
    this.flags |= OWE_DRAIN;
    return false;
  }

  afterWrite(bytes: number, status: number): void {
    this.pending--;
    this.bufferedAmount -= bytes;
    if (this.flags & CLOSED) return;
    if (status < 0) {
      this.close(uvError(status, "write"), false);
      return;
    }
    if (this.pending === 0) {
      this.bufferedAmount = 0;
      if (this.flags & OWE_DRAIN) {
        this.flags &= ~OWE_DRAIN;
        this.handler?.handleDrain();
      }
    }
  }

  pause(): void {
    if (this.flags & PAUSED) return;
    this.flags |= PAUSED;
    if ((this.flags & (READING | CLOSED | EOF)) === READING) {
      this.flags &= ~READING;
      this.handle.readStop();
    }
  }

  resume(): void {
    if ((this.flags & PAUSED) === 0) return;
    this.flags &= ~PAUSED;
    if ((this.flags & (READING | CLOSED | EOF)) === 0 && this.handler !== null) this.readStart();
  }

  end(): void {
    if (this.flags & (ENDING | CLOSED)) return;
    this.flags |= ENDING;
    const err = this.handle.shutdown(new ShutdownReq(this));
    if (err < 0) this.close(uvError(err, "shutdown"), true);
  }

  afterShutdown(status: number): void {
    if (this.flags & CLOSED) return;
    if (status < 0) {
      this.close(uvError(status, "shutdown"), false);
      return;
    }
    this.flags |= FIN_SENT;
    if (this.flags & EOF) this.close(undefined, false);
  }

  destroy(): void {
    this.close(undefined, true);
  }

  close(error: Error | undefined, deferred: boolean): void {
    if (this.flags & CLOSED) return;
    this.flags |= CLOSED;
    this.bufferedAmount = 0;
    this.handle.close(); // pending writes complete with ECANCELED; CLOSED makes them no-ops
    const handler = this.handler;
    if (handler === null) return; // start() will report it
    if (deferred) queueMicrotask(() => handler.handleClose(error));
    else handler.handleClose(error);
  }
}

/**
 * Takes over the accepts of the listening TCP `server`: each connection is accepted onto a
 * fresh native handle and handed to `onConnection` as a {@link UvConn}. Returns false, leaving
 * the server as it was, where Deno's internals are not as expected.
 */
export function adoptAccepts(server: net.Server, onConnection: (conn: Conn) => void): boolean {
  if (uvBindings() === null) return false;
  const handle = (server as unknown as { _handle?: UvServerHandle })._handle;
  if (!handle || typeof handle.accept !== "function" || typeof handle.onconnection !== "function") return false;
  const Handle = handle.constructor;
  const probe = Handle.prototype as Partial<UvHandle>;
  if (
    typeof probe.readStart !== "function" || typeof probe.writeBuffer !== "function" ||
    typeof probe.shutdown !== "function"
  ) return false;
  handle.onconnection = (status: number) => {
    let client: UvHandle | null = null;
    if (status === 0) {
      client = new Handle(SOCKET);
      status = handle.accept(client);
    }
    if (status !== 0) {
      // EMFILE and friends; see Listener.resumeAccepting for what follows
      client?.close();
      console.error(`listener error: ${uvError(status, "accept").message}`);
      return;
    }
    client!.setNoDelay(true);
    const conn = new UvConn(client!);
    try {
      onConnection(conn);
    } catch (err) {
      console.error(`connection handler error: ${(err as Error)?.stack ?? err}`);
      conn.destroy();
    }
  };
  return true;
}
