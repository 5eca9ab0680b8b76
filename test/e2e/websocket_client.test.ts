import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import { TestClient } from "../helpers/client.ts";
import { type RunningServer, RUNTIMES, startServer } from "../helpers/server.ts";

describe.each(RUNTIMES)("ws:// client (AsyncTcpConnection) on %s", (runtime) => {
  let server: RunningServer;
  let wss: WebSocketServer;
  const seenByWs = { protocol: "", extensions: "", bytesRead: 0 };
  beforeAll(async () => {
    server = await startServer(runtime, "ws_client");
    wss = new WebSocketServer({
      host: "127.0.0.1",
      port: 0,
      handleProtocols: (p) => (p.has("chat") ? "chat" : false),
      perMessageDeflate: { threshold: 0 },
    });
    await new Promise((r) => wss.once("listening", r));
    wss.on("connection", (ws) => {
      seenByWs.protocol = ws.protocol;
      seenByWs.extensions = ws.extensions;
      const socket = (ws as unknown as { _socket: import("node:net").Socket })._socket;
      ws.on("message", (data, isBinary) => {
        const b = data as Buffer;
        seenByWs.bytesRead = socket.bytesRead;
        ws.send(isBinary ? b : "echo " + b.toString(), { binary: isBinary });
      });
    });
  });
  afterAll(async () => {
    wss?.close();
    const code = await server?.stop();
    expect(code, server?.output()).toBe(0);
  });

  const expected = (protocol: string, deflate: boolean) => [
    `handshake HTTP/1.1 101 Switching Protocols protocol=${protocol} extensions=${deflate ? "permessage-deflate" : ""}`,
    "text 28 echo queued before handshake",
    "text 70005 echo xxxxxxxxxxxxxxxxxxxxxxxxx",
    "binary 1,2,3,250",
    `wrote ${deflate ? "compressed" : "plain"}; closed after 3 messages`,
  ];

  for (const deflate of [true, false]) {
    const flag = deflate ? "" : " nodeflate";
    it(`talks to our own websocket:// server${flag}: queued send, 70 KB text, binary, close`, async () => {
      const ctl = await TestClient.connect(server.ports[1]);
      ctl.write(`ws://127.0.0.1:${server.ports[0]}/own?x=1${flag}\n`);
      await ctl.untilText("closed after");
      expect(ctl.text.trim().split("\n")).toEqual(expected("", deflate));
      ctl.close();
    });

    it(`talks to the ws library's server${flag}: sub-protocol, masked frames accepted, close 1000`, async () => {
      const port = (wss.address() as { port: number }).port;
      const ctl = await TestClient.connect(server.ports[1]);
      const closed = new Promise<number>((resolve) =>
        wss.once("connection", (ws) => ws.once("close", (code) => resolve(code)))
      );
      ctl.write(`ws://127.0.0.1:${port}/path${flag}\n`);
      await ctl.untilText("closed after");
      expect(ctl.text.trim().split("\n")).toEqual(expected("chat", deflate));
      expect(await closed).toBe(1000);
      expect(seenByWs.protocol).toBe("chat");
      expect(seenByWs.extensions).toBe(deflate ? "permessage-deflate" : "");
      if (deflate) expect(seenByWs.bytesRead).toBeLessThan(10000);
      else expect(seenByWs.bytesRead).toBeGreaterThan(70000);
    });
  }

  for (const target of ["our own server", "the ws library's server"]) {
    const url = () =>
      `ws://127.0.0.1:${target === "our own server" ? server.ports[0] : (wss.address() as { port: number }).port}/`;

    it(`websocketPingInterval sends pings to ${target}; its pongs reach onWebSocketPong`, async () => {
      const ctl = await TestClient.connect(server.ports[1]);
      ctl.write(`${url()} ping\n`);
      await ctl.untilText("pongs 2");
      ctl.close();
    });

    it(`reconnect(delay) handshakes again with ${target}`, async () => {
      const ctl = await TestClient.connect(server.ports[1]);
      ctl.write(`${url()} reconnect\n`);
      await ctl.untilText("message");
      expect(ctl.text.trim().split("\n")).toEqual(["handshake 1", "handshake 2", "message echo after reconnect"]);
      ctl.close();
    });
  }
});
