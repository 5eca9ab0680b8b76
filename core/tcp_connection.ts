/**
 * `TcpConnection`: one stream connection with Workerman's semantics — a send buffer with a
 * limit and `onBufferFull`/`onBufferDrain`, framing by a protocol, `pauseRecv()`/`resumeRecv()`
 * back-pressure, `close()` that flushes first, and `onClose` exactly once.
 *
 * Everything a connection sends while handling one read (all its `onMessage` calls for the
 * packages in that read) is coalesced into one write: one syscall per read instead of one
 * per message is what lets a framework reach the raw socket's throughput.
 *
 * @module
 */
import type { Conn, ConnHandler } from "../runtime/types.ts";
import { formatHostPort, plainIp } from "./address.ts";
import { asBytes, concatAll, copyFrom, utf8Encode } from "./bytes.ts";
import { log, reportError } from "./log.ts";
import { type Callback, NO_MESSAGE, type Protocol, type TimeoutKind } from "./protocol.ts";

/** Error code passed to `onError` when a connect attempt fails. */
export const WORKERMAN_CONNECT_FAIL = 1;
/** Error code passed to `onError` when data could not be sent. */
export const WORKERMAN_SEND_FAIL = 2;

/** What a connection needs of the Worker that accepted it. */
export interface ConnectionOwner {
  /** The Worker's name (in log lines). */
  readonly name: string;
  /** The Worker's open connections by id (a connection removes itself when it closes). */
  readonly connections: Map<number, TcpConnection>;
}

/**
 * Properties an application keeps on its connections (the manual's `conn.uid = 7`). Empty
 * here; declare yours once and every connection type has them, typed:
 *
 * ```ts
 * declare module "workerman-ts" {
 *   interface ConnectionData {
 *     uid: number;
 *   }
 * }
 * ```
 *
 * The connections a Worker's callbacks receive have them (`TcpConnection<In, Out> & ConnectionData`,
 * `HttpConnection`, `WebSocketConnection`); a misspelt method (`conn.sned()`) is still an error.
 * JavaScript needs nothing of this.
 */
// deno-lint-ignore no-empty-interface
export interface ConnectionData {}

/** A connection callback taking the connection and `Rest`; null when unset. */
export type ConnectionCallback<C, Rest extends unknown[] = []> = Callback<[conn: C, ...rest: Rest]> | null;

/** Per-process counters shown by `status`. */
export const statistics = { connection_count: 0, total_request: 0, send_fail: 0, throw_exception: 0 };

let lastConnectionId = 0;

/**
 * Connections that sent their FIN and wait (at most `ms`) for the peer's, oldest first, each
 * with the time it is destroyed at; one timer for all of them, where a timer per connection
 * costs ~3 µs on Deno. One group per `closeTimeout` value, so each stays in deadline order.
 */
class Lingering {
  private readonly conns = new Map<TcpConnection, number>();
  private timer: ReturnType<typeof setTimeout> | undefined = undefined;
  private readonly ms: number;
  constructor(ms: number) {
    this.ms = ms;
  }

  add(conn: TcpConnection): void {
    this.conns.set(conn, Date.now() + this.ms);
    if (this.timer === undefined) this.arm();
  }

  /** The connection closed; with none left the timer goes too (it must not keep a process alive). */
  remove(conn: TcpConnection): void {
    this.conns.delete(conn);
    if (this.conns.size === 0 && this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  private arm(): void {
    this.timer = undefined;
    for (const until of this.conns.values()) {
      this.timer = setTimeout(() => this.reap(), Math.max(0, until - Date.now()));
      return;
    }
  }

  /** Destroy the connections whose peer has not closed in time. */
  private reap(): void {
    const now = Date.now();
    for (const [conn, until] of this.conns) {
      if (until > now) break;
      this.conns.delete(conn);
      conn.destroy();
    }
    this.arm();
  }
}

/** The groups of lingering connections by their timeout in ms. */
const lingering = new Map<number, Lingering>();

/** Bits of `TcpConnection._flags`. */
const PAUSED = 1;
/** Handling a read: sends are collected and written once afterwards. */
const CORKED = 2;
/** The peer's FIN arrived. */
const EOF = 4;
/** Close once the read being handled (or the next one) has been answered. */
const CLOSE_WHEN_IDLE = 8;
/** Our FIN was sent. */
const ENDED = 16;
/** In a {@link Lingering} group: after our FIN, or after a timeout closed it. */
const LINGERING = 32;
/** Bytes were read or written since the last {@link TcpConnection.checkTimeouts}. */
const MOVED = 64;
/** `onBufferFull` was reported and `onBufferDrain` has not followed yet. */
const FULL = 128;
/** In {@link drainsDue}: a write after `onBufferFull` went out whole. */
const DRAIN_DUE = 256;
/** With CLOSE_WHEN_IDLE: a graceful stop, so only close when the protocol's `closableWhenIdle()` agrees. */
const GRACEFUL = 512;

/**
 * Received bytes not yet framed into a package: chunks kept as they came, their total length,
 * and the length of the package they begin (0 while unknown).
 */
interface Received {
  chunks: Uint8Array[];
  length: number;
  packageLength: number;
}

/** Sends collected while corked (or before an outgoing connection is established), and their length. */
interface Pending {
  items: (string | Uint8Array)[];
  /** UTF-16 units for strings: close enough for the limit. */
  length: number;
}

/** Reads being handled right now (nested only when a handler feeds another connection). */
let readDepth = 0;
/**
 * Other connections a read handler sent to: they are corked like the reading one and written
 * once the read is handled, so a broadcast of several messages leaves in one write per client.
 */
const corkedByRead: TcpConnection[] = [];

/**
 * Connections whose buffer, reported full, was emptied by a write the runtime took whole: no
 * runtime drain event follows such a write, so their `onBufferDrain` is called from here, in
 * a microtask (outside the send or the read being handled, as a drain event would be).
 */
const drainsDue: TcpConnection[] = [];

/** The next connection id of this process (shared by accepted and outgoing connections). */
export function nextConnectionId(): number {
  lastConnectionId = lastConnectionId >= Number.MAX_SAFE_INTEGER ? 1 : lastConnectionId + 1;
  return lastConnectionId;
}

/**
 * One accepted stream connection. `In` is what `onMessage` receives (a `Request` on `http://`,
 * a `string` on `text://`), `Out` what `send()` takes; a Worker gives its connections both from
 * its protocol, and a plain `TcpConnection` takes any message.
 */
export class TcpConnection<In = unknown, Out = unknown> implements ConnHandler {
  /** Status of an outgoing connection not yet connecting. */
  static readonly STATUS_INITIAL: number = 0;
  /** Status while an outgoing connection is connecting. */
  static readonly STATUS_CONNECTING: number = 1;
  /** Status of an open connection. */
  static readonly STATUS_ESTABLISHED: number = 2;
  /** Status after `close()` while the send buffer is flushed. */
  static readonly STATUS_CLOSING: number = 4;
  /** Status of a closed connection. */
  static readonly STATUS_CLOSED: number = 8;
  /** Default `maxSendBufferSize` of new connections: 1 MiB. */
  static defaultMaxSendBufferSize = 1048576;
  /** Default `maxPackageSize` of new connections: 10 MiB. */
  static defaultMaxPackageSize = 10485760;
  /** Seconds a closing connection waits for the peer's FIN after flushing before it is destroyed. */
  static closeTimeout = 5;
  /**
   * Default `headerTimeout` of accepted connections: seconds a protocol's head (an HTTP request
   * head, a WebSocket handshake) may take to arrive once it is expected. 0 = no limit.
   */
  static defaultHeaderTimeout = 60;
  /** Default `idleTimeout` of accepted connections: seconds without a byte either way before closing. 0 = none. */
  static defaultIdleTimeout = 0;
  /** Per-process counters (`connection_count`, `total_request`, `send_fail`). */
  static readonly statistics: typeof statistics = statistics;

  /** Per process, from 1, never reused. */
  readonly id: number;
  /** The Worker that accepted this connection (null for an outgoing one). */
  worker: ConnectionOwner | null;
  /** The protocol that frames this connection (null: raw bytes). */
  protocol: Protocol | null;
  /** `tcp`, `ssl` or `unix` (`tcp` is the prototype's: a connection gets its own value only when it differs). */
  declare transport: string;
  /** Send-buffer limit in bytes: at or above it `onBufferFull` fires and further sends are dropped. */
  maxSendBufferSize: number = TcpConnection.defaultMaxSendBufferSize;
  /** Largest package the protocol may announce; a larger one closes the connection. */
  maxPackageSize: number = TcpConnection.defaultMaxPackageSize;
  /** Bytes received so far. */
  bytesRead = 0;
  /** Bytes handed to the runtime so far. */
  bytesWritten = 0;
  /** See {@link TcpConnection.defaultHeaderTimeout}; applies to protocols that have a head (`receivingHead`). */
  headerTimeout: number = TcpConnection.defaultHeaderTimeout;
  /** See {@link TcpConnection.defaultIdleTimeout}. */
  idleTimeout: number = TcpConnection.defaultIdleTimeout;

  /** `(conn, data)` for each message the protocol decodes (raw bytes without a protocol). */
  onMessage: ConnectionCallback<TcpConnection<In, Out>, [data: In]> = null;
  // The other callbacks are null on the prototype: a connection gets its own only when one is set.
  /** `(conn)` once, when the connection is closed. */
  declare onClose: ConnectionCallback<TcpConnection<In, Out>>;
  /** `(conn, code, message)`: {@link WORKERMAN_SEND_FAIL} when a send was dropped, {@link WORKERMAN_CONNECT_FAIL} when connecting failed. */
  declare onError: ConnectionCallback<TcpConnection<In, Out>, [code: number, message: string, cause?: unknown]>;
  /** `(conn)` when a send leaves the send buffer at or above `maxSendBufferSize`. */
  declare onBufferFull: ConnectionCallback<TcpConnection<In, Out>>;
  /** `(conn)` when the send buffer has been written out. */
  declare onBufferDrain: ConnectionCallback<TcpConnection<In, Out>>;

  // Every own field costs each idle connection 8 bytes, and JSC (Bun) rounds objects up to
  // size classes (up to 18 fields: 160 bytes, up to 26: 224). So: 17 fields, leaving room for
  // one a protocol adds (websocket://); rarely needed state is a bit of `_flags` or an object
  // allocated while in use; rarely set callbacks and `transport` default on the prototype.
  /**
   * The runtime's socket (null before an outgoing connection is established).
   * @ignore
   */
  protected _socket: Conn | null;
  /**
   * One of the STATUS_* values.
   * @ignore
   */
  protected _status: number;
  /** PAUSED, CORKED, EOF, CLOSE_WHEN_IDLE, ENDED, LINGERING, MOVED, FULL, DRAIN_DUE, GRACEFUL. */
  private _flags = 0;
  /** Received bytes not yet framed into a package (null when none). */
  private _recv: Received | null = null;
  /**
   * Sends collected while corked (or before an outgoing connection is established); null when none.
   * @ignore
   */
  protected _pending: Pending | null = null;
  /** When the head being received began (ms), 0 when none is. */
  private _headSince = Date.now();
  /** When a byte last moved either way (ms), as of the last {@link checkTimeouts}. */
  private _activeSince = this._headSince;

  static {
    const defaults: Pick<TcpConnection, "transport" | "onClose" | "onError" | "onBufferFull" | "onBufferDrain"> = {
      transport: "tcp",
      onClose: null,
      onError: null,
      onBufferFull: null,
      onBufferDrain: null,
    };
    Object.assign(TcpConnection.prototype, defaults);
  }

  /** A connection over `socket` (null: not connected yet), accepted by `worker`, framed by `protocol`. */
  constructor(socket: Conn | null, worker: ConnectionOwner | null, protocol: Protocol | null) {
    this.id = nextConnectionId();
    this._socket = socket;
    this.worker = worker;
    this.protocol = protocol;
    this._status = socket ? TcpConnection.STATUS_ESTABLISHED : TcpConnection.STATUS_INITIAL;
    statistics.connection_count++;
  }

  /** @ignore Where errors from this connection's callbacks are reported. */
  protected _where(callback: string): string {
    return `${callback} of worker ${this.worker?.name ?? "none"} (connection ${this.id})`;
  }

  /**
   * Call a callback with this connection and up to three arguments; what it throws (or rejects with) is reported.
   * @ignore
   */
  protected _call(name: string, fn: ConnectionCallback<never, unknown[]>, a?: unknown, b?: unknown, c?: unknown): void {
    if (!fn) return;
    try {
      const r = (fn as (...args: unknown[]) => unknown)(this, a, b, c);
      if (r !== null && typeof r === "object" && typeof (r as Promise<unknown>).then === "function") {
        (r as Promise<unknown>).then(undefined, (err) => reportError(this._where(name), err));
      }
    } catch (err) {
      reportError(this._where(name), err);
    }
  }

  // ---- sending ---------------------------------------------------------------------------

  /** Bytes waiting to be written: collected sends, what the protocol holds back, and what the runtime has queued. */
  getSendBufferQueueSize(): number {
    return (this._pending?.length ?? 0) + (this.protocol?.heldBytes?.(this) ?? 0) + (this._socket?.bufferedAmount ?? 0);
  }

  /**
   * Send data (encoded by the protocol unless `raw`). Returns `true` when it was all handed
   * to the kernel, `null` when it is queued (always the case inside `onMessage`, where sends
   * are coalesced into one write), `false` when the connection is closing/closed or the send
   * buffer was already full (the data is dropped and `onError(conn, 2, ...)` fires).
   * `data` is what the protocol encodes (a string for text://, a Response for http://).
   */
  send(data: Out, raw?: false): boolean | null;
  /** Send `data` as it is, bypassing the protocol's encoding. */
  send(data: string | Uint8Array, raw: true): boolean | null;
  /** Either, as `raw` says. */
  send(data: Out | string | Uint8Array, raw: boolean): boolean | null;
  send(data: unknown, raw = false): boolean | null {
    const status = this._status;
    if (status === TcpConnection.STATUS_CLOSING || status === TcpConnection.STATUS_CLOSED) return false;
    if (readDepth > 0 && !(this._flags & CORKED) && status === TcpConnection.STATUS_ESTABLISHED) {
      // Sent from another connection's read handler: written once that read is handled.
      this._flags |= CORKED;
      corkedByRead.push(this);
    }
    const sent = this._send(data, raw, status);
    if ((this._flags & (CLOSE_WHEN_IDLE | CORKED)) === CLOSE_WHEN_IDLE && this._isIdle()) this.close();
    return sent;
  }

  /** Encode and write (or collect) one message; see `send()` for the result. */
  private _send(message: unknown, raw: boolean, status: number): boolean | null {
    // Checked before encoding: a dropped message must not advance the protocol's state (a
    // WebSocket compressor's window).
    const queued = this.getSendBufferQueueSize();
    if (queued > 0 && queued >= this.maxSendBufferSize) {
      statistics.send_fail++;
      this._call("onError", this.onError, WORKERMAN_SEND_FAIL, "send buffer full and drop package");
      return false;
    }
    let data: string | Uint8Array;
    if (this.protocol && !raw) {
      data = this.protocol.encode(message, this);
      if (data === undefined || data === null || data.length === 0) {
        // held back by the protocol (a WebSocket frame before the handshake) counts as queued
        if (this.protocol.heldBytes && this.getSendBufferQueueSize() >= this.maxSendBufferSize) this._reportFull();
        return null;
      }
    } else if (typeof message !== "string" && !(message instanceof Uint8Array)) {
      data = String(message);
    } else {
      data = message;
    }
    if (this._flags & CORKED || status !== TcpConnection.STATUS_ESTABLISHED) {
      const pending = (this._pending ??= { items: [], length: 0 });
      pending.items.push(data);
      pending.length += data.length;
      if (queued + data.length >= this.maxSendBufferSize) this._reportFull();
      return null;
    }
    const bytes = typeof data === "string" ? utf8Encode(data) : data;
    this._wrote(bytes.length);
    if (this._socket!.write(bytes)) {
      if (this._flags & FULL) this._queueDrain();
      return true;
    }
    if (this.getSendBufferQueueSize() >= this.maxSendBufferSize) this._reportFull();
    return null;
  }

  /** Fire `onBufferFull`, and remember it was reported, so that `onBufferDrain` follows once the buffer is empty. */
  private _reportFull(): void {
    this._flags |= FULL;
    this._call("onBufferFull", this.onBufferFull);
  }

  /** @ignore Write everything collected while corked in one write. */
  protected _flushPending(): void {
    const pending = this._pending;
    if (!pending || this._status === TcpConnection.STATUS_CLOSED || !this._socket) return;
    this._pending = null;
    const items = pending.items;
    let bytes: Uint8Array;
    if (items.length === 1) {
      const only = items[0];
      bytes = typeof only === "string" ? utf8Encode(only) : only;
    } else {
      let allStrings = true;
      for (let i = 0; i < items.length; i++) {
        if (typeof items[i] !== "string") {
          allStrings = false;
          break;
        }
      }
      if (allStrings) {
        bytes = utf8Encode((items as string[]).join(""));
      } else {
        let total = 0;
        const parts = items.map((item) => {
          const b = typeof item === "string" ? utf8Encode(item) : item;
          total += b.length;
          return b;
        });
        bytes = concatAll(parts, total);
      }
    }
    this._wrote(bytes.length);
    if (!this._socket.write(bytes)) return; // the runtime's drain event follows
    if (this._flags & FULL) this._queueDrain(); // which shuts down when closing
    else if (this._status === TcpConnection.STATUS_CLOSING) this._shutdown();
  }

  /** Count `n` bytes handed to the runtime. */
  private _wrote(n: number): void {
    this.bytesWritten += n;
    if (n > 0) this._flags |= MOVED;
  }

  /** The runtime wrote everything it had queued. */
  handleDrain(): void {
    if (this._status === TcpConnection.STATUS_CLOSED || this.getSendBufferQueueSize() > 0) return;
    this._flags &= ~FULL;
    this._call("onBufferDrain", this.onBufferDrain);
    if (this._status === TcpConnection.STATUS_CLOSING) this._shutdown();
  }

  /**
   * A write after `onBufferFull` went out whole, so no drain event of the runtime will follow:
   * `onBufferDrain` is called in a microtask instead (see {@link drainsDue}).
   */
  private _queueDrain(): void {
    if (this._flags & DRAIN_DUE) return;
    this._flags |= DRAIN_DUE;
    if (drainsDue.push(this) === 1) queueMicrotask(TcpConnection._fireDrainsDue);
  }

  /** Call the `onBufferDrain` of every connection queued by `_queueDrain` (one microtask for all). */
  private static _fireDrainsDue(): void {
    for (let i = 0; i < drainsDue.length; i++) drainsDue[i]._drainDue();
    drainsDue.length = 0;
  }

  /** Drain now, unless the runtime's drain event did already (then only shut down if closing). */
  private _drainDue(): void {
    this._flags &= ~DRAIN_DUE;
    if (this._flags & FULL) this.handleDrain();
    else if (this._status === TcpConnection.STATUS_CLOSING && this.getSendBufferQueueSize() === 0) this._shutdown();
  }

  // ---- receiving -------------------------------------------------------------------------

  /** Bytes arrived from the runtime. */
  handleData(chunk: Uint8Array): void {
    this.bytesRead += chunk.length;
    if (chunk.length > 0) this._flags |= MOVED;
    if (this._status !== TcpConnection.STATUS_ESTABLISHED) return; // closing: input is discarded
    const recv = this._recv;
    if (recv) {
      recv.chunks.push(chunk);
      recv.length += chunk.length;
      // A package of known length still incomplete: keep collecting without copying.
      if (this._flags & PAUSED || (recv.packageLength > 0 && recv.length < recv.packageLength)) return;
      this._recv = null;
      this._handle(concatAll(recv.chunks, recv.length), recv.packageLength);
    } else if (this._flags & PAUSED) {
      this._recv = { chunks: [chunk], length: chunk.length, packageLength: 0 };
    } else {
      this._handle(chunk, 0);
    }
  }

  /**
   * Frame and deliver `chunk` (which begins a package of `packageLength` bytes when known),
   * then write what the handlers sent, once.
   */
  private _handle(chunk: Uint8Array, packageLength: number): void {
    this._flags |= CORKED;
    readDepth++;
    try {
      this._consume(chunk, packageLength);
    } finally {
      this._uncork();
      if (--readDepth === 0 && corkedByRead.length > 0) TcpConnection._uncorkSentTo();
    }
  }

  /**
   * Write what was collected while corked (closing first when asked to close once idle; then
   * shut down if closing and all is written).
   */
  private _uncork(): void {
    this._flags &= ~CORKED;
    if (this._flags & CLOSE_WHEN_IDLE && this._isIdle()) this.close();
    if (this._pending) this._flushPending();
    else if (this._status === TcpConnection.STATUS_CLOSING && this._isDrained()) this._shutdown();
  }

  /** The read is handled: write what it sent to other connections, one write each. */
  private static _uncorkSentTo(): void {
    const conns = corkedByRead.splice(0);
    for (let i = 0; i < conns.length; i++) conns[i]._uncork();
  }

  /** Frame `buffer` into packages and deliver them; keep an incomplete tail. `length`: of its first package, 0 while unknown. */
  private _consume(buffer: Uint8Array, length: number): void {
    const protocol = this.protocol;
    if (!protocol) {
      this._dispatch(asBytes(buffer));
      return;
    }
    if (protocol.inputAt && protocol.decodeAt) {
      this._consumeAt(buffer, protocol, length);
      return;
    }
    let offset = 0;
    const total = buffer.length;
    while (offset < total && !(this._flags & PAUSED) && this._status === TcpConnection.STATUS_ESTABLISHED) {
      const view = offset === 0 ? buffer : buffer.subarray(offset);
      if (length === 0) {
        try {
          length = protocol.input(view, this);
        } catch (err) {
          reportError(this._where("protocol input()"), err);
          this.destroy();
          return;
        }
        if (length === 0) break;
        if (!this._acceptLength(length)) return;
      }
      if (view.length < length) break;
      offset += length;
      const whole = length === view.length ? view : view.subarray(0, length);
      length = 0;
      let message: unknown;
      try {
        message = protocol.decode(whole, this);
      } catch (err) {
        reportError(this._where("protocol decode()"), err);
        this.destroy();
        return;
      }
      this._dispatch(message);
    }
    this._keepTail(buffer, offset, length);
  }

  /** `_consume` for protocols that frame by offset: no view per package. */
  private _consumeAt(buffer: Uint8Array, protocol: Protocol, length: number): void {
    let offset = 0;
    const total = buffer.length;
    while (offset < total && !(this._flags & PAUSED) && this._status === TcpConnection.STATUS_ESTABLISHED) {
      if (length === 0) {
        try {
          length = protocol.inputAt!(buffer, offset, this);
        } catch (err) {
          reportError(this._where("protocol inputAt()"), err);
          this.destroy();
          return;
        }
        if (length === 0) break;
        if (!this._acceptLength(length)) return;
      }
      if (total - offset < length) break;
      const start = offset;
      offset += length;
      length = 0;
      let message: unknown;
      try {
        message = protocol.decodeAt!(buffer, start, offset, this);
      } catch (err) {
        reportError(this._where("protocol decodeAt()"), err);
        this.destroy();
        return;
      }
      this._dispatch(message);
    }
    this._keepTail(buffer, offset, length);
  }

  /**
   * Take the package length a protocol's input returned: false (and the connection destroyed,
   * or already closed by the protocol) when it is not a whole number from 1 to maxPackageSize.
   */
  private _acceptLength(length: number): boolean {
    if (!(typeof length === "number" && Number.isInteger(length) && length > 0 && length <= this.maxPackageSize)) {
      log(
        `Error package. package_length=${
          JSON.stringify(length)
        } (maxPackageSize ${this.maxPackageSize}), closing connection ${this.id} from ${this.getRemoteAddress()}`,
      );
      this.destroy();
      return false;
    }
    return this._status === TcpConnection.STATUS_ESTABLISHED; // else input() closed it
  }

  /** Keep what follows the last whole package (copied, so the read buffer can go); it begins a package of `packageLength` bytes when known. */
  private _keepTail(buffer: Uint8Array, offset: number, packageLength: number): void {
    if (offset < buffer.length && this._status !== TcpConnection.STATUS_CLOSED) {
      const rest = offset === 0 ? buffer : copyFrom(buffer, offset);
      this._recv = { chunks: [rest], length: rest.length, packageLength };
    }
  }

  /** Count one request and hand it to `onMessage` (a protocol's NO_MESSAGE is neither). */
  private _dispatch(message: unknown): void {
    if (message === NO_MESSAGE) return;
    statistics.total_request++;
    const fn = this.onMessage;
    if (!fn) return;
    try {
      const r = fn(this, message as In);
      if (r !== null && typeof r === "object" && typeof (r as Promise<unknown>).then === "function") {
        (r as Promise<unknown>).then(undefined, (err) => reportError(this._where("onMessage"), err));
      }
    } catch (err) {
      reportError(this._where("onMessage"), err);
    }
  }

  /** Stop reading from the socket: the peer is slowed down by TCP flow control. */
  pauseRecv(): void {
    if (this._flags & PAUSED) return;
    this._flags |= PAUSED;
    this._socket?.pause();
  }

  /** Resume reading, first delivering what was received while paused. */
  resumeRecv(): void {
    if (!(this._flags & PAUSED)) return;
    this._flags &= ~PAUSED;
    this._socket?.resume();
    const recv = this._recv;
    if (recv && this._status === TcpConnection.STATUS_ESTABLISHED) {
      this._recv = null;
      this._handle(concatAll(recv.chunks, recv.length), recv.packageLength);
    }
  }

  /** The peer half-closed: answer what it sent, then close. */
  handleEnd(): void {
    this._flags |= EOF;
    if (this._status === TcpConnection.STATUS_CLOSING) this.destroy();
    else this.close();
  }

  // ---- timeouts --------------------------------------------------------------------------

  /**
   * Close the connection when its head has taken longer than `headerTimeout` or nothing has
   * moved for its idle timeout. The Worker calls this about once a second for each connection
   * (so nothing is done per read); `now` is `Date.now()`.
   */
  checkTimeouts(now: number): void {
    if (this._status !== TcpConnection.STATUS_ESTABLISHED) return;
    const protocol = this.protocol;
    if (this._flags & MOVED) {
      this._flags &= ~MOVED;
      this._activeSince = now;
    }
    if (this.headerTimeout > 0 && protocol?.receivingHead) {
      if (!protocol.receivingHead(this)) this._headSince = 0;
      else if (this._headSince === 0) this._headSince = now;
      else if (now - this._headSince >= this.headerTimeout * 1000) return this._timeout("header");
    }
    const own = this.idleTimeout;
    const forState = protocol?.idleTimeout?.(this);
    const idle = forState === undefined || forState <= 0 ? own : own > 0 ? Math.min(own, forState) : forState;
    if (idle > 0 && now - this._activeSince >= idle * 1000) this._timeout("idle");
  }

  /** A timeout expired: send what the protocol answers with, close, and never wait longer than closeTimeout. */
  private _timeout(kind: TimeoutKind): void {
    log(`connection ${this.id} from ${this.getRemoteAddress()} closed: ${kind} timeout`);
    let answer: string | Uint8Array | undefined;
    try {
      answer = this.protocol?.onTimeout?.(this, kind);
    } catch (err) {
      reportError(this._where("protocol onTimeout()"), err);
    }
    this.close(answer, true);
    // A peer that reads nothing must not keep a closing connection forever.
    if (this._status === TcpConnection.STATUS_CLOSING) this._linger();
  }

  // ---- closing ---------------------------------------------------------------------------

  /** Send `data` if given, flush the send buffer, then close. Nothing is read meanwhile. */
  close(data?: Out, raw?: false): void;
  /** Send `data` as it is (bypassing the protocol's encoding), flush, then close. */
  close(data: string | Uint8Array | undefined, raw: true): void;
  /** Either, as `raw` says. */
  close(data: Out | string | Uint8Array | undefined, raw: boolean): void;
  close(data?: unknown, raw = false): void {
    const status = this._status;
    if (status === TcpConnection.STATUS_CONNECTING || status === TcpConnection.STATUS_INITIAL) {
      this.destroy();
      return;
    }
    if (status === TcpConnection.STATUS_CLOSING || status === TcpConnection.STATUS_CLOSED) return;
    if (data !== undefined && data !== null) this.send(data as Out, raw as false);
    this._status = TcpConnection.STATUS_CLOSING;
    if (this._flags & CORKED) return; // the write after this read shuts down when it completes
    if (this._pending) this._flushPending();
    else if (this._isDrained()) this._shutdown();
  }

  /** Nothing left to write, and no `onBufferDrain` due (that one shuts down a closing connection once called). */
  private _isDrained(): boolean {
    return !(this._flags & DRAIN_DUE) && this.getSendBufferQueueSize() === 0;
  }

  /**
   * Close as soon as the connection owes nothing: now if it holds no partial package, has no
   * answer pending (the protocol's `busy()`) and nothing has moved either way for `quietMs`;
   * otherwise right after the answer to the request being received or answered, or to one
   * that arrives meanwhile (a protocol that can mark that answer as the last does so, see
   * {@link closesAfterAnswer}). Used when a process stops: a connection that never sent a byte
   * owes no answer, and a request already on its way is answered, not cut off. `Infinity`
   * only marks the connection; calling it again (with a smaller `quietMs`) closes it if it
   * has stayed idle since.
   *
   * `graceful` (a graceful stop): idle also needs the protocol's consent
   * ({@link Protocol.closableWhenIdle}), so only a connection whose peer takes the close as the
   * end of an exchange (HTTP between requests) is closed; any other (a WebSocket, `text://`,
   * raw TCP, an event stream) is left for its peer to close.
   */
  closeWhenIdle(quietMs = 0, graceful = false): void {
    this._flags = graceful ? this._flags | CLOSE_WHEN_IDLE | GRACEFUL : (this._flags | CLOSE_WHEN_IDLE) & ~GRACEFUL;
    if (this._isIdle() && this._quietFor() >= quietMs) this.close();
  }

  /**
   * True when the connection is to close once idle (its process is stopping) and nothing
   * more has been received: the answer being sent now is its last, so a protocol that can
   * say so to the peer (HTTP's `Connection: close`) should, and the peer sends its next
   * request on a new connection instead of on this one.
   */
  closesAfterAnswer(): boolean {
    return (this._flags & CLOSE_WHEN_IDLE) !== 0 && this._recv === null &&
      (!(this._flags & GRACEFUL) || this.protocol?.closableWhenIdle?.(this) === true);
  }

  /**
   * True once everything was written and the FIN sent: the connection only waits (at most
   * `closeTimeout`) for the peer's FIN, and owes the peer nothing more.
   */
  finishedWriting(): boolean {
    return (this._flags & ENDED) !== 0;
  }

  /**
   * How long (ms) nothing has moved either way: a lower bound, since reads and writes only
   * set a bit and the Worker's timeout sweep (when one runs) turns it into a time.
   */
  private _quietFor(): number {
    return this._flags & MOVED ? 0 : Date.now() - this._activeSince;
  }

  /**
   * No partial package held and no answer pending (only asked of a connection to close once
   * idle); in a graceful stop, also the protocol agrees that the connection may be closed now.
   */
  private _isIdle(): boolean {
    const protocol = this.protocol;
    if (this._recv || (protocol?.busy?.(this) ?? false)) return false;
    return !(this._flags & GRACEFUL) || protocol?.closableWhenIdle?.(this) === true;
  }

  /** Everything is written: send FIN and wait (bounded) for the peer's. */
  private _shutdown(): void {
    if (this._flags & EOF || !this._socket) {
      this.destroy();
      return;
    }
    if (this._flags & ENDED) return;
    this._flags |= ENDED;
    this._socket.end();
    this._linger();
  }

  /** Destroy the connection if it is still open `closeTimeout` seconds from the first call. */
  private _linger(): void {
    if (this._flags & LINGERING) return;
    this._flags |= LINGERING;
    const ms = TcpConnection.closeTimeout * 1000;
    let group = lingering.get(ms);
    if (group === undefined) lingering.set(ms, group = new Lingering(ms));
    group.add(this);
  }

  /** Close now, discarding anything not yet written. `onClose` fires (once). */
  destroy(): void {
    if (this._status === TcpConnection.STATUS_CLOSED) return;
    const socket = this._socket;
    this._finish();
    socket?.destroy();
  }

  /** The runtime closed the socket (peer reset, error, or after our own end/destroy). */
  handleClose(_error?: Error): void {
    if (this._status !== TcpConnection.STATUS_CLOSED) this._finish();
  }

  /** @ignore Mark closed, run `onClose` and the protocol's `onClose`, release everything. */
  protected _finish(): void {
    this._status = TcpConnection.STATUS_CLOSED;
    if (this._flags & LINGERING) {
      this._flags &= ~LINGERING;
      for (const group of lingering.values()) group.remove(this);
    }
    this._recv = null;
    this._pending = null;
    statistics.connection_count--;
    this.worker?.connections.delete(this.id);
    this._call("onClose", this.onClose);
    if (this.protocol?.onClose) {
      try {
        this.protocol.onClose(this);
      } catch (err) {
        reportError(this._where("protocol onClose()"), err);
      }
    }
    this._releaseCallbacks();
  }

  /** @ignore Drop the callbacks of a closed connection (an outgoing one keeps them: it may connect again). */
  protected _releaseCallbacks(): void {
    this.onMessage = null;
    // Only those set on the connection: the prototype's are null already.
    if (this.onClose !== null) this.onClose = null;
    if (this.onError !== null) this.onError = null;
    if (this.onBufferFull !== null) this.onBufferFull = null;
    if (this.onBufferDrain !== null) this.onBufferDrain = null;
  }

  // ---- outgoing connections (AsyncTcpConnection) ------------------------------------------

  /** @ignore
   * An outgoing connection is established on `socket`: forget what a previous socket left
   * (a partial package, its EOF), start reading through `handler` (paused if `pauseRecv()`
   * was called meanwhile), and write what was sent while connecting.
   */
  protected _attachSocket(socket: Conn, handler: ConnHandler): void {
    this._socket = socket;
    this._status = TcpConnection.STATUS_ESTABLISHED;
    this._recv = null;
    this._flags &= ~(EOF | CLOSE_WHEN_IDLE | GRACEFUL | ENDED); // a new socket: its FIN is not sent yet
    if (this._flags & PAUSED) socket.pause();
    socket.start(handler);
    if (this._pending) this._flushPending();
  }

  // ---- state and addresses ---------------------------------------------------------------

  /** The status as a number, or as its name (`ESTABLISHED`, ...) when `raw` is false. */
  getStatus(raw = true): number | string {
    if (raw) return this._status;
    return ({ 0: "INITIAL", 1: "CONNECTING", 2: "ESTABLISHED", 4: "CLOSING", 8: "CLOSED" } as Record<number, string>)[
      this._status
    ];
  }

  /** Forward everything received to `dest`, pausing this side while `dest`'s buffer is full. */
  pipe(dest: TcpConnection, raw = false): void {
    this.onMessage = (_c: TcpConnection, data: unknown) => dest.send(data, raw as false);
    this.onClose = () => dest.close();
    dest.onBufferFull = () => this.pauseRecv();
    dest.onBufferDrain = () => this.resumeRecv();
  }

  /** The peer's IP address (without brackets for IPv6). */
  getRemoteIp(): string {
    return plainIp(this._socket?.remoteAddress ?? "");
  }
  /** The peer's port. */
  getRemotePort(): number {
    return this._socket?.remotePort ?? 0;
  }
  /** `ip:port` of the peer (`[ip]:port` for IPv6). */
  getRemoteAddress(): string {
    return formatHostPort(this.getRemoteIp(), this.getRemotePort());
  }
  /** The local IP address of the connection. */
  getLocalIp(): string {
    return plainIp(this._socket?.localAddress ?? "");
  }
  /** The local port of the connection. */
  getLocalPort(): number {
    return this._socket?.localPort ?? 0;
  }
  /** `ip:port` of the local end. */
  getLocalAddress(): string {
    return formatHostPort(this.getLocalIp(), this.getLocalPort());
  }
  /** True when the peer's address is IPv4. */
  isIpV4(): boolean {
    return this.transport !== "unix" && !this.getRemoteIp().includes(":");
  }
  /** True when the peer's address is IPv6. */
  isIpV6(): boolean {
    return this.transport !== "unix" && this.getRemoteIp().includes(":");
  }
}
