/**
 * `BusinessWorker`: runs the application's event handlers for clients held by Gateways. Each
 * process learns the gateway addresses from the Register(s), connects to every gateway process
 * and follows the directory as gateways come and go. It is reloadable: `reload` replaces these
 * processes one at a time while the Gateways keep the clients connected.
 *
 * @example
 * ```ts
 * import { BusinessWorker, Gateway, Worker } from "workerman-ts";
 * const bw = new BusinessWorker();
 * bw.count = 4;
 * bw.registerAddress = "127.0.0.1:1236";
 * bw.eventHandler = {
 *   onConnect(clientId) { Gateway.sendToClient(clientId, `hello ${clientId}`); },
 *   onMessage(clientId, message, ctx) {
 *     ctx.session.count = Number(ctx.session.count ?? 0) + 1;
 *     Gateway.sendToAll(`${clientId} said ${message}`);
 *   },
 * };
 * Worker.runAll();
 * ```
 *
 * @module
 */
import { AsyncTcpConnection } from "../core/async_tcp_connection.ts";
import { log, reportError } from "../core/log.ts";
import type { TcpConnection } from "../core/tcp_connection.ts";
import { Worker } from "../core/worker.ts";
import { defaultApi, type GatewayBackend } from "./api.ts";
import { clientIdEncode, long2ip } from "./client_id.ts";
import { Context, enterContext, leaveContext } from "./context.ts";
import { eventsAndAnswers, PendingAnswers } from "./_answers.ts";
import { GatewayLink } from "./_link.ts";
import { RegisterLinks } from "./_register_link.ts";
import { isGatewayAddress, workerConnectLine } from "./register.ts";
import { bodyMessage, CMD, encodePackage, type GatewayPackage } from "./protocol.ts";
import { sessionDecode, sessionEncode } from "./session.ts";

/** The application's callbacks. Each client event handler gets the event's {@link Context} last. */
export interface EventHandler {
  /** A client connected (its Gateway accepted it). */
  onConnect?(clientId: string, ctx: Context): unknown;
  /** A client sent a message: a string (text) or bytes (binary). */
  onMessage?(clientId: string, message: string | Uint8Array, ctx: Context): unknown;
  /** A client's connection closed (its session is no longer written back). */
  onClose?(clientId: string, ctx: Context): unknown;
  /** Websocket gateways: `data` is `{get, server, cookie}` of the handshake. */
  onWebSocketConnect?(clientId: string, data: Record<string, unknown>, ctx: Context): unknown;
  /** This BusinessWorker process started. */
  onWorkerStart?(worker: BusinessWorker): unknown;
  /** This BusinessWorker process stops. */
  onWorkerStop?(worker: BusinessWorker): unknown;
}

/** Milliseconds a starting process waits for its first gateway connections before it reports ready. */
const READY_WAIT_MS = 3000;

/** Tracks sessions this process wrote, so an event sent before the gateway applied the write is not taken as newer. */
interface WrittenSession {
  stale: Set<string>;
  written: string;
}

/** Runs the application's `eventHandler` for the clients the Gateways hold; reloads freely. */
export class BusinessWorker extends Worker {
  /** The application's event callbacks. */
  eventHandler: EventHandler | null = null;
  /** Register address(es), `ip:port`. */
  registerAddress: string | string[] = "127.0.0.1:1236";
  /** Shared with the Register, Gateways and push clients. */
  secretKey = "";
  /** Send buffer limit of each connection to a gateway. */
  sendToGatewayBufferSize = 10240000;
  /** Connections to the gateways, by inner address. */
  readonly gatewayConnections: Map<string, AsyncTcpConnection> = new Map();
  /** The gateway addresses the Registers list (the union of `_listed`). */
  private _addresses = new Set<string>();
  /** What each Register connection last listed. */
  private readonly _listed = new Map<TcpConnection, string[]>();
  private _register: RegisterLinks | null = null;
  private readonly _links = new Map<string, GatewayLink>();
  /** The queries waiting for answers on each of `gatewayConnections`. */
  private readonly _answers = new Map<TcpConnection, PendingAnswers>();
  private readonly _written = new Map<string, WrittenSession>();
  private _stopping = false;
  private _started = false;
  /** How the `Gateway.*` API of this process reaches the gateways (see `Gateway.setBusinessWorker`). */
  readonly apiBackend: GatewayBackend = this._backend();

  constructor() {
    super();
    this.name = "BusinessWorker";
  }

  /** Connect to the Register(s), then to every Gateway they announce, and run `onWorkerStart`. */
  override async run(): Promise<void> {
    defaultApi.backend = this.apiBackend;
    let ready: () => void = () => {};
    const connected = new Promise<void>((resolve) => ready = resolve);
    this._register = new RegisterLinks(
      this.registerAddress,
      () => workerConnectLine(this.secretKey),
      (line, conn) => this._onRegisterLine(conn, line, ready),
      (conn) => this._listed.delete(conn),
    );
    // Report ready once connected to the gateways, so a reload never leaves them without workers.
    await Promise.race([connected, new Promise((resolve) => setTimeout(resolve, READY_WAIT_MS))]);
    const handler = this.eventHandler;
    if (!handler?.onMessage) log(`Warning: eventHandler.onMessage of ${this.name} is not a function`);
    const userStart = this.onWorkerStart;
    const userStop = this.onWorkerStop;
    this.onWorkerStart = async (w: Worker) => {
      if (userStart) await userStart(w);
      if (handler?.onWorkerStart) await handler.onWorkerStart(this);
    };
    this.onWorkerStop = async (w: Worker) => {
      if (userStop) await userStop(w);
      if (handler?.onWorkerStop) await handler.onWorkerStop(this);
    };
    await super.run();
    // Events are held (by TCP flow control) until onWorkerStart has run, as in PHP where it runs first.
    this._started = true;
    for (const conn of this.gatewayConnections.values()) conn.resumeRecv();
  }

  /** Run `onWorkerStop` and close the links to the Register(s) and Gateways. */
  override async stop(graceful = false, timeout = Worker.stopTimeout): Promise<void> {
    this._stopping = true;
    await super.stop(graceful, timeout);
    this._register?.close();
    for (const conn of this.gatewayConnections.values()) conn.close();
    for (const link of this._links.values()) link.close();
  }

  /**
   * How `GatewayApi` reaches the gateways through this process's connections to them. Commands
   * and queries to one gateway share a connection, which the gateway reads in order: a query
   * sees the effect of every command sent before it (on two connections it could overtake them).
   */
  private _backend(): GatewayBackend {
    return {
      addresses: () => [...this._addresses],
      send: (address, packet) => {
        const conn = this._direct(address);
        return conn ? Promise.resolve(conn.send(packet) !== false) : this._link(address).send(packet);
      },
      query: (address, packet) => {
        const conn = this._direct(address);
        return conn ? this._answers.get(conn)!.query(conn, packet) : this._link(address).query(packet);
      },
    };
  }

  /**
   * The connection to the gateway at `address` when API calls can use it: established, and read
   * from (until `onWorkerStart` has run it is paused, so an answer on it would not be read).
   * Otherwise they go through a link of their own to that gateway.
   */
  private _direct(address: string): AsyncTcpConnection | undefined {
    const conn = this.gatewayConnections.get(address);
    return this._started && conn?.getStatus() === 2 ? conn : undefined;
  }

  /** The link to the Gateway at `address` (created on first use). */
  private _link(address: string): GatewayLink {
    let link = this._links.get(address);
    if (!link) this._links.set(address, link = new GatewayLink(address, this.secretKey));
    return link;
  }

  /** A line from a Register: the Gateway addresses to connect to. */
  private _onRegisterLine(register: TcpConnection, line: string, ready: () => void): void {
    let data: { event?: string; addresses?: unknown };
    try {
      data = JSON.parse(line);
    } catch {
      log(`BusinessWorker: bad line from the Register: ${line}`);
      return;
    }
    if (data.event !== "broadcast_addresses" || !Array.isArray(data.addresses)) {
      log(`BusinessWorker: unexpected line from the Register: ${line}`);
      return;
    }
    // Several Registers may be listed: follow the union of what each currently says.
    const bad = data.addresses.filter((a) => !isGatewayAddress(a));
    if (bad.length > 0) log(`BusinessWorker: ignoring bad gateway addresses from the Register: ${JSON.stringify(bad)}`);
    this._listed.set(register, data.addresses.filter(isGatewayAddress));
    this._addresses = new Set([...this._listed.values()].flat());
    for (const [address, link] of this._links) {
      if (this._addresses.has(address)) continue;
      link.close();
      this._links.delete(address);
    }
    const pending = [...this._addresses].filter((a) => !this.gatewayConnections.has(a)).map((a) =>
      this._connectGateway(a)
    );
    void Promise.all(pending).then(ready);
  }

  /** Connect to one gateway; resolves once connected (or failed). */
  private _connectGateway(address: string): Promise<void> {
    const conn = new AsyncTcpConnection<string>(`tcp://${address}`);
    const answers = new PendingAnswers(address);
    answers.onTimeout = () => conn.destroy(); // it reconnects while the gateway is listed
    conn.protocol = eventsAndAnswers(answers);
    conn.maxSendBufferSize = this.sendToGatewayBufferSize;
    if (!this._started) conn.pauseRecv();
    this.gatewayConnections.set(address, conn);
    this._answers.set(conn, answers);
    let failing = false; // log the first failed attempt of a series, not one a second
    conn.onError = (_c: TcpConnection, _code: number, message: string) => {
      if (!failing) {
        log(`BusinessWorker: cannot reach gateway ${address} (${message}); retrying every second while it is listed`);
      }
      failing = true;
    };
    return new Promise((settled) => {
      conn.onConnect = () => {
        failing = false;
        conn.send(encodePackage({
          cmd: CMD.WORKER_CONNECT,
          body: JSON.stringify({ worker_key: `${this.name}:${this.id}`, secret_key: this.secretKey }),
        }));
        settled();
      };
      conn.onMessage = (_c: TcpConnection, p: GatewayPackage) => this._onGatewayMessage(conn, p);
      conn.onClose = () => {
        settled();
        answers.failAll(new Error(`connection to gateway ${address} closed`));
        if (!this._stopping && this._addresses.has(address)) {
          conn.reconnect(1);
          return;
        }
        if (this.gatewayConnections.get(address) === conn) this.gatewayConnections.delete(address);
        this._answers.delete(conn);
      };
      conn.connect();
    });
  }

  /** A package from a Gateway: run the event handler for it. */
  private _onGatewayMessage(conn: TcpConnection, p: GatewayPackage): void {
    const handler = this.eventHandler;
    if (p.cmd === CMD.PING || !handler) return;
    const ctx = this._context(p);
    const call = (): unknown => {
      switch (p.cmd) {
        case CMD.ON_CONNECT:
          return handler.onConnect?.(ctx.clientId, ctx);
        case CMD.ON_MESSAGE:
          return handler.onMessage?.(ctx.clientId, bodyMessage(p.body, p.flag), ctx);
        case CMD.ON_CLOSE:
          this._written.delete(ctx.clientId);
          return handler.onClose?.(ctx.clientId, ctx);
        case CMD.ON_WEBSOCKET_CONNECT:
          return handler.onWebSocketConnect?.(ctx.clientId, (p.body ?? {}) as Record<string, unknown>, ctx);
        default:
          log(`BusinessWorker: unknown command ${p.cmd} from gateway ${conn.getRemoteAddress()}`);
      }
    };
    const where = `eventHandler (cmd ${p.cmd}, client ${ctx.clientId}) of worker ${this.name}`;
    const finish = () => {
      leaveContext(ctx);
      if (p.cmd !== CMD.ON_CLOSE) this._writeBack(conn, p, ctx);
    };
    let result: unknown;
    try {
      result = enterContext(ctx, call);
    } catch (err) {
      reportError(where, err);
      finish();
      return;
    }
    if (result !== null && typeof result === "object" && typeof (result as Promise<unknown>).then === "function") {
      (result as Promise<unknown>).then(finish, (err) => {
        reportError(where, err);
        finish();
      });
    } else {
      finish();
    }
  }

  /** The context of one event, with the session it carries (or the newer one this process wrote). */
  private _context(p: GatewayPackage): Context {
    const gatewayIp = long2ip(p.localIp);
    const clientId = clientIdEncode(p.localIp, p.localPort, p.connectionId);
    let text = p.extData;
    const written = this._written.get(clientId);
    if (written) {
      if (written.stale.has(text)) text = written.written;
      else this._written.delete(clientId);
    }
    return new Context({
      clientId,
      clientIp: long2ip(p.clientIp),
      clientPort: p.clientPort,
      gatewayIp,
      gatewayPort: p.gatewayPort,
      gatewayInnerPort: p.localPort,
      connectionId: p.connectionId,
      session: sessionDecode(text),
      sessionText: text,
    });
  }

  /** Send the session back to the gateway when the handler changed it. */
  private _writeBack(conn: TcpConnection, p: GatewayPackage, ctx: Context): void {
    let text: string;
    try {
      text = sessionEncode(ctx.session);
    } catch (err) {
      reportError(`session of client ${ctx.clientId} (it must be a plain object)`, err);
      return;
    }
    if (text === ctx.sessionText) return;
    const entry = this._written.get(ctx.clientId) ?? { stale: new Set<string>(), written: "" };
    entry.stale.add(ctx.sessionText);
    entry.stale.add(p.extData);
    entry.stale.delete(text);
    entry.written = text;
    this._written.set(ctx.clientId, entry);
    conn.send(encodePackage({
      cmd: CMD.SET_SESSION,
      localIp: p.localIp,
      localPort: p.localPort,
      connectionId: p.connectionId,
      extData: text,
    }));
  }
}
