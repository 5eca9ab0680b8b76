/**
 * `AsyncUdpConnection`: a UDP client talking to one server (`udp://host:port`, or a protocol
 * such as `text://host:port` whose packages travel as datagrams). Only datagrams from that
 * server reach `onMessage`, as with Workerman's connected UDP socket.
 *
 * @example
 * ```ts
 * import { AsyncUdpConnection } from "workerman-ts";
 * const udp = new AsyncUdpConnection("udp://127.0.0.1:9292");
 * udp.onConnect = (conn) => conn.send("ping");
 * udp.onMessage = (conn, data) => {
 *   console.log(`got ${data}`);
 *   conn.close();
 * };
 * udp.connect();
 * ```
 *
 * @module
 */
import type { Datagram, UdpSocket } from "../runtime/types.ts";
import { runtime } from "../runtime/mod.ts";
import { formatHostPort, parseSocketName, plainIp, type SocketAddress } from "./address.ts";
import { asBytes, toBytes } from "./bytes.ts";
import { ConfigError } from "./errors.ts";
import { log, reportError, safeCall } from "./log.ts";
import { type Callback, getProtocol, type Protocol, TRANSPORTS } from "./protocol.ts";
import type { ClientTypes } from "./async_tcp_connection.ts";
import type { Bytes } from "./bytes.ts";
import type { SchemeOf } from "./worker.ts";
import { statistics, WORKERMAN_CONNECT_FAIL } from "./tcp_connection.ts";

/** What `new AsyncUdpConnection(address)` receives: bytes on `udp://`, else what the protocol decodes. */
export type UdpClientMessage<A extends string> = SchemeOf<A> extends "udp" ? Bytes : ClientTypes<A>["message"];

const INITIAL = 0;
const CONNECTING = 1;
const ESTABLISHED = 2;
const CLOSED = 8;

/** A UDP client: datagrams to one server and its answers (`A` is its address, which types `onMessage`). */
export class AsyncUdpConnection<A extends string = string> {
  /** Always `udp`. */
  readonly transport = "udp";
  /** The protocol named by the address's scheme (null for `udp://`). */
  protocol: Protocol | null = null;
  /** `(conn)` once the socket is open. */
  onConnect: Callback<[conn: AsyncUdpConnection<A>]> | null = null;
  /** `(conn, data)` for each message from the server. */
  onMessage: Callback<[conn: AsyncUdpConnection<A>, data: UdpClientMessage<A>]> | null = null;
  /** `(conn)` after `close()`. */
  onClose: Callback<[conn: AsyncUdpConnection<A>]> | null = null;
  /** `onError(conn, 1, message, cause)` when the host cannot be resolved or the socket not opened. */
  onError: Callback<[conn: AsyncUdpConnection<A>, code: number, message: string, cause?: unknown]> | null = null;
  private readonly _remote: SocketAddress;
  private readonly _remoteAddress: string;
  private _status = INITIAL;
  private _socket: UdpSocket | null = null;
  /** The server's IP once resolved. */
  private _ip = "";
  /** Datagrams sent before the socket was open. */
  private _queue: Uint8Array[] = [];

  /** `remoteAddress` is `udp://host:port` or `<protocol>://host:port`. */
  constructor(remoteAddress: A, _context: Record<string, unknown> = {}) {
    const remote = parseSocketName(remoteAddress);
    if (remote.scheme !== "udp") {
      if (TRANSPORTS.has(remote.scheme)) {
        throw new ConfigError(
          "ERR_SOCKET_NAME",
          `"${remoteAddress}" is not a UDP address: use udp://host:port or <protocol>://host:port`,
        );
      }
      this.protocol = getProtocol(remote.scheme) ?? null;
      if (!this.protocol) {
        throw new ConfigError(
          "ERR_UNKNOWN_PROTOCOL",
          `unknown protocol "${remote.scheme}" in "${remoteAddress}": register it first with registerProtocol()`,
        );
      }
    }
    this._remote = remote;
    this._remoteAddress = remoteAddress;
  }

  /** Resolve the host and open the socket; `onConnect` follows (a no-op once connecting). */
  connect(): void {
    if (this._status !== INITIAL) return;
    this._status = CONNECTING;
    const started = performance.now();
    const host = this._remote.host;
    runtime.lookup(host).then(async (found) => {
      const socket = await runtime.udp(
        { host: found.family === 6 ? "::" : "0.0.0.0", port: 0 },
        (d) => this._receive(d),
      );
      if (this._status !== CONNECTING) {
        socket.close(); // closed meanwhile
        return;
      }
      this._ip = found.address;
      this._socket = socket;
      this._status = ESTABLISHED;
      const queue = this._queue;
      this._queue = [];
      for (const data of queue) socket.send(data, this._remote.port, this._ip);
      if (this.onConnect) safeCall(() => this._where("onConnect"), this.onConnect, this);
    }).catch((err) => {
      if (this._status !== CONNECTING) return;
      const seconds = Math.round((performance.now() - started) * 10) / 10000;
      const message = `connect ${formatHostPort(host, this._remote.port)} fail after ${seconds} seconds`;
      if (this.onError) {
        safeCall(() => this._where("onError"), this.onError, this, WORKERMAN_CONNECT_FAIL, message, err);
      } else log(`AsyncUdpConnection ${this._remoteAddress}: ${message} (${(err as Error)?.message ?? err})`);
      this.close();
    });
  }

  /**
   * Send one datagram (encoded by the protocol unless `raw`). Returns true when it was handed
   * to the kernel, `null` when it waits for the socket to open (`connect()` is called if
   * needed), false after `close()` or when the runtime refused it.
   */
  send(data: string | Uint8Array, raw = false): boolean | null {
    if (this._status === CLOSED) return false;
    if (this.protocol && !raw) {
      data = this.protocol.encode(data, this as never);
      if (data === undefined || data === null || data.length === 0) return null;
    }
    const bytes = toBytes(typeof data === "string" || data instanceof Uint8Array ? data : String(data));
    if (this._socket === null) {
      this._queue.push(bytes);
      this.connect();
      return null;
    }
    return this._socket.send(bytes, this._remote.port, this._ip);
  }

  /** Send `data` if given, close the socket, then `onClose`. Returns true. */
  close(data?: string | Uint8Array, raw = false): boolean {
    if (this._status === CLOSED) return true;
    if (data !== undefined && data !== null) this.send(data, raw);
    this._status = CLOSED;
    this._queue = [];
    this._socket?.close();
    this._socket = null;
    const onClose = this.onClose;
    this.onConnect =
      this.onMessage =
      this.onClose =
      this.onError =
        null;
    if (onClose) safeCall(() => this._where("onClose"), onClose, this);
    return true;
  }

  /** A datagram arrived: decode it and call `onMessage` (datagrams from others than the server are dropped). */
  private _receive(d: Datagram): void {
    // Only the server's datagrams, as a connected socket would have it.
    if (d.port !== this._remote.port || plainIp(d.address) !== plainIp(this._ip)) return;
    statistics.total_request++;
    let message: unknown = asBytes(d.data);
    if (this.protocol) {
      try {
        message = this.protocol.decode(d.data, this as never);
      } catch (err) {
        reportError(this._where("protocol decode()"), err);
        return;
      }
    }
    if (this.onMessage) safeCall(() => this._where("onMessage"), this.onMessage, this, message as UdpClientMessage<A>);
  }

  /** Where errors from this connection's callbacks are reported. */
  private _where(callback: string): string {
    return `${callback} of AsyncUdpConnection to ${this._remoteAddress}`;
  }

  /** The server's IP (once resolved). */
  getRemoteIp(): string {
    return this._ip || this._remote.host;
  }
  /** The server's port. */
  getRemotePort(): number {
    return this._remote.port;
  }
  /** `ip:port` of the server. */
  getRemoteAddress(): string {
    return formatHostPort(this.getRemoteIp(), this._remote.port);
  }
  /** The local address of the socket. */
  getLocalIp(): string {
    return this._socket?.host ?? "";
  }
  /** The local port of the socket. */
  getLocalPort(): number {
    return this._socket?.port ?? 0;
  }
}
