/**
 * Timeouts against hostile clients, driven by TcpConnection.checkTimeouts(now) with a chosen
 * clock (the Worker calls it once a second).
 */
import { describe, expect, it } from "vitest";
import { HttpProtocol, type Protocol, TcpConnection, Text, Websocket } from "../../mod.ts";
import { FakeConn, type TestConnection } from "../helpers/fake_conn.ts";
import { wsRequest } from "../helpers/ws_frames.ts";

const enc = (s: string) => new TextEncoder().encode(s);

function connection(protocol: Protocol | null, setup: (c: TestConnection) => void = () => {}) {
  const socket = new FakeConn();
  const owner = { name: "test", connections: new Map<number, TestConnection>() };
  const conn = new TcpConnection(socket, owner, protocol) as TestConnection;
  owner.connections.set(conn.id, conn);
  setup(conn);
  socket.start(conn);
  conn.onMessage = (c: TestConnection, m: unknown) => {
    if (protocol instanceof HttpProtocol) c.send("ok");
    else if (typeof m === "string") c.send(m);
  };
  const start = Date.now();
  const at = (seconds: number) => conn.checkTimeouts(start + seconds * 1000);
  const closed = () => conn.getStatus() !== TcpConnection.STATUS_ESTABLISHED;
  return { socket, conn, at, closed };
}

describe("header timeout", () => {
  const http = new HttpProtocol({ keepAliveTimeout: 5 });

  it("a request head trickled a byte at a time is answered 408 and closed once headerTimeout has passed since it began", () => {
    const { conn, socket, at, closed } = connection(http, (c) => (c.headerTimeout = 10));
    const head = enc("GET / HTTP/1.1\r\nHost: x\r\n");
    for (let i = 0; i < head.length; i++) {
      conn.handleData(head.slice(i, i + 1));
      at(i * 0.25);
    }
    expect(closed()).toBe(false);
    at(10.5);
    expect(closed()).toBe(true);
    expect(socket.written).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n[\s\S]*ERR_HTTP_REQUEST_TIMEOUT/);
  });

  it("a client that connects and sends nothing gets 408 too", () => {
    const { socket, at, closed } = connection(http, (c) => (c.headerTimeout = 3));
    at(2);
    expect(closed()).toBe(false);
    at(3);
    expect(socket.written).toMatch(/^HTTP\/1\.1 408 /);
  });

  it("a request whose handler is still running is not timed out, nor is its keep-alive connection before keepAliveTimeout", () => {
    const { conn, at, closed, socket } = connection(http, (c) => (c.headerTimeout = 1));
    conn.onMessage = () => {}; // never answers
    conn.handleData(enc("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    at(0.5);
    at(100);
    expect(closed()).toBe(false);
    expect(socket.written).toBe("");
  });

  it("a keep-alive connection idle between requests is closed after keepAliveTimeout, without a response", () => {
    const { conn, at, closed, socket } = connection(http, (c) => (c.headerTimeout = 1));
    conn.handleData(enc("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    const answered = socket.written;
    at(1);
    at(4);
    expect(closed()).toBe(false);
    at(6);
    expect(closed()).toBe(true);
    expect(socket.written).toBe(answered);
  });

  it("a WebSocket handshake trickled in is cut off after headerTimeout; a completed one is not", () => {
    const slow = connection(Websocket, (c) => (c.headerTimeout = 2));
    slow.conn.handleData(enc("GET /chat HTTP/1.1\r\n"));
    slow.at(1);
    expect(slow.closed()).toBe(false);
    slow.at(2.5);
    expect(slow.closed()).toBe(true);

    const done = connection(Websocket, (c) => (c.headerTimeout = 2));
    done.conn.handleData(enc(wsRequest()));
    done.at(1);
    done.at(100);
    expect(done.closed()).toBe(false);
  });

  it("headerTimeout 0 disables it", () => {
    const { at, closed } = connection(http, (c) => (c.headerTimeout = 0));
    at(1000);
    expect(closed()).toBe(false);
  });
});

describe("idle timeout", () => {
  it("closes a connection after idleTimeout seconds without a byte either way; traffic postpones it", () => {
    const { conn, at, closed } = connection(Text, (c) => (c.idleTimeout = 5));
    at(1);
    conn.handleData(enc("ping\n"));
    at(4);
    expect(closed()).toBe(false);
    at(8.5);
    expect(closed()).toBe(false);
    at(9.5);
    expect(closed()).toBe(true);
  });

  it("is off by default, and text:// has no header timeout", () => {
    const { at, closed } = connection(Text);
    at(100_000);
    expect(closed()).toBe(false);
  });

  it("a peer that never reads cannot keep a timed-out connection: it is destroyed after closeTimeout", async () => {
    const saved = TcpConnection.closeTimeout;
    TcpConnection.closeTimeout = 0.05;
    try {
      const { conn, socket, at } = connection(Text, (c) => (c.idleTimeout = 1));
      socket.capacity = 0; // nothing the server writes is read
      conn.send("x".repeat(1000), true);
      at(0);
      at(2);
      expect(conn.getStatus()).toBe(TcpConnection.STATUS_CLOSING);
      await new Promise((r) => setTimeout(r, 200));
      expect(conn.getStatus()).toBe(TcpConnection.STATUS_CLOSED);
      expect(socket.destroyed).toBe(true);
    } finally {
      TcpConnection.closeTimeout = saved;
    }
  });
});

describe("response safety", () => {
  it("a reason phrase or protocol version with CR/LF throws ERR_HTTP_INVALID_HEADER", async () => {
    const { Response } = await import("../../mod.ts");
    expect(() => new Response(200).withStatus(200, "OK\r\nSet-Cookie: a=1")).toThrow(
      /reason phrase holds CR, LF or NUL/,
    );
    expect(() => new Response(200).withProtocolVersion("1.1\r\nX: y")).toThrow(/<digit>\.<digit>/);
    expect(new Response(200).withStatus(299, "Fine").getReasonPhrase()).toBe("Fine");
  });

  it.each([
    ["a header line with CRLF", (c: TestConnection) => (c.headers = ["X-A: 1\r\nSet-Cookie: evil=1"])],
    ["a record value with LF", (c: TestConnection) => (c.headers = { "X-A": "1\nSet-Cookie: evil=1" })],
    ["a line without a colon", (c: TestConnection) => (c.headers = ["Set-Cookie"])],
    ["a sub-protocol with CRLF", (c: TestConnection) => (c.websocketProtocol = "chat\r\nSet-Cookie: evil=1")],
  ])("a WebSocket handshake with %s is refused with 500, nothing injected", (_what, set) => {
    const { conn, socket, closed } = connection(Websocket);
    conn.onWebSocketConnect = (c: TestConnection) => set(c);
    conn.handleData(enc(wsRequest()));
    expect(socket.written).toMatch(/^HTTP\/1\.1 500 /);
    expect(socket.written).not.toMatch(/Set-Cookie/i);
    expect(closed()).toBe(true);
  });
});
