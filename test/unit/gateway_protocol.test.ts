// Byte layouts of GatewayWorker's internal protocol (spec §9.3), the Register's lines (§9.1),
// client_id (§9.5) and the PHP serialization of bodies and sessions: what a PHP GatewayClient
// or GatewayWorker peer would put on the wire.
import { describe, expect, it } from "vitest";
import { GatewayApi, type GatewayBackend } from "../../gateway/api.ts";
import { Gateway, heartbeatTick, routerLeastConnections, routerRandom } from "../../gateway/gateway.ts";
import { GatewayClient } from "../../gateway/client.ts";
import { eventsAndAnswers, PendingAnswers } from "../../gateway/_answers.ts";
import { NO_MESSAGE } from "../../core/protocol.ts";
import type { GatewayConnection } from "../../gateway/_conn.ts";
import "../../protocols/mod.ts";
import { clientIdDecode, clientIdEncode, ip2long, long2ip } from "../../gateway/client_id.ts";
import {
  answerLength,
  CMD,
  decodePackage,
  encodePackage,
  encodeRawReply,
  encodeReply,
  GatewayProtocol,
  ReplyProtocol,
} from "../../gateway/protocol.ts";
import { broadcastAddressesLine, gatewayConnectLine, Register, workerConnectLine } from "../../gateway/register.ts";
import { mergeSessions, sessionDecode, sessionEncode } from "../../gateway/session.ts";

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");
const text = (bytes: Uint8Array) => Buffer.from(bytes).toString("utf8");

/** The 28-byte header of a package as hex, field by field (spec §9.3 order). */
function headerFields(bytes: Uint8Array): string[] {
  const h = hex(bytes.subarray(0, 28));
  const widths = [8, 2, 8, 4, 8, 4, 8, 2, 4, 8];
  let at = 0;
  return widths.map((w) => h.slice(at, at += w));
}

describe("GatewayProtocol header", () => {
  it("is 28 bytes big-endian: pack_len, cmd, local_ip, local_port, client_ip, client_port, connection_id, flag, gateway_port, ext_len", () => {
    const bytes = encodePackage({
      cmd: CMD.ON_MESSAGE,
      localIp: ip2long("127.0.0.1"),
      localPort: 23700,
      clientIp: ip2long("192.168.1.2"),
      clientPort: 53548,
      connectionId: 1,
      gatewayPort: 23601,
      extData: 'a:1:{s:1:"a";i:1;}',
      body: "hi",
    });
    expect(bytes.length).toBe(28 + 18 + 2);
    expect(headerFields(bytes)).toEqual([
      "00000030", // pack_len 48
      "03", // cmd ON_MESSAGE
      "7f000001", // 127.0.0.1
      "5c94", // 23700
      "c0a80102", // 192.168.1.2
      "d12c", // 53548
      "00000001",
      "01", // body is a plain string
      "5c31", // 23601
      "00000012", // ext_len 18
    ]);
    expect(text(bytes.subarray(28, 46))).toBe('a:1:{s:1:"a";i:1;}');
    expect(text(bytes.subarray(46))).toBe("hi");
  });

  it("decodes what it encodes; a plain body stays bytes, a serialized one becomes the value", () => {
    const plain = decodePackage(encodePackage({ cmd: CMD.SEND_TO_ONE, connectionId: 7, body: "hé", flag: 0x02 }));
    expect(plain).toMatchObject({ cmd: 5, connectionId: 7, flag: 0x03, extData: "" });
    expect(text(plain.body as Uint8Array)).toBe("hé");
    const data = { get: { name: "ann" }, server: { REMOTE_PORT: 5 }, cookie: {} };
    const bytes = encodePackage({ cmd: CMD.ON_WEBSOCKET_CONNECT, body: data });
    expect(bytes[21]).toBe(0); // flag: serialized
    expect(text(bytes.subarray(28))).toBe(
      'a:3:{s:3:"get";a:1:{s:4:"name";s:3:"ann";}s:6:"server";a:1:{s:11:"REMOTE_PORT";i:5;}s:6:"cookie";a:0:{}}',
    );
    expect(decodePackage(bytes).body).toEqual({ get: { name: "ann" }, server: { REMOTE_PORT: 5 }, cookie: [] });
  });

  it("input() needs 28 bytes, then gives pack_len", () => {
    const bytes = encodePackage({ cmd: CMD.PING });
    const conn = {} as never;
    expect(GatewayProtocol.input(bytes.subarray(0, 27), conn)).toBe(0);
    expect(GatewayProtocol.input(bytes.subarray(0, 28), conn)).toBe(28);
    expect(hex(bytes)).toBe("0000001c" + "c9" + "00".repeat(16) + "01" + "0000" + "00000000");
    const short = bytes.slice();
    short[3] = 27; // pack_len shorter than the header
    expect(GatewayProtocol.input(short, conn)).toBeLessThan(0);
  });

  it("command codes are GatewayWorker's", () => {
    expect(CMD).toEqual({
      ON_CONNECT: 1,
      ON_MESSAGE: 3,
      ON_CLOSE: 4,
      SEND_TO_ONE: 5,
      SEND_TO_ALL: 6,
      KICK: 7,
      DESTROY: 8,
      UPDATE_SESSION: 9,
      GET_ALL_CLIENT_SESSIONS: 10,
      IS_ONLINE: 11,
      BIND_UID: 12,
      UNBIND_UID: 13,
      SEND_TO_UID: 14,
      GET_CLIENT_ID_BY_UID: 15,
      BATCH_GET_CLIENT_ID_BY_UID: 16,
      JOIN_GROUP: 20,
      LEAVE_GROUP: 21,
      SEND_TO_GROUP: 22,
      GET_CLIENT_SESSIONS_BY_GROUP: 23,
      GET_CLIENT_COUNT_BY_GROUP: 24,
      SELECT: 25,
      GET_GROUP_ID_LIST: 26,
      UNGROUP: 27,
      BATCH_GET_CLIENT_COUNT_BY_GROUP: 28,
      WORKER_CONNECT: 200,
      PING: 201,
      GATEWAY_CLIENT_CONNECT: 202,
      GET_SESSION_BY_CLIENT_ID: 203,
      SET_SESSION: 204,
      ON_WEBSOCKET_CONNECT: 205,
    });
  });

  it("query answers are uint32 length + PHP serialize, not packages", () => {
    expect(hex(encodeReply(1))).toBe("00000004" + hex(Buffer.from("i:1;")));
    expect(text(encodeReply(new Map([[5, "a:0:{}"]])).subarray(4))).toBe('a:1:{i:5;s:6:"a:0:{}";}');
    expect(text(encodeReply([3, 4]).subarray(4))).toBe("a:2:{i:0;i:3;i:1;i:4;}");
    expect(hex(encodeRawReply("N;"))).toBe("000000024e3b");
    const conn = {} as never;
    const reply = encodeReply({ x: 2 });
    expect(ReplyProtocol.input(reply.subarray(0, 3), conn)).toBe(0);
    expect(ReplyProtocol.input(reply, conn)).toBe(reply.length);
    expect(ReplyProtocol.decode(reply, conn)).toEqual({ x: 2 });
  });
});

describe("answers on a BusinessWorker's connection", () => {
  const event = (body: string) => encodePackage({ cmd: CMD.ON_MESSAGE, connectionId: 7, body });
  const concat = (...parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((p) => [...p]));

  it("answerLength tells an answer (any length, a serialized value) from an event package", () => {
    const ping = encodePackage({ cmd: CMD.PING });
    expect(answerLength(ping)).toBe(-1);
    expect(answerLength(event("x".repeat(100)))).toBe(-1);
    for (const value of [1, "s", null, [1, 2], { long: "y".repeat(300) }, new Map([[5, "a:0:{}"]])]) {
      const reply = encodeReply(value);
      expect(answerLength(reply.subarray(0, 3))).toBe(0);
      expect(answerLength(reply)).toBe(reply.length);
    }
    expect(answerLength(encodeRawReply("gateway inner pack err cmd=99").subarray(0, 4))).toBe(0); // 5th byte decides
  });

  it("events reach onMessage and each answer its query, in order, however the bytes are split", async () => {
    const stream = concat(event("one"), encodeReply(1), event("two"), encodeReply({ x: "y".repeat(40) }), event("3"));
    for (let cut = 1; cut < stream.length; cut++) {
      const answers = new PendingAnswers("127.0.0.1:2900");
      const asked = [answers.expect(), answers.expect()];
      const protocol = eventsAndAnswers(answers);
      const conn = {} as never;
      const events: string[] = [];
      // Frame as TcpConnection does: input() until it gives a length, decode() once it is there.
      let buffer = new Uint8Array(0);
      let length = 0;
      for (const chunk of [stream.subarray(0, cut), stream.subarray(cut)]) {
        buffer = concat(buffer, chunk);
        while (buffer.length > 0) {
          if (length === 0) length = protocol.input(buffer, conn);
          if (length === 0 || buffer.length < length) break;
          const message = protocol.decode(buffer.subarray(0, length), conn);
          if (message !== NO_MESSAGE) events.push(text((message as { body: Uint8Array }).body));
          buffer = buffer.subarray(length);
          length = 0;
        }
      }
      expect(events, `cut at ${cut}`).toEqual(["one", "two", "3"]);
      expect(await Promise.all(asked)).toEqual([1, { x: "y".repeat(40) }]);
      expect(answers.size).toBe(0);
    }
  });

  it("with no query waiting, a package is framed as GatewayProtocol frames it", () => {
    const answers = new PendingAnswers("127.0.0.1:2900");
    const protocol = eventsAndAnswers(answers);
    const bytes = concat(encodeReply(1), new Uint8Array(20)); // pack_len 4: shorter than a header
    expect(protocol.input(bytes, {} as never)).toBe(-1);
    const asked = answers.expect();
    expect(protocol.input(bytes, {} as never)).toBe(8);
    expect(protocol.decode(bytes.subarray(0, 8), {} as never)).toBe(NO_MESSAGE);
    return expect(asked).resolves.toBe(1);
  });
});

/** A GatewayApi whose packets are recorded; queries answer `answer(cmd)`. */
function recordingApi(answer: (cmd: number) => unknown = () => null) {
  const sent: { address: string; bytes: Uint8Array }[] = [];
  const backend: GatewayBackend = {
    addresses: () => Promise.resolve(["127.0.0.1:2900", "127.0.0.1:2901"]),
    send: (address, bytes) => (sent.push({ address, bytes }), Promise.resolve(true)),
    query: (address, bytes) => (sent.push({ address, bytes }), Promise.resolve(answer(bytes[4]))),
  };
  return { api: new GatewayApi(backend), sent };
}

const A = clientIdEncode("127.0.0.1", 2900, 5); // 7f0000010b5400000005
const B = clientIdEncode("127.0.0.1", 2901, 9);

/** cmd, connection_id, flag, ext and body of a recorded package. */
function parts(bytes: Uint8Array) {
  const p = decodePackage(bytes);
  const body = p.body instanceof Uint8Array ? text(p.body) : p.body;
  return {
    cmd: p.cmd,
    local: `${long2ip(p.localIp)}:${p.localPort}`,
    connectionId: p.connectionId,
    flag: p.flag,
    ext: p.extData,
    body,
  };
}

describe("every command as the API sends it", () => {
  it("client-addressed commands carry the gateway address and connection id of the client_id", async () => {
    const { api, sent } = recordingApi();
    await api.sendToClient(A, "m");
    await api.sendToClient(A, "m", true);
    await api.closeClient(A, "bye");
    await api.destroyClient(A);
    await api.bindUid(A, "u1");
    await api.unbindUid(A, "u1");
    await api.joinGroup(A, "g1");
    await api.leaveGroup(A, "g1");
    await api.setSession(A, { x: 2 });
    await api.updateSession(A, { y: 3 });
    await api.setSocketSession(A, 'a:1:{s:1:"z";b:1;}');
    const rows = sent.map((s) => ({ address: s.address, ...parts(s.bytes) }));
    const base = { address: "127.0.0.1:2900", local: "127.0.0.1:2900", connectionId: 5 };
    expect(rows).toEqual([
      { ...base, cmd: 5, flag: 1, ext: "", body: "m" },
      { ...base, cmd: 5, flag: 3, ext: "", body: "m" },
      { ...base, cmd: 7, flag: 1, ext: "", body: "bye" },
      { ...base, cmd: 8, flag: 1, ext: "", body: "" },
      { ...base, cmd: 12, flag: 1, ext: "u1", body: "" },
      { ...base, cmd: 13, flag: 1, ext: "u1", body: "" },
      { ...base, cmd: 20, flag: 1, ext: "g1", body: "" },
      { ...base, cmd: 21, flag: 1, ext: "g1", body: "" },
      { ...base, cmd: 204, flag: 1, ext: 'a:1:{s:1:"x";i:2;}', body: "" },
      { ...base, cmd: 9, flag: 1, ext: 'a:1:{s:1:"y";i:3;}', body: "" },
      { ...base, cmd: 204, flag: 1, ext: 'a:1:{s:1:"z";b:1;}', body: "" },
    ]);
    expect(hex(sent[0].bytes)).toBe(
      "0000001d" + "05" + "7f000001" + "0b54" + "00000000" + "0000" + "00000005" + "01" + "0000" + "00000000" + "6d",
    );
  });

  it("closeClient without a message sends a serialized null body", async () => {
    const { api, sent } = recordingApi();
    await api.closeClient(A);
    expect(parts(sent[0].bytes)).toMatchObject({ cmd: 7, flag: 0, body: null });
    expect(text(sent[0].bytes.subarray(28))).toBe("N;");
  });

  it("broadcasts go to every gateway with JSON ext data: connections, exclude, uids, groups", async () => {
    const { api, sent } = recordingApi();
    await api.sendToAll("all");
    await api.sendToAll("some", [A, B]);
    await api.sendToAll("but", null, A);
    await api.sendToUid(["u1", 7], "to uids");
    await api.sendToGroup(["g1", "g2"], "to groups", [B]);
    await api.ungroup("g1");
    expect(sent.map((s) => [s.address, parts(s.bytes).cmd, parts(s.bytes).ext, parts(s.bytes).body])).toEqual([
      ["127.0.0.1:2900", 6, "", "all"],
      ["127.0.0.1:2901", 6, "", "all"],
      ["127.0.0.1:2900", 6, '{"connections":{"5":5}}', "some"],
      ["127.0.0.1:2901", 6, '{"connections":{"9":9}}', "some"],
      ["127.0.0.1:2900", 6, '{"exclude":{"5":5}}', "but"],
      ["127.0.0.1:2901", 6, "", "but"],
      ["127.0.0.1:2900", 14, '["u1","7"]', "to uids"],
      ["127.0.0.1:2901", 14, '["u1","7"]', "to uids"],
      ["127.0.0.1:2900", 22, '{"group":["g1","g2"],"exclude":null}', "to groups"],
      ["127.0.0.1:2901", 22, '{"group":["g1","g2"],"exclude":{"9":9}}', "to groups"],
      ["127.0.0.1:2900", 27, "g1", ""],
      ["127.0.0.1:2901", 27, "g1", ""],
    ]);
  });

  it("queries: commands, ext data, and how the answers are read", async () => {
    const answers: Record<number, unknown> = {
      [CMD.IS_ONLINE]: 1,
      [CMD.GET_CLIENT_ID_BY_UID]: [5],
      [CMD.GET_CLIENT_COUNT_BY_GROUP]: 2,
      [CMD.GET_GROUP_ID_LIST]: ["g1"],
      [CMD.GET_ALL_CLIENT_SESSIONS]: { 5: 'a:1:{s:1:"x";i:2;}' },
      [CMD.GET_CLIENT_SESSIONS_BY_GROUP]: { 5: "" },
      [CMD.SELECT]: { 5: { uid: "u1" } },
      [CMD.GET_SESSION_BY_CLIENT_ID]: [],
    };
    const { api, sent } = recordingApi((cmd) => answers[cmd]);
    expect(await api.isOnline(A)).toBe(true);
    expect(await api.getClientIdByUid("u1")).toEqual([A, clientIdEncode("127.0.0.1", 2901, 5)]);
    expect(await api.getClientCountByGroup("g1")).toBe(4);
    expect(await api.getAllClientCount()).toBe(4);
    expect(await api.getAllGroupIdList()).toEqual({ g1: "g1" });
    expect(await api.getAllClientSessions()).toMatchObject({ [A]: { x: 2 } });
    expect(await api.getClientSessionsByGroup("g1")).toMatchObject({ [A]: {} });
    expect(await api.getAllUidList()).toEqual({ u1: "u1" });
    expect(await api.getClientIdListByGroup("g1")).toMatchObject({ [A]: A });
    expect(await api.getSession(A)).toEqual({});
    const table = sent.map((s) => [parts(s.bytes).cmd, parts(s.bytes).ext]);
    expect(table).toEqual([
      [11, ""],
      [15, "u1"],
      [15, "u1"],
      [24, "g1"],
      [24, "g1"],
      [24, ""],
      [24, ""],
      [26, ""],
      [26, ""],
      [10, ""],
      [10, ""],
      [23, "g1"],
      [23, "g1"],
      [25, '{"fields":["uid"],"where":{}}'],
      [25, '{"fields":["uid"],"where":{}}'],
      [25, '{"fields":["uid"],"where":{"groups":["g1"]}}'],
      [25, '{"fields":["uid"],"where":{"groups":["g1"]}}'],
      [203, ""],
    ]);
  });

  it("batch queries (GatewayClient's isUidsOnline, batchGetClientIdByUid, batchGetClientIdCountByGroup)", async () => {
    const answers: Record<number, unknown> = {
      [CMD.BATCH_GET_CLIENT_ID_BY_UID]: { U9: [5] },
      [CMD.BATCH_GET_CLIENT_COUNT_BY_GROUP]: { G9: 1, none: 0 },
    };
    const { api, sent } = recordingApi((cmd) => answers[cmd]);
    expect(await api.isUidsOnline(["U9", "nobody"])).toEqual({ U9: 1, nobody: 0 });
    expect(await api.batchGetClientIdByUid(["U9"])).toEqual({ U9: [A, clientIdEncode("127.0.0.1", 2901, 5)] });
    expect(await api.batchGetClientCountByGroup(["G9", "none"])).toEqual({ G9: 2, none: 0 });
    expect(sent.map((s) => [parts(s.bytes).cmd, parts(s.bytes).ext])).toEqual([
      [16, '["U9","nobody"]'],
      [16, '["U9","nobody"]'],
      [16, '["U9"]'],
      [16, '["U9"]'],
      [28, '["G9","none"]'],
      [28, '["G9","none"]'],
    ]);
  });

  it("sends go out in call order: at once when the addresses are known, else all after one lookup", async () => {
    const sent: number[] = [];
    const known = new GatewayApi({
      addresses: () => ["127.0.0.1:2900"],
      send: (_a, bytes) => (sent.push(bytes[4]), Promise.resolve(true)),
      query: () => Promise.resolve(null),
    });
    void known.sendToClient(A, "1");
    void known.sendToAll("2", [A]);
    void known.setSession(A, { x: 1 });
    void known.closeClient(A);
    expect(sent).toEqual([5, 6, 204, 7]); // before any await
    const { api, sent: later } = recordingApi();
    await Promise.all([
      api.sendToClient(A, "1"),
      api.sendToAll("2", [A]),
      api.setSession(A, { x: 1 }),
      api.closeClient(A),
    ]);
    expect(later.map((s) => s.bytes[4])).toEqual([5, 6, 204, 7]);
  });

  it("a send whose gateways cannot be listed resolves false instead of rejecting", async () => {
    const broken = new GatewayApi({
      addresses: () => Promise.reject(new Error("Can not connect to tcp://127.0.0.1:1")),
      send: () => Promise.resolve(true),
      query: () => Promise.resolve(null),
    });
    expect(await broken.sendToAll("x")).toBe(false);
    expect(await broken.sendToClient(A, "x")).toBe(false);
    await expect(broken.getAllClientCount()).rejects.toThrow(/Can not connect/);
  });

  it("an invalid client_id or one on an unknown gateway sends nothing and answers false / null", async () => {
    const { api, sent } = recordingApi();
    expect(await api.sendToClient("nothex", "x")).toBe(false);
    expect(await api.sendToClient(clientIdEncode("10.0.0.9", 2900, 1), "x")).toBe(false);
    expect(await api.isOnline("7f00000")).toBe(false);
    expect(await api.getSession(clientIdEncode("10.0.0.9", 2900, 1))).toBe(null);
    expect(sent).toEqual([]);
  });
});

describe("GatewayWorker's names", () => {
  // Every public static method of GatewayWorker's src/Lib/Gateway.php (walkor/GatewayWorker),
  // in the file's order, and the batch queries GatewayClient's Gateway.php adds.
  const LIB_GATEWAY = [
    "sendToAll",
    "sendToClient",
    "sendToCurrentClient",
    "isUidOnline",
    "isOnline",
    "getAllClientInfo",
    "getAllClientSessions",
    "getClientInfoByGroup",
    "getClientSessionsByGroup",
    "getAllClientIdCount",
    "getAllClientCount",
    "getClientIdCountByGroup",
    "getClientCountByGroup",
    "getClientIdListByGroup",
    "getAllClientIdList",
    "getClientIdByUid",
    "getUidListByGroup",
    "getUidCountByGroup",
    "getAllUidList",
    "getAllUidCount",
    "getUidByClientId",
    "getAllGroupIdList",
    "getAllGroupUidCount",
    "getAllGroupUidList",
    "getAllGroupClientIdList",
    "getAllGroupClientIdCount",
    "closeClient",
    "closeCurrentClient",
    "destoryClient",
    "destoryCurrentClient",
    "bindUid",
    "unbindUid",
    "joinGroup",
    "leaveGroup",
    "ungroup",
    "sendToUid",
    "sendToGroup",
    "setSocketSession",
    "setSession",
    "updateSession",
    "getSession",
    "setBusinessWorker",
  ];
  const GATEWAY_CLIENT_ONLY = ["isUidsOnline", "batchGetClientIdByUid", "batchGetClientIdCountByGroup"];
  /** Binds `Gateway.*` to a BusinessWorker's connections: nothing a push client has. */
  const BUSINESS_WORKER_ONLY = ["setBusinessWorker"];

  it("every one is a function on Gateway and on a GatewayClient", () => {
    const client = new GatewayClient("127.0.0.1:1236");
    const missing = (target: object, names: string[]) =>
      names.filter((name) => typeof (target as Record<string, unknown>)[name] !== "function");
    expect(missing(Gateway, [...LIB_GATEWAY, ...GATEWAY_CLIENT_ONLY])).toEqual([]);
    expect(missing(client, [...LIB_GATEWAY, ...GATEWAY_CLIENT_ONLY].filter((n) => !BUSINESS_WORKER_ONLY.includes(n))))
      .toEqual([]);
    client.close();
  });

  it("every method of the API is also a static of Gateway", () => {
    const methods = Object.getOwnPropertyNames(GatewayApi.prototype).filter((n) =>
      n !== "constructor" && !n.startsWith("_")
    );
    expect(methods.filter((name) => typeof (Gateway as unknown as Record<string, unknown>)[name] !== "function"))
      .toEqual([]);
  });

  it("the other names send the same commands and give the same answers", async () => {
    const answers: Record<number, unknown> = {
      [CMD.GET_CLIENT_COUNT_BY_GROUP]: 2,
      [CMD.GET_ALL_CLIENT_SESSIONS]: { 5: 'a:1:{s:1:"x";i:2;}' },
      [CMD.GET_CLIENT_SESSIONS_BY_GROUP]: { 5: "" },
      [CMD.BATCH_GET_CLIENT_COUNT_BY_GROUP]: { G9: 1 },
    };
    const { api, sent } = recordingApi((cmd) => answers[cmd]);
    const pairs: [() => Promise<unknown>, () => Promise<unknown>][] = [
      [() => api.getClientIdCountByGroup("g1"), () => api.getClientCountByGroup("g1")],
      [() => api.getAllClientIdCount(), () => api.getAllClientCount()],
      [() => api.getAllClientInfo(), () => api.getAllClientSessions()],
      [() => api.getAllClientInfo("g1"), () => api.getAllClientSessions("g1")],
      [() => api.getClientInfoByGroup("g1"), () => api.getClientSessionsByGroup("g1")],
      [() => api.batchGetClientIdCountByGroup(["G9"]), () => api.batchGetClientCountByGroup(["G9"])],
      [() => api.destoryClient(A), () => api.destroyClient(A)],
    ];
    for (const [name, other] of pairs) {
      const mark = sent.length;
      const result = await name();
      const packets = sent.slice(mark).map((s) => parts(s.bytes));
      expect(await other()).toEqual(result);
      expect(sent.slice(mark + packets.length).map((s) => parts(s.bytes))).toEqual(packets);
      expect(packets.length).toBeGreaterThan(0);
    }
    expect(await api.getAllClientIdCount()).toBe(4);
    expect(() => api.destoryCurrentClient()).toThrow(/destoryCurrentClient can not be called in async context/);
  });
});

describe("the current client", () => {
  it("*CurrentClient calls outside a handler's synchronous part throw, pointing to ctx", () => {
    const { api } = recordingApi();
    expect(() => api.sendToCurrentClient("x")).toThrow(/can not be called in async context.*ctx/);
    expect(() => api.closeCurrentClient()).toThrow(/closeCurrentClient can not be called in async context/);
  });
});

describe("Register lines", () => {
  it("are GatewayWorker's JSON objects, one per line", () => {
    expect(gatewayConnectLine("10.0.0.2:2900", "k")).toBe(
      '{"event":"gateway_connect","address":"10.0.0.2:2900","secret_key":"k"}',
    );
    expect(workerConnectLine("")).toBe('{"event":"worker_connect","secret_key":""}');
    expect(broadcastAddressesLine(["a:1", "b:2", "a:1"])).toBe(
      '{"event":"broadcast_addresses","addresses":["a:1","b:2"]}',
    );
  });

  it("auth packets carry JSON bodies as plain strings", () => {
    const bytes = encodePackage({
      cmd: CMD.WORKER_CONNECT,
      body: JSON.stringify({ worker_key: "Events:0", secret_key: "k" }),
    });
    expect(bytes[4]).toBe(200);
    expect(bytes[21]).toBe(1);
    expect(text(bytes.subarray(28))).toBe('{"worker_key":"Events:0","secret_key":"k"}');
  });
});

describe("client_id", () => {
  it("is bin2hex(pack('NnN', ip, port, connection_id)): the spec's example", () => {
    expect(clientIdEncode("127.0.0.1", 23700, 1)).toBe("7f0000015c9400000001");
    expect(clientIdDecode("7f0000015c9400000001")).toEqual({ ip: "127.0.0.1", port: 23700, connectionId: 1 });
  });

  it("round-trips the extremes and rejects anything but 20 hex characters", () => {
    const id = clientIdEncode("255.255.255.255", 65535, 4294967295);
    expect(id).toBe("ffffffffffffffffffff");
    expect(clientIdDecode(id)).toEqual({ ip: "255.255.255.255", port: 65535, connectionId: 4294967295 });
    expect(clientIdEncode("10.1.2.3", 2900, 0)).toBe("0a0102030b5400000000");
    for (const bad of ["", "7f0000015c940000000", "7f0000015c94000000011", "7f0000015c940000000g"]) {
      expect(clientIdDecode(bad)).toBe(null);
    }
  });
});

describe("sessions", () => {
  it("are PHP-serialized arrays; an empty session is stored as an empty string", () => {
    expect(sessionEncode({ x: 2, y: 3 })).toBe('a:2:{s:1:"x";i:2;s:1:"y";i:3;}');
    expect(sessionEncode({ name: "é", list: [1, "a"], on: true, none: null })).toBe(
      'a:4:{s:4:"name";s:2:"é";s:4:"list";a:2:{i:0;i:1;i:1;s:1:"a";}s:2:"on";b:1;s:4:"none";N;}',
    );
    expect(sessionEncode({})).toBe("");
    expect(sessionEncode(null)).toBe("");
    expect(sessionDecode("")).toBe(null);
    expect(sessionDecode("a:0:{}")).toEqual({});
    expect(sessionDecode('a:2:{s:1:"x";i:2;s:1:"y";d:1.5;}')).toEqual({ x: 2, y: 1.5 });
  });

  it("updateSession merges recursively, as array_replace_recursive", () => {
    expect(mergeSessions({ a: 1, n: { k: 1, l: 2 } }, { b: 2, n: { l: 3 } })).toEqual({
      a: 1,
      b: 2,
      n: { k: 1, l: 3 },
    });
  });
});

describe("Gateway configuration", () => {
  it("refuses HTTP and a lanIp other processes cannot reach, saying what to do", () => {
    expect(() => new Gateway("http://127.0.0.1:0").validate()).toThrow(/HTTP is not supported by a Gateway/);
    const anyIp = new Gateway("text://127.0.0.1:0");
    anyIp.lanIp = "0.0.0.0";
    expect(() => anyIp.validate()).toThrow(/lanIp must be the IPv4 address.*innerTcpWorkerListen/);
    expect(() => new Gateway("text://127.0.0.1:0").validate()).not.toThrow();
  });

  it("a Register runs as one process (its directory is in memory)", () => {
    const register = new Register("text://127.0.0.1:0");
    register.count = 3;
    register.validate();
    expect(register.count).toBe(1);
    expect(register.reloadable).toBe(false);
  });
});

/** What a silent client sees tick by tick from its last message on, until it is destroyed (or `max` ticks). */
function silentTicks(limit: number, hasPingData: boolean, max = 12): string[] {
  const seen: string[] = [];
  let count = -1;
  for (let i = 0; i < max; i++) {
    const tick = heartbeatTick(count, limit, hasPingData);
    seen.push(tick.action);
    if (tick.action === "destroy") break;
    count = tick.count;
  }
  return seen;
}

describe("heartbeat rule", () => {
  it("limit 1: a silent client gets one ping and is destroyed on the 4th half-interval tick, within (1.5, 2] x pingInterval", () => {
    // Ticks every pingInterval/2; the last message came somewhere in the half interval before tick 1.
    expect(silentTicks(1, true)).toEqual(["none", "none", "ping", "destroy"]);
    expect(silentTicks(1, false)).toEqual(["none", "none", "none", "destroy"]);
  });

  it("limit 2: destroyed on the 6th half-interval tick, after two pings", () => {
    expect(silentTicks(2, true)).toEqual(["none", "none", "ping", "none", "ping", "destroy"]);
  });

  it("limit 0: never destroyed; pingData every tick except the first after activity", () => {
    expect(silentTicks(0, true, 5)).toEqual(["none", "ping", "ping", "ping", "ping"]);
    expect(silentTicks(0, false, 5)).toEqual(["none", "none", "none", "none", "none"]);
  });

  it("a client that talks between ticks is never destroyed", () => {
    let count = -1;
    for (let i = 0; i < 20; i++) {
      const tick = heartbeatTick(count, 1, true);
      expect(tick.action).not.toBe("destroy");
      count = i % 2 === 0 ? -1 : tick.count; // a message every second tick
    }
  });
});

describe("routing clients to BusinessWorkers", () => {
  const conn = (props: Record<string, unknown> = {}) => props as unknown as GatewayConnection;

  it("least connections: each new client goes to the worker with the fewest, and stays there", () => {
    const w1 = conn(), w2 = conn();
    const workers = new Map([["127.0.0.1:Events:0", w1], ["127.0.0.1:Events:1", w2]]);
    const clients = [conn(), conn(), conn(), conn()];
    const chosen = clients.map((c) => routerLeastConnections(workers, c, 1, ""));
    expect(chosen).toEqual([w1, w2, w1, w2]);
    expect(routerLeastConnections(workers, clients[0], 3, "again")).toBe(w1);
    expect([w1.gatewayClientCount, w2.gatewayClientCount]).toEqual([2, 2]);
  });

  it("a client whose worker is gone is bound to another; no worker gives null", () => {
    const w1 = conn(), w2 = conn();
    const workers = new Map([["a", w1], ["b", w2]]);
    const client = conn();
    expect(routerLeastConnections(workers, client, 1, "")).toBe(w1);
    workers.delete("a");
    expect(routerLeastConnections(workers, client, 3, "")).toBe(w2);
    expect(client.gatewayWorkerKey).toBe("b");
    workers.clear();
    expect(routerLeastConnections(workers, client, 3, "")).toBe(null);
    expect(routerRandom(workers, conn(), 1, "")).toBe(null);
  });

  it("random: binds once, then keeps the binding", () => {
    const workers = new Map([["a", conn()], ["b", conn()], ["c", conn()]]);
    const client = conn();
    const first = routerRandom(workers, client, 1, "");
    for (let i = 0; i < 10; i++) expect(routerRandom(workers, client, 3, "")).toBe(first);
  });
});
