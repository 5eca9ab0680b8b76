import { readFileSync } from "node:fs";
import { createServer as createHttpsServer, type Server } from "node:https";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import { makeTestCerts, type TestCerts } from "../fixtures/http_certs.ts";
import { TestClient } from "../helpers/client.ts";
import { type RunningServer, RUNTIMES, startServer } from "../helpers/server.ts";

let certs: TestCerts;
beforeAll(() => {
  certs = makeTestCerts();
});

describe.each(RUNTIMES)("wss on %s", (runtime) => {
  let server: RunningServer;
  let https: Server;
  let httpsPort = 0;
  beforeAll(async () => {
    server = await startServer(runtime, "ws_tls", ["start"], {
      TLS_CERT: certs.cert,
      TLS_KEY: certs.key,
      TLS_CA: certs.ca,
    });
    // an independent wss server: the ws library on Node's https
    https = createHttpsServer({ cert: readFileSync(certs.cert), key: readFileSync(certs.key) });
    new WebSocketServer({ server: https }).on("connection", (ws) => {
      ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
    });
    await new Promise<void>((resolve) => https.listen(0, "127.0.0.1", resolve));
    httpsPort = (https.address() as { port: number }).port;
  });
  afterAll(async () => {
    https?.close();
    const code = await server?.stop();
    expect(code, server?.output()).toBe(0);
  });

  it("websocket:// with transport ssl serves the ws client over wss (70 KB text, binary, deflate, close 1000)", async () => {
    const ws = new WebSocket(`wss://localhost:${server.ports[0]}/`, { ca: readFileSync(certs.ca) });
    await new Promise((resolve, reject) => {
      ws.once("open", resolve);
      ws.once("error", reject);
    });
    expect(ws.extensions).toBe("permessage-deflate");
    const next = () =>
      new Promise<{ data: Buffer; isBinary: boolean }>((r) =>
        ws.once("message", (data, isBinary) => r({ data: data as Buffer, isBinary }))
      );
    let reply = next();
    ws.send("z".repeat(70000));
    expect(String((await reply).data)).toBe("z".repeat(70000));
    reply = next();
    ws.send(Buffer.from([1, 2, 3]));
    const bin = await reply;
    expect([bin.isBinary, [...bin.data]]).toEqual([true, [1, 2, 3]]);
    const closed = new Promise<number>((r) => ws.once("close", (code) => r(code)));
    ws.close(1000);
    expect(await closed).toBe(1000);
  });

  for (const target of ["our wss server", "the ws library's wss server"]) {
    it(`wss:// client (AsyncTcpConnection) talks to ${target}`, async () => {
      const port = target === "our wss server" ? server.ports[0] : httpsPort;
      const ctl = await TestClient.connect(server.ports[1]);
      ctl.write(`wss://localhost:${port}/chat\n`);
      await ctl.untilText("\n");
      expect(ctl.text.trim()).toBe("open:ssl|text:70000|binary:9,8,7");
      ctl.close();
    });
  }
});
