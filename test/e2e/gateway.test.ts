import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { CMD, encodePackage, encodeReply } from "../../gateway/protocol.ts";
import { clientIdDecode, GatewayClient } from "../../mod.ts";
import { TestClient } from "../helpers/client.ts";
import { GatewayLineClient } from "../helpers/gateway.ts";
import { freePort } from "../helpers/ports.ts";
import { runFixture, type RunningServer, RUNTIMES, startServer } from "../helpers/server.ts";
import { isRunning, until } from "../helpers/wait.ts";

const SECRET = "s3cret";

/** The gateway inner port a client_id names. */
const gatewayOf = (clientId: string) => clientIdDecode(clientId)!.port;

describe.each(RUNTIMES)("Gateway + BusinessWorker + Register on %s", (runtime) => {
  let server: RunningServer;
  let dir: string;
  let env: Record<string, string>;
  let registerAddress: string;
  let secondRegister: string;
  /** Ports of the banner: Register, Register, TextGateway, PingGateway, WsGateway. */
  let textPort: number;
  /** Clients on two different gateway processes (a, b) and a third one (c). */
  let a: GatewayLineClient, b: GatewayLineClient, c: GatewayLineClient;
  const extra: GatewayLineClient[] = [];
  /** Connected to the Register at start and never says anything. */
  let silentAtRegister: TestClient;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "wm-gateway-"));
    const port = await freePort();
    const port2 = await freePort();
    registerAddress = `127.0.0.1:${port}`;
    secondRegister = `127.0.0.1:${port2}`;
    env = { PID_FILE: join(dir, "app.pid"), REGISTER_PORT: String(port), REGISTER_PORT2: String(port2) };
    server = await startServer(runtime, "gateway", ["start"], env);
    textPort = server.ports[2];
    // Clients are dropped while no BusinessWorker is connected: wait for 2 workers x 4 gateway processes.
    await until(
      () => server.output().match(/WORKER CONNECTED TO/g)?.length === 8,
      "the BusinessWorkers to connect",
      20_000,
    );
    silentAtRegister = await TestClient.connect(port);
    a = await GatewayLineClient.connect(textPort);
    // Connect until some client lands on the other gateway process (the kernel picks the process).
    for (let i = 0; i < 40 && !b; i++) {
      const next = await GatewayLineClient.connect(textPort);
      if (gatewayOf(next.clientId) !== gatewayOf(a.clientId)) b = next;
      else extra.push(next);
    }
    expect(b, "no client landed on the second gateway process").toBeDefined();
    c = await GatewayLineClient.connect(textPort);
    for (const e of extra) e.close();
    await until(async () => (await a.call("getAllClientCount")) === 3, "the extra clients to be gone");
  }, 60_000);

  afterAll(async () => {
    for (const client of [a, b, c]) client?.close();
    const code = await server?.stop();
    rmSync(dir, { recursive: true, force: true });
    expect(code, server?.output()).toBe(0);
  });

  it("every client is greeted with a 20-hex client_id naming its gateway's inner address and its connection", () => {
    for (const client of [a, b, c]) {
      expect(client.clientId).toMatch(/^[0-9a-f]{20}$/);
      const decoded = clientIdDecode(client.clientId)!;
      expect(decoded.ip).toBe("127.0.0.1");
      expect(decoded.connectionId).toBeGreaterThan(0);
    }
    expect(new Set([a, b, c].map((x) => x.clientId)).size).toBe(3);
  });

  it("the handler's context has the client's address, the gateway's address and the session set in onConnect", async () => {
    const who = await a.call("whoami") as {
      clientId: string;
      server: Record<string, unknown>;
      session: Record<string, unknown>;
    };
    expect(who.clientId).toBe(a.clientId);
    expect(who.server).toEqual({
      REMOTE_ADDR: "127.0.0.1",
      REMOTE_PORT: a.tc.socket.localPort,
      GATEWAY_ADDR: "127.0.0.1",
      GATEWAY_PORT: textPort,
      GATEWAY_CLIENT_ID: a.clientId,
    });
    expect(who.session).toEqual({ joined: 1 });
  });

  it("sendToClient and sendToCurrentClient reach clients on either gateway process", async () => {
    expect(await a.call("sendToClient", b.clientId, "to b from a")).toBe(true);
    await b.untilLine("to b from a");
    expect(await b.call("sendToCurrentClient", "to myself")).toBe(true);
    await b.untilLine("to myself");
    expect(await a.call("sendToClient", "nothex", "x")).toBe(false);
  });

  it("sendToAll reaches everyone, only the listed client_ids, or everyone but the excluded", async () => {
    expect(await a.call("sendToAll", "all-1")).toBe(true);
    for (const x of [a, b, c]) await x.untilLine("all-1");
    expect(await a.call("sendToAll", "some-2", [b.clientId, c.clientId])).toBe(true);
    await b.untilLine("some-2");
    await c.untilLine("some-2");
    expect(await a.call("sendToAll", "but-3", null, [a.clientId, c.clientId])).toBe(true);
    await b.untilLine("but-3");
    await a.call("sendToCurrentClient", "marker-3");
    await a.untilLine("marker-3");
    expect(a.lines()).not.toContain("some-2");
    expect(a.lines()).not.toContain("but-3");
    expect(c.lines()).not.toContain("but-3");
  });

  it("bindUid, isUidOnline, getClientIdByUid, sendToUid, getAllUidList and unbindUid", async () => {
    await a.call("bindUid", a.clientId, "u1");
    await a.call("bindUid", b.clientId, "u1");
    await a.call("bindUid", c.clientId, "u2");
    expect(await c.call("isUidOnline", "u1")).toBe(true);
    expect(await c.call("isUidOnline", "nobody")).toBe(false);
    expect(((await c.call("getClientIdByUid", "u1")) as string[]).sort()).toEqual([a.clientId, b.clientId].sort());
    expect(await c.call("getUidByClientId", b.clientId)).toBe("u1");
    expect(await c.call("getAllUidList")).toEqual({ u1: "u1", u2: "u2" });
    await c.call("sendToUid", "u1", "for u1");
    await a.untilLine("for u1");
    await b.untilLine("for u1");
    await c.call("sendToUid", ["u2"], "for u2");
    await c.untilLine("for u2");
    expect(c.lines()).not.toContain("for u1");
    // Rebinding moves the client; unbinding removes it.
    await a.call("bindUid", b.clientId, "u2");
    expect(await c.call("getClientIdByUid", "u1")).toEqual([a.clientId]);
    await a.call("unbindUid", a.clientId, "u1");
    expect(await c.call("isUidOnline", "u1")).toBe(false);
    expect(await c.call("getAllUidList")).toEqual({ u2: "u2" });
    await a.call("unbindUid", b.clientId, "u2");
    await a.call("unbindUid", c.clientId, "u2");
  });

  it("joinGroup, group and group-by-uid queries, sendToGroup with exclusions, leaveGroup, getAllGroupIdList and ungroup", async () => {
    await a.call("joinGroup", a.clientId, "g1");
    await a.call("joinGroup", b.clientId, "g1");
    await a.call("joinGroup", c.clientId, "g2");
    expect(await a.call("getClientCountByGroup", "g1")).toBe(2);
    expect(await a.call("getClientIdCountByGroup", "g1")).toBe(2); // GatewayWorker's primary name
    expect(await a.call("getClientIdListByGroup", "g1")).toEqual({
      [a.clientId]: a.clientId,
      [b.clientId]: b.clientId,
    });
    expect(await a.call("getClientSessionsByGroup", "g2")).toEqual({ [c.clientId]: { joined: 1 } });
    expect(await a.call("getClientInfoByGroup", "g2")).toEqual({ [c.clientId]: { joined: 1 } });
    expect(await a.call("getAllGroupIdList")).toEqual({ g1: "g1", g2: "g2" });
    await a.call("bindUid", b.clientId, "ub");
    expect(await a.call("getUidListByGroup", "g1")).toEqual({ ub: "ub" });
    expect(await a.call("getUidCountByGroup", "g1")).toBe(1);
    expect(await a.call("getAllUidCount")).toBe(1);
    expect(await a.call("getAllGroupClientIdList")).toEqual({
      g1: { [a.clientId]: a.clientId, [b.clientId]: b.clientId },
      g2: { [c.clientId]: c.clientId },
    });
    expect(await a.call("getAllGroupClientIdCount")).toEqual({ g1: 2, g2: 1 });
    expect(await a.call("getAllGroupUidList")).toEqual({ g1: { ub: "ub" } });
    expect(await a.call("getAllGroupUidCount")).toEqual({ g1: 1 });
    await a.call("unbindUid", b.clientId, "ub");
    await c.call("sendToGroup", "g1", "g1 news", b.clientId);
    await a.untilLine("g1 news");
    await c.call("sendToGroup", ["g1", "g2"], "g1+g2 news");
    for (const x of [a, b, c]) await x.untilLine("g1+g2 news");
    await b.call("sendToCurrentClient", "marker-g");
    await b.untilLine("marker-g");
    expect(b.lines()).not.toContain("g1 news");
    expect(await c.call("sendToGroup", "", "nobody")).toBe(false);
    await a.call("leaveGroup", a.clientId, "g1");
    expect(await a.call("getClientIdListByGroup", "g1")).toEqual({ [b.clientId]: b.clientId });
    await a.call("ungroup", "g1");
    expect(await a.call("getClientCountByGroup", "g1")).toBe(0);
    expect(await a.call("getAllGroupIdList")).toEqual({ g2: "g2" });
    await a.call("ungroup", "g2");
  });

  it("a query from a handler sees the commands the same process sent before it (program order)", async () => {
    // Commands are fire-and-forget and queries wait for an answer: both must reach the gateway
    // in the order the handler made them, for a client of its own gateway and of the other one.
    expect(await a.call("programOrder", a.clientId, 100)).toEqual([]);
    expect(await a.call("programOrder", b.clientId, 100)).toEqual([]);
    expect(await a.call("getAllGroupIdList")).toEqual({});
  });

  it("sessions: ctx.session changes are written back (also after an await); setSession, updateSession, getSession", async () => {
    // The client's next event carries the written-back session; other processes see it once
    // the gateway has applied the write, which follows the handler's reply.
    const sessionOfA = (expected: unknown) =>
      until(
        async () => JSON.stringify(await b.call("getSession", a.clientId)) === JSON.stringify(expected),
        JSON.stringify(expected),
      );
    await a.call("setLocal", { x: 1 });
    expect(((await a.call("whoami")) as { session: unknown }).session).toEqual({ joined: 1, x: 1 });
    await sessionOfA({ joined: 1, x: 1 });
    await a.call("setLocalLater", { later: "yes" });
    expect(((await a.call("whoami")) as { session: unknown }).session).toEqual({ joined: 1, x: 1, later: "yes" });
    await sessionOfA({ joined: 1, x: 1, later: "yes" });
    await b.call("setSession", a.clientId, { x: 2 });
    await b.call("updateSession", a.clientId, { y: 3, nested: { k: 1 } });
    await b.call("updateSession", a.clientId, { nested: { j: 2 } });
    expect(await b.call("getSession", a.clientId)).toEqual({ x: 2, y: 3, nested: { k: 1, j: 2 } });
    expect(((await a.call("whoami")) as { session: unknown }).session).toEqual({ x: 2, y: 3, nested: { k: 1, j: 2 } });
    const all = await b.call("getAllClientSessions") as Record<string, unknown>;
    expect(Object.keys(all).sort()).toEqual([a.clientId, b.clientId, c.clientId].sort());
    expect(all[a.clientId]).toEqual({ x: 2, y: 3, nested: { k: 1, j: 2 } });
    expect(await b.call("getAllClientInfo")).toEqual(all);
    expect(await b.call("getAllClientCount")).toBe(3);
    expect(await b.call("getAllClientIdCount")).toBe(3);
    expect(Object.keys(await b.call("getAllClientIdList") as object).sort()).toEqual(
      [a.clientId, b.clientId, c.clientId].sort(),
    );
  });

  it("isOnline; closeClient sends a last message then closes; closeCurrentClient; destroyClient; onClose runs", async () => {
    const watcher = c;
    await watcher.call("joinGroup", watcher.clientId, "watchers");
    const d = await GatewayLineClient.connect(textPort);
    const e = await GatewayLineClient.connect(textPort);
    const f = await GatewayLineClient.connect(textPort);
    const g = await GatewayLineClient.connect(textPort);
    expect(await watcher.call("isOnline", d.clientId)).toBe(true);
    await watcher.call("joinGroup", d.clientId, "only-d");
    await watcher.call("bindUid", d.clientId, "uid-d");
    expect(await watcher.call("closeClient", d.clientId, "bye")).toBe(true);
    await d.tc.untilClosed();
    expect(d.lines()).toContain("bye");
    await watcher.untilLine(`left ${d.clientId}`);
    expect(await watcher.call("isOnline", d.clientId)).toBe(false);
    // A client that leaves takes its uid binding and its groups with it.
    expect(await watcher.call("getAllGroupIdList")).toEqual({ watchers: "watchers" });
    expect(await watcher.call("isUidOnline", "uid-d")).toBe(false);
    e.tc.write(JSON.stringify({ id: 1, fn: "closeCurrentClient", args: ["see you"] }) + "\n");
    await e.tc.untilClosed();
    expect(e.lines()).toContain("see you");
    await watcher.call("destroyClient", f.clientId);
    await f.tc.untilClosed();
    await watcher.untilLine(`left ${f.clientId}`);
    expect(await watcher.call("destoryClient", g.clientId)).toBe(true); // GatewayWorker's spelling
    await g.tc.untilClosed();
    await watcher.untilLine(`left ${g.clientId}`);
    expect(await watcher.call("getAllClientCount")).toBe(3);
    await watcher.call("leaveGroup", watcher.clientId, "watchers");
  });

  it("a websocket gateway forwards onWebSocketConnect with the handshake's query and headers", async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.ports[4]}/chat?name=ann`);
    const messages: string[] = [];
    ws.on("message", (data) => messages.push(String(data)));
    const closed = new Promise((resolve) => ws.once("close", resolve));
    try {
      await until(() => messages.some((m) => m.startsWith("ws ")), "the websocket greeting");
      expect(messages).toContain("ws ann /chat?name=ann true");
      const id = messages.find((m) => m.startsWith("hello "))!.slice(6);
      ws.send(JSON.stringify({ id: 1, fn: "whoami" }));
      await until(() => messages.some((m) => m.startsWith('{"id":1')), "the whoami answer");
      const who = JSON.parse(messages.find((m) => m.startsWith('{"id":1'))!).result;
      expect(who.clientId).toBe(id);
      expect(who.session).toEqual({ joined: 1, name: "ann" });
    } finally {
      ws.close();
      await closed;
    }
  });

  it("websocket frames keep their type both ways: binary (even valid UTF-8) as bytes, text as strings", async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.ports[4]}/`);
    const got: { text: string; binary: boolean }[] = [];
    ws.on("message", (data, isBinary) => got.push({ text: String(data), binary: isBinary }));
    const closed = new Promise((resolve) => ws.once("close", resolve));
    try {
      await until(() => got.some((m) => m.text.startsWith("hello ")), "the greeting");
      ws.send(Buffer.from("héllo"), { binary: true });
      ws.send("héllo");
      await until(() => got.some((m) => m.text === "echo héllo"), "the echo of the text frame");
      expect(got.filter((m) => !/^(hello|ws) /.test(m.text))).toEqual([
        { text: "binary 6", binary: false }, // the handler got a Uint8Array
        { text: "héllo", binary: true }, // and the bytes it sent back went out as a binary frame
        { text: "echo héllo", binary: false }, // the text frame reached it as a string
      ]);
    } finally {
      ws.close();
      await closed;
    }
  });

  it("GatewayClient pushes into the cluster from another program and queries it", async () => {
    const push = new GatewayClient(registerAddress, { secretKey: SECRET });
    try {
      await until(async () => (await push.getAllClientCount()) === 3, "3 clients (the websocket one gone)");
      expect(await push.isOnline(a.clientId)).toBe(true);
      expect(await push.sendToClient(a.clientId, "pushed to a")).toBe(true);
      await a.untilLine("pushed to a");
      expect(await push.sendToAll("pushed to all")).toBe(true);
      for (const x of [a, b, c]) await x.untilLine("pushed to all");
      await push.bindUid(b.clientId, "pushed-uid");
      await push.joinGroup(c.clientId, "pushed-group");
      expect(await push.getClientIdByUid("pushed-uid")).toEqual([b.clientId]);
      expect(await push.isUidsOnline(["pushed-uid", "nobody"])).toEqual({ "pushed-uid": 1, nobody: 0 });
      expect(await push.batchGetClientIdByUid(["pushed-uid"])).toEqual({ "pushed-uid": [b.clientId] });
      expect(await push.batchGetClientCountByGroup(["pushed-group", "none"])).toEqual({ "pushed-group": 1, none: 0 });
      expect(await push.batchGetClientIdCountByGroup(["pushed-group", "none"])).toEqual({ "pushed-group": 1, none: 0 });
      expect(await push.getClientIdCountByGroup("pushed-group")).toBe(1);
      expect(await push.getAllClientIdCount()).toBe(3);
      expect(Object.keys(await push.getClientInfoByGroup("pushed-group"))).toEqual([c.clientId]);
      const sessions = await push.getAllClientInfo();
      expect(Object.keys(sessions).sort()).toEqual([a.clientId, b.clientId, c.clientId].sort());
      expect(sessions).toEqual(await push.getAllClientSessions());
      await push.sendToUid("pushed-uid", "to the uid");
      await b.untilLine("to the uid");
      await push.sendToGroup("pushed-group", "to the group");
      await c.untilLine("to the group");
      await push.setSession(c.clientId, { from: "push" });
      expect(await push.getSession(c.clientId)).toEqual({ from: "push" });
      expect(await push.getSession("0123456789abcdef0123")).toBe(null);
      await push.unbindUid(b.clientId, "pushed-uid");
      await push.ungroup("pushed-group");
    } finally {
      push.close();
    }
    const wrongKey = new GatewayClient(registerAddress, { secretKey: "wrong" });
    await expect(wrongKey.getAllClientCount()).rejects.toThrow(/Register|connection close/);
    wrongKey.close();
  });

  it("the inner port closes unauthenticated and malformed connections and answers an unknown command", async () => {
    const inner = gatewayOf(a.clientId);
    const auth = encodePackage({ cmd: CMD.GATEWAY_CLIENT_CONNECT, body: JSON.stringify({ secret_key: SECRET }) });
    const unauthorized = await TestClient.connect(inner);
    unauthorized.write(encodePackage({ cmd: CMD.SEND_TO_ALL, body: "should not arrive" }));
    await unauthorized.untilClosed();
    const wrongKey = await TestClient.connect(inner);
    wrongKey.write(encodePackage({ cmd: CMD.GATEWAY_CLIENT_CONNECT, body: JSON.stringify({ secret_key: "nope" }) }));
    await wrongKey.untilClosed();
    const garbage = await TestClient.connect(inner);
    garbage.write(Buffer.concat([auth, Buffer.alloc(28, 0)]));
    await garbage.untilClosed();
    const unknown = await TestClient.connect(inner);
    unknown.write(Buffer.concat([auth, encodePackage({ cmd: 99 })]));
    const expected = encodeReply("gateway inner pack err cmd=99");
    await unknown.untilBytes(expected.length);
    expect(unknown.received.equals(Buffer.from(expected))).toBe(true);
    unknown.close();
    await a.call("sendToCurrentClient", "marker-inner");
    await a.untilLine("marker-inner");
    expect(a.lines()).not.toContain("should not arrive");
  });

  it("a separate program on this runtime pushes with GatewayClient and exits on its own after close()", async () => {
    const push = runFixture(runtime, "gateway_push", [registerAddress, SECRET, c.clientId, "from another program"]);
    expect(await push.exited, push.output()).toBe(0);
    expect(push.output()).toMatch(/PUSHED sent=true online=true count=3/);
    await c.untilLine("from another program");
  });

  it("with two Registers, each lists every gateway process and a push client uses the first that answers", async () => {
    const listed = async (address: string) => {
      const [host, port] = address.split(":");
      const c = await TestClient.connect(Number(port), host);
      c.write(`{"event":"worker_connect","secret_key":"${SECRET}"}\n`);
      await c.untilText("\n");
      c.close();
      return (JSON.parse(c.text).addresses as string[]).sort();
    };
    // A gateway whose first attempt found a Register not yet serving retries 1 s later.
    const complete = async (address: string) => (await listed(address)).length === 4; // TextGateway x2, PingGateway, WsGateway
    await until(() => complete(registerAddress), "the first Register to list 4 gateways");
    await until(() => complete(secondRegister), "the second Register to list 4 gateways");
    expect(await listed(secondRegister)).toEqual(await listed(registerAddress));
    const deadRegister = `127.0.0.1:${await freePort()}`;
    const push = new GatewayClient([deadRegister, secondRegister], { secretKey: SECRET });
    try {
      expect(await push.isOnline(a.clientId)).toBe(true);
    } finally {
      push.close();
    }
  });

  it("the Register refuses a wrong key and a bad request, saying why", async () => {
    const [host, port] = registerAddress.split(":");
    const wrong = await TestClient.connect(Number(port), host);
    wrong.write('{"event":"worker_connect","secret_key":"nope"}\n');
    await wrong.untilClosed();
    expect(wrong.text).toMatch(/Key does not match/);
    const bad = await TestClient.connect(Number(port), host);
    bad.write("not json\n");
    await bad.untilClosed();
    expect(bad.text).toMatch(/Bad request for Register service/);
    // A gateway address the BusinessWorkers could not connect to is refused, and never listed.
    const badAddress = await TestClient.connect(Number(port), host);
    badAddress.write(`{"event":"gateway_connect","address":"nowhere","secret_key":"${SECRET}"}\n`);
    await badAddress.untilClosed();
    expect(badAddress.text).toMatch(/Register: bad address "nowhere"/);
    const worker = await TestClient.connect(Number(port), host);
    worker.write(`{"event":"worker_connect","secret_key":"${SECRET}"}\n`);
    await until(() => worker.text.includes("\n"), "the address list");
    const listed: string[] = JSON.parse(worker.text).addresses;
    expect(listed.length).toBeGreaterThan(0);
    expect(listed).not.toContain("nowhere");
    worker.close();
  });

  it("the heartbeat drops a silent client and keeps one that keeps talking", async () => {
    const pingPort = server.ports[3];
    const silent = await GatewayLineClient.connect(pingPort);
    const talker = await GatewayLineClient.connect(pingPort);
    const talking = setInterval(() => talker.tc.write("chat\n"), 300);
    try {
      await silent.tc.untilClosed(8_000);
      expect(silent.lines()).toContain("ping");
      // The talker has been connected at least as long and is still served.
      expect(talker.closed).toBe(false);
      await talker.untilLine("echo chat");
      expect(await talker.call("isOnline", talker.clientId)).toBe(true);
    } finally {
      clearInterval(talking);
      talker.close();
    }
  });

  it("the Register closes a connection that does not authenticate within 10 s", async () => {
    await silentAtRegister.untilClosed(15_000);
    expect(server.output()).toMatch(/Register auth timeout \(127\.0\.0\.1\)/);
  }, 20_000);

  it("BusinessWorkers follow the Register: a gateway process that dies is dropped, its replacement joined", async () => {
    const started = /GATEWAY STARTED PingGateway:0 pid=(\d+) inner=(\d+)/;
    const [, pid, inner] = server.output().match(started)!;
    const mark = server.output().length;
    process.kill(Number(pid), "SIGKILL");
    await until(() => started.test(server.output().slice(mark)), "the replacement gateway", 20_000);
    await until(
      () => server.output().slice(mark).match(/WORKER CONNECTED TO PingGateway/g)?.length === 2,
      "both workers to join it",
      20_000,
    );
    const [, , newInner] = server.output().slice(mark).match(started)!;
    expect(newInner).not.toBe(inner);
    const fresh = await GatewayLineClient.connect(server.ports[3]);
    expect(gatewayOf(fresh.clientId)).toBe(Number(newInner));
    // Queries go to every listed gateway: they succeed only if the dead one left the list.
    await until(async () => (await a.call("getAllClientCount")) === 4, "4 clients counted");
    expect(await fresh.call("sendToClient", a.clientId, "from the new gateway")).toBe(true);
    await a.untilLine("from the new gateway");
    fresh.close();
  });

  it("a BusinessWorker killed with SIGKILL: its clients stay connected and are served by another", async () => {
    const before = (await a.call("whoami") as { pid: number }).pid;
    const mark = server.output().length;
    process.kill(before, "SIGKILL");
    await until(() => !isRunning(before), "the worker to die");
    await until(() => /EVENTS STARTED/.test(server.output().slice(mark)), "the replacement worker", 20_000);
    const after = (await a.call("whoami") as { pid: number; session: unknown }).pid;
    expect(after).not.toBe(before);
    expect(a.closed).toBe(false);
  });

  it("reload replaces the BusinessWorkers while the clients stay connected, with their sessions", async () => {
    await a.call("setLocal", { kept: "through reload" });
    await until(
      async () => ((await b.call("getSession", a.clientId)) as { kept?: string }).kept === "through reload",
      "the session write",
    );
    const before = new Set([...server.output().matchAll(/EVENTS STARTED id=\d pid=(\d+)/g)].map((m) => Number(m[1])));
    const mark = server.output().length;
    const reload = runFixture(runtime, "gateway", ["reload"], env);
    expect(await reload.exited).toBe(0);
    await server.waitForOutput(/reload done/, 30_000);
    expect(server.output().slice(mark)).toMatch(/EVENTS STOPPED id=0/);
    expect(server.output().slice(mark)).toMatch(/EVENTS STOPPED id=1/);
    expect(server.output().slice(mark)).toMatch(/EVENTS STARTED id=1/);
    for (const x of [a, b, c]) expect(x.closed).toBe(false);
    const who = await a.call("whoami") as { pid: number; session: Record<string, unknown> };
    expect(before.has(who.pid)).toBe(false);
    expect(who.session.kept).toBe("through reload");
    await b.call("sendToClient", a.clientId, "after reload");
    await a.untilLine("after reload");
  });
});
