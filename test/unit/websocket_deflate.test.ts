import { constants, deflateRawSync, inflateRawSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { TcpConnection, WsClient } from "../../mod.ts";
import { acceptOffer, acceptResponse, PerMessageDeflate } from "../../protocols/websocket/deflate.ts";
import { FakeConn, type TestConnection } from "../helpers/fake_conn.ts";
import { acceptFor, cat, frame, headEnd, parseFrames, wsRequest } from "../helpers/ws_frames.ts";
import { wsServer } from "../helpers/ws_server.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const TAIL = new Uint8Array([0, 0, 0xff, 0xff]);
/** Independent inflate (node:zlib one-shot) of a message's payload, the tail put back. */
const inflate = (payload: Uint8Array) =>
  new Uint8Array(inflateRawSync(cat(payload, TAIL), { finishFlush: constants.Z_SYNC_FLUSH }));
/** Independent deflate of one message, the tail taken off. */
const deflate = (data: Uint8Array) => {
  const out = deflateRawSync(data, { finishFlush: constants.Z_SYNC_FLUSH });
  return new Uint8Array(out.subarray(0, out.length - 4));
};

const HELLO = new Uint8Array([0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]); // RFC 7692 §7.2.3.1
const HELLO_AGAIN = new Uint8Array([0xf2, 0x00, 0x11, 0x00, 0x00]); // §7.2.3.2, with context takeover

/** A websocket:// server connection that has received a handshake offering `extensions`. */
function server(extensions: string | null, setup: (conn: TestConnection) => void = () => {}) {
  const s = wsServer(setup);
  s.conn.handleData(enc(wsRequest({ "Sec-WebSocket-Extensions": extensions })));
  return s;
}

describe("permessage-deflate negotiation", () => {
  it("accepts the first acceptable offer and answers with the parameters it uses", () => {
    expect(acceptOffer("permessage-deflate")?.response).toBe("permessage-deflate");
    expect(acceptOffer("permessage-deflate; client_max_window_bits")?.response).toBe("permessage-deflate");
    const a = acceptOffer(
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10",
    )!;
    expect(a.response).toBe(
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10",
    );
    expect(a.params).toEqual({ sendNoContextTakeover: true, receiveNoContextTakeover: true, sendWindowBits: 10 });
    // an unusable first offer falls back to the next one
    const b = acceptOffer(
      "permessage-deflate; server_max_window_bits=8, permessage-deflate; server_max_window_bits=12",
    )!;
    expect(b.params.sendWindowBits).toBe(12);
    expect(acceptOffer("permessage-deflate", true)!.response).toBe("permessage-deflate; server_no_context_takeover");
  });

  it("declines unknown extensions, unknown or duplicate parameters and bad values", () => {
    for (
      const offer of [
        "x-webkit-deflate-frame",
        "permessage-deflate; foo",
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; server_max_window_bits",
        "permessage-deflate; client_max_window_bits=7",
        "permessage-deflate; server_no_context_takeover=1",
        "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
      ]
    ) expect(acceptOffer(offer), offer).toBeNull();
  });

  it("client reads the answer: parameters, no extension, or an error for what it never offered", () => {
    expect(acceptResponse(undefined)).toBeNull();
    expect(acceptResponse("permessage-deflate; client_no_context_takeover; client_max_window_bits=10")).toEqual({
      sendNoContextTakeover: true,
      receiveNoContextTakeover: false,
      sendWindowBits: 10,
    });
    expect(acceptResponse("permessage-deflate; server_no_context_takeover")).toMatchObject({
      receiveNoContextTakeover: true,
    });
    expect(acceptResponse("x-other")).toMatch(/unexpected/);
    expect(acceptResponse("permessage-deflate; client_max_window_bits=8")).toMatch(/unsupported/);
    expect(acceptResponse("permessage-deflate; bogus")).toMatch(/unknown/);
  });
});

describe("PerMessageDeflate codec", () => {
  it("inflates the RFC 7692 examples: 'Hello', then 'Hello' again with context takeover", () => {
    const codec = new PerMessageDeflate({
      sendNoContextTakeover: false,
      receiveNoContextTakeover: false,
      sendWindowBits: 15,
    });
    expect(new TextDecoder().decode(codec.decompress([HELLO], 1000))).toBe("Hello");
    expect(new TextDecoder().decode(codec.decompress([HELLO_AGAIN], 1000))).toBe("Hello");
    codec.close();
  });

  it("compresses 'Hello' to the RFC bytes, and the second one to a back-reference with context takeover", () => {
    const codec = new PerMessageDeflate({
      sendNoContextTakeover: false,
      receiveNoContextTakeover: false,
      sendWindowBits: 15,
    });
    expect(hex(codec.compress(enc("Hello")))).toBe(hex(HELLO));
    const second = codec.compress(enc("Hello"));
    expect(hex(second)).toBe(hex(HELLO_AGAIN));
    const fresh = new PerMessageDeflate({
      sendNoContextTakeover: true,
      receiveNoContextTakeover: false,
      sendWindowBits: 15,
    });
    expect(hex(fresh.compress(enc("Hello")))).toBe(hex(HELLO));
    expect(hex(fresh.compress(enc("Hello")))).toBe(hex(HELLO)); // no context takeover: starts over
  });

  it("the inflate limit throws a RangeError (zip bomb) and corrupt data an Error", () => {
    const codec = new PerMessageDeflate({
      sendNoContextTakeover: false,
      receiveNoContextTakeover: false,
      sendWindowBits: 15,
    });
    const bomb = deflate(new Uint8Array(4 << 20));
    expect(bomb.length).toBeLessThan(5000);
    expect(() => codec.decompress([bomb], 1 << 20)).toThrow(RangeError);
    const other = new PerMessageDeflate({
      sendNoContextTakeover: false,
      receiveNoContextTakeover: false,
      sendWindowBits: 15,
    });
    expect(() => other.decompress([new Uint8Array([0xff, 0xff, 0xff])], 1000)).toThrow(Error);
  });
});

describe("websocket:// server with permessage-deflate", () => {
  const big = "Hello, compressible world! ".repeat(200);

  it("negotiates, inflates compressed messages (whole and fragmented) and compresses large replies", () => {
    const s = server("permessage-deflate; client_max_window_bits");
    expect(s.head()).toContain("Sec-WebSocket-Extensions: permessage-deflate\r\n");
    const c1 = deflate(enc(big));
    s.conn.handleData(frame(0xc1, c1)); // FIN RSV1 text
    // fragmented: RSV1 only on the first frame
    const c2 = deflate(enc("fragmented " + big));
    s.conn.handleData(
      cat(frame(0x41, c2.subarray(0, 10)), frame(0x00, c2.subarray(10, 20)), frame(0x80, c2.subarray(20))),
    );
    s.conn.handleData(frame(0x81, "plain")); // uncompressed messages still work
    expect(s.messages).toEqual([big, "fragmented " + big, "plain"]);
    s.conn.send(big);
    s.conn.send("small");
    s.conn.send(enc(big));
    const [f1, f2, f3] = s.frames();
    expect([f1.rsv, f1.opcode, f2.rsv, f2.opcode, f3.rsv, f3.opcode]).toEqual([0x40, 1, 0, 1, 0x40, 2]);
    expect(f1.payload.length).toBeLessThan(200);
    expect(new TextDecoder().decode(inflate(f1.payload))).toBe(big);
    expect(new TextDecoder().decode(f2.payload)).toBe("small");
  });

  it("keeps the compression context across messages (the second copy is a back-reference)", () => {
    const s = server("permessage-deflate");
    s.conn.send(big);
    s.conn.send(big);
    const [f1, f2] = s.frames();
    expect(f2.payload.length).toBeLessThan(f1.payload.length / 2);
    // an independent inflater with context takeover reads both
    const result: string[] = [];
    const codec = new PerMessageDeflate({
      sendNoContextTakeover: false,
      receiveNoContextTakeover: false,
      sendWindowBits: 15,
    });
    for (const f of [f1, f2]) result.push(new TextDecoder().decode(codec.decompress([f.payload], 1 << 20)));
    expect(result).toEqual([big, big]);
  });

  it("server_no_context_takeover: every message stands alone", () => {
    const s = server("permessage-deflate; server_no_context_takeover");
    expect(s.head()).toContain("Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n");
    s.conn.send(big);
    s.conn.send(big);
    const [f1, f2] = s.frames();
    expect(hex(f2.payload)).toBe(hex(f1.payload));
    expect(new TextDecoder().decode(inflate(f2.payload))).toBe(big);
  });

  it("off by option: no extension answered, RSV1 → 1002", () => {
    const s = server("permessage-deflate", (conn) => {
      conn.websocketDeflate = false;
    });
    expect(s.head()).not.toContain("Sec-WebSocket-Extensions");
    s.conn.handleData(frame(0xc1, deflate(enc("x"))));
    const last = s.frames().at(-1)!;
    expect(last.opcode).toBe(8);
    expect((last.payload[0] << 8) | last.payload[1]).toBe(1002);
  });

  it("a zip bomb closes with 1009 before it is inflated whole; corrupt data closes with 1007", () => {
    const s = server("permessage-deflate", (conn) => {
      conn.websocketMaxPayload = 1 << 20;
    });
    s.conn.handleData(frame(0xc2, deflate(new Uint8Array(64 << 20))));
    const last = s.frames().at(-1)!;
    expect((last.payload[0] << 8) | last.payload[1]).toBe(1009);
    expect(s.messages).toEqual([]);
    const t = server("permessage-deflate");
    t.conn.handleData(frame(0xc1, new Uint8Array([0xff, 0xff, 0xff, 0xff])));
    const l2 = t.frames().at(-1)!;
    expect((l2.payload[0] << 8) | l2.payload[1]).toBe(1007);
  });

  it("RSV1 on a continuation or control frame, or RSV2/RSV3 → 1002", () => {
    for (const bad of [[frame(0x41, "a"), frame(0xc0, "b")], [frame(0xc9, "")], [frame(0xa1, "a")]]) {
      const s = server("permessage-deflate");
      s.conn.handleData(cat(...bad));
      const last = s.frames().at(-1)!;
      expect((last.payload[0] << 8) | last.payload[1]).toBe(1002);
    }
  });
});

describe("ws:// client with permessage-deflate", () => {
  function client(deflateOn: boolean, answer: string | null) {
    const socket = new FakeConn();
    const conn = new TcpConnection(socket, null, WsClient) as TestConnection;
    if (!deflateOn) conn.websocketDeflate = false;
    socket.start(conn);
    const messages: unknown[] = [];
    conn.onMessage = (_c: TestConnection, m: unknown) => {
      messages.push(m);
    };
    WsClient.onConnect!(conn);
    const request = socket.written;
    const key = /Sec-WebSocket-Key: (\S+)\r\n/.exec(request)![1];
    conn.handleData(enc(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${
        acceptFor(key)
      }\r\n` +
        (answer ? `Sec-WebSocket-Extensions: ${answer}\r\n` : "") + "\r\n",
    ));
    const sent = () => parseFrames(cat(...socket.writes).subarray(headEnd(cat(...socket.writes)))).frames;
    return { socket, conn, messages, request, sent };
  }
  const big = "x".repeat(5000);

  it("offers deflate, then sends compressed masked frames and inflates the server's", () => {
    const c = client(true, "permessage-deflate");
    expect(c.request).toContain("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n");
    c.conn.send(big);
    const f = c.sent()[0];
    expect([f.rsv, f.masked]).toEqual([0x40, true]);
    c.conn.handleData(frame(0xc1, deflate(enc(big)), false));
    expect(c.messages).toEqual([big]);
  });

  it("without deflate: no offer; an answer with an extension fails the handshake", () => {
    const c = client(false, null);
    expect(c.request).not.toContain("Sec-WebSocket-Extensions");
    c.conn.send(big);
    expect(c.sent()[0].rsv).toBe(0);
    const d = client(false, "permessage-deflate");
    expect(d.socket.destroyed).toBe(true);
  });
});
