/**
 * `AsyncTcpConnection`: an outgoing stream connection (tcp, TLS or unix socket) with exactly
 * the send / back-pressure / close semantics and callbacks of an accepted
 * {@link TcpConnection}, plus `onConnect`, `connect()` and `reconnect()`.
 *
 * `send()` before the connection is established is queued (returns `null`) and written
 * once it is. A failed attempt calls `onError(conn, 1, "connect <host>:<port> fail after
 * <n> seconds", cause)`, then `onClose`; calling `reconnect(seconds)` there retries. Unlike
 * an accepted connection, an outgoing one keeps its callbacks after closing, so it can
 * connect again.
 *
 * @example
 * ```ts
 * import { AsyncTcpConnection, Worker } from "workerman-ts";
 * const proxy = new Worker("tcp://0.0.0.0:8483");
 * proxy.onConnect = (client) => {
 *   const backend = new AsyncTcpConnection("tcp://127.0.0.1:3306");
 *   client.pipe(backend);
 *   backend.pipe(client);
 *   backend.connect();
 * };
 * Worker.runAll();
 * ```
 *
 * @module
 */
import type { Conn, ConnectOptions, ConnHandler } from "../runtime/types.ts";
import { runtime } from "../runtime/mod.ts";
import { formatHostPort, parseSocketName, type SocketAddress } from "./address.ts";
import { ConfigError } from "./errors.ts";
import { log, safeCall } from "./log.ts";
import { type Callback, getProtocol, type Protocol, TRANSPORTS } from "./protocol.ts";
import type { Bytes } from "./bytes.ts";
import type { SchemeOf } from "./worker.ts";
import type { WebSocketClientSettings } from "../protocols/websocket/client.ts";
import { statistics, TcpConnection, WORKERMAN_CONNECT_FAIL } from "./tcp_connection.ts";
import { Timer } from "./timer.ts";

/** TLS client settings of an outgoing connection (`transport = "ssl"`). */
export interface TlsClientOptions {
  /** PEM CA bundle to trust instead of the system's (for a private CA). */
  ca?: string;
  /** Name sent as SNI and checked against the certificate (default: the host connected to, unless it is an IP). */
  servername?: string;
  /**
   * Verify the server's certificate (default true). `false` accepts any certificate, a
   * self-signed one included: for development only, as it gives up protection against
   * impostors. Prefer `ca` with your own CA.
   */
  verify?: boolean;
}

/** Options of `new AsyncTcpConnection(address, context)`. */
export interface AsyncTcpContext {
  /** Connect with TLS using these settings (implies `transport = "ssl"`). */
  tls?: TlsClientOptions;
}

/** What an outgoing connection sends and receives, by the scheme of its address. */
export interface ClientSchemes {
  /** Raw bytes. */
  tcp: { message: Bytes; send: string | Uint8Array };
  /** TLS: raw bytes. */
  ssl: { message: Bytes; send: string | Uint8Array };
  /** A unix socket: raw bytes. */
  unix: { message: Bytes; send: string | Uint8Array };
  /** One line per message. */
  text: { message: string; send: string };
  /** Length-prefixed frames. */
  frame: { message: Bytes; send: string | Uint8Array };
  /** A WebSocket client: a string per text message, bytes per binary one. */
  ws: { message: string | Uint8Array; send: string | Uint8Array };
  /** A WebSocket client over TLS. */
  wss: { message: string | Uint8Array; send: string | Uint8Array };
}

/** The message and send types of `new AsyncTcpConnection(address)` (anything for an unknown scheme). */
export type ClientTypes<A extends string> = string extends A ? { message: unknown; send: unknown }
  : SchemeOf<A> extends keyof ClientSchemes ? ClientSchemes[SchemeOf<A>]
  : { message: unknown; send: unknown };

/** `ws://` client settings (`websocketClientProtocol`, `websocketPingInterval`, ...) are on every AsyncTcpConnection. */
export interface AsyncTcpConnection<A extends string = string> extends WebSocketClientSettings {}

/**
 * Forwards the events of one socket to its connection while that socket is the current one:
 * after `reconnect()` the events of the previous socket (its close, most of all) are ignored.
 */
class SocketEvents implements ConnHandler {
  readonly conn: AsyncTcpConnection;
  readonly attempt: number;
  constructor(conn: AsyncTcpConnection, attempt: number) {
    this.conn = conn;
    this.attempt = attempt;
  }
  handleData(chunk: Uint8Array): void {
    if (this.conn._attempt === this.attempt) this.conn.handleData(chunk);
  }
  handleDrain(): void {
    if (this.conn._attempt === this.attempt) this.conn.handleDrain();
  }
  handleEnd(): void {
    if (this.conn._attempt === this.attempt) this.conn.handleEnd();
  }
  handleClose(error?: Error): void {
    if (this.conn._attempt === this.attempt) this.conn.handleClose(error);
  }
}

const EXAMPLE = "e.g. tcp://127.0.0.1:3306, text://example.com:8000, ssl://example.com:443 or unix:///tmp/app.sock";

/** Schemes that connect over TLS: `ssl://` and `wss://` (the ws:// client over TLS). */
const TLS_SCHEMES = new Set(["ssl", "wss"]);

/** Parse the remote address; a missing port means 443 for TLS and 80 otherwise, as in Workerman. */
function parseRemote(address: string): SocketAddress {
  const withoutPort = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/((?:\[[0-9A-Fa-f:.]+\])|[^:/\[\]]+)(\/.*)?$/.exec(address);
  if (withoutPort && withoutPort[1].toLowerCase() !== "unix") {
    const port = TLS_SCHEMES.has(withoutPort[1].toLowerCase()) ? 443 : 80;
    return parseSocketName(`${withoutPort[1]}://${withoutPort[2]}:${port}${withoutPort[3] ?? ""}`);
  }
  try {
    return parseSocketName(address);
  } catch {
    throw new ConfigError("ERR_SOCKET_NAME", `invalid remote address "${address}": ${EXAMPLE}`);
  }
}

/**
 * An outgoing connection to `A` (`"text://host:port"`, `"ws://host/path"`, ...): what it
 * receives and sends follow the scheme (see {@link ClientSchemes}).
 */
export class AsyncTcpConnection<A extends string = string>
  extends TcpConnection<ClientTypes<A>["message"], ClientTypes<A>["send"]> {
  /** `(conn)` once the connection is established (before the protocol's own `onConnect`). */
  onConnect: Callback<[conn: AsyncTcpConnection<A>]> | null = null;
  /** The options given to the constructor. */
  readonly context: AsyncTcpContext;
  /** @ignore Which connect attempt the current socket belongs to (see {@link SocketEvents}). */
  _attempt = 0;
  private readonly _remote: SocketAddress;
  private readonly _remoteAddress: string;
  /** This connection is included in `statistics.connection_count` (from construction until closed). */
  private _counted = true;
  private _reconnectTimer = 0;

  /**
   * `remoteAddress` is `<scheme>://<host>:<port>[/path]` or `unix:///path`: a transport
   * (`tcp`, `ssl`, `unix`) or a registered protocol name (`text`, `frame`, ...).
   */
  constructor(remoteAddress: A, context: AsyncTcpContext = {}) {
    const remote = parseRemote(remoteAddress);
    const scheme = remote.scheme;
    let protocol: Protocol | null = null;
    if (scheme === "udp") {
      throw new ConfigError("ERR_SOCKET_NAME", `"${remoteAddress}" is a UDP address: use new AsyncUdpConnection()`);
    }
    if (!TRANSPORTS.has(scheme)) {
      protocol = getProtocol(scheme) ?? null;
      if (!protocol) {
        throw new ConfigError(
          "ERR_UNKNOWN_PROTOCOL",
          `unknown protocol "${scheme}" in "${remoteAddress}": register it first with ` +
            `registerProtocol("${scheme}", { input, decode, encode })`,
        );
      }
    }
    super(null, null, protocol);
    this._remote = remote;
    this._remoteAddress = remoteAddress;
    this.context = context;
    this.transport = scheme === "unix" ? "unix" : TLS_SCHEMES.has(scheme) || context.tls ? "ssl" : "tcp";
  }

  /** The host of the remote address as given (a name or an IP, without brackets). */
  getRemoteHost(): string {
    return this._remote.host;
  }

  /** The path and query of the remote address (`/` when none): what a ws:// client asks for. */
  getRemoteURI(): string {
    return this._remote.path || "/";
  }

  /** Before the connection is established: the IP (or name) and port being connected to. */
  override getRemoteIp(): string {
    return this._socket ? super.getRemoteIp() : this._remote.host;
  }
  /** The port connected to (known before the connection is established). */
  override getRemotePort(): number {
    return this._socket ? super.getRemotePort() : this._remote.port;
  }

  /** Start connecting (from INITIAL or CLOSED; a no-op while connecting or connected). */
  connect(): void {
    const status = this._status;
    if (status === TcpConnection.STATUS_CONNECTING || status === TcpConnection.STATUS_ESTABLISHED) return;
    if (status === TcpConnection.STATUS_CLOSING) {
      this.destroy();
      if (this._status !== TcpConnection.STATUS_CLOSED) return; // onClose connected it again
    }
    this._revive();
    this._status = TcpConnection.STATUS_CONNECTING;
    this._socket = null;
    const attempt = ++this._attempt;
    const started = performance.now();
    let options: ConnectOptions;
    try {
      options = this._connectOptions();
    } catch (err) {
      this._connectFailed(attempt, started, err);
      return;
    }
    runtime.connect(options).then(
      (socket) => this._connected(attempt, socket),
      (err) => this._connectFailed(attempt, started, err),
    );
  }

  /**
   * Connect again, now or after `after` seconds (a one-shot Timer). An open connection is
   * closed first (its `onClose` fires). Typically called in `onClose` to keep a client
   * connected.
   */
  reconnect(after = 0): void {
    this.cancelReconnect();
    const status = this._status;
    if (status !== TcpConnection.STATUS_INITIAL && status !== TcpConnection.STATUS_CLOSED) {
      this.destroy();
      if (this._status !== TcpConnection.STATUS_CLOSED) return; // onClose reconnected already
    }
    this._revive();
    this._status = TcpConnection.STATUS_INITIAL;
    if (after > 0) {
      this._reconnectTimer = Timer.add(
        after,
        () => {
          this._reconnectTimer = 0;
          this.connect();
        },
        [],
        false,
      );
      return;
    }
    this.connect();
  }

  /** Cancel a `reconnect(seconds)` that has not happened yet. */
  cancelReconnect(): void {
    if (this._reconnectTimer) Timer.del(this._reconnectTimer);
    this._reconnectTimer = 0;
  }

  /** Leaving CLOSED: counted as a connection again. */
  private _revive(): void {
    if (this._counted) return;
    this._counted = true;
    statistics.connection_count++;
  }

  /** How the runtime connects: transport, host, port, path, TLS. */
  private _connectOptions(): ConnectOptions {
    const r = this._remote;
    if (this.transport === "unix") return { transport: "unix", path: r.path };
    if (this.transport === "ssl") {
      const tls = this.context.tls ?? {};
      return {
        transport: "ssl",
        host: r.host,
        port: r.port,
        tls: { servername: tls.servername, ca: tls.ca, verify: tls.verify },
      };
    }
    if (this.transport !== "tcp") {
      throw new ConfigError(
        "ERR_TRANSPORT",
        `bad transport "${this.transport}" for ${this._remoteAddress}: use tcp, ssl or unix`,
      );
    }
    return { transport: "tcp", host: r.host, port: r.port };
  }

  /** Connect attempt `attempt` succeeded (ignored when a newer one was started). */
  private _connected(attempt: number, socket: Conn): void {
    if (attempt !== this._attempt || this._status !== TcpConnection.STATUS_CONNECTING) {
      socket.destroy(); // closed or reconnected meanwhile
      return;
    }
    this._attachSocket(socket, new SocketEvents(this, attempt));
    if (this.onConnect) this._call("onConnect", this.onConnect);
    const protocol = this.protocol;
    if (protocol?.onConnect && this._status === TcpConnection.STATUS_ESTABLISHED) {
      safeCall(() => this._where("protocol onConnect()"), protocol.onConnect.bind(protocol), this);
    }
  }

  /** Connect attempt `attempt` failed: `onError(conn, 1, ...)`, then `onClose`. */
  private _connectFailed(attempt: number, started: number, cause: unknown): void {
    if (attempt !== this._attempt || this._status !== TcpConnection.STATUS_CONNECTING) return;
    this._status = TcpConnection.STATUS_CLOSING;
    const seconds = Math.round((performance.now() - started) * 10) / 10000; // 4 decimals, as Workerman
    const where = this.transport === "unix" ? this._remote.path : formatHostPort(this._remote.host, this._remote.port);
    const message = `connect ${where} fail after ${seconds} seconds`;
    if (this.onError) this._call("onError", this.onError, WORKERMAN_CONNECT_FAIL, message, cause);
    else log(`AsyncTcpConnection ${this._remoteAddress}: ${message} (${(cause as Error)?.message ?? cause})`);
    this.destroy();
  }

  /**
   * Where errors from this connection's callbacks are reported.
   * @ignore
   */
  protected override _where(callback: string): string {
    return `${callback} of AsyncTcpConnection to ${this._remoteAddress} (connection ${this.id})`;
  }

  /**
   * Closed: cancel a pending reconnect and ignore the old socket's events.
   * @ignore
   */
  protected override _finish(): void {
    this.cancelReconnect();
    this._counted = false;
    this._attempt++; // whatever the closed socket (or a pending connect) still reports is ignored
    super._finish();
  }

  /**
   * Keeps the callbacks: a closed outgoing connection can connect again.
   * @ignore
   */
  protected override _releaseCallbacks(): void {
    // Kept: a closed outgoing connection can connect again with the same callbacks.
  }
}
