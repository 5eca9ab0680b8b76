/**
 * Type tests of the public API (run by `vitest --typecheck`, see vitest.config.ts): what each
 * callback receives by protocol, custom protocols' types, user properties on connections, and
 * the Gateway / component results. Nothing here runs; a wrong expectation fails the check.
 */
import { describe, expectTypeOf, it } from "vitest";
import {
  AsyncTcpConnection,
  type Bytes,
  ChannelClient,
  Gateway,
  GatewayClient,
  type GatewaySession,
  GlobalDataClient,
  type HttpConnection,
  type HttpMessage,
  type Protocol,
  registerProtocol,
  type Request,
  type TcpConnection,
  Text,
  type UdpConnection,
  type WebSocketConnection,
  Worker,
} from "workerman-ts";

declare module "workerman-ts" {
  interface ConnectionData {
    /** The chat room's user id (the manual's `conn.uid`). */
    uid: number;
  }
}

describe("callbacks are typed by the address's scheme", () => {
  it("http:// gets an HttpConnection and a Request; send takes what http encodes", () => {
    const http = new Worker("http://0.0.0.0:8080");
    http.onMessage = (conn, request) => {
      expectTypeOf(conn).toEqualTypeOf<HttpConnection>();
      expectTypeOf(request).toEqualTypeOf<Request>();
      expectTypeOf(conn.send).parameter(0).toEqualTypeOf<HttpMessage>();
      // @ts-expect-error a number is not an HTTP message
      conn.send(42);
    };
  });

  it("a template-literal address keeps its scheme", () => {
    const port = 8080;
    const http = new Worker(`http://0.0.0.0:${port}`);
    http.onMessage = (_conn, request) => expectTypeOf(request).toEqualTypeOf<Request>();
  });

  it("text:// gets a string and sends strings", () => {
    const text = new Worker("text://0.0.0.0:8000");
    text.onMessage = (conn, line) => {
      expectTypeOf(line).toEqualTypeOf<string>();
      conn.send(line.toUpperCase());
      // @ts-expect-error text:// sends strings
      conn.send({ line });
    };
  });

  it("websocket:// gets string | Uint8Array and a WebSocketConnection", () => {
    const ws = new Worker("websocket://0.0.0.0:8000");
    ws.onMessage = (conn, data) => {
      expectTypeOf(data).toEqualTypeOf<string | Uint8Array>();
      expectTypeOf(conn).toEqualTypeOf<WebSocketConnection>();
    };
    ws.onWebSocketConnect = (conn, request) => {
      expectTypeOf(request).toEqualTypeOf<Request>();
      conn.websocketProtocol = "chat";
    };
    ws.onWebSocketClose = (_conn, code, reason) => {
      expectTypeOf(code).toEqualTypeOf<number>();
      expectTypeOf(reason).toEqualTypeOf<string>();
    };
  });

  it("tcp:// and frame:// get bytes", () => {
    new Worker("tcp://0.0.0.0:8000").onMessage = (_conn, data) => expectTypeOf(data).toEqualTypeOf<Bytes>();
    new Worker("frame://0.0.0.0:8000").onMessage = (_conn, data) => expectTypeOf(data).toEqualTypeOf<Bytes>();
  });

  it("udp:// gets a UdpConnection", () => {
    new Worker("udp://0.0.0.0:9292").onMessage = (conn, data) => {
      expectTypeOf(conn).toEqualTypeOf<UdpConnection<Bytes, string | Uint8Array>>();
      expectTypeOf(data).toEqualTypeOf<Bytes>();
    };
    new Worker("udp://0.0.0.0:9292", { protocol: Text }).onMessage = (conn, line) => {
      expectTypeOf(conn).toEqualTypeOf<UdpConnection<string, string>>();
      expectTypeOf(line).toEqualTypeOf<string>();
    };
  });

  it("every other callback is typed", () => {
    const w = new Worker("text://0.0.0.0:8000");
    w.onWorkerStart = (worker) => expectTypeOf(worker.id).toEqualTypeOf<number>();
    w.onError = (_conn, code, message) => {
      expectTypeOf(code).toEqualTypeOf<number>();
      expectTypeOf(message).toEqualTypeOf<string>();
    };
    w.onBufferFull = (conn) => conn.pauseRecv();
    w.onBufferDrain = (conn) => conn.resumeRecv();
    w.onClose = (conn) => expectTypeOf(conn.id).toEqualTypeOf<number>();
  });
});

describe("custom protocols carry their types", () => {
  type Json = { cmd: string; args?: unknown[] };
  const JsonNL = registerProtocol("JsonNL", {
    input: (buffer: Uint8Array) => buffer.indexOf(10) + 1,
    decode: (buffer: Uint8Array): Json => JSON.parse(new TextDecoder().decode(buffer)),
    encode: (data: object) => JSON.stringify(data) + "\n",
  });

  it("onMessage gets what decode returns, send takes what encode takes", () => {
    const json = new Worker("JsonNL://0.0.0.0:1234", { protocol: JsonNL });
    json.onMessage = (conn, data) => {
      expectTypeOf(data).toEqualTypeOf<Json>();
      expectTypeOf(data.cmd).toEqualTypeOf<string>();
      conn.send({ got: data });
      // @ts-expect-error encode takes an object
      conn.send(1);
    };
  });

  it("Protocol<In, Out> types a protocol declared on its own", () => {
    const Lines: Protocol<string, string> = {
      input: (buffer) => buffer.indexOf(10) + 1,
      decode: (buffer) => new TextDecoder().decode(buffer).trimEnd(),
      encode: (line) => line + "\n",
    };
    new Worker("tcp://0.0.0.0:8000", { protocol: Lines }).onMessage = (_conn, line) =>
      expectTypeOf(line).toEqualTypeOf<string>();
  });
});

describe("user properties without any", () => {
  it("conn.uid = 7 compiles through ConnectionData; a misspelt method does not", () => {
    const chat = new Worker("text://0.0.0.0:2347");
    chat.onConnect = (conn) => {
      conn.uid = 7;
      expectTypeOf(conn.uid).toEqualTypeOf<number>();
      // @ts-expect-error no such method
      conn.sned("x");
      // @ts-expect-error getRemoteIp, not getRemoteIP
      conn.getRemoteIP();
    };
    const plain = null as unknown as TcpConnection;
    // @ts-expect-error no such method on any connection
    plain.sned("x");
  });
});

describe("clients, Gateway and components", () => {
  it("AsyncTcpConnection is typed by its scheme", () => {
    const text = new AsyncTcpConnection("text://127.0.0.1:8000");
    text.onMessage = (_conn, line) => expectTypeOf(line).toEqualTypeOf<string>();
    const ws = new AsyncTcpConnection("ws://127.0.0.1:8000/chat");
    ws.onMessage = (_conn, data) => expectTypeOf(data).toEqualTypeOf<string | Uint8Array>();
  });

  it("Gateway calls return precise Promises", () => {
    expectTypeOf(Gateway.getAllClientCount()).toEqualTypeOf<Promise<number>>();
    expectTypeOf(Gateway.sendToClient("id", "x")).toEqualTypeOf<Promise<boolean>>();
    expectTypeOf(Gateway.getClientIdByUid("1")).toEqualTypeOf<Promise<string[]>>();
    const client = new GatewayClient("127.0.0.1:1236");
    expectTypeOf(client.getAllClientCount()).toEqualTypeOf<Promise<number>>();
    expectTypeOf(client.getSession("id")).toEqualTypeOf<Promise<GatewaySession | null>>();
  });

  it("GlobalData and Channel are typed", () => {
    const data = new GlobalDataClient("127.0.0.1:2207");
    expectTypeOf(data.increment("n")).toEqualTypeOf<Promise<number | false>>();
    expectTypeOf(data.get<number>("n")).toEqualTypeOf<Promise<number | null>>();
    const channel = ChannelClient.connect("127.0.0.1", 2206);
    channel.on("event", (payload) => expectTypeOf(payload).toEqualTypeOf<unknown>());
    channel.on<{ text: string }>("chat", (payload) => expectTypeOf(payload.text).toEqualTypeOf<string>());
    channel.watch<number>("jobs", (job) => expectTypeOf(job).toEqualTypeOf<number>());
    channel.publish<{ text: string }>("chat", { text: "hi" });
    // @ts-expect-error: the published data must have the declared type
    channel.publish<{ text: string }>("chat", { txt: "hi" });
  });
});
