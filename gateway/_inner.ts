/**
 * A Gateway process's inner port: BusinessWorkers and push clients connect here and speak
 * GatewayProtocol. This file executes their commands against the Gateway's clients, uids,
 * groups and sessions, and answers queries with `uint32 length + serialize(result)`.
 *
 * @module
 */
import { toBytes } from "../core/bytes.ts";
import { log, safeCall } from "../core/log.ts";
import type { GatewayConnection } from "./_conn.ts";
import { Worker } from "../core/worker.ts";
import type { Gateway } from "./gateway.ts";
import { mergeSessions, sessionDecode, sessionEncode } from "./session.ts";
import {
  bodyMessage,
  bodyText,
  CMD,
  encodeRawReply,
  encodeReply,
  FLAG_NOT_CALL_ENCODE,
  type GatewayPackage,
  GatewayProtocol,
} from "./protocol.ts";

type Select = { fields?: unknown; where?: Record<string, unknown> };

/** Parse JSON ext data; null when it is not JSON. */
function json(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/**
 * The items of a decoded JSON list: an array's, an object's values (PHP's `json_decode(.., true)`
 * makes both arrays), none for anything else (PHP's `foreach` over a scalar does nothing).
 */
function list(value: unknown): unknown[] {
  if (value === null || typeof value !== "object") return [];
  return Array.isArray(value) ? value : Object.values(value);
}

/** `{"5":5,...}` / `[5,...]` as a set of connection ids. */
function idSet(value: unknown): Set<number> {
  return new Set(list(value).map(Number));
}

export class GatewayInner {
  private readonly _gateway: Gateway;
  private readonly _worker: Worker;

  constructor(gateway: Gateway) {
    this._gateway = gateway;
    const port = gateway.startPort > 0 ? gateway.startPort + gateway.id : 0;
    const worker = new Worker<string>(`tcp://${gateway.innerListenIp}:${port}`);
    worker.name = `${gateway.name}(inner)`;
    worker.protocol = GatewayProtocol;
    worker.onConnect = (conn: GatewayConnection) => {
      conn.authorized = gateway.secretKey === "";
    };
    worker.onMessage = (conn: GatewayConnection, p: GatewayPackage) => this._onMessage(conn, p);
    worker.onClose = (conn: GatewayConnection) => this._onClose(conn);
    this._worker = worker;
  }

  /** Start listening (the port is then known). */
  listen(): Promise<void> {
    return this._worker.listen();
  }

  get port(): number {
    return this._worker.localPort;
  }

  close(): void {
    this._worker.unlisten();
  }

  private _onClose(conn: GatewayConnection): void {
    const g = this._gateway;
    if (conn.workerKey === undefined || g.workerConnections.get(conn.workerKey) !== conn) return;
    g.workerConnections.delete(conn.workerKey);
    if (g.onBusinessWorkerClose) {
      safeCall(() => `onBusinessWorkerClose of gateway ${g.name}`, g.onBusinessWorkerClose, conn);
    }
  }

  private _authenticate(conn: GatewayConnection, p: GatewayPackage): { worker_key?: string } | null {
    const info = json(bodyText(p.body)) as { worker_key?: string; secret_key?: string } | null;
    if ((info?.secret_key ?? "") !== this._gateway.secretKey) {
      log(
        `Gateway: ${
          p.cmd === CMD.WORKER_CONNECT ? "Worker" : "GatewayClient"
        } key does not match from ${conn.getRemoteAddress()}`,
      );
      conn.close();
      return null;
    }
    conn.authorized = true;
    return info ?? {};
  }

  private _workerConnect(conn: GatewayConnection, p: GatewayPackage): void {
    const g = this._gateway;
    const info = this._authenticate(conn, p);
    if (!info) return;
    const key = `${conn.getRemoteIp()}:${info.worker_key ?? ""}`;
    const old = g.workerConnections.get(key);
    if (old) {
      log(`Gateway: Worker->name conflict. Key:${key}`);
      old.close();
    }
    conn.workerKey = key;
    conn.gatewayClientCount = 0;
    conn.maxSendBufferSize = g.sendToWorkerBufferSize;
    g.workerConnections.set(key, conn);
    if (g.onBusinessWorkerConnected) {
      safeCall(() => `onBusinessWorkerConnected of gateway ${g.name}`, g.onBusinessWorkerConnected, conn);
    }
  }

  private _onMessage(conn: GatewayConnection, p: GatewayPackage): void {
    if (p.cmd === CMD.WORKER_CONNECT) return this._workerConnect(conn, p);
    if (p.cmd === CMD.GATEWAY_CLIENT_CONNECT) return void this._authenticate(conn, p);
    if (!conn.authorized) {
      log(`Unauthorized request from ${conn.getRemoteIp()}:${conn.getRemotePort()}`);
      conn.close();
      return;
    }
    if (p.cmd === CMD.PING) return;
    if (!this._command(conn, p)) {
      const message = `gateway inner pack err cmd=${p.cmd}`;
      log(message);
      conn.send(encodeReply(message), true);
    }
  }

  private _reply(conn: GatewayConnection, value: unknown): void {
    conn.send(encodeReply(value), true);
  }

  /** Execute one command; false for an unknown one. */
  private _command(conn: GatewayConnection, p: GatewayPackage): boolean {
    const g = this._gateway;
    const client = g.clientConnections.get(p.connectionId);
    const raw = (p.flag & FLAG_NOT_CALL_ENCODE) !== 0;
    const message = p.body instanceof Uint8Array ? bodyMessage(p.body, p.flag) : p.body;
    switch (p.cmd) {
      case CMD.SEND_TO_ONE:
        client?.send(message as string, raw);
        return true;
      case CMD.KICK:
        client?.close(message === null ? undefined : message as string, raw);
        return true;
      case CMD.DESTROY:
        client?.destroy();
        return true;
      case CMD.SEND_TO_ALL:
        this._sendToAll(p.extData, ...this._preEncoded(message, raw));
        return true;
      case CMD.SEND_TO_UID:
        for (const uid of list(json(p.extData))) {
          for (const c of g.uidConnections.get(String(uid))?.values() ?? []) c.send(message as string, raw);
        }
        return true;
      case CMD.SEND_TO_GROUP:
        this._sendToGroup(p.extData, ...this._preEncoded(message, raw));
        return true;
      case CMD.BIND_UID:
        if (client && p.extData !== "") this._bindUid(client, p.extData);
        return true;
      case CMD.UNBIND_UID:
        if (client && client.uid !== undefined && client.uid !== null) g.removeFromUid(client);
        return true;
      case CMD.JOIN_GROUP:
        if (client && p.extData !== "") {
          (client.groups ??= {})[p.extData] = p.extData;
          this._group(p.extData, true)!.set(p.connectionId, client);
        }
        return true;
      case CMD.LEAVE_GROUP:
        if (client && client.groups?.[p.extData] !== undefined) {
          delete client.groups[p.extData];
          g.removeFromGroup(p.extData, p.connectionId);
        }
        return true;
      case CMD.UNGROUP:
        for (const c of g.groupConnections.get(p.extData)?.values() ?? []) delete c.groups?.[p.extData];
        g.groupConnections.delete(p.extData);
        return true;
      case CMD.SET_SESSION:
        if (client) client.session = p.extData;
        return true;
      case CMD.UPDATE_SESSION:
        if (client) {
          client.session = client.session
            ? sessionEncode(mergeSessions(sessionDecode(client.session) ?? {}, sessionDecode(p.extData) ?? {}))
            : p.extData;
        }
        return true;
      default:
        return this._query(conn, p);
    }
  }

  /** Answer a query; false for an unknown command. */
  private _query(conn: GatewayConnection, p: GatewayPackage): boolean {
    const g = this._gateway;
    const client = g.clientConnections.get(p.connectionId);
    switch (p.cmd) {
      case CMD.IS_ONLINE:
        this._reply(conn, client ? 1 : 0);
        return true;
      case CMD.GET_SESSION_BY_CLIENT_ID:
        conn.send(encodeRawReply(!client ? "N;" : client.session || "a:0:{}"), true);
        return true;
      case CMD.GET_ALL_CLIENT_SESSIONS:
        this._reply(conn, sessionsOf(g.clientConnections));
        return true;
      case CMD.GET_CLIENT_SESSIONS_BY_GROUP:
        this._reply(conn, sessionsOf(g.groupConnections.get(p.extData) ?? new Map()));
        return true;
      case CMD.GET_CLIENT_COUNT_BY_GROUP:
        this._reply(conn, p.extData === "" ? g.clientConnections.size : g.groupConnections.get(p.extData)?.size ?? 0);
        return true;
      case CMD.BATCH_GET_CLIENT_COUNT_BY_GROUP: {
        const counts: Record<string, number> = {};
        for (const group of list(json(p.extData))) {
          counts[String(group)] = g.groupConnections.get(String(group))?.size ?? 0;
        }
        this._reply(conn, counts);
        return true;
      }
      case CMD.GET_CLIENT_ID_BY_UID:
        this._reply(conn, [...(g.uidConnections.get(p.extData)?.keys() ?? [])]);
        return true;
      case CMD.BATCH_GET_CLIENT_ID_BY_UID: {
        const ids: Record<string, number[]> = {};
        for (const uid of list(json(p.extData))) {
          const members = g.uidConnections.get(String(uid));
          if (members) ids[String(uid)] = [...members.keys()];
        }
        this._reply(conn, ids);
        return true;
      }
      case CMD.GET_GROUP_ID_LIST:
        this._reply(conn, [...g.groupConnections.keys()]);
        return true;
      case CMD.SELECT:
        this._reply(conn, this._select(json(p.extData) as Select | null));
        return true;
      default:
        return false;
    }
  }

  private _group(group: string, create: boolean): Map<number, GatewayConnection> | undefined {
    let members = this._gateway.groupConnections.get(group);
    if (!members && create) this._gateway.groupConnections.set(group, members = new Map());
    return members;
  }

  private _bindUid(client: GatewayConnection, uid: string): void {
    const g = this._gateway;
    if (client.uid !== undefined && client.uid !== null) g.removeFromUid(client);
    client.uid = uid;
    let members = g.uidConnections.get(uid);
    if (!members) g.uidConnections.set(uid, members = new Map());
    members.set(client.gatewayConnectionId, client);
  }

  /**
   * With `protocolAccelerate`, a broadcast is encoded once (with the first client's
   * connection) and sent raw to every recipient, instead of encoded per recipient.
   */
  private _preEncoded(message: unknown, raw: boolean): [unknown, boolean] {
    const g = this._gateway;
    if (raw || !g.protocolAccelerate || !g.protocol) return [message, raw];
    const first = g.clientConnections.values().next().value;
    return first ? [toBytes(g.protocol.encode(message, first)), true] : [message, raw];
  }

  private _sendToAll(ext: string, message: unknown, raw: boolean): void {
    const g = this._gateway;
    const data = ext ? json(ext) as { connections?: unknown; exclude?: unknown } | null : null;
    if (data?.connections !== undefined) {
      for (const id of idSet(data.connections)) g.clientConnections.get(id)?.send(message as string, raw);
      return;
    }
    const exclude = idSet(data?.exclude);
    for (const [id, c] of g.clientConnections) if (!exclude.has(id)) c.send(message as string, raw);
  }

  private _sendToGroup(ext: string, message: unknown, raw: boolean): void {
    const data = json(ext) as { group?: unknown; exclude?: unknown } | null;
    const exclude = idSet(data?.exclude);
    const sent = new Set<number>();
    for (const group of list(data?.group)) {
      for (const [id, c] of this._gateway.groupConnections.get(String(group)) ?? []) {
        if (exclude.has(id) || sent.has(id)) continue;
        sent.add(id);
        c.send(message as string, raw);
      }
    }
  }

  /** `SELECT`: `{connection_id: {field: value}}` for the clients matching `where` (all when empty). */
  private _select(query: Select | null): Map<number, Record<string, unknown>> {
    const g = this._gateway;
    const out = new Map<number, Record<string, unknown>>();
    if (!query) return out;
    const fields = list(query.fields).map(String);
    const row = (c: GatewayConnection) => {
      const r: Record<string, unknown> = {};
      for (const f of fields) {
        r[f] = f === "groups" ? (c.groups ?? null) : ((c as unknown as Record<string, unknown>)[f] ?? null);
      }
      return r;
    };
    const where = query.where !== null && typeof query.where === "object" && !Array.isArray(query.where)
      ? query.where
      : {};
    if (Object.keys(where).length === 0) {
      for (const [id, c] of g.clientConnections) out.set(id, row(c));
      return out;
    }
    for (const [key, items] of Object.entries(where)) {
      for (const item of list(items)) {
        if (key === "connection_id") {
          const c = g.clientConnections.get(Number(item));
          if (c) out.set(Number(item), row(c));
          continue;
        }
        const box = key === "groups" ? g.groupConnections : key === "uid" ? g.uidConnections : null;
        for (const [id, c] of box?.get(String(item)) ?? []) if (!out.has(id)) out.set(id, row(c));
      }
    }
    return out;
  }
}

/** `{connection_id: session string}` of some clients. */
function sessionsOf(clients: Map<number, GatewayConnection>): Map<number, string> {
  const out = new Map<number, string>();
  for (const [id, c] of clients) out.set(id, c.session ?? "");
  return out;
}
