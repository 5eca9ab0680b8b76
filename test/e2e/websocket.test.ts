import { spawn } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { TestClient } from "../helpers/client.ts";
import { nodeBinary, ROOT, type RunningServer, RUNTIMES, startServer } from "../helpers/server.ts";
import {
  binary,
  closePayload,
  cont,
  frame,
  headEnd,
  parseFrames,
  text,
  WS_ACCEPT,
  wsRequest,
} from "../helpers/ws_frames.ts";

const cat = (...parts: Uint8Array[]) => Buffer.concat(parts);

/** Open a `ws` client; resolves once open. */
function open(url: string, protocols?: string[]): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols);
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}

function nextMessage(ws: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> {
  return new Promise((resolve) => ws.once("message", (data, isBinary) => resolve({ data: data as Buffer, isBinary })));
}

const BIN = join(ROOT, "node_modules", ".bin");
const BUILTIN_CLIENTS: Record<string, [string, string[]]> = {
  "Node 20": [process.execPath, ["--experimental-websocket", "--no-warnings", "--input-type=module", "-e"]],
  "Node 24": [nodeBinary("node24")!, ["--input-type=module", "-e"]],
  "Node 26": [nodeBinary("node26")!, ["--input-type=module", "-e"]],
  Deno: [join(BIN, "deno"), ["eval"]],
  Bun: [join(BIN, "bun"), ["-e"]],
};

/** Run `script` with a runtime's built-in WebSocket (`globalThis.WebSocket`) and return its output. */
function builtin(client: string, script: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const [cmd, args] = BUILTIN_CLIENTS[client];
    const p = spawn(cmd, [...args, script]);
    let out = "";
    p.stdout.on("data", (c) => out += c);
    p.stderr.on("data", (c) => out += c);
    const timer = setTimeout(() => p.kill(), 15_000);
    p.on("exit", (code) => {
      clearTimeout(timer);
      code === 0 ? resolve(out) : reject(new Error(`exit ${code}: ${out}`));
    });
  });
}

describe.each(RUNTIMES)("websocket:// on %s", (runtime) => {
  let server: RunningServer;
  let hello: string;
  let echo: string;
  beforeAll(async () => {
    server = await startServer(runtime, "ws");
    hello = `ws://127.0.0.1:${server.ports[0]}`;
    echo = `ws://127.0.0.1:${server.ports[1]}`;
  });
  afterAll(async () => {
    const code = await server?.stop();
    expect(code, server?.output()).toBe(0);
  });

  /** The server still serves a new client. */
  async function stillServes(): Promise<void> {
    const ws = await open(hello);
    const reply = nextMessage(ws);
    ws.send("again");
    expect(String((await reply).data)).toBe("hello again");
    ws.close();
  }

  it("the banner lists the websocket workers", () => {
    expect(server.output()).toMatch(/WsHello\s+websocket:\/\/127\.0\.0\.1:\d+/);
    expect(server.output()).toMatch(/WsEcho\s+websocket:\/\/127\.0\.0\.1:\d+/i);
  });

  it("the manual's example answers 'hello ' + data to the ws client", async () => {
    const ws = await open(hello);
    const reply = nextMessage(ws);
    ws.send("world");
    const { data, isBinary } = await reply;
    expect(isBinary).toBe(false);
    expect(String(data)).toBe("hello world");
    ws.close();
  });

  it.each(Object.keys(BUILTIN_CLIENTS))("the manual's example answers %s's built-in WebSocket", async (client) => {
    const out = await builtin(
      client,
      `
      const ws = new WebSocket(${JSON.stringify(hello)});
      ws.onopen = () => ws.send("builtin");
      ws.onmessage = (e) => { console.log("got:" + e.data); ws.close(1000); };
      ws.onclose = (e) => { console.log("closed:" + e.code); };
      ws.onerror = (e) => { console.log("error:" + e.message); process.exit(1); };
    `,
    );
    expect(out).toContain("got:hello builtin");
    expect(out).toContain("closed:1000");
  });

  it("70 KB text and binary messages echo intact, as text and binary", async () => {
    const ws = await open(echo);
    const big = "€ab".repeat(24000); // 120 KB of UTF-8, 72000 characters
    let reply = nextMessage(ws);
    ws.send(big);
    let got = await reply;
    expect(got.isBinary).toBe(false);
    expect(String(got.data)).toBe(big);
    const bytes = Buffer.alloc(70000).map((_, i) => (i * 13) & 255);
    reply = nextMessage(ws);
    ws.send(bytes);
    got = await reply;
    expect(got.isBinary).toBe(true);
    expect(Buffer.compare(got.data, bytes)).toBe(0);
    ws.close();
  });

  it("close 1000 round trip: the server echoes the code and closes", async () => {
    const ws = await open(echo);
    const closed = new Promise<number>((resolve) => ws.once("close", (code) => resolve(code)));
    ws.close(1000, "done");
    expect(await closed).toBe(1000);
  });

  it("onWebSocketConnect picks the sub-protocol, adds headers, or rejects", async () => {
    const ws = new WebSocket(echo + "/room", ["superchat", "chat"]);
    let headers: Record<string, string | string[] | undefined> = {};
    ws.once("upgrade", (res) => headers = res.headers);
    await new Promise((resolve, reject) => {
      ws.once("open", resolve);
      ws.once("error", reject);
    });
    expect(ws.protocol).toBe("chat");
    expect(headers["x-echo"]).toBe("yes");
    ws.close();
    const rejected = new WebSocket(echo + "/reject");
    const err = await new Promise<Error>((resolve) => rejected.once("error", resolve));
    expect(err.message).toMatch(/socket hang up|Unexpected server response|closed/i);
    await stillServes();
  });

  it("permessage-deflate with the ws client: negotiated, 70 KB text and binary echo compressed both ways", async () => {
    const ws = new WebSocket(echo, { perMessageDeflate: { threshold: 0 } });
    await new Promise((resolve, reject) => {
      ws.once("open", resolve);
      ws.once("error", reject);
    });
    expect(ws.extensions).toBe("permessage-deflate");
    const socket = (ws as unknown as { _socket: import("node:net").Socket })._socket;
    const big = "compressible ".repeat(6000); // 78 KB
    for (let round = 0; round < 3; round++) { // context takeover across messages
      const reply = nextMessage(ws);
      ws.send(big);
      expect(String((await reply).data)).toBe(big);
    }
    const bytes = Buffer.alloc(70000).map((_, i) => i % 7);
    const reply = nextMessage(ws);
    ws.send(bytes);
    const got = await reply;
    expect(got.isBinary).toBe(true);
    expect(Buffer.compare(got.data, bytes)).toBe(0);
    expect(socket.bytesRead).toBeLessThan(20000); // 300 KB arrived compressed
    expect(socket.bytesWritten).toBeLessThan(20000);
    ws.close();
  });

  it("permessage-deflate: a zip bomb closes with 1009 and the worker still serves", async () => {
    const ws = await open(echo);
    expect(ws.extensions).toBe("permessage-deflate");
    const closed = new Promise<number>((resolve) => ws.once("close", (code) => resolve(code)));
    ws.send(Buffer.alloc(11 * 1024 * 1024)); // 11 MiB of zeros, about 11 KB compressed
    expect(await closed).toBe(1009);
    await stillServes();
  });

  it("permessage-deflate off on a worker (websocketDeflate = false): not negotiated, messages still echo", async () => {
    const ws = await open(`ws://127.0.0.1:${server.ports[2]}`);
    expect(ws.extensions).toBe("");
    const reply = nextMessage(ws);
    ws.send("x".repeat(5000));
    expect(String((await reply).data)).toBe("x".repeat(5000));
    ws.close();
  });

  const failures: [string, Uint8Array, number][] = [
    ["unmasked frame", frame(0x81, "hi", false), 1002],
    ["bad opcode", frame(0x83, "hi"), 1002],
    ["fragmented control frame", frame(0x09, "hi"), 1002],
    ["oversized control frame", frame(0x89, "p".repeat(126)), 1002],
    ["invalid UTF-8", frame(0x81, new Uint8Array([0xc3, 0x28])), 1007],
    ["bad close code", frame(0x88, closePayload(1005)), 1002],
    ["message over maxPayload", new Uint8Array([0x82, 0xff, 0, 0, 0, 0, 0, 0xa0, 0, 1]), 1009],
  ];
  for (const [what, bytes, code] of failures) {
    it(`raw socket: ${what} → close ${code}, and the worker still serves`, async () => {
      const c = await TestClient.connect(server.ports[1]);
      c.write(cat(Buffer.from(wsRequest()), bytes));
      await c.untilClosed();
      const body = new Uint8Array(c.received.subarray(headEnd(c.received)));
      const frames = parseFrames(body).frames;
      expect(c.text).toContain(`Sec-WebSocket-Accept: ${WS_ACCEPT}`);
      expect(frames.length).toBe(1);
      expect(frames[0].opcode).toBe(8);
      expect((frames[0].payload[0] << 8) | frames[0].payload[1]).toBe(code);
      await stillServes();
    });
  }

  it("raw socket: fragments and a ping between them are reassembled into one message", async () => {
    const c = await TestClient.connect(server.ports[1]);
    c.write(cat(Buffer.from(wsRequest()), text("hel", false), frame(0x89, "p"), cont("lo")));
    await c.until(
      (cl) => parseFrames(new Uint8Array(cl.received.subarray(headEnd(cl.received)))).frames.length >= 2,
      "pong and echo",
    );
    const frames = parseFrames(new Uint8Array(c.received.subarray(headEnd(c.received)))).frames;
    expect(frames.map((f) => [f.opcode, Buffer.from(f.payload).toString()])).toEqual([[10, "p"], [1, "hello"]]);
    c.write(binary(new Uint8Array([1, 2, 3])));
    await c.until(
      (cl) => parseFrames(new Uint8Array(cl.received.subarray(headEnd(cl.received)))).frames.length >= 3,
      "binary echo",
    );
    c.close();
  });

  for (
    const [what, req, status, reason] of [
      [
        "no Upgrade header",
        wsRequest({ Upgrade: null }),
        "400",
        "Bad Request: missing Upgrade: websocket (ERR_WS_UPGRADE)",
      ],
      [
        "no Sec-WebSocket-Key",
        wsRequest({ "Sec-WebSocket-Key": null }),
        "400",
        "Bad Request: missing Sec-WebSocket-Key (ERR_WS_MISSING_KEY)",
      ],
      [
        "a POST",
        wsRequest().replace("GET", "POST"),
        "400",
        "Bad Request: a WebSocket handshake is a GET request (ERR_WS_METHOD)",
      ],
      [
        "wrong version",
        wsRequest({ "Sec-WebSocket-Version": "8" }),
        "426",
        "Upgrade Required: only Sec-WebSocket-Version 13 is served (ERR_WS_VERSION)",
      ],
    ] as const
  ) {
    it(`raw socket: a handshake with ${what} → ${status} whose body names the reason and its code, a log line, and the worker still serves`, async () => {
      const c = await TestClient.connect(server.ports[1]);
      c.write(req);
      await c.untilClosed();
      expect(c.text).toMatch(new RegExp(`^HTTP/1.1 ${status} `));
      expect(c.text.slice(headEnd(c.received))).toBe(`${reason}\n`);
      if (status === "426") expect(c.text).toContain("Sec-WebSocket-Version: 13\r\n");
      const code = /\((ERR_WS_\w+)\)/.exec(reason)![1];
      await server.waitForOutput(
        new RegExp(`WebSocket handshake refused with ${status} ${code} .*from 127\\.0\\.0\\.1:\\d+`),
      );
      await stillServes();
    });
  }
});
