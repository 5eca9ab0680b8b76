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
import { getProtocol, type Protocol, TRANSPORTS } from "./protocol.ts";
import { statistics, TcpConnection } from "./tcp_connection.ts";
import { UdpConnection } from "./udp_connection.ts";
import { runAll, stopAll } from "./run.ts";

/** Options of `new Worker(socketName, context)`. */
export interface WorkerContext {
  /** Certificate and key (PEM) for `transport = "ssl"`. */
  tls?: TlsOptions;
  /** Listen backlog (default 511). */
  backlog?: number;
}

// deno-lint-ignore no-explicit-any
type Cb = ((...args: any[]) => unknown) | null;

const all: Worker[] = [];

export class Worker {
  /** Start in the background (also set by `start -d`). */
  static daemonize = false;
  /** Where a daemon's stdout/stderr go. */
  static stdoutFile = "/dev/null";
  /** Holds the master pid; default derived from the start script's path. */
  static pidFile = "";
  /** Timestamped log of starts, stops, reloads and errors; empty = console only. */
  static logFile = "";
  /** Seconds a stopping process gets to finish before it is killed. */
  static stopTimeout = 2;
  static onMasterReload: (() => unknown) | null = null;
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
  user = "";
  group = "";
  /** This process's accepted connections by id. */
  readonly connections = new Map<number, TcpConnection>();
  /** True while this worker is stopping. */
  stopping = false;

  onWorkerStart: Cb = null;
  onWorkerStop: Cb = null;
  onWorkerReload: Cb = null;
  onWorkerExit: Cb = null;
  onConnect: Cb = null;
  onMessage: Cb = null;
  onClose: Cb = null;
  onError: Cb = null;
  onBufferFull: Cb = null;
  onBufferDrain: Cb = null;

  readonly context: WorkerContext;
  private readonly _socketName: string;
  private readonly _address: SocketAddress | null;
  private _protocol: Protocol | null = null;
  private _protocolSet = false;
  private _listener: Listener | null = null;
  private _udp: UdpSocket | null = null;
  private _shared: SharedSocket | null = null;

  /** `socketName` is `<scheme>://<address>`; empty for a Worker that listens on nothing. */
  constructor(socketName = "", context: WorkerContext = {}) {
    this._socketName = socketName;
    this.context = context;
    this._address = socketName ? parseSocketName(socketName) : null;
    const scheme = this._address?.scheme ?? "tcp";
    this.transport = TRANSPORTS.has(scheme) ? scheme : "tcp";
    all.push(this);
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

  private _resolveProtocol(): Protocol | null {
    const scheme = this._address?.scheme;
    if (!scheme || TRANSPORTS.has(scheme)) return null;
    const found = getProtocol(scheme);
    if (!found) {
      throw new ConfigError(
        "ERR_UNKNOWN_PROTOCOL",
        `unknown protocol "${scheme}" in "${this._socketName}": register it before Worker.runAll() with ` +
          `registerProtocol("${scheme}", { input, decode, encode }), or set worker.protocol`,
      );
    }
    return found;
  }

  /** The socket name as given (`none` when empty). */
  getSocketName(): string {
    return this._socketName ? this._socketName[0].toLowerCase() + this._socketName.slice(1) : "none";
  }

  /** The address actually bound, with port 0 resolved (`none` before listening or when not listening). */
  getListenAddress(): string {
    if (!this._address) return "none";
    const stream = this._listener ?? this._shared;
    if (stream?.path) return `${this._address.scheme}://${stream.path}`;
    const bound = stream ?? this._udp;
    return bound ? `${this._address.scheme}://${formatHostPort(this._address.host, bound.port)}` : "none";
  }

  /** The bound port (0 before listening). */
  get localPort(): number {
    return (this._listener ?? this._shared ?? this._udp)?.port ?? 0;
  }

  /** Check the configuration without binding anything; throws a {@link ConfigError} saying what to fix. */
  validate(): void {
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
    if (!Number.isInteger(this.count) || this.count < 1) this.count = 1;
    if (!this.name) this.name = "none";
  }

  /** Bind and start accepting (idempotent). */
  async listen(): Promise<void> {
    if (!this._address || this._listener || this._udp) return;
    this.validate();
    const a = this._address;
    if (this.transport === "udp") {
      this._udp = await runtime.udp(
        { host: a.host, port: a.port, reusePort: this.reusePort || this.count > 1 },
        (d) => this._receiveDatagram(d),
      );
      return;
    }
    this._listener = await runtime.listen({ ...this.listenOptions(), reusePort: this.reusePort }, (s) => this._accept(s));
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

  /** True when the master binds this Worker's socket and its processes share it. */
  get sharesSocket(): boolean {
    return this._address !== null && this.transport !== "udp" && !this.reusePort;
  }

  /** Master: bind the socket this Worker's processes will share. */
  async bindShared(): Promise<SharedSocket | null> {
    if (!this.sharesSocket) return null;
    this._shared ??= await runtime.bindShared(this.listenOptions());
    return this._shared;
  }

  /** Child: accept on the socket the master bound (`index` among the sockets it passed). */
  async listenInherited(index: number): Promise<void> {
    if (this._listener) return;
    this._listener = await runtime.listenInherited(index, this.listenOptions(), (s) => this._accept(s));
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

  private _accept(socket: Conn): void {
    const conn = new TcpConnection(socket, this, this.protocol);
    conn.transport = this.transport;
    conn.onMessage = this.onMessage;
    conn.onClose = this.onClose;
    conn.onError = this.onError;
    conn.onBufferFull = this.onBufferFull;
    conn.onBufferDrain = this.onBufferDrain;
    this.connections.set(conn.id, conn);
    socket.start(conn);
    if (this.onConnect) safeCall(() => `onConnect of worker ${this.name}`, this.onConnect, conn);
  }

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
   * connection as soon as it is idle (a request already on its way is answered first) — or,
   * when `graceful`, let the clients close them.
   * Resolves when every connection is closed, or after `timeout` seconds (not graceful).
   */
  async stop(graceful = false, timeout = Worker.stopTimeout): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.onWorkerStop) await safeCall(() => `onWorkerStop of worker ${this.name}`, this.onWorkerStop, this);
    this.unlisten();
    if (!graceful) for (const conn of this.connections.values()) conn.closeWhenIdle();
    const deadline = graceful ? Infinity : Date.now() + timeout * 1000;
    let reported = this.connections.size;
    while (this.connections.size > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      if (graceful && this.connections.size !== reported) {
        reported = this.connections.size;
        log(`worker[${this.name}:${runtime.pid()}] remains ${reported} connection(s)`);
      }
    }
    for (const conn of this.connections.values()) conn.destroy();
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
