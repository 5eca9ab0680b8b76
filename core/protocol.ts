/**
 * The protocol contract and the registry of protocols by scheme name.
 *
 * A protocol turns a byte stream into packages: `input(buffer, conn)` says how long the first
 * package is (0 = need more bytes, n = the first n bytes, negative or above `maxPackageSize` =
 * bad input, which closes that connection), `decode(package, conn)` gives what `onMessage`
 * receives, `encode(data, conn)` gives the bytes `send()` writes.
 *
 * @module
 */
import { ConfigError } from "./errors.ts";

/**
 * A callback property: called with `Args`. Declared as a method so that a connection or Worker
 * typed for one protocol is still assignable where a less specific one is expected (a handler
 * for `Request` stored in a `Map<number, TcpConnection>`), while what a handler receives stays
 * precise.
 */
export type Callback<Args extends unknown[]> = { bivarianceHack(...args: Args): unknown }["bivarianceHack"];

/** What a protocol may use of the connection it serves (a {@link TcpConnection} has all of it). */
export interface ProtocolConnection {
  /** Per process, from 1 (0 for a UDP sender). */
  readonly id: number;
  /** Largest package `input()` may announce; beyond it the connection is closed. */
  maxPackageSize: number;
  /** Send-buffer limit: at or above it `onBufferFull` fires and further sends are dropped. */
  maxSendBufferSize: number;
  /** The Worker that accepted the connection (null for an outgoing one). */
  readonly worker?: { readonly name: string } | null;
  /** Send `data` (encoded by the protocol unless `raw`). */
  send(data: unknown, raw?: boolean): boolean | null;
  /** Send `data` if given, flush, then close. */
  close(data?: unknown, raw?: boolean): void;
  /** Close now, discarding anything not yet written. */
  destroy(): void;
  /** Stop reading from the socket. */
  pauseRecv(): void;
  /** Resume reading. */
  resumeRecv(): void;
  /** The status number (2: established), or its name when `raw` is false. */
  getStatus(raw?: boolean): number | string;
  /** Bytes queued and not yet written. */
  getSendBufferQueueSize(): number;
  /** The peer's IP address. */
  getRemoteIp(): string;
  /** The peer's port. */
  getRemotePort(): number;
  /** `ip:port` of the peer. */
  getRemoteAddress(): string;
  /** Called when the send buffer has drained (a streaming protocol waits for it). */
  onBufferDrain: Callback<[conn: never]> | null;
  /** True when the answer being sent is the connection's last (see `TcpConnection.closesAfterAnswer`). */
  closesAfterAnswer?(): boolean;
}

/**
 * A protocol: an object (or a class with static methods) with `input`, `decode` and `encode`.
 * `In` is what `decode` yields (what `onMessage` receives), `Out` what `encode` takes (what
 * `conn.send()` accepts); `C` is the connection type the protocol's hooks receive.
 *
 * @example
 * ```ts
 * import { type Protocol, Worker } from "workerman-ts";
 * const Lines: Protocol<string, string> = {
 *   input: (buffer) => buffer.indexOf(10) + 1,
 *   decode: (buffer) => new TextDecoder().decode(buffer).trimEnd(),
 *   encode: (line) => line + "\n",
 * };
 * const w = new Worker("tcp://0.0.0.0:8000", { protocol: Lines });
 * w.onMessage = (conn, line) => conn.send(line.toUpperCase());
 * ```
 */
export interface Protocol<In = unknown, Out = In, C extends ProtocolConnection = ProtocolConnection> {
  /** Length of the first package in `buffer`: 0 = need more bytes, negative = bad input. */
  input(buffer: Uint8Array, conn: C): number;
  /** What `onMessage` receives for one package ({@link NO_MESSAGE}: nothing). */
  decode(buffer: Uint8Array, conn: C): In | typeof NO_MESSAGE;
  /** The bytes (or text, sent as UTF-8) that `send(data)` writes. */
  encode(data: Out, conn: C): string | Uint8Array;
  /**
   * Optional, for speed: frame by offset instead of by view. `inputAt(buffer, offset, conn)`
   * must equal `input(buffer.subarray(offset), conn)` and `decodeAt(buffer, start, end, conn)`
   * must equal `decode(buffer.subarray(start, end), conn)`; a protocol that has both lets the
   * framework frame a whole read without creating a view per package. Within one read the
   * framework passes the same `buffer` object, in order.
   */
  inputAt?(buffer: Uint8Array, offset: number, conn: C): number;
  /** See {@link Protocol.inputAt}. */
  decodeAt?(buffer: Uint8Array, start: number, end: number, conn: C): In | typeof NO_MESSAGE;
  /** Called when an outgoing connection is established (a client protocol sends its handshake here). */
  onConnect?(conn: C): void;
  /**
   * Bytes the protocol holds back from the socket for `conn` (a WebSocket's frames sent before
   * its handshake completed): they count against `maxSendBufferSize` like queued data.
   */
  heldBytes?(conn: C): number;
  /** Called after a connection using this protocol closed. */
  onClose?(conn: C): void;
  /**
   * True while a message was delivered and its answer is not complete (an async handler, a
   * streamed response). `closeWhenIdle()` then waits: the connection closes after the send
   * that makes this false, so stopping a process does not cut off a pending response.
   */
  busy?(conn: C): boolean;
  /**
   * Optional, for a graceful stop (`stop -g`, `reload -g`): true when `conn`, once idle (no
   * partial package held, not `busy()`), may be closed because its peer takes that as the end
   * of an exchange and sends its next one on a new connection (HTTP between requests on a
   * keep-alive connection). A graceful stop leaves the connections of a protocol without it,
   * and those for which it returns false (an event stream whose body ends with the
   * connection), for their peer to close.
   */
  closableWhenIdle?(conn: C): boolean;
  /**
   * Optional, for the header timeout: true while `conn` is receiving a head (an HTTP request
   * head, a WebSocket handshake). The connection's `headerTimeout` bounds how long that takes.
   */
  receivingHead?(conn: C): boolean;
  /**
   * Optional: the idle timeout (seconds) that applies to `conn` in its current state, e.g.
   * HTTP's keep-alive timeout between requests; undefined leaves the connection's `idleTimeout`.
   * When both are set the shorter one applies.
   */
  idleTimeout?(conn: C): number | undefined;
  /** Optional: what to send before a timeout closes `conn` (HTTP answers a header timeout with 408). */
  onTimeout?(conn: C, kind: TimeoutKind): string | Uint8Array | undefined;
}

/** Which timeout closed a connection: the head took too long, or nothing was sent or received for too long. */
export type TimeoutKind = "header" | "idle";

/**
 * What `decode` returns for a package that carries no message (a WebSocket handshake, control
 * frame or non-final fragment): nothing reaches `onMessage` and no request is counted.
 */
export const NO_MESSAGE: unique symbol = Symbol("workerman-ts no message");

/** What a protocol's `decode` yields. */
export type MessageOf<P> = P extends Protocol<infer In, infer _Out, infer _C> ? In : never;
/** What a protocol's `encode` takes. */
export type SendOf<P> = P extends Protocol<infer _In, infer Out, infer _C> ? Out : never;

const registry = new Map<string, Protocol>();

/** Names that are transports, never protocols. */
export const TRANSPORTS = new Set(["tcp", "udp", "unix", "ssl"]);

/** Check that `protocol` has the three functions; `name` is for the message. */
export function assertProtocol(name: string, protocol: unknown): asserts protocol is Protocol {
  const p = protocol as Partial<Protocol> | null;
  const missing = ["input", "decode", "encode"].filter((k) => typeof p?.[k as keyof Protocol] !== "function");
  if (missing.length > 0) {
    throw new ConfigError(
      "ERR_BAD_PROTOCOL",
      `protocol ${name} must have input(), decode() and encode() functions; missing ${missing.join(", ")}`,
    );
  }
}

/**
 * Make `new Worker("<name>://host:port")` and `new AsyncTcpConnection("<name>://...")` use
 * `protocol`. Names are case-insensitive. Returns `protocol`, so that its types travel with it:
 * `new Worker("JsonNL://0.0.0.0:1234", { protocol: JsonNL })` types `onMessage`'s data as what
 * its `decode` returns.
 */
export function registerProtocol<P extends Protocol>(name: string, protocol: P): P {
  const key = name.toLowerCase();
  if (!/^[a-z][a-z0-9+.-]*$/.test(key)) {
    throw new ConfigError("ERR_BAD_PROTOCOL_NAME", `registerProtocol(): "${name}" is not a valid scheme name`);
  }
  if (TRANSPORTS.has(key)) {
    throw new ConfigError("ERR_BAD_PROTOCOL_NAME", `registerProtocol(): "${name}" is a transport, not a protocol name`);
  }
  assertProtocol(name, protocol);
  registry.set(key, protocol);
  return protocol;
}

/** The protocol registered under `name` (case-insensitive). */
export function getProtocol(name: string): Protocol | undefined {
  return registry.get(name.toLowerCase());
}

/** The registered protocol names, in registration order. */
export function protocolNames(): string[] {
  return [...registry.keys()];
}

/** Edit distance (insertions, deletions, substitutions, adjacent swaps) between two short words. */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}

/** The candidate closest to `word` (a typo: at most 2 edits, fewer than half its letters), or null. */
export function nearest(word: string, candidates: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = Math.min(2, Math.ceil(word.length / 2) - 1);
  for (const c of candidates) {
    const d = distance(word.toLowerCase(), c);
    if (d <= bestDistance && (best === null || d < bestDistance)) [best, bestDistance] = [c, d];
  }
  return best;
}
