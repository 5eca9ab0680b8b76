/**
 * `Worker`: a listening socket plus the callbacks that serve its connections, with Workerman's
 * names (`count`, `name`, `onWorkerStart`, `onMessage`, ...). `Worker.runAll()` starts every
 * Worker the start script created.
 *
 * @example
 * ```ts
 * import { Worker } from "workerman-ts";
 * const echo = new Worker("tcp://0.0.0.0:8480");
 * echo.onMessage = (conn, data) => conn.send("hello " + data);
 * Worker.runAll();
 * ```
 *
 * @module
 */
import type { Conn, Datagram, Listener, ListenOptions, SharedSocket, TlsOptions, UdpSocket } from "../runtime/types.ts";
import { runtime } from "../runtime/mod.ts";
import { formatHostPort, parseSocketName, type SocketAddress } from "./address.ts";
import { ConfigError } from "./errors.ts";
import { log, reportError, safeCall } from "./log.ts";
import { type Callback, getProtocol, nearest, type Protocol, protocolNames, TRANSPORTS } from "./protocol.ts";
import type { Bytes } from "./bytes.ts";
import type { HttpConnection } from "../protocols/http/mod.ts";
import type { Request } from "../protocols/http/request.ts";
import type { WebSocketConnection } from "../protocols/websocket/server.ts";
import { proxyProtocolAcceptor, type ProxyProtocolOptions, trustedMatcher } from "./proxy_protocol.ts";
import { type ConnectionData, type ConnectionOwner, statistics, TcpConnection } from "./tcp_connection.ts";
import { UdpConnection } from "./udp_connection.ts";
import { expectRunAll, noteListen, runAll, stopAll } from "./run.ts";

/**
 * Options of `new Worker(socketName, context)`. `P` is the type of `protocol`, which types the
 * Worker's callbacks when given.
 */
export interface WorkerContext<P extends Protocol | undefined = Protocol | undefined> {
  /**
   * The protocol that frames the connections, instead of the one the scheme names (as setting
   * `worker.protocol`). Given here, its types travel to the callbacks: with
   * `{ protocol: JsonNL }`, `onMessage` receives what `JsonNL.decode` returns and `conn.send()`
   * takes what `JsonNL.encode` takes.
   */
  protocol?: P;
  /**
   * Certificate and key (PEM) for `transport = "ssl"`. Each process reads them when it
   * starts, so `reload` puts renewed certificates in service without a restart.
   */
  tls?: TlsOptions;
  /** Listen backlog (default 511). */
  backlog?: number;
  /** Permissions of a `unix://` socket file, e.g. `0o660` (default: as created, umask applied). */
  unixSocketMode?: number;
  /**
   * Read the PROXY protocol header (v1 or v2) that trusted load balancers put before the
   * client's bytes; `getRemoteIp()` then gives the client's address. Stream sockets only, not with TLS.
   */
  proxyProtocol?: ProxyProtocolOptions;
}

/** The connection type and message type of a Worker, by scheme or protocol (see {@link Schemes}). */
export interface SchemeTypes<C, M> {
  /** What `onConnect`, `onMessage`, `onClose`, ... receive as `conn`. */
  connection: C;
  /** What `onMessage` receives as data. */
  message: M;
}

/**
 * The types a Worker's callbacks get, by the scheme of its address (lower case). Extend it by
 * declaration merging for a scheme of your own:
 * `declare module "workerman-ts" { interface Schemes { jsonnl: SchemeTypes<TcpConnection<Json, Json>, Json> } }`
 * (or pass the protocol object: `new Worker("JsonNL://...", { protocol: JsonNL })`). A Worker whose
 * address is not a literal (`new Worker(address)` with `address: string`) gets a plain
 * `TcpConnection` that takes any message.
 */
export interface Schemes {
  /** Raw bytes in, `string | Uint8Array` out. */
  tcp: SchemeTypes<Connection<Bytes, string | Uint8Array>, Bytes>;
  /** TLS over TCP: as `tcp`. */
  ssl: SchemeTypes<Connection<Bytes, string | Uint8Array>, Bytes>;
  /** A unix socket: as `tcp`. */
  unix: SchemeTypes<Connection<Bytes, string | Uint8Array>, Bytes>;
  /** One message per datagram; `conn` answers the sender. */
  udp: SchemeTypes<UdpConnection<Bytes, string | Uint8Array>, Bytes>;
  /** One line per message. */
  text: SchemeTypes<Connection<string, string>, string>;
  /** Length-prefixed binary frames. */
  frame: SchemeTypes<Connection<Bytes, string | Uint8Array>, Bytes>;
  /** A {@link Request} per message; `send()` takes a string, bytes or a Response. */
  http: SchemeTypes<HttpConnection, Request>;
  /** A string per text message, bytes per binary message. */
  websocket: SchemeTypes<WebSocketConnection, string | Uint8Array>;
}

/** An accepted connection receiving `In` and sending `Out`, with the application's {@link ConnectionData}. */
export type Connection<In = unknown, Out = unknown> = TcpConnection<In, Out> & ConnectionData;

/** The lower-case scheme of a socket name (`"http"` for `"http://0.0.0.0:80"`). */
export type SchemeOf<A extends string> = A extends `${infer S}://${string}` ? Lowercase<S> : never;

/**
 * The types of a Worker created with `new Worker(address, { protocol })`: from the protocol
 * when given, else from the address's scheme, else a connection that takes anything.
 */
export type WorkerTypes<A extends string, P extends Protocol | undefined> = [P] extends
  [Protocol<infer In, infer Out, infer _C>]
  ? SchemeOf<A> extends "udp" ? SchemeTypes<UdpConnection<In, Out>, In> : SchemeTypes<Connection<In, Out>, In>
  : string extends A ? SchemeTypes<TcpConnection, unknown>
  : SchemeOf<A> extends keyof Schemes ? Schemes[SchemeOf<A>]
  : SchemeTypes<TcpConnection, unknown>;

/** What a Worker's callbacks receive as `conn`. */
export type ConnectionOf<A extends string, P extends Protocol | undefined = undefined> = WorkerTypes<
  A,
  P
>["connection"];
/** What a Worker's `onMessage` receives as data. */
export type MessageOf<A extends string, P extends Protocol | undefined = undefined> = WorkerTypes<A, P>["message"];

const all: Worker[] = [];

/** Descriptors kept free for everything but accepted connections (files, outgoing connections, the runtime). */
const DESCRIPTOR_RESERVE = 16;
let connectionBudget = -1;
/**
 * How often a process refusing for the descriptor limit checks whether it can accept again
 * (a compare; often, so that a queue of connections their clients gave up on drains quickly).
 */
const RESUME_CHECK_MS = 100;
/** Accepts within this window count as one burst (see `Worker._noteBurst`). */
const BURST_WINDOW_MS = 250;
/**
 * When a process stops, a connection that is idle but sent or received something within this
 * many ms is given that long to send its next request (a keep-alive client answered just
 * before the stop usually has one on its way, or already in the socket buffer), which is then
 * answered as its last; one quiet that long owes nothing and is closed at once.
 */
const STOP_QUIET_MS = 250;

/**
 * Most connections this process holds before it would run out of descriptors (EMFILE): its
 * descriptor limit, minus what was open before its first listener, minus a reserve (16 or a
 * tenth of the limit). Beyond it connections are refused, so accepting itself never fails.
 * Computed before listening: at an accept, a runtime that accepts natively in bursts may
 * already hold every descriptor, and then even reading `/proc/self/fd` fails.
 */
function descriptorBudget(): number {
  if (connectionBudget < 0) {
    const { limit, open } = runtime.descriptors();
    connectionBudget = Math.max(1, limit - open - Math.max(DESCRIPTOR_RESERVE, Math.floor(limit / 10)));
  }
  return connectionBudget;
}

/**
 * A unix socket file at `path` that still accepts belongs to a running server: fail as a
 * port in use would, instead of taking it over. A file nobody answers on is stale (left by a
 * process that was killed) and the runtime replaces it.
 */
async function assertNotServing(path: string): Promise<void> {
  if (!runtime.exists(path)) return;
  let live: Conn | null = null;
  try {
    live = await runtime.connect({ transport: "unix", path });
  } catch { /* refused: stale */ }
  if (live) {
    live.destroy();
    throw Object.assign(new Error(`bind ${path}: EADDRINUSE (a server is listening on that socket file)`), {
      code: "EADDRINUSE",
    });
  }
}

/**
 * A listening socket and the callbacks serving its connections. The callbacks are typed by the
 * address's scheme (`new Worker("http://0.0.0.0:80")`: `onMessage(conn: HttpConnection,
 * request: Request)`) or by `context.protocol`; `A` is the address, `P` the protocol given.
 */
export class Worker<A extends string = string, P extends Protocol | undefined = Protocol | undefined> {
  /** `conn.websocketType` value: every frame sent is a text frame (as Workerman's `Websocket::BINARY_TYPE_BLOB`). */
  static readonly BINARY_TYPE_BLOB = "\x81";
  /** `conn.websocketType` value: every frame sent is a binary frame (`Websocket::BINARY_TYPE_ARRAYBUFFER`). */
  static readonly BINARY_TYPE_ARRAYBUFFER = "\x82";
  /** Start in the background (also set by `start -d`). */
  static daemonize = false;
  /**
   * Where a daemon's stdout/stderr go (what its code prints, errors nothing caught). Empty (the
   * default): the daemon's log file, so everything a daemon says is in one file; `/dev/null`
   * drops it, as Workerman does.
   */
  static stdoutFile = "";
  /** Holds the master pid; default derived from the start script's path. */
  static pidFile = "";
  /**
   * Timestamped log of starts, stops, reloads and errors (a throwing callback with its stack).
   * Empty (the default): a daemon (`start -d`) logs beside the start script, named after it
   * (`start.ts` → `start.log`), and says where in its banner; in the foreground the console only.
   */
  static logFile = "";
  /** Seconds a stopping process gets to finish before it is killed. */
  static stopTimeout = 2;
  /** Runs in the master when a reload begins. */
  static onMasterReload: (() => unknown) | null = null;
  /** Runs in the master when it stops. */
  static onMasterStop: (() => unknown) | null = null;

  /** Index of this process among the Worker's `count` processes (0..count-1). */
  id = 0;
  /** How many processes serve this Worker. */
  count = 1;
  /** Shown in the banner and in `status`. */
  name = "none";
  /** `tcp`, `udp`, `unix` or `ssl` (TLS over TCP). */
  transport: string;
  /** Each process binds its own socket with SO_REUSEPORT instead of sharing the master's. */
  reusePort = false;
  /** False: `reload` leaves these processes running and only calls `onWorkerReload`. */
  reloadable = true;
  /** Run the processes as this user (when the master runs as root). */
  user = "";
  /** Run the processes as this group (when the master runs as root). */
  group = "";
  /**
   * Seconds an accepted connection's head (HTTP request head, WebSocket handshake) may take to
   * arrive; when it expires the protocol's answer (HTTP: 408) is sent and the connection closed.
   * 0 = no limit. Default {@link TcpConnection.defaultHeaderTimeout} (60).
   */
  headerTimeout: number = TcpConnection.defaultHeaderTimeout;
  /**
   * Seconds an accepted connection may go without a byte sent or received before it is closed.
   * 0 = never (the default, {@link TcpConnection.defaultIdleTimeout}). HTTP closes keep-alive
   * connections idle between requests after its own `keepAliveTimeout` regardless.
   */
  idleTimeout: number = TcpConnection.defaultIdleTimeout;
  /**
   * Most connections this process holds open for this Worker; a connection accepted beyond it is
   * closed at once (and logged) while other processes, or this one later, serve the next ones.
   * Default: no limit — but every process also refuses connections that would bring it within
   * a reserve of its descriptor limit (`ulimit -n`), so accepting never fails with EMFILE.
   */
  maxConnections: number = Infinity;
  /** This process's accepted connections by id. */
  readonly connections: Map<number, ConnectionOf<A, P>> = new Map();
  /** True while this worker is stopping. */
  stopping = false;

  /** `(worker)` in each process once it listens (may return a Promise, awaited). */
  onWorkerStart: Callback<[worker: Worker<A, P>]> | null = null;
  /** `(worker)` in each process when it stops. */
  onWorkerStop: Callback<[worker: Worker<A, P>]> | null = null;
  /** `(worker)` in each process on `reload` (instead of being replaced when `reloadable` is false). */
  onWorkerReload: Callback<[worker: Worker<A, P>]> | null = null;
  /** `(worker, status, pid)` in the master when one of this Worker's processes exited. */
  onWorkerExit: Callback<[worker: Worker<A, P>, status: number, pid: number]> | null = null;
  /** `(conn)` when a connection is accepted. */
  onConnect: Callback<[conn: ConnectionOf<A, P>]> | null = null;
  /** `(conn, data)` for each message: typed by the protocol (a `Request` on http://, a string on text://). */
  onMessage: Callback<[conn: ConnectionOf<A, P>, data: MessageOf<A, P>]> | null = null;
  /** `(conn)` once when a connection is closed. */
  onClose: Callback<[conn: ConnectionOf<A, P>]> | null = null;
  /** `(conn, code, message)`: code 2 ({@link WORKERMAN_SEND_FAIL}) when a send was dropped. */
  onError: Callback<[conn: ConnectionOf<A, P>, code: number, message: string]> | null = null;
  /** `(conn)` when a send leaves the connection's send buffer at or above its limit. */
  onBufferFull: Callback<[conn: ConnectionOf<A, P>]> | null = null;
  /** `(conn)` when a connection's send buffer has been written out. */
  onBufferDrain: Callback<[conn: ConnectionOf<A, P>]> | null = null;
  /** `websocket://`: `(conn, request)` before the 101 is sent; `conn.close()` inside rejects. */
  onWebSocketConnect: Callback<[conn: ConnectionOf<A, P>, request: Request]> | null = null;
  /** `websocket://`: `(conn, code, reason)` on a close frame; when unset the close is echoed. */
  onWebSocketClose: Callback<[conn: ConnectionOf<A, P>, code: number, reason: string]> | null = null;
  /** `websocket://`: `(conn, payload)` on a ping; when unset a pong is sent automatically. */
  onWebSocketPing: Callback<[conn: ConnectionOf<A, P>, payload: Uint8Array]> | null = null;
  /** `websocket://`: `(conn, payload)` on a pong. */
  onWebSocketPong: Callback<[conn: ConnectionOf<A, P>, payload: Uint8Array]> | null = null;
  /** `websocket://`: false turns permessage-deflate off for this worker (unset: `Websocket.options.perMessageDeflate`). */
  websocketDeflate: boolean | undefined = undefined;

  /** The options given to the constructor. */
  readonly context: WorkerContext<P>;
  private readonly _socketName: string;
  private readonly _address: SocketAddress | null;
  /** Why the socket name could not be parsed (thrown by `validate()`). */
  private readonly _nameError: ConfigError | null = null;
  private _protocol: Protocol | null = null;
  private _protocolSet = false;
  private _listener: Listener | null = null;
  private _udp: UdpSocket | null = null;
  private _shared: SharedSocket | null = null;
  /** The once-a-second timeout check of this Worker's connections, while it has any. */
  private _sweep: ReturnType<typeof setInterval> | undefined = undefined;
  /** Set while waiting to resume accepting after running out of descriptors. */
  private _resumeCheck: ReturnType<typeof setInterval> | undefined = undefined;
  /** True while connections are being refused for maxConnections (logged once per episode). */
  private _refusing = false;
  /** The current burst of accepts (see `_noteBurst`): when it began, connections open then, accepts since. */
  private _burstStart = 0;
  private _burstBase = 0;
  private _burstAccepts = 0;

  /**
   * `socketName` is `<scheme>://<address>`; empty for a Worker that listens on nothing. A
   * malformed name is reported by `validate()` (so `Worker.runAll()` fails with one line
   * saying what to fix) and by `listen()`, not here.
   */
  constructor(socketName: A = "" as A, context: WorkerContext<P> = {}) {
    this._socketName = socketName;
    if (context.protocol) this.protocol = context.protocol;
    this.context = context;
    let address: SocketAddress | null = null;
    try {
      address = socketName ? parseSocketName(socketName) : null;
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      this._nameError = err;
    }
    this._address = address;
    const scheme = this._address?.scheme ?? "tcp";
    this.transport = TRANSPORTS.has(scheme) ? scheme : "tcp";
    all.push(this);
    expectRunAll();
  }

  /** Every Worker created in this process, in creation order. */
  static getAllWorkers(): readonly Worker[] {
    return all;
  }

  /** The protocol that frames this Worker's connections (null: raw bytes). */
  get protocol(): Protocol | null {
    if (!this._protocolSet) this._protocol = this._resolveProtocol();
    return this._protocol;
  }
  set protocol(protocol: Protocol | null) {
    this._protocol = protocol;
    this._protocolSet = true;
  }

  /** The protocol the address's scheme names (null for a transport); throws for an unknown scheme. */
  private _resolveProtocol(): Protocol | null {
    const scheme = this._address?.scheme;
    if (!scheme || TRANSPORTS.has(scheme)) return null;
    if (scheme === "ws" || scheme === "wss") throw this._clientSchemeError(scheme);
    const found = getProtocol(scheme);
    if (!found) {
      const known = [...TRANSPORTS, ...protocolNames().filter((n) => n !== "ws" && n !== "wss")];
      const near = nearest(scheme, known);
      throw new ConfigError(
        "ERR_UNKNOWN_PROTOCOL",
        `unknown protocol "${scheme}" in "${this._socketName}"${near ? ` (did you mean "${near}://"?)` : ""}; ` +
          `known: ${known.join(", ")}. A protocol of your own: register it before Worker.runAll() with ` +
          `registerProtocol("${scheme}", { input, decode, encode }), or set worker.protocol`,
      );
    }
    return found;
  }

  /** `ws://` / `wss://` name WebSocket servers to connect to; a server listens on `websocket://`. */
  private _clientSchemeError(scheme: string): ConfigError {
    const server = `websocket${this._socketName.slice(scheme.length)}`;
    const tls = scheme === "wss"
      ? ` with worker.transport = "ssl" and { tls: { cert, key } } (PEM strings) as the second argument of new Worker()`
      : "";
    return new ConfigError(
      "ERR_CLIENT_SCHEME",
      `"${this._socketName}" is a WebSocket client address (for AsyncTcpConnection); a WebSocket server listens on "${server}"${tls}`,
    );
  }

  /** The socket name as given (`none` when empty). */
  getSocketName(): string {
    return this._socketName ? this._socketName[0].toLowerCase() + this._socketName.slice(1) : "none";
  }

  /** The address actually bound, with port 0 resolved (`none` before listening or when not listening). */
  getListenAddress(): string {
    if (!this._address) return "none";
    const scheme = this._socketName.slice(0, this._address.scheme.length); // as written: JsonNL, not jsonnl
    const stream = this._listener ?? this._shared;
    if (stream?.path) return `${scheme}://${stream.path}`;
    const bound = stream ?? this._udp;
    return bound ? `${scheme}://${formatHostPort(this._address.host, bound.port)}` : "none";
  }

  /** The bound port (0 before listening). */
  get localPort(): number {
    return (this._listener ?? this._shared ?? this._udp)?.port ?? 0;
  }

  /** Check the configuration without binding anything; throws a {@link ConfigError} saying what to fix. */
  validate(): void {
    if (this._nameError) throw this._nameError;
    void this.protocol;
    if (!["tcp", "udp", "unix", "ssl"].includes(this.transport)) {
      throw new ConfigError(
        "ERR_TRANSPORT",
        `bad transport "${this.transport}" for worker ${this.name}: use tcp, udp, unix or ssl`,
      );
    }
    if (this.transport === "ssl" && !(this.context.tls?.cert && this.context.tls?.key)) {
      throw new ConfigError(
        "ERR_TLS_CONTEXT",
        `worker ${this.name} uses transport "ssl" but has no certificate: pass { tls: { cert, key } } (PEM strings) as the second argument of new Worker()`,
      );
    }
    if (this.reusePort && (this.transport === "unix" || this._address?.scheme === "unix")) {
      throw new ConfigError(
        "ERR_REUSEPORT_UNIX",
        `worker ${this.name}: reusePort does not apply to unix sockets; remove it (the processes share the master's socket)`,
      );
    }
    const proxy = this.context.proxyProtocol;
    if (proxy) {
      if (this.transport === "ssl" || this.transport === "udp") {
        throw new ConfigError(
          "ERR_PROXY_PROTOCOL",
          `worker ${this.name}: proxyProtocol works on plain stream sockets, not with transport "${this.transport}" ` +
            `(terminate TLS at the load balancer, or drop proxyProtocol)`,
        );
      }
      if (!Array.isArray(proxy.trusted) || proxy.trusted.length === 0) {
        throw new ConfigError(
          "ERR_PROXY_PROTOCOL",
          `worker ${this.name}: proxyProtocol needs trusted: [<load balancer IPs or CIDR ranges>]`,
        );
      }
      trustedMatcher(proxy.trusted); // throws on a bad entry
    }
    if (!Number.isInteger(this.count) || this.count < 1) this.count = 1;
    if (!this.name) this.name = "none";
  }

  /** Bind and start accepting (idempotent). */
  async listen(): Promise<void> {
    if (this._nameError) throw this._nameError;
    noteListen();
    if (!this._address || this._listener || this._udp) return;
    this.validate();
    const a = this._address;
    if (this.transport === "udp") {
      this._udp = await runtime.udp(
        { host: a.host, port: a.port, reusePort: this.reusePort },
        (d) => this._receiveDatagram(d),
      );
      return;
    }
    const options = this.listenOptions();
    if (options.transport === "unix") await assertNotServing(options.path!);
    descriptorBudget();
    this._listener = await runtime.listen({ ...options, reusePort: this.reusePort }, this._connectionHandler());
    this._applyUnixMode();
  }

  /** What a new stream connection goes to: straight to `_accept`, or through the PROXY header reader. */
  private _connectionHandler(): (socket: Conn) => void {
    const accept = (s: Conn) => this._accept(s);
    return this.context.proxyProtocol ? proxyProtocolAcceptor(this.context.proxyProtocol, accept) : accept;
  }

  /** Set the unix socket file's permissions (`unixSocketMode`). */
  private _applyUnixMode(): void {
    const path = (this._listener ?? this._shared)?.path;
    if (path && this.context.unixSocketMode !== undefined) runtime.chmod(path, this.context.unixSocketMode);
  }

  /** How this Worker's stream socket is bound (null for udp or no socket). */
  listenOptions(): ListenOptions {
    const a = this._address!;
    const unix = this.transport === "unix" || a.scheme === "unix";
    return {
      transport: unix ? "unix" : this.transport === "ssl" ? "ssl" : "tcp",
      host: a.host,
      port: a.port,
      path: a.path,
      tls: this.context.tls,
      backlog: this.context.backlog ?? 511,
    };
  }

  /** True when the master binds this Worker's socket (stream or UDP) and its processes share it. */
  get sharesSocket(): boolean {
    return this._address !== null && !this.reusePort;
  }

  /** Master: bind the socket this Worker's processes will share. */
  async bindShared(): Promise<SharedSocket | null> {
    if (!this.sharesSocket || this._shared) return this._shared;
    if (this.transport === "udp") {
      this._shared = await runtime.bindSharedUdp({ host: this._address!.host, port: this._address!.port });
      return this._shared;
    }
    const options = this.listenOptions();
    if (options.transport === "unix") await assertNotServing(options.path!);
    this._shared = await runtime.bindShared(options);
    this._applyUnixMode();
    return this._shared;
  }

  /** Child: accept (or, for UDP, receive) on the socket the master bound (`index` among the sockets it passed). */
  async listenInherited(index: number): Promise<void> {
    if (this._listener || this._udp) return;
    if (this.transport === "udp") {
      this._udp = await runtime.udpInherited(index, (d) => this._receiveDatagram(d));
      return;
    }
    descriptorBudget();
    this._listener = await runtime.listenInherited(index, this.listenOptions(), this._connectionHandler());
  }

  /** Stop accepting new connections; open ones are unaffected. */
  unlisten(): void {
    this._listener?.close();
    this._listener = null;
    this._udp?.close();
    this._udp = null;
  }

  /** Master: the socket this Worker's processes share, once bound. */
  get sharedSocket(): SharedSocket | null {
    return this._shared;
  }

  /** Master: close the shared socket (after every process of this Worker has exited). */
  closeShared(): void {
    this._shared?.close();
    this._shared = null;
  }

  /** A connection was accepted: refuse it over a limit, else set it up and call `onConnect`. */
  private _accept(socket: Conn): void {
    if (this._listener?.resumeAccepting) this._noteBurst();
    if (this.connections.size >= this.maxConnections) {
      this._refuse(socket, `maxConnections (${this.maxConnections}) reached`);
      return;
    }
    if (statistics.connection_count >= descriptorBudget()) {
      this._refuse(socket, `${statistics.connection_count} connections: near the descriptor limit (ulimit -n)`);
      this._resumeWhenDescriptorsFree();
      return;
    }
    this._refusing = false;
    const conn = new TcpConnection(socket, this as ConnectionOwner, this.protocol);
    // Set only when not the prototype's default: a property a connection does not need costs
    // each idle connection memory.
    if (this.transport !== conn.transport) conn.transport = this.transport;
    conn.headerTimeout = this.headerTimeout;
    conn.idleTimeout = this.idleTimeout;
    conn.onMessage = this.onMessage;
    if (this.onClose) conn.onClose = this.onClose;
    if (this.onError) conn.onError = this.onError;
    if (this.onBufferFull) conn.onBufferFull = this.onBufferFull;
    if (this.onBufferDrain) conn.onBufferDrain = this.onBufferDrain;
    const ws = conn as TcpConnection as WebSocketConnection;
    if (this.onWebSocketConnect) ws.onWebSocketConnect = this.onWebSocketConnect;
    if (this.onWebSocketClose) ws.onWebSocketClose = this.onWebSocketClose;
    if (this.onWebSocketPing) ws.onWebSocketPing = this.onWebSocketPing;
    if (this.onWebSocketPong) ws.onWebSocketPong = this.onWebSocketPong;
    this.connections.set(conn.id, conn as ConnectionOf<A, P>);
    socket.start(conn);
    if (this.onConnect) safeCall(() => `onConnect of worker ${this.name}`, this.onConnect, conn);
    this._startSweep(conn); // after onConnect, which may set conn.idleTimeout / headerTimeout
  }

  /** Over a limit: close the new connection at once (logged once until a connection is accepted again). */
  private _refuse(socket: Conn, why: string): void {
    if (!this._refusing) {
      this._refusing = true;
      log(`worker ${this.name}: ${why}, refusing new connections`);
    }
    socket.destroy();
  }

  /**
   * After refusing for the descriptor limit, tell a listener that stops accepting after
   * EMFILE (see `Listener.resumeAccepting`) to accept again once this process is back
   * under its budget; polled, since closes of any Worker's connections free descriptors.
   */
  private _resumeWhenDescriptorsFree(): void {
    const listener = this._listener;
    if (!listener?.resumeAccepting || this._resumeCheck !== undefined) return;
    this._resumeCheck = setInterval(() => {
      const current = !this.stopping && this._listener === listener;
      if (current && statistics.connection_count >= descriptorBudget()) return;
      clearInterval(this._resumeCheck);
      this._resumeCheck = undefined;
      if (current) listener.resumeAccepting!();
    }, RESUME_CHECK_MS);
  }

  /**
   * For a listener that stops for good after EMFILE (`Listener.resumeAccepting`): a burst of
   * accepts that, with the connections open when it began, reaches the descriptor budget may
   * have run the process out of descriptors, even when those connections closed again at once
   * and none was refused; so have the listener accept again once under the budget.
   */
  private _noteBurst(): void {
    const now = Date.now();
    if (now - this._burstStart > BURST_WINDOW_MS) {
      this._burstStart = now;
      this._burstBase = statistics.connection_count;
      this._burstAccepts = 0;
    }
    if (this._burstBase + ++this._burstAccepts >= descriptorBudget()) this._resumeWhenDescriptorsFree();
  }

  /** The accepted stream connections (`connections` is typed for the user's protocol). */
  private _streams(): IterableIterator<TcpConnection> {
    return (this.connections as Map<number, unknown> as Map<number, TcpConnection>).values();
  }

  /** Check timeouts once a second while there are connections and some timeout can apply. */
  private _startSweep(conn: TcpConnection): void {
    if (this._sweep !== undefined) return;
    const protocol = conn.protocol;
    const applies = conn.idleTimeout > 0 || protocol?.idleTimeout ||
      (conn.headerTimeout > 0 && protocol?.receivingHead);
    if (!applies) return;
    this._sweep = setInterval(() => {
      const now = Date.now();
      for (const c of this._streams()) c.checkTimeouts(now);
      if (this.connections.size === 0) {
        clearInterval(this._sweep);
        this._sweep = undefined;
      }
    }, 1000);
  }

  /** A datagram arrived on a `udp://` Worker: decode it and call `onMessage` per message. */
  private _receiveDatagram(d: Datagram): void {
    statistics.total_request++;
    const conn = new UdpConnection(this._udp!, d.address, d.port, this.protocol);
    try {
      for (const message of UdpConnection.decodeDatagram(conn, d.data)) {
        if (message !== undefined) safeCall(() => `onMessage of worker ${this.name}`, this.onMessage, conn, message);
      }
    } catch (err) {
      reportError(`protocol of worker ${this.name} (udp from ${conn.getRemoteAddress()})`, err);
    }
  }

  /** Listen (unless already listening) and run `onWorkerStart`: what one process of this Worker does when it starts. */
  async run(): Promise<void> {
    await this.listen();
    if (this.onWorkerStart) await safeCall(() => `onWorkerStart of worker ${this.name}`, this.onWorkerStart, this);
  }

  /**
   * Stop this Worker in this process: `onWorkerStop`, stop listening, then close every
   * connection as soon as it is idle (see {@link TcpConnection.closeWhenIdle}: a request
   * already received or on its way within {@link STOP_QUIET_MS} is answered first, as the
   * connection's last answer). When `graceful`, only the connections whose protocol says they
   * may be closed once idle (`Protocol.closableWhenIdle`: HTTP between requests) are closed so,
   * and the clients are left to close the others (a WebSocket, `text://`, an event stream).
   * Resolves when every connection is closed or only waits for its peer's FIN, or after
   * `timeout` seconds (not graceful).
   */
  async stop(graceful = false, timeout = Worker.stopTimeout): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.onWorkerStop) await safeCall(() => `onWorkerStop of worker ${this.name}`, this.onWorkerStop, this);
    this.unlisten();
    const start = Date.now();
    // From now on each connection's answer is its last. The closes come in two passes, each a
    // loop turn after its condition held, so that what arrived meanwhile (also while this
    // process was stalled) is read and answered first: idle connections quiet for
    // STOP_QUIET_MS, then once that time has passed, every idle one.
    // Graceful: only where the protocol agrees (checked by the connection each time it is idle).
    for (const conn of this._streams()) conn.closeWhenIdle(Infinity, graceful);
    let pass = 0;
    let due = false;
    const deadline = graceful ? Infinity : start + timeout * 1000;
    let reported = this.connections.size;
    while (this._owing() && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      if (pass === 0) {
        pass = 1;
        for (const conn of this._streams()) conn.closeWhenIdle(STOP_QUIET_MS, graceful);
      } else if (pass === 1 && due) {
        pass = 2;
        for (const conn of this._streams()) conn.closeWhenIdle(0, graceful);
      } else if (pass === 1) {
        due = Date.now() - start >= STOP_QUIET_MS;
      }
      if (graceful && this.connections.size !== reported) {
        reported = this.connections.size;
        log(`worker[${this.name}:${runtime.pid()}] remains ${reported} connection(s)`);
      }
    }
    for (const conn of this._streams()) conn.destroy();
  }

  /** True while some connection may still send or receive something its peer is owed. */
  private _owing(): boolean {
    for (const conn of this._streams()) if (!conn.finishedWriting()) return true;
    return false;
  }

  /** Start every Worker created so far (`core/run.ts` owns the process model). */
  static runAll(): Promise<void> {
    return runAll();
  }

  /** Stop every Worker of this process, then exit with `code`. */
  static stopAll(code = 0): Promise<void> {
    return stopAll(code);
  }
}
