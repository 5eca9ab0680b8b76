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

/** What a protocol may use of the connection it serves. */
export interface ProtocolConnection {
  maxPackageSize: number;
  send(data: unknown, raw?: boolean): boolean | null;
  close(data?: unknown, raw?: boolean): void;
  /** True when the answer being sent is the connection's last (see `TcpConnection.closesAfterAnswer`). */
  closesAfterAnswer?(): boolean;
  // deno-lint-ignore no-explicit-any
  [key: string]: any;
}

/** A protocol: an object (or a class with static methods) with `input`, `decode` and `encode`. */
export interface Protocol {
  input(buffer: Uint8Array, conn: ProtocolConnection): number;
  // deno-lint-ignore no-explicit-any
  decode(buffer: Uint8Array, conn: ProtocolConnection): any;
  // deno-lint-ignore no-explicit-any
  encode(data: any, conn: ProtocolConnection): string | Uint8Array;
  /**
   * Optional, for speed: frame by offset instead of by view. `inputAt(buffer, offset, conn)`
   * must equal `input(buffer.subarray(offset), conn)` and `decodeAt(buffer, start, end, conn)`
   * must equal `decode(buffer.subarray(start, end), conn)`; a protocol that has both lets the
   * framework frame a whole read without creating a view per package. Within one read the
   * framework passes the same `buffer` object, in order.
   */
  inputAt?(buffer: Uint8Array, offset: number, conn: ProtocolConnection): number;
  // deno-lint-ignore no-explicit-any
  decodeAt?(buffer: Uint8Array, start: number, end: number, conn: ProtocolConnection): any;
  /** Called when an outgoing connection is established (a client protocol sends its handshake here). */
  onConnect?(conn: ProtocolConnection): void;
  /**
   * Bytes the protocol holds back from the socket for `conn` (a WebSocket's frames sent before
   * its handshake completed): they count against `maxSendBufferSize` like queued data.
   */
  heldBytes?(conn: ProtocolConnection): number;
  /** Called after a connection using this protocol closed. */
  onClose?(conn: ProtocolConnection): void;
  /**
   * True while a message was delivered and its answer is not complete (an async handler, a
   * streamed response). `closeWhenIdle()` then waits: the connection closes after the send
   * that makes this false, so stopping a process does not cut off a pending response.
   */
  busy?(conn: ProtocolConnection): boolean;
  /**
   * Optional, for the header timeout: true while `conn` is receiving a head (an HTTP request
   * head, a WebSocket handshake). The connection's `headerTimeout` bounds how long that takes.
   */
  receivingHead?(conn: ProtocolConnection): boolean;
  /**
   * Optional: the idle timeout (seconds) that applies to `conn` in its current state, e.g.
   * HTTP's keep-alive timeout between requests; undefined leaves the connection's `idleTimeout`.
   * When both are set the shorter one applies.
   */
  idleTimeout?(conn: ProtocolConnection): number | undefined;
  /** Optional: what to send before a timeout closes `conn` (HTTP answers a header timeout with 408). */
  onTimeout?(conn: ProtocolConnection, kind: TimeoutKind): string | Uint8Array | undefined;
}

/** Which timeout closed a connection: the head took too long, or nothing was sent or received for too long. */
export type TimeoutKind = "header" | "idle";

/**
 * What `decode` returns for a package that carries no message (a WebSocket handshake, control
 * frame or non-final fragment): nothing reaches `onMessage` and no request is counted.
 */
export const NO_MESSAGE: unique symbol = Symbol("workerman-ts no message");

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
 * `protocol`. Names are case-insensitive.
 */
export function registerProtocol(name: string, protocol: Protocol): void {
  const key = name.toLowerCase();
  if (!/^[a-z][a-z0-9+.-]*$/.test(key)) {
    throw new ConfigError("ERR_BAD_PROTOCOL_NAME", `registerProtocol(): "${name}" is not a valid scheme name`);
  }
  if (TRANSPORTS.has(key)) {
    throw new ConfigError("ERR_BAD_PROTOCOL_NAME", `registerProtocol(): "${name}" is a transport, not a protocol name`);
  }
  assertProtocol(name, protocol);
  registry.set(key, protocol);
}

/** The protocol registered under `name` (case-insensitive). */
export function getProtocol(name: string): Protocol | undefined {
  return registry.get(name.toLowerCase());
}
