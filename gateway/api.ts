/**
 * The API business code uses to reach any client of the cluster (GatewayWorker's
 * `Lib\Gateway`): `Gateway.sendToClient()`, uids, groups, sessions. Inside a BusinessWorker
 * the static methods of `Gateway` use the process's connections to the gateways; anywhere
 * else a {@link GatewayClient} offers the same methods.
 *
 * Sends are fire-and-forget: they return a promise that resolves `true` when the packet was
 * handed to every gateway concerned and `false` otherwise (invalid client_id, gateway not
 * connected, send buffer full) — they never reject, so not awaiting them is safe. Queries
 * return promises of their result and reject when a gateway cannot be asked (5 s timeout).
 *
 * @module
 */
import { log } from "../core/log.ts";
import { addressOf, all, ApiTransport, blank, entries, idMap, keyed, list } from "./_api_transport.ts";
import { clientIdEncode } from "./client_id.ts";
import { liveContexts } from "./context.ts";
import { CMD, encodePackage, FLAG_NOT_CALL_ENCODE } from "./protocol.ts";
import { mergeSessions, type Session, sessionDecode, sessionEncode } from "./session.ts";

/** A message to a client: text, or bytes (sent as is when valid UTF-8 is not required). */
export type Message = string | Uint8Array;

export type { GatewayBackend } from "./_api_transport.ts";

/** GatewayWorker's `Lib\Gateway` API over a {@link GatewayBackend}; `Gateway.*` and {@link GatewayClient} expose it. */
export class GatewayApi extends ApiTransport {
  // ---- sending --------------------------------------------------------------------------

  /**
   * Send to every client of every gateway, minus `exclude`; with a non-empty `clientIds`, only
   * to those (an empty list sends nothing).
   */
  sendToAll(
    message: Message,
    clientIds: string[] | null = null,
    exclude: string | string[] | null = null,
    raw = false,
  ): Promise<boolean> {
    const flag = raw ? FLAG_NOT_CALL_ENCODE : 0;
    if (clientIds) {
      if (clientIds.length === 0) return Promise.resolve(true);
      return this._send(async (addresses) => {
        const targets = [...this._byGateway(clientIds)].filter(([address]) => addresses.includes(address));
        const results = await Promise.all(
          targets.map(([address, ids]) =>
            this._backend().send(
              address,
              encodePackage({
                cmd: CMD.SEND_TO_ALL,
                body: message,
                flag,
                extData: JSON.stringify({ connections: idMap(ids) }),
              }),
            )
          ),
        );
        return all(results);
      });
    }
    const excluded = this._byGateway(exclude === null ? [] : list(exclude));
    return this._toAll((address) => {
      const ids = excluded.get(address);
      return { cmd: CMD.SEND_TO_ALL, body: message, flag, extData: ids ? JSON.stringify({ exclude: idMap(ids) }) : "" };
    });
  }

  /** Send to one client (false for an invalid client_id or an unreachable gateway). */
  sendToClient(clientId: string, message: Message, raw = false): Promise<boolean> {
    return this._toClient(clientId, { cmd: CMD.SEND_TO_ONE, body: message, flag: raw ? FLAG_NOT_CALL_ENCODE : 0 });
  }

  /** Send to the client of the event being handled (synchronous part of a handler only). */
  sendToCurrentClient(message: Message, raw = false): Promise<boolean> {
    return this.sendToClient(this._current("sendToCurrentClient").clientId, message, raw);
  }

  /** Send to every client bound to `uid` (or to any of the uids). */
  sendToUid(uid: string | number | (string | number)[], message: Message, raw = false): Promise<boolean> {
    const uids = list(uid).map(String);
    return this._toAll({
      cmd: CMD.SEND_TO_UID,
      body: message,
      flag: raw ? FLAG_NOT_CALL_ENCODE : 0,
      extData: JSON.stringify(uids),
    });
  }

  /** Send to every member of `group` (or of any of the groups), except the `exclude` client_ids. */
  sendToGroup(
    group: string | number | (string | number)[],
    message: Message,
    exclude: string | string[] | null = null,
    raw = false,
  ): Promise<boolean> {
    const groups = list(group).map(String).filter((g) => g !== "");
    if (groups.length === 0) return Promise.resolve(false);
    const excluded = this._byGateway(exclude === null ? [] : list(exclude));
    return this._toAll((address) => {
      const ids = excluded.get(address);
      return {
        cmd: CMD.SEND_TO_GROUP,
        body: message,
        flag: raw ? FLAG_NOT_CALL_ENCODE : 0,
        extData: JSON.stringify({ group: groups, exclude: ids ? idMap(ids) : null }),
      };
    });
  }

  /** Send `message` (if given), then close the client once it is flushed. */
  closeClient(clientId: string, message: Message | null = null): Promise<boolean> {
    return this._toClient(clientId, { cmd: CMD.KICK, body: message });
  }

  /** `closeClient` for the client of the event being handled. */
  closeCurrentClient(message: Message | null = null): Promise<boolean> {
    return this.closeClient(this._current("closeCurrentClient").clientId, message);
  }

  /** Close the client now, discarding what is not yet sent. */
  destroyClient(clientId: string): Promise<boolean> {
    return this._toClient(clientId, { cmd: CMD.DESTROY });
  }

  /** `destroyClient` for the client of the event being handled. */
  destroyCurrentClient(): Promise<boolean> {
    return this.destroyClient(this._current("destroyCurrentClient").clientId);
  }

  /** {@link destroyClient} under GatewayWorker's spelling (its only name for it), so ported code runs unchanged. */
  destoryClient(clientId: string): Promise<boolean> {
    return this.destroyClient(clientId);
  }

  /** {@link destroyCurrentClient} under GatewayWorker's spelling. */
  destoryCurrentClient(): Promise<boolean> {
    return this.destroyClient(this._current("destoryCurrentClient").clientId);
  }

  // ---- uids and groups ------------------------------------------------------------------

  /** Bind a client to `uid` (a client has at most one uid; a uid may have many clients). */
  bindUid(clientId: string, uid: string | number): Promise<boolean> {
    if (blank(uid)) {
      log(`bindUid(${clientId}, uid): uid is empty`);
      return Promise.resolve(false);
    }
    return this._toClient(clientId, { cmd: CMD.BIND_UID, extData: String(uid) });
  }

  /** Remove the client's uid. */
  unbindUid(clientId: string, uid: string | number): Promise<boolean> {
    return this._toClient(clientId, { cmd: CMD.UNBIND_UID, extData: String(uid) });
  }

  /** Add a client to `group` (a client may be in many groups). */
  joinGroup(clientId: string, group: string | number): Promise<boolean> {
    if (blank(group)) return Promise.resolve(false);
    return this._toClient(clientId, { cmd: CMD.JOIN_GROUP, extData: String(group) });
  }

  /** Remove a client from `group`. */
  leaveGroup(clientId: string, group: string | number): Promise<boolean> {
    if (blank(group)) return Promise.resolve(false);
    return this._toClient(clientId, { cmd: CMD.LEAVE_GROUP, extData: String(group) });
  }

  /** Dissolve `group`: every member leaves it. */
  ungroup(group: string | number): Promise<boolean> {
    if (blank(group)) return Promise.resolve(false);
    return this._toAll({ cmd: CMD.UNGROUP, extData: String(group) });
  }

  // ---- queries --------------------------------------------------------------------------

  /** Whether the client is connected. */
  async isOnline(clientId: string): Promise<boolean> {
    return Number(await this._queryClient(clientId, { cmd: CMD.IS_ONLINE })) === 1;
  }

  /** The client_ids bound to `uid`. */
  async getClientIdByUid(uid: string | number): Promise<string[]> {
    const out: string[] = [];
    for (const [address, ids] of await this._queryAll({ cmd: CMD.GET_CLIENT_ID_BY_UID, extData: String(uid) })) {
      const { ip, port } = addressOf(address);
      for (const [, id] of entries(ids)) out.push(clientIdEncode(ip, port, Number(id)));
    }
    return out;
  }

  /** Whether at least one client is bound to `uid`. */
  async isUidOnline(uid: string | number): Promise<boolean> {
    return (await this.getClientIdByUid(uid)).length > 0;
  }

  /** The uid a client is bound to (null: none, or offline). */
  async getUidByClientId(clientId: string): Promise<string | null> {
    const a = this._decode(clientId);
    if (!a) return null;
    const answer = await this._queryClient(clientId, {
      cmd: CMD.SELECT,
      extData: JSON.stringify({ fields: ["uid"], where: { connection_id: [a.connectionId] } }),
    });
    const row = entries(answer)[0]?.[1] as { uid?: unknown } | undefined;
    return row?.uid === null || row?.uid === undefined ? null : String(row.uid);
  }

  /** `{uid: 0|1}`: which of the uids have a client bound. */
  async isUidsOnline(uids: (string | number)[]): Promise<Record<string, 0 | 1>> {
    const ids = await this.batchGetClientIdByUid(uids);
    const out: Record<string, 0 | 1> = {};
    for (const uid of uids) out[uid] = (ids[uid]?.length ?? 0) > 0 ? 1 : 0;
    return out;
  }

  /** `{uid: [client_id, ...]}` for the uids that have clients bound. */
  async batchGetClientIdByUid(uids: (string | number)[]): Promise<Record<string, string[]>> {
    const out: Record<string, string[]> = {};
    const answers = await this._queryAll({
      cmd: CMD.BATCH_GET_CLIENT_ID_BY_UID,
      extData: JSON.stringify(uids.map(String)),
    });
    for (const [address, byUid] of answers) {
      const { ip, port } = addressOf(address);
      for (const [uid, ids] of entries(byUid)) {
        for (const [, id] of entries(ids)) (out[uid] ??= []).push(clientIdEncode(ip, port, Number(id)));
      }
    }
    return out;
  }

  /** `{group: count}` for each of the groups (GatewayClient's name for it). */
  batchGetClientIdCountByGroup(groups: (string | number)[]): Promise<Record<string, number>> {
    return this.batchGetClientCountByGroup(groups);
  }

  /** `{group: count}` for each of the groups. */
  async batchGetClientCountByGroup(groups: (string | number)[]): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const group of groups) out[group] = 0;
    const answers = await this._queryAll({
      cmd: CMD.BATCH_GET_CLIENT_COUNT_BY_GROUP,
      extData: JSON.stringify(groups.map(String)),
    });
    for (const [, counts] of answers) {
      for (const [group, n] of entries(counts)) out[group] = (out[group] ?? 0) + Number(n);
    }
    return out;
  }

  /** `{client_id: client_id}` of the members of `group`. */
  async getClientIdListByGroup(group: string | number): Promise<Record<string, string>> {
    return keyed((await this._select(["uid"], { groups: [String(group)] })).keys());
  }

  /** `{client_id: session}` of the members of `group`. */
  async getClientSessionsByGroup(group: string | number): Promise<Record<string, Session>> {
    return this._sessions(await this._queryAll({ cmd: CMD.GET_CLIENT_SESSIONS_BY_GROUP, extData: String(group) }));
  }

  /** `{client_id: session}` of the members of `group`: the old name of {@link getClientSessionsByGroup}. */
  getClientInfoByGroup(group: string | number): Promise<Record<string, Session>> {
    return this.getClientSessionsByGroup(group);
  }

  /** How many clients are in `group` (`""`: all clients). */
  async getClientIdCountByGroup(group: string | number = ""): Promise<number> {
    let count = 0;
    for (const [, n] of await this._queryAll({ cmd: CMD.GET_CLIENT_COUNT_BY_GROUP, extData: String(group) })) {
      count += Number(n);
    }
    return count;
  }

  /** {@link getClientIdCountByGroup} under its shorter name. */
  getClientCountByGroup(group: string | number = ""): Promise<number> {
    return this.getClientIdCountByGroup(group);
  }

  /** How many clients are connected. */
  getAllClientIdCount(): Promise<number> {
    return this.getClientIdCountByGroup("");
  }

  /** {@link getAllClientIdCount} under its shorter name. */
  getAllClientCount(): Promise<number> {
    return this.getAllClientIdCount();
  }

  /** `{client_id: client_id}` of every client. */
  async getAllClientIdList(): Promise<Record<string, string>> {
    return keyed((await this._select(["uid"], {})).keys());
  }

  /** `{client_id: session}` of every client (of `group` when given). */
  async getAllClientSessions(group: string | number = ""): Promise<Record<string, Session>> {
    if (group !== "") return this.getClientSessionsByGroup(group);
    return this._sessions(await this._queryAll({ cmd: CMD.GET_ALL_CLIENT_SESSIONS }));
  }

  /** `{client_id: session}` of every client (of `group` when given): the old name of {@link getAllClientSessions}. */
  getAllClientInfo(group: string | number = ""): Promise<Record<string, Session>> {
    return this.getAllClientSessions(group);
  }

  /** `{uid: uid}` of every bound uid. */
  getAllUidList(): Promise<Record<string, string>> {
    return this._uids({});
  }

  /** How many distinct uids are bound. */
  async getAllUidCount(): Promise<number> {
    return Object.keys(await this._uids({})).length;
  }

  /** `{uid: uid}` of the members of `group` that are bound to a uid. */
  getUidListByGroup(group: string | number): Promise<Record<string, string>> {
    return this._uids({ groups: [String(group)] });
  }

  /** How many distinct uids the members of `group` are bound to. */
  async getUidCountByGroup(group: string | number): Promise<number> {
    return Object.keys(await this._uids({ groups: [String(group)] })).length;
  }

  /** `{group: {client_id: client_id}}` of every group. */
  async getAllGroupClientIdList(): Promise<Record<string, Record<string, string>>> {
    const out: Record<string, Record<string, string>> = {};
    for (const [clientId, row] of await this._select(["groups"], {})) {
      for (const [, group] of entries(row.groups)) (out[String(group)] ??= {})[clientId] = clientId;
    }
    return out;
  }

  /** `{group: number of clients}` of every group. */
  async getAllGroupClientIdCount(): Promise<Record<string, number>> {
    return counts(await this.getAllGroupClientIdList());
  }

  /** `{group: {uid: uid}}` of every group, for its members bound to a uid. */
  async getAllGroupUidList(): Promise<Record<string, Record<string, string>>> {
    const out: Record<string, Record<string, string>> = {};
    for (const row of (await this._select(["uid", "groups"], {})).values()) {
      if (blank(row.uid)) continue;
      const uid = String(row.uid);
      for (const [, group] of entries(row.groups)) (out[String(group)] ??= {})[uid] = uid;
    }
    return out;
  }

  /** `{group: number of distinct uids}` of every group. */
  async getAllGroupUidCount(): Promise<Record<string, number>> {
    return counts(await this.getAllGroupUidList());
  }

  /** `{uid: uid}` of the clients matching `where`. */
  private async _uids(where: Record<string, unknown[]>): Promise<Record<string, string>> {
    const uids: string[] = [];
    for (const row of (await this._select(["uid"], where)).values()) if (!blank(row.uid)) uids.push(String(row.uid));
    return keyed(uids);
  }

  /** `{group: group}` of every group with members. */
  async getAllGroupIdList(): Promise<Record<string, string>> {
    const groups: string[] = [];
    for (const [, answer] of await this._queryAll({ cmd: CMD.GET_GROUP_ID_LIST })) {
      for (const [, g] of entries(answer)) groups.push(String(g));
    }
    return keyed(groups);
  }

  /** Decode the sessions every gateway answered, by client_id. */
  private _sessions(answers: [string, unknown][]): Record<string, Session> {
    const out: Record<string, Session> = {};
    for (const [address, sessions] of answers) {
      const { ip, port } = addressOf(address);
      for (const [id, text] of entries(sessions)) {
        const clientId = clientIdEncode(ip, port, Number(id));
        const live = [...liveContexts(clientId)];
        out[clientId] = live.length > 0 ? live[live.length - 1].session : sessionDecode(String(text ?? "")) ?? {};
      }
    }
    return out;
  }

  // ---- sessions -------------------------------------------------------------------------

  /** Replace the client's session (also the `ctx.session` of its running handlers). */
  setSession(clientId: string, session: Session): Promise<boolean> {
    for (const ctx of liveContexts(clientId)) ctx.session = { ...session };
    return this._toClient(clientId, { cmd: CMD.SET_SESSION, extData: sessionEncode(session) });
  }

  /** Low level: store `serialized` (a PHP-serialized array, or `""`) as the client's session as is. */
  setSocketSession(clientId: string, serialized: string): Promise<boolean> {
    for (const ctx of liveContexts(clientId)) ctx.session = sessionDecode(serialized) ?? {};
    return this._toClient(clientId, { cmd: CMD.SET_SESSION, extData: serialized });
  }

  /** Merge `session` into the client's session, recursively (also into running handlers' `ctx.session`). */
  updateSession(clientId: string, session: Session): Promise<boolean> {
    for (const ctx of liveContexts(clientId)) ctx.session = mergeSessions(ctx.session, session);
    return this._toClient(clientId, { cmd: CMD.UPDATE_SESSION, extData: sessionEncode(session) });
  }

  /** The client's session: `{}` when empty, null when the client is offline or the client_id invalid. */
  async getSession(clientId: string): Promise<Session | null> {
    const answer = await this._queryClient(clientId, { cmd: CMD.GET_SESSION_BY_CLIENT_ID });
    if (answer === null || answer === undefined || typeof answer !== "object") return null;
    return Array.isArray(answer) ? { ...answer } : answer as Session;
  }
}

/** `{key: size}` of a map of maps. */
function counts(groups: Record<string, Record<string, string>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, members] of Object.entries(groups)) out[key] = Object.keys(members).length;
  return out;
}

/** The API of this process's BusinessWorker (what `Gateway.sendToClient()` etc. use). */
export const defaultApi = new GatewayApi();
