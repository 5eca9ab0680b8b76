import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { TcpConnection, Websocket, Worker, WsClient } from "../../mod.ts";
import { buildFrame, unmask } from "../../protocols/websocket/frame.ts";
import { base64, sha1 } from "../../protocols/websocket/sha1.ts";
import { FakeConn, type TestConnection } from "../helpers/fake_conn.ts";
import {
  acceptFor,
  binary,
  cat,
  closePayload,
  cont,
  frame,
  headEnd,
  parseFrames,
  text,
  WS_ACCEPT,
  wsRequest,
} from "../helpers/ws_frames.ts";
import { wsServer } from "../helpers/ws_server.ts";

const enc = (s: string) => new TextEncoder().encode(s);

function feed(conn: TestConnection, bytes: Uint8Array, cut: number): void {
  if (cut === -2) conn.handleData(bytes.slice());
  else if (cut === -1) { for (let i = 0; i < bytes.length; i++) conn.handleData(bytes.slice(i, i + 1)); }
  else {
    conn.handleData(bytes.slice(0, cut));
    conn.handleData(bytes.slice(cut));
  }
}

describe("sha1 and base64", () => {
  it("match node:crypto for the RFC 6455 key and every length up to 300", () => {
    expect(base64(sha1(enc("dGhlIHNhbXBsZSBub25jZQ==258EAFA5-E914-47DA-95CA-C5AB0DC85B11")))).toBe(WS_ACCEPT);
    for (let n = 0; n <= 300; n++) {
      const data = new Uint8Array(n).map((_, i) => (i * 31 + n) & 255);
      expect(base64(sha1(data)), `length ${n}`).toBe(createHash("sha1").update(data).digest("base64"));
      expect(base64(data.subarray(0, n % 40))).toBe(Buffer.from(data.subarray(0, n % 40)).toString("base64"));
    }
  });
});

describe("websocket:// server protocol", () => {
  const bin300 = new Uint8Array(300).map((_, i) => i & 255);
  const stream = cat(
    enc(wsRequest()),
    text("hello"),
    binary(bin300),
    text("hé", false),
    frame(0x89, "pi"), // ping between fragments
    cont("l", false),
    cont("lo€"),
    frame(0x88, closePayload(1000, "bye")),
  );

  for (const cut of [-2, -1, ...Array.from({ length: stream.length - 1 }, (_, i) => i + 1)]) {
    it(`handshake and frames ${cut === -2 ? "whole" : cut === -1 ? "byte by byte" : `split at ${cut}`}`, () => {
      const s = wsServer();
      feed(s.conn, stream, cut);
      expect(s.head()).toContain("HTTP/1.1 101 Switching Protocols\r\n");
      expect(s.head()).toContain(`Sec-WebSocket-Accept: ${WS_ACCEPT}\r\n`);
      expect(s.messages.length).toBe(3);
      expect(s.messages[0]).toBe("hello");
      expect(s.messages[1]).toBeInstanceOf(Uint8Array);
      expect([...(s.messages[1] as Uint8Array)]).toEqual([...bin300]);
      expect(s.messages[2]).toBe("héllo€");
      const frames = s.frames();
      expect(frames.map((f) => [f.opcode, f.masked])).toEqual([[10, false], [8, false]]);
      expect(new TextDecoder().decode(frames[0].payload)).toBe("pi");
      expect([...frames[1].payload]).toEqual([0x03, 0xe8]);
      expect(s.closed()).toBe(true);
    });
  }

  it("a 70 KB binary frame (64-bit length) whole and byte by byte; binary data reads as UTF-8 text", () => {
    const big = enc("x".repeat(70000));
    for (const cut of [-2, -1, 5, 13, 14, 70000]) {
      const s = wsServer();
      s.conn.handleData(enc(wsRequest()));
      feed(s.conn, binary(big), cut);
      expect(s.messages.length).toBe(1);
      expect(String(s.messages[0])).toBe("x".repeat(70000));
    }
  });

  it("sends text for strings, binary for bytes, websocketType forces one; frames are never masked", () => {
    const s = wsServer();
    s.conn.onMessage = (c: TestConnection, m: unknown) => {
      c.send("hello " + m);
      c.send(enc("raw"));
      c.websocketType = Worker.BINARY_TYPE_ARRAYBUFFER;
      c.send("as binary");
      c.send("y".repeat(200));
      c.send("z".repeat(70000));
    };
    s.conn.handleData(cat(enc(wsRequest()), text("world")));
    const f = s.frames();
    expect(f.map((x) => x.opcode)).toEqual([1, 2, 2, 2, 2]);
    expect(f.every((x) => !x.masked && x.fin)).toBe(true);
    expect(new TextDecoder().decode(f[0].payload)).toBe("hello world");
    expect(f[3].payload.length).toBe(200);
    expect(f[4].payload.length).toBe(70000);
    // all of one read's sends leave in one write after the handshake's
    expect(s.socket.writes.length).toBe(1);
  });

  it("data sent before the handshake is queued and follows the 101", () => {
    const s = wsServer();
    s.conn.send("early");
    expect(s.socket.writes.length).toBe(0);
    s.conn.handleData(enc(wsRequest()));
    const f = s.frames();
    expect(f.length).toBe(1);
    expect(new TextDecoder().decode(f[0].payload)).toBe("early");
  });

  it("a broadcast string is encoded once for many connections, and the shared frame follows type and content", () => {
    const conns = [wsServer(), wsServer(), wsServer((c) => c.websocketType = Websocket.BINARY_TYPE_ARRAYBUFFER)];
    for (const c of conns) c.conn.handleData(enc(wsRequest()));
    for (const text of ["news", "news", "other"]) for (const c of conns) c.conn.send(text);
    const seen = conns.map((c) => c.frames().map((f) => `${f.opcode}:${new TextDecoder().decode(f.payload)}`));
    expect(seen).toEqual([["1:news", "1:news", "1:other"], ["1:news", "1:news", "1:other"], [
      "2:news",
      "2:news",
      "2:other",
    ]]);
    const [a, b] = [conns[0].socket.writes.at(-1)!, conns[1].socket.writes.at(-1)!];
    expect(a).toBe(b); // one frame, written to both
  });

  it("data held before the handshake counts against maxSendBufferSize: onBufferFull, then false and onError", () => {
    const events: string[] = [];
    const s = wsServer((conn) => {
      conn.maxSendBufferSize = 1000;
      conn.onBufferFull = () => events.push("full");
      conn.onError = (_c: TestConnection, code: number) => events.push(`error ${code}`);
    });
    expect(s.conn.send("a".repeat(600))).toBe(null);
    expect(events).toEqual([]);
    expect(s.conn.getSendBufferQueueSize()).toBe(604);
    expect(s.conn.send("b".repeat(600))).toBe(null);
    expect(events).toEqual(["full"]);
    expect(s.conn.send("c")).toBe(false);
    expect(events).toEqual(["full", "error 2"]);
    s.conn.handleData(enc(wsRequest()));
    expect(s.frames().map((f) => f.payload.length)).toEqual([600, 600]);
    expect(s.conn.getSendBufferQueueSize()).toBe(0);
  });

  it("onWebSocketConnect sees the request, picks a sub-protocol, adds headers, or rejects", () => {
    const s = wsServer((conn) => {
      conn.onWebSocketConnect = (c: TestConnection, req: { path(): string; header(n: string): string }) => {
        expect(req.path()).toBe("/chat");
        if (req.header("sec-websocket-protocol").split(/,\s*/).includes("chat")) c.websocketProtocol = "chat";
        c.headers = ["X-Test: 1"];
        c.send("welcome");
      };
    });
    s.conn.handleData(enc(wsRequest({ "Sec-WebSocket-Protocol": "superchat, chat" })));
    expect(s.head()).toContain("Sec-WebSocket-Protocol: chat\r\n");
    expect(s.head()).toContain("X-Test: 1\r\n");
    expect(new TextDecoder().decode(s.frames()[0].payload)).toBe("welcome");

    const r = wsServer((conn) => {
      conn.onWebSocketConnect = (c: TestConnection) => c.close();
    });
    r.conn.handleData(enc(wsRequest()));
    expect(r.socket.written).not.toContain("101");
    expect(r.closed()).toBe(true);
  });

  it("ping goes to onWebSocketPing when set (no automatic pong); pong to onWebSocketPong; close to onWebSocketClose", () => {
    const seen: unknown[] = [];
    const s = wsServer((conn) => {
      conn.onWebSocketPing = (_c: TestConnection, d: Uint8Array) => seen.push(["ping", String(d)]);
      conn.onWebSocketPong = (_c: TestConnection, d: Uint8Array) => seen.push(["pong", String(d)]);
      conn.onWebSocketClose = (_c: TestConnection, code: number, reason: string) => seen.push(["close", code, reason]);
    });
    s.conn.handleData(cat(enc(wsRequest()), frame(0x89, "a"), frame(0x8a, "b"), frame(0x88, closePayload(4000, "r"))));
    expect(seen).toEqual([["ping", "a"], ["pong", "b"], ["close", 4000, "r"]]);
    expect(s.frames()).toEqual([]);
  });

  const failures: [string, Uint8Array, number][] = [
    ["unmasked frame", frame(0x81, "hi", false), 1002],
    ["reserved bits", frame(0xc1, "hi"), 1002],
    ["unknown opcode 3", frame(0x83, "hi"), 1002],
    ["unknown opcode 11", frame(0x8b, "hi"), 1002],
    ["fragmented control frame", frame(0x09, "hi"), 1002],
    ["control frame over 125 bytes", frame(0x89, "p".repeat(126)), 1002],
    ["continuation without a message", cont("x"), 1002],
    ["new message inside a fragmented one", cat(text("a", false), text("b")), 1002],
    ["invalid UTF-8 text", frame(0x81, new Uint8Array([0xc3, 0x28])), 1007],
    [
      "invalid UTF-8 across fragments",
      cat(frame(0x01, new Uint8Array([0xe2, 0x82])), cont(new Uint8Array([0x28]))),
      1007,
    ],
    ["close code 1005", frame(0x88, closePayload(1005)), 1002],
    ["close code 999", frame(0x88, closePayload(999)), 1002],
    ["close with 1-byte payload", frame(0x88, new Uint8Array([3])), 1002],
    ["close reason not UTF-8", frame(0x88, cat(closePayload(1000), new Uint8Array([0xff]))), 1007],
  ];
  for (const [what, bytes, code] of failures) {
    it(`${what} → close ${code}`, () => {
      const s = wsServer();
      s.conn.handleData(cat(enc(wsRequest()), bytes, text("after")));
      expect(s.messages).toEqual([]);
      const f = s.frames();
      expect(f.length).toBe(1);
      expect(f[0].opcode).toBe(8);
      expect((f[0].payload[0] << 8) | f[0].payload[1]).toBe(code);
      expect(s.closed()).toBe(true);
    });
  }

  it("a message over maxPayload → close 1009 (one frame or fragments)", () => {
    const saved = Websocket.options.maxPayload;
    Websocket.options.maxPayload = 1000;
    try {
      for (
        const bytes of [
          binary(new Uint8Array(1001)),
          cat(binary(new Uint8Array(600), false), cont(new Uint8Array(600))),
        ]
      ) {
        const s = wsServer();
        s.conn.handleData(cat(enc(wsRequest()), bytes));
        expect(s.messages).toEqual([]);
        const f = s.frames();
        expect((f[0].payload[0] << 8) | f[0].payload[1]).toBe(1009);
      }
      const ok = wsServer();
      ok.conn.handleData(cat(enc(wsRequest()), binary(new Uint8Array(1000))));
      expect(ok.messages.length).toBe(1);
    } finally {
      Websocket.options.maxPayload = saved;
    }
  });

  it("a frame of exactly the default maxPayload (10 MiB) is accepted despite the default maxPackageSize", () => {
    const payload = new Uint8Array(Websocket.options.maxPayload).fill(7);
    const s = wsServer();
    s.conn.handleData(cat(enc(wsRequest()), binary(payload)));
    expect(s.frames()).toEqual([]);
    expect((s.messages[0] as Uint8Array).length).toBe(payload.length);
    const over = wsServer();
    over.conn.handleData(cat(enc(wsRequest()), binary(new Uint8Array(payload.length + 1))));
    expect((over.frames()[0].payload[0] << 8) | over.frames()[0].payload[1]).toBe(1009);
    // a smaller maxPackageSize chosen by the user stays the per-frame limit
    const small = wsServer((conn) => conn.maxPackageSize = 1000);
    small.conn.handleData(cat(enc(wsRequest()), binary(new Uint8Array(1000))));
    expect((small.frames()[0].payload[0] << 8) | small.frames()[0].payload[1]).toBe(1009);
  });

  it("a 64-bit length over maxPayload is refused from the header alone", () => {
    const s = wsServer();
    s.conn.handleData(cat(enc(wsRequest()), new Uint8Array([0x82, 0xff, 0, 0, 0, 1, 0, 0, 0, 0])));
    expect((s.frames()[0].payload[0] << 8) | s.frames()[0].payload[1]).toBe(1009);
  });

  const badHandshakes: [string, string, string][] = [
    ["not GET", wsRequest().replace("GET", "POST"), "400"],
    ["no Upgrade", wsRequest({ Upgrade: null }), "400"],
    ["Upgrade not websocket", wsRequest({ Upgrade: "h2c" }), "400"],
    ["Connection without upgrade", wsRequest({ Connection: "keep-alive" }), "400"],
    ["no key", wsRequest({ "Sec-WebSocket-Key": null }), "400"],
    ["key not 16 bytes", wsRequest({ "Sec-WebSocket-Key": "c2hvcnQ=" }), "400"],
    ["not HTTP", "hello world\r\n\r\n", "400"],
    ["wrong version", wsRequest({ "Sec-WebSocket-Version": "8" }), "426"],
    ["no version", wsRequest({ "Sec-WebSocket-Version": null }), "426"],
  ];
  for (const [what, req, status] of badHandshakes) {
    it(`handshake ${what} → ${status}`, () => {
      const s = wsServer();
      s.conn.handleData(enc(req));
      expect(s.socket.written).toMatch(new RegExp(`^HTTP/1.1 ${status} `));
      if (status === "426") expect(s.socket.written).toContain("Sec-WebSocket-Version: 13\r\n");
      expect(s.closed()).toBe(true);
    });
  }

  it("case-insensitive header values and token lists are accepted", () => {
    const s = wsServer();
    s.conn.handleData(enc(wsRequest({ Upgrade: "WebSocket", Connection: "keep-alive, UPGRADE" })));
    expect(s.head()).toContain("101 Switching Protocols");
  });

  it("buildFrame unmasks back to the payload at every alignment", () => {
    for (let len of [0, 1, 3, 31, 32, 33, 125, 126, 1000, 65536]) {
      const mask = new Uint8Array([1, 2, 3, 250]);
      const payload = new Uint8Array(len).map((_, i) => i * 7);
      const f = buildFrame(0x82, payload, mask);
      const parsed = parseFrames(f).frames[0];
      const got = parsed.payload.map((b, i) => b ^ mask[i & 3]);
      expect([...got]).toEqual([...payload]);
      len++;
    }
  });
});

describe("unmask", () => {
  it("matches a plain XOR at every source and destination alignment and length", () => {
    const key = new Uint8Array([9, 0xa1, 0x33, 0xfe, 7]); // key read from offset 1
    const src = new Uint8Array(5000).map((_, i) => (i * 131 + 7) & 255);
    for (const length of [0, 1, 2, 3, 5, 31, 511, 512, 513, 514, 515, 1000, 4099]) {
      for (let from = 0; from < 8; from++) {
        for (let to = 0; to < 4; to++) {
          const dst = new Uint8Array(length + 8);
          unmask(src, from, length, key, 1, dst, to);
          for (let i = 0; i < length; i++) {
            if (dst[to + i] !== (src[from + i] ^ key[1 + (i & 3)])) {
              throw new Error(`length ${length} from ${from} to ${to}: byte ${i} wrong`);
            }
          }
        }
      }
    }
  });
});

describe("ws:// client protocol", () => {
  function client() {
    const socket = new FakeConn();
    const conn = new TcpConnection(socket, null, WsClient) as TestConnection;
    socket.start(conn);
    const messages: unknown[] = [];
    conn.onMessage = (_c: TestConnection, m: unknown) => {
      messages.push(m);
    };
    conn.send("early");
    WsClient.onConnect!(conn);
    const request = socket.written;
    const key = /Sec-WebSocket-Key: (\S+)\r\n/.exec(request)![1];
    const response = (accept = acceptFor(key)) =>
      enc(
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Protocol: chat\r\n\r\n`,
      );
    const sent = () => parseFrames(cat(...socket.writes).subarray(headEnd(cat(...socket.writes)))).frames;
    return { socket, conn, messages, request, response, sent };
  }

  it("sends a valid handshake with a random 16-byte key; queued sends follow the 101", () => {
    const c = client();
    expect(c.request).toMatch(
      /^GET \/ HTTP\/1.1\r\nHost: 127\.0\.0\.1:40000\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n/,
    );
    expect(c.request).toContain("Sec-WebSocket-Version: 13\r\n");
    expect(Buffer.from(/Sec-WebSocket-Key: (\S+)/.exec(c.request)![1], "base64").length).toBe(16);
    expect(c.sent()).toEqual([]);
    const frames = cat(frame(0x81, "hi", false), frame(0x89, "p", false), frame(0x82, new Uint8Array(300), false));
    const total = c.response().length + frames.length;
    for (const cut of [-2, -1, ...Array.from({ length: total - 1 }, (_, i) => i + 1)]) {
      const d = client();
      feed(d.conn, cat(d.response(), frames), cut);
      expect(d.conn.websocketServerProtocol).toBe("chat");
      expect(d.messages.length, `cut ${cut}`).toBe(2);
      expect(d.messages[0]).toBe("hi");
      expect((d.messages[1] as Uint8Array).length).toBe(300);
      const sent = d.sent();
      expect(sent.map((f) => [f.opcode, f.masked])).toEqual([[1, true], [10, true]]);
    }
  });

  it("data held before the 101 counts against maxSendBufferSize; the handshake itself is never refused", () => {
    const socket = new FakeConn();
    const conn = new TcpConnection(socket, null, WsClient) as TestConnection;
    socket.start(conn);
    const events: string[] = [];
    conn.maxSendBufferSize = 1000;
    conn.onBufferFull = () => events.push("full");
    conn.onError = (_c: TestConnection, code: number) => events.push(`error ${code}`);
    expect(conn.send("a".repeat(1200))).toBe(null);
    expect(events).toEqual(["full"]);
    expect(conn.send("b")).toBe(false);
    expect(events).toEqual(["full", "error 2"]);
    WsClient.onConnect!(conn);
    const key = /Sec-WebSocket-Key: (\S+)\r\n/.exec(socket.written)![1];
    conn.handleData(enc(`HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: ${acceptFor(key)}\r\n\r\n`));
    const raw = cat(...socket.writes);
    expect(parseFrames(raw.subarray(headEnd(raw))).frames.map((f) => f.payload.length)).toEqual([1200]);
  });

  it("every frame sent is masked with a fresh key", () => {
    const c = client();
    c.conn.handleData(c.response());
    c.conn.send("a");
    c.conn.send("a");
    const raw = cat(...c.socket.writes);
    const f = raw.subarray(headEnd(raw));
    // "early", "a", "a": each 2 header bytes + 4 key bytes + the payload
    expect(f.length).toBe(11 + 7 + 7);
    const keys = [0, 11, 18].map((at) => [...f.subarray(at + 2, at + 6)].join(","));
    expect(new Set(keys).size).toBe(3);
  });

  it("a wrong Sec-WebSocket-Accept closes the connection; a masked server frame → close 1002", () => {
    const c = client();
    c.conn.handleData(c.response("d3JvbmcgYWNjZXB0IHZhbHVlIQ=="));
    expect(c.socket.destroyed).toBe(true);
    expect(c.messages).toEqual([]);
    const d = client();
    d.conn.handleData(cat(d.response(), frame(0x81, "hi", true)));
    const sent = d.sent();
    expect(sent.at(-1)!.opcode).toBe(8);
    expect(sent.at(-1)!.masked).toBe(true);
    expect(d.messages).toEqual([]);
  });
});
