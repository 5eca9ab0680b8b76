/**
 * `Gateway`: holds the client connections (any protocol but HTTP) and forwards their events to
 * BusinessWorkers, which run the application; `reload` restarts the BusinessWorkers and leaves
 * the Gateways, so clients stay connected through a deploy.
 *
 * Each Gateway process also listens on an inner port (`startPort + id`, or an ephemeral port
 * when `startPort` is 0) where BusinessWorkers and push clients connect with the internal
 * protocol, and announces `lanIp:<inner port>` to the Register(s).
 *
 * @example
 * ```ts
 * import { Gateway, Worker } from "workerman-ts";
 * const gateway = new Gateway("websocket://0.0.0.0:8282");
 * gateway.count = 2;
 * gateway.startPort = 2900;
 * gateway.registerAddress = "127.0.0.1:1236";
 * gateway.pingInterval = 25;
 * gateway.pingData = '{"type":"ping"}';
 * Worker.runAll();
 * ```
 *
 * @module
 */
import { ConfigError } from "../core/errors.ts";
import { log, safeCall } from "../core/log.ts";
import type { Callback } from "../core/protocol.ts";
import type { Request } from "../protocols/http/request.ts";
import type { GatewayConnection } from "./_conn.ts";
import { Timer } from "../core/timer.ts";
import { Worker, type WorkerContext } from "../core/worker.ts";
import { defaultApi, type GatewayApi } from "./api.ts";
import type { BusinessWorker } from "./business_worker.ts";
import { ip2long } from "./client_id.ts";
import { GatewayInner } from "./_inner.ts";
import { RegisterLinks } from "./_register_link.ts";
import { gatewayConnectLine } from "./register.ts";
import { CMD, encodePackage, type GatewayPackage } from "./protocol.ts";

/** A callback of the Gateway taking one connection (a client's or a BusinessWorker's). */
type Cb = Callback<[conn: GatewayConnection]> | null;

/**
 * Picks the BusinessWorker connection that gets a client's event (null: none). `workers` maps
 * `<ip>:<name>:<id>` to the connection; `client` is the client's connection.
 */
export type Router = (
  workers: Map<string, GatewayConnection>,
  client: GatewayConnection,
  cmd: number,
  body: unknown,
) => GatewayConnection | null;

/** `Gateway.<name>(...)`: `defaultApi.<name>(...)`, resolved at call time. */
function apiCall<K extends keyof GatewayApi>(name: K): GatewayApi[K] {
  return ((...args: unknown[]) =>
    (defaultApi[name] as (...a: unknown[]) => unknown).apply(defaultApi, args)) as GatewayApi[K];
}

/** Seconds between keep-alive pings to BusinessWorkers (only when `lanIp` is not 127.0.0.1). */
const WORKER_PING_INTERVAL = 25;
/** Highest connection id before the counter wraps (uint32 in the header). */
const MAX_CONNECTION_ID = 4294967295;

/**
 * GatewayWorker's heartbeat rule for one client on one tick. `count` is the client's
 * `pingNotResponseCount` (-1 right after it sent anything). With a limit, a client whose count
 * reached 2 x limit is destroyed; otherwise the count goes up and, when there is ping data, a
 * ping goes out unless the count is 0 or (with a limit) odd. Ticks come every
 * `pingInterval / 2` seconds with a limit, every `pingInterval` without.
 */
export function heartbeatTick(
  count: number,
  limit: number,
  hasPingData: boolean,
): { count: number; action: "destroy" | "ping" | "none" } {
  if (limit > 0 && count >= limit * 2) return { count, action: "destroy" };
  const next = count + 1;
  const skip = !hasPingData || next === 0 || (limit > 0 && next % 2 === 1);
  return { count: next, action: skip ? "none" : "ping" };
}

/** Bind each client to the worker with the fewest clients bound; rebind when it is gone. */
export const routerLeastConnections: Router = (workers, client): GatewayConnection | null => {
  const bound = client.gatewayWorkerKey as string | undefined;
  if (bound !== undefined && workers.has(bound)) return workers.get(bound)!;
  let best: [string, GatewayConnection] | null = null;
  for (const entry of workers) {
    if (!best || (entry[1].gatewayClientCount ?? 0) < (best[1].gatewayClientCount ?? 0)) best = entry;
  }
  return best ? bindClient(client, best[0], best[1]) : null;
};

/** Bind each client to a random worker; rebind when it is gone. */
export const routerRandom: Router = (workers, client): GatewayConnection | null => {
  const bound = client.gatewayWorkerKey as string | undefined;
  if (bound !== undefined && workers.has(bound)) return workers.get(bound)!;
  if (workers.size === 0) return null;
  const keys = [...workers.keys()];
  const key = keys[Math.floor(Math.random() * keys.length)];
  return bindClient(client, key, workers.get(key)!);
};

function bindClient(client: GatewayConnection, key: string, worker: GatewayConnection): GatewayConnection {
  client.gatewayWorkerKey = key;
  worker.gatewayClientCount = (worker.gatewayClientCount ?? 0) + 1;
  return worker;
}

/** Holds the client connections and forwards their events to the BusinessWorkers; never reloaded, so clients stay connected. */
export class Gateway extends Worker {
  /** How clients are spread over BusinessWorkers by default: `router_least_connections` or `router_random`. */
  static selectLoadBalancingMode: "router_least_connections" | "router_random" = "router_least_connections";

  /** IP advertised to the Register: BusinessWorkers and push clients must reach it (never 0.0.0.0). */
  lanIp = "127.0.0.1";
  /** IP the inner port listens on (default: 0.0.0.0 for a public lanIp, else lanIp). */
  innerTcpWorkerListen = "";
  /** Inner port of process 0; process `id` listens on `startPort + id`. 0: an ephemeral port each. */
  startPort = 2000;
  /** The inner port this process listens on (known once it started). */
  lanPort = 0;
  /** Register address(es), `ip:port`. */
  registerAddress: string | string[] = "127.0.0.1:1236";
  /** Shared by Register, Gateway, BusinessWorker and push clients. */
  secretKey = "";
  /** Seconds between heartbeat ticks; 0 disables the heartbeat. */
  pingInterval = 0;
  /** Silent clients are dropped after this many missed pings (0: never). */
  pingNotResponseLimit = 0;
  /** Heartbeat payload sent to clients ("" = none). */
  pingData = "";
  /** Which BusinessWorker gets a client's events (default from `selectLoadBalancingMode`). */
  router: Router | null = null;
  /** Send buffer limit of each connection to a BusinessWorker. */
  sendToWorkerBufferSize = 10240000;
  /** Send buffer limit of each client connection. */
  sendToClientBufferSize = 1024000;
  /**
   * Encode a broadcast (sendToAll, sendToGroup) once instead of once per client. Only for
   * protocols whose encoding is the same for every connection (text, frame; websocket once
   * every client has completed its handshake, as GatewayWorker requires too).
   */
  protocolAccelerate = false;
  /** `(workerConnection)` when a BusinessWorker connected and authenticated. */
  onBusinessWorkerConnected: Callback<[conn: GatewayConnection]> | null = null;
  /** `(workerConnection)` when a BusinessWorker's connection closed. */
  onBusinessWorkerClose: Callback<[conn: GatewayConnection]> | null = null;

  /** Clients of this process by connection id. */
  readonly clientConnections: Map<number, GatewayConnection> = new Map();
  /** Authenticated BusinessWorker connections by `<ip>:<name>:<id>`. */
  readonly workerConnections: Map<string, GatewayConnection> = new Map();
  /** Members of each group, by connection id. */
  readonly groupConnections: Map<string, Map<number, GatewayConnection>> = new Map();
  /** Connections bound to each uid, by connection id. */
  readonly uidConnections: Map<string, Map<number, GatewayConnection>> = new Map();

  private _lastConnectionId = 0;
  private _startTime = 0;
  private _register: RegisterLinks | null = null;
  private _inner: GatewayInner | null = null;
  private _userOnConnect: Cb = null;
  private _userOnClose: Cb = null;
  private _userOnWebSocketConnect: Callback<[conn: GatewayConnection, request: Request]> | null = null;

  /** A Gateway listening for clients on `socketName` (`websocket://`, `text://`, `frame://` or a custom protocol). */
  constructor(socketName: string, context: WorkerContext = {}) {
    super(socketName, context);
    this.name = "Gateway";
    this.reloadable = false;
  }

  // The API for business code (GatewayWorker's static Lib\Gateway), bound to this process's
  // BusinessWorker: see GatewayApi for what each call does.
  /**
   * Send to every client of every gateway, minus `exclude`; with a non-empty `clientIds`, only
   * to those (an empty list sends nothing).
   */
  static readonly sendToAll: GatewayApi["sendToAll"] = apiCall("sendToAll");
  /** Send to one client (false for an invalid client_id or an unreachable gateway). */
  static readonly sendToClient: GatewayApi["sendToClient"] = apiCall("sendToClient");
  /** Send to the client of the event being handled (synchronous part of a handler only). */
  static readonly sendToCurrentClient: GatewayApi["sendToCurrentClient"] = apiCall("sendToCurrentClient");
  /** Send to every client bound to `uid` (or to any of the uids). */
  static readonly sendToUid: GatewayApi["sendToUid"] = apiCall("sendToUid");
  /** Send to every member of `group` (or of any of the groups), except the `exclude` client_ids. */
  static readonly sendToGroup: GatewayApi["sendToGroup"] = apiCall("sendToGroup");
  /** Send `message` (if given), then close the client once it is flushed. */
  static readonly closeClient: GatewayApi["closeClient"] = apiCall("closeClient");
  /** `closeClient` for the client of the event being handled. */
  static readonly closeCurrentClient: GatewayApi["closeCurrentClient"] = apiCall("closeCurrentClient");
  /** Close the client now, discarding what is not yet sent. */
  static readonly destroyClient: GatewayApi["destroyClient"] = apiCall("destroyClient");
  /** `destroyClient` for the client of the event being handled. */
  static readonly destroyCurrentClient: GatewayApi["destroyCurrentClient"] = apiCall("destroyCurrentClient");
  /** Bind a client to `uid` (a client has at most one uid; a uid may have many clients). */
  static readonly bindUid: GatewayApi["bindUid"] = apiCall("bindUid");
  /** Remove the client's uid. */
  static readonly unbindUid: GatewayApi["unbindUid"] = apiCall("unbindUid");
  /** Add a client to `group` (a client may be in many groups). */
  static readonly joinGroup: GatewayApi["joinGroup"] = apiCall("joinGroup");
  /** Remove a client from `group`. */
  static readonly leaveGroup: GatewayApi["leaveGroup"] = apiCall("leaveGroup");
  /** Dissolve `group`: every member leaves it. */
  static readonly ungroup: GatewayApi["ungroup"] = apiCall("ungroup");
  /** Whether the client is connected. */
  static readonly isOnline: GatewayApi["isOnline"] = apiCall("isOnline");
  /** The client_ids bound to `uid`. */
  static readonly getClientIdByUid: GatewayApi["getClientIdByUid"] = apiCall("getClientIdByUid");
  /** Whether at least one client is bound to `uid`. */
  static readonly isUidOnline: GatewayApi["isUidOnline"] = apiCall("isUidOnline");
  /** The uid a client is bound to (null: none, or offline). */
  static readonly getUidByClientId: GatewayApi["getUidByClientId"] = apiCall("getUidByClientId");
  /** `{client_id: client_id}` of the members of `group`. */
  static readonly getClientIdListByGroup: GatewayApi["getClientIdListByGroup"] = apiCall("getClientIdListByGroup");
  /** `{client_id: session}` of the members of `group`. */
  static readonly getClientSessionsByGroup: GatewayApi["getClientSessionsByGroup"] = apiCall(
    "getClientSessionsByGroup",
  );
  /** How many clients are in `group` (`""`: all clients). */
  static readonly getClientCountByGroup: GatewayApi["getClientCountByGroup"] = apiCall("getClientCountByGroup");
  /** How many clients are connected. */
  static readonly getAllClientCount: GatewayApi["getAllClientCount"] = apiCall("getAllClientCount");
  /** `{client_id: client_id}` of every client. */
  static readonly getAllClientIdList: GatewayApi["getAllClientIdList"] = apiCall("getAllClientIdList");
  /** `{client_id: session}` of every client (of `group` when given). */
  static readonly getAllClientSessions: GatewayApi["getAllClientSessions"] = apiCall("getAllClientSessions");
  /** `{uid: uid}` of every bound uid. */
  static readonly getAllUidList: GatewayApi["getAllUidList"] = apiCall("getAllUidList");
  /** `{group: group}` of every group with members. */
  static readonly getAllGroupIdList: GatewayApi["getAllGroupIdList"] = apiCall("getAllGroupIdList");
  /** How many distinct uids are bound. */
  static readonly getAllUidCount: GatewayApi["getAllUidCount"] = apiCall("getAllUidCount");
  /** `{uid: uid}` of the members of `group` that are bound to a uid. */
  static readonly getUidListByGroup: GatewayApi["getUidListByGroup"] = apiCall("getUidListByGroup");
  /** How many distinct uids the members of `group` are bound to. */
  static readonly getUidCountByGroup: GatewayApi["getUidCountByGroup"] = apiCall("getUidCountByGroup");
  /** `{group: {client_id: client_id}}` of every group. */
  static readonly getAllGroupClientIdList: GatewayApi["getAllGroupClientIdList"] = apiCall("getAllGroupClientIdList");
  /** `{group: number of clients}` of every group. */
  static readonly getAllGroupClientIdCount: GatewayApi["getAllGroupClientIdCount"] = apiCall(
    "getAllGroupClientIdCount",
  );
  /** `{group: {uid: uid}}` of every group, for its members bound to a uid. */
  static readonly getAllGroupUidList: GatewayApi["getAllGroupUidList"] = apiCall("getAllGroupUidList");
  /** `{group: number of distinct uids}` of every group. */
  static readonly getAllGroupUidCount: GatewayApi["getAllGroupUidCount"] = apiCall("getAllGroupUidCount");
  /** `{uid: 0|1}`: which of the uids have a client bound. */
  static readonly isUidsOnline: GatewayApi["isUidsOnline"] = apiCall("isUidsOnline");
  /** `{uid: [client_id, ...]}` for the uids that have clients bound. */
  static readonly batchGetClientIdByUid: GatewayApi["batchGetClientIdByUid"] = apiCall("batchGetClientIdByUid");
  /** `{group: count}` for each of the groups. */
  static readonly batchGetClientCountByGroup: GatewayApi["batchGetClientCountByGroup"] = apiCall(
    "batchGetClientCountByGroup",
  );
  /** Replace the client's session (also the `ctx.session` of its running handlers). */
  static readonly setSession: GatewayApi["setSession"] = apiCall("setSession");
  /** Low level: store `serialized` (a PHP-serialized array, or `""`) as the client's session as is. */
  static readonly setSocketSession: GatewayApi["setSocketSession"] = apiCall("setSocketSession");
  /** Merge `session` into the client's session, recursively (also into running handlers' `ctx.session`). */
  static readonly updateSession: GatewayApi["updateSession"] = apiCall("updateSession");
  /** The client's session: `{}` when empty, null when the client is offline or the client_id invalid. */
  static readonly getSession: GatewayApi["getSession"] = apiCall("getSession");
  // GatewayWorker's other names for some of the above.
  /** How many clients are in `group` (`""`: all clients): GatewayWorker's primary name of `getClientCountByGroup`. */
  static readonly getClientIdCountByGroup: GatewayApi["getClientIdCountByGroup"] = apiCall("getClientIdCountByGroup");
  /** How many clients are connected: GatewayWorker's primary name of `getAllClientCount`. */
  static readonly getAllClientIdCount: GatewayApi["getAllClientIdCount"] = apiCall("getAllClientIdCount");
  /** `{client_id: session}` of every client (of `group` when given): GatewayWorker's old name of `getAllClientSessions`. */
  static readonly getAllClientInfo: GatewayApi["getAllClientInfo"] = apiCall("getAllClientInfo");
  /** `{client_id: session}` of the members of `group`: GatewayWorker's old name of `getClientSessionsByGroup`. */
  static readonly getClientInfoByGroup: GatewayApi["getClientInfoByGroup"] = apiCall("getClientInfoByGroup");
  /** `{group: count}` for each of the groups: GatewayClient's name of `batchGetClientCountByGroup`. */
  static readonly batchGetClientIdCountByGroup: GatewayApi["batchGetClientIdCountByGroup"] = apiCall(
    "batchGetClientIdCountByGroup",
  );
  /** `destroyClient` under GatewayWorker's spelling. */
  static readonly destoryClient: GatewayApi["destoryClient"] = apiCall("destoryClient");
  /** `destroyCurrentClient` under GatewayWorker's spelling. */
  static readonly destoryCurrentClient: GatewayApi["destoryCurrentClient"] = apiCall("destoryCurrentClient");

  /**
   * Make `Gateway.*` use `worker`'s connections to the gateways. A BusinessWorker does this
   * itself when it starts (one per process); kept for code ported from GatewayWorker.
   */
  static setBusinessWorker(worker: BusinessWorker): void {
    defaultApi.backend = worker.apiBackend;
  }

  /** Also refuses what a Gateway cannot do: HTTP clients, an unreachable `lanIp`. */
  override validate(): void {
    if (/^https?:/i.test(this.getSocketName())) {
      throw new ConfigError(
        "ERR_GATEWAY_PROTOCOL",
        `gateway ${this.name}: HTTP is not supported by a Gateway (its clients must stay connected); use websocket://, text://, frame:// or your own protocol`,
      );
    }
    if (this.lanIp === "0.0.0.0" || this.lanIp === "" || !/^\d{1,3}(\.\d{1,3}){3}$/.test(this.lanIp)) {
      throw new ConfigError(
        "ERR_GATEWAY_LAN_IP",
        `gateway ${this.name}: lanIp must be the IPv4 address BusinessWorkers reach this machine at (not "${this.lanIp}"); ` +
          `to listen on every interface set innerTcpWorkerListen = "0.0.0.0"`,
      );
    }
    super.validate();
  }

  /** Listen for clients and on the inner port, announce it to the Register(s), run `onWorkerStart`. */
  override async run(): Promise<void> {
    if (this.onMessage) {
      log(`Gateway ${this.name}: onMessage is ignored (client messages go to the BusinessWorkers' eventHandler)`);
    }
    this._userOnConnect = this.onConnect;
    this._userOnClose = this.onClose;
    this._userOnWebSocketConnect = this.onWebSocketConnect;
    this.onConnect = (conn: GatewayConnection) => this._onClientConnect(conn);
    this.onMessage = (conn: GatewayConnection, data: unknown) => this._onClientMessage(conn, data);
    this.onClose = (conn: GatewayConnection) => this._onClientClose(conn);
    this.onWebSocketConnect = null;
    this._startTime = Date.now();
    this._inner = new GatewayInner(this);
    await this._inner.listen();
    this.lanPort = this._inner.port;
    const address = `${this.lanIp}:${this.lanPort}`;
    this._register = new RegisterLinks(
      this.registerAddress,
      () => gatewayConnectLine(address, this.secretKey),
      () => {},
    );
    if (this.pingInterval > 0) {
      Timer.add(this.pingNotResponseLimit > 0 ? this.pingInterval / 2 : this.pingInterval, () => this._ping());
    }
    if (this.lanIp !== "127.0.0.1") Timer.add(WORKER_PING_INTERVAL, () => this._pingWorkers());
    await super.run();
  }

  /** Stop the inner port and the Register links, then the client connections. */
  override async stop(graceful = false, timeout = Worker.stopTimeout): Promise<void> {
    this._register?.close();
    this._inner?.close();
    await super.stop(graceful, timeout);
  }

  /** IP the inner port listens on. */
  get innerListenIp(): string {
    if (this.innerTcpWorkerListen) return this.innerTcpWorkerListen;
    return isPrivateIp(this.lanIp) ? this.lanIp : "0.0.0.0";
  }

  /** The next client connection id of this process (wraps at 2^32 - 1, skipping ids in use). */
  private _nextConnectionId(): number {
    do {
      this._lastConnectionId = this._lastConnectionId >= MAX_CONNECTION_ID ? 1 : this._lastConnectionId + 1;
    } while (this.clientConnections.has(this._lastConnectionId));
    return this._lastConnectionId;
  }

  /** A client connected: give it its id and header, tell a BusinessWorker. */
  private _onClientConnect(conn: GatewayConnection): void {
    const id = this._nextConnectionId();
    conn.gatewayConnectionId = id;
    conn.gatewayHeader = {
      localIp: ip2long(this.lanIp),
      localPort: this.lanPort,
      clientIp: ip2long(conn.getRemoteIp()),
      clientPort: conn.getRemotePort(),
      connectionId: id,
      gatewayPort: this.localPort,
    };
    conn.session = "";
    conn.pingNotResponseCount = -1;
    conn.maxSendBufferSize = this.sendToClientBufferSize;
    this.clientConnections.set(id, conn);
    if (this._userOnConnect) safeCall(() => `onConnect of gateway ${this.name}`, this._userOnConnect, conn);
    conn.onWebSocketConnect = (c: GatewayConnection, request: Request) => this._onWebSocketConnect(c, request);
    if (conn.getStatus() === 2) this.sendToWorker(CMD.ON_CONNECT, conn);
  }

  /** A WebSocket client's handshake: run the user's callback, then forward it to a BusinessWorker. */
  private _onWebSocketConnect(conn: GatewayConnection, request: Request): void {
    if (this._userOnWebSocketConnect) {
      safeCall(() => `onWebSocketConnect of gateway ${this.name}`, this._userOnWebSocketConnect, conn, request);
      if (conn.getStatus() !== 2) return;
    }
    this.sendToWorker(CMD.ON_WEBSOCKET_CONNECT, conn, webSocketData(conn, request));
  }

  /** A client's message: forward it to its BusinessWorker. */
  private _onClientMessage(conn: GatewayConnection, data: unknown): void {
    conn.pingNotResponseCount = -1;
    this.sendToWorker(CMD.ON_MESSAGE, conn, data);
  }

  /** A client closed: forget its uid and groups, tell its BusinessWorker. */
  private _onClientClose(conn: GatewayConnection): void {
    if (this._userOnClose) safeCall(() => `onClose of gateway ${this.name}`, this._userOnClose, conn);
    if (this.workerConnections.size > 0) this.sendToWorker(CMD.ON_CLOSE, conn);
    const id = conn.gatewayConnectionId as number;
    this.clientConnections.delete(id);
    if (conn.uid !== undefined && conn.uid !== null) this.removeFromUid(conn);
    for (const group of Object.keys(conn.groups ?? {})) this.removeFromGroup(group, id);
    const worker = this.workerConnections.get(conn.gatewayWorkerKey);
    if (worker && worker.gatewayClientCount > 0) worker.gatewayClientCount--;
  }

  /** Remove connection `id` from `group`'s members, and the group once it is empty. */
  removeFromGroup(group: string, id: number): void {
    const members = this.groupConnections.get(group);
    members?.delete(id);
    if (members && members.size === 0) this.groupConnections.delete(group);
  }

  /** Remove a client from its uid's set (it keeps no uid). */
  removeFromUid(conn: GatewayConnection): void {
    const members = this.uidConnections.get(conn.uid!);
    members?.delete(conn.gatewayConnectionId);
    if (members && members.size === 0) this.uidConnections.delete(conn.uid!);
    conn.uid = null;
  }

  /** Forward a client's event (with its header and session) to its BusinessWorker. */
  sendToWorker(cmd: number, conn: GatewayConnection, body: unknown = ""): boolean {
    const router = this.router ??
      (Gateway.selectLoadBalancingMode === "router_random" ? routerRandom : routerLeastConnections);
    const worker = this.workerConnections.size > 0 ? router(this.workerConnections, conn, cmd, body) : null;
    if (!worker) {
      if (Date.now() - this._startTime >= 2000) {
        this._logLater(
          "SendBufferToWorker fail. The connections between Gateway and BusinessWorker are not ready. " +
            "See http://doc2.workerman.net/send-buffer-to-worker-fail.html",
        );
      }
      conn.destroy();
      return false;
    }
    const packet: Partial<GatewayPackage> & { cmd: number } = {
      ...conn.gatewayHeader,
      cmd,
      body,
      extData: conn.session,
    };
    if (worker.send(encodePackage(packet)) === false) {
      this._logLater(
        "SendBufferToWorker fail. May be the send buffer are overflow. See http://doc2.workerman.net/send-buffer-overflow.html",
      );
      return false;
    }
    return true;
  }

  /** Gateway logs go out on a one-shot timer, as GatewayWorker does (never inside a send path). */
  private _logLater(message: string): void {
    Timer.add(1, () => log(message), [], false);
  }

  /** One heartbeat tick over every client (see {@link heartbeatTick}). */
  private _ping(): void {
    for (const conn of [...this.clientConnections.values()]) {
      const tick = heartbeatTick(conn.pingNotResponseCount, this.pingNotResponseLimit, this.pingData !== "");
      if (tick.action === "destroy") {
        conn.destroy();
        continue;
      }
      conn.pingNotResponseCount = tick.count;
      if (tick.action === "ping") conn.send(this.pingData);
    }
  }

  /** Keep-alive pings to the BusinessWorkers (links crossing machines). */
  private _pingWorkers(): void {
    const ping = encodePackage({ cmd: CMD.PING });
    for (const worker of this.workerConnections.values()) worker.send(ping);
  }
}

/** RFC 1918 / loopback addresses: the inner port listens on them directly, not on 0.0.0.0. */
function isPrivateIp(ip: string): boolean {
  return /^(127\.|10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.)/.test(ip);
}

interface HandshakeRequest {
  get(): Record<string, unknown>;
  cookie(): Record<string, string>;
  header(): Record<string, string>;
  method(): string;
  uri(): string;
  protocolVersion(): string;
}

/** `{get, server, cookie}` of a websocket handshake, as `$_GET`/`$_SERVER`/`$_COOKIE` would hold it. */
function webSocketData(conn: GatewayConnection, request: unknown): Record<string, unknown> {
  const r = request as HandshakeRequest | null;
  if (!r || typeof r.header !== "function") return { get: {}, server: {}, cookie: {} };
  const server: Record<string, unknown> = {
    QUERY_STRING: r.uri().split("?")[1] ?? "",
    REQUEST_METHOD: r.method(),
    REQUEST_URI: r.uri(),
    SERVER_PROTOCOL: `HTTP/${r.protocolVersion()}`,
    SERVER_NAME: String(r.header()["host"] ?? "").replace(/:\d+$/, ""),
    REMOTE_ADDR: conn.getRemoteIp(),
    REMOTE_PORT: conn.getRemotePort(),
  };
  for (const [name, value] of Object.entries(r.header())) {
    server[`HTTP_${name.toUpperCase().replace(/-/g, "_")}`] = value;
  }
  return { get: r.get(), server, cookie: r.cookie() };
}
