import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import {
  Chunk,
  Http,
  type HttpConnection,
  HttpProtocol,
  type Request,
  Response,
  ServerSentEvents,
  type TcpConnection,
} from "../../mod.ts";
import { ChunkedDecoder } from "../../protocols/http/chunked.ts";
import { findHeadEnd, HeadInfo, parseHead } from "../../protocols/http/parser.ts";
import { acceptsGzip } from "../../protocols/http/compress.ts";
import {
  fileETag,
  ifMatchHolds,
  ifRangeHolds,
  MAX_RANGES,
  noneMatch,
  parseRanges,
  unmodifiedSince,
} from "../../protocols/http/ranges.ts";
import { fakeConnection } from "../helpers/fake_conn.ts";
import { STRICT_ACCEPTED, STRICT_REFUSALS } from "../helpers/http_strict.ts";

const enc = (s: string) => new TextEncoder().encode(s);
/** One byte per character: raw bytes above 0x7F written as latin1. */
const bytes = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

// deno-lint-ignore no-explicit-any
type Handler = (conn: HttpConnection, request: Request) => any;

/** A TcpConnection speaking http:// over an in-memory socket; `answer` handles each request. */
function server(answer: Handler = (c, r) => c.send(`${r.method()} ${r.uri()}`), protocol = Http) {
  const { socket, conn } = fakeConnection(protocol);
  const requests: Request[] = [];
  conn.onMessage = (c: HttpConnection, r: Request) => {
    requests.push(r);
    return answer(c, r);
  };
  const closed = () => socket.ended || socket.destroyed;
  return { socket, conn, requests, closed };
}

interface Parsed {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Split what a server wrote into responses (Content-Length or chunked framing). */
function responses(text: string): Parsed[] {
  const out: Parsed[] = [];
  let rest = text;
  while (rest.length > 0) {
    const end = rest.indexOf("\r\n\r\n");
    if (end === -1) throw new Error(`incomplete head: ${JSON.stringify(rest)}`);
    const lines = rest.slice(0, end).split("\r\n");
    const status = Number(lines[0].split(" ")[1]);
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const i = line.indexOf(":");
      headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
    }
    rest = rest.slice(end + 4);
    let body = "";
    if (status === 100) {
      // interim
    } else if (headers["transfer-encoding"] === "chunked") {
      for (;;) {
        const lf = rest.indexOf("\r\n");
        const size = parseInt(rest.slice(0, lf), 16);
        rest = rest.slice(lf + 2);
        if (size === 0) {
          rest = rest.slice(2);
          break;
        }
        body += rest.slice(0, size);
        rest = rest.slice(size + 2);
      }
    } else if (headers["content-length"] !== undefined) {
      const n = Number(headers["content-length"]);
      body = rest.slice(0, n);
      rest = rest.slice(n);
    } else {
      body = rest;
      rest = "";
    }
    out.push({ status, headers, body });
  }
  return out;
}

/** Feed `bytes` whole (cut -2), byte by byte (cut -1), or in two reads split at `cut`. */
function feed(conn: TcpConnection, bytes: Uint8Array, cut: number) {
  if (cut === -2) conn.handleData(bytes.slice());
  else if (cut === -1) { for (let i = 0; i < bytes.length; i++) conn.handleData(bytes.slice(i, i + 1)); }
  else {
    conn.handleData(bytes.slice(0, cut));
    conn.handleData(bytes.slice(cut));
  }
}

const tick = () => new Promise((r) => setTimeout(r, 0));

describe("http:// framing", () => {
  const stream = enc(
    "GET /a?x=1 HTTP/1.1\r\nHost: h\r\n\r\n" +
      "POST /form HTTP/1.1\r\nHost: h\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 7\r\n\r\nk=v&z=9" +
      "\r\nPUT /chunked HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n4\r\ndefg\r\n0\r\nX-Trailer: t\r\n\r\n" +
      "DELETE /last HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n",
  );

  it("yields the same requests whether the stream arrives whole, split at any offset, or byte by byte", () => {
    for (let cut = -2; cut <= stream.length; cut++) {
      const { conn, requests, socket } = server();
      feed(conn, stream, cut);
      const seen = requests.map((r) => `${r.method()} ${r.uri()} ${r.rawBody()}`);
      expect(seen, `cut at ${cut}`).toEqual([
        "GET /a?x=1 ",
        "POST /form k=v&z=9",
        "PUT /chunked abcdefg",
        "DELETE /last ",
      ]);
      expect(responses(socket.written).map((r) => r.body), `cut at ${cut}`).toEqual([
        "GET /a?x=1",
        "POST /form",
        "PUT /chunked",
        "DELETE /last",
      ]);
    }
  });

  it("conn.send(text) answers 200 text/html with the UTF-8 Content-Length", () => {
    const { conn, socket } = server((c) => c.send("hello wörld"));
    conn.handleData(enc("GET / HTTP/1.1\r\nHost: h\r\n\r\n"));
    expect(socket.written).toMatch(
      /^HTTP\/1\.1 200 OK\r\nServer: workerman\r\nDate: \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT\r\nConnection: keep-alive\r\nContent-Type: text\/html;charset=utf-8\r\nContent-Length: 12\r\n\r\nhello wörld$/,
    );
  });

  it("HTTP/1.1 stays open, and closes after a response to Connection: close", () => {
    const { conn, socket, closed } = server((c) => c.send("x"));
    conn.handleData(enc("GET / HTTP/1.1\r\nHost: h\r\n\r\n"));
    expect(closed()).toBe(false);
    conn.handleData(enc("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"));
    expect(closed()).toBe(true);
    const [a, b] = responses(socket.written);
    expect([a.headers.connection, b.headers.connection]).toEqual(["keep-alive", "close"]);
  });

  it("HTTP/1.0 closes unless it asks for keep-alive", () => {
    const one = server((c) => c.send("x"));
    one.conn.handleData(enc("GET / HTTP/1.0\r\n\r\n"));
    expect(one.closed()).toBe(true);
    const two = server((c) => c.send("x"));
    two.conn.handleData(
      enc("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\nGET /2 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"),
    );
    expect(two.closed()).toBe(false);
    expect(responses(two.socket.written)).toHaveLength(2);
  });

  it("nothing after a Connection: close request is read", () => {
    const { conn, requests } = server((c) => c.send("x"));
    conn.handleData(enc("GET /1 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n"));
    expect(requests.map((r) => r.uri())).toEqual(["/1"]);
  });

  it("HEAD is answered with the headers of a GET and no body", () => {
    const { conn, socket } = server((c) => c.send("twelve bytes"));
    conn.handleData(enc("HEAD / HTTP/1.1\r\nHost: h\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n"));
    const text = socket.written;
    const first = text.slice(0, text.indexOf("\r\n\r\n") + 4);
    expect(first).toContain("Content-Length: 12\r\n");
    expect(text.slice(first.length)).toMatch(/^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\ntwelve bytes$/);
  });

  it("pipelined requests with an async handler are answered in request order", async () => {
    const delays: Record<string, number> = { "/slow": 30, "/fast": 0, "/mid": 10 };
    const { conn, socket } = server(async (c, r) => {
      await new Promise((res) => setTimeout(res, delays[r.path()]));
      c.send(r.path());
    });
    conn.handleData(
      enc(
        "GET /slow HTTP/1.1\r\nHost: h\r\n\r\nGET /fast HTTP/1.1\r\nHost: h\r\n\r\nGET /mid HTTP/1.1\r\nHost: h\r\n\r\n",
      ),
    );
    for (let i = 0; i < 100 && responses(socket.written).length < 3; i++) await new Promise((r) => setTimeout(r, 10));
    expect(responses(socket.written).map((r) => r.body)).toEqual(["/slow", "/fast", "/mid"]);
  });

  it("while its process stops, a request that arrives is answered with Connection: close, then the connection closes", () => {
    const { conn, socket, closed } = server((c) => c.send("x"));
    conn.handleData(enc("GET /1 HTTP/1.1\r\nHost: h\r\n\r\n"));
    conn.closeWhenIdle(60_000); // it just talked: its next request may be on its way
    expect(closed()).toBe(false);
    conn.handleData(enc("GET /2 HTTP/1.1\r\nHost: h\r\n\r\n"));
    expect(closed()).toBe(true);
    expect(responses(socket.written).map((r) => r.headers.connection)).toEqual(["keep-alive", "close"]);
  });

  it("a stop while an async answer is pending: a request already received behind it is answered too, the last with Connection: close", async () => {
    const { conn, socket, closed } = server(async (c, r) => {
      await new Promise((res) => setTimeout(res, 5));
      c.send(r.path());
    });
    conn.handleData(enc("GET /slow HTTP/1.1\r\nHost: h\r\n\r\nGET /queued HTTP/1.1\r\nHost: h\r\n\r\n"));
    conn.closeWhenIdle();
    for (let i = 0; i < 100 && !closed(); i++) await new Promise((r) => setTimeout(r, 5));
    expect(responses(socket.written).map((r) => `${r.body} ${r.headers.connection}`)).toEqual([
      "/slow keep-alive",
      "/queued close",
    ]);
    expect(socket.ended).toBe(true);
  });

  it("a graceful stop closes a keep-alive connection between requests, but not while a body arrives or an event stream is sent", () => {
    const idle = server();
    idle.conn.handleData(enc("GET /1 HTTP/1.1\r\nHost: h\r\n\r\n"));
    idle.conn.closeWhenIdle(0, true);
    expect(idle.closed()).toBe(true);

    const upload = server((c, r) => c.send(String(r.rawBody().length)));
    // A body above 1 MiB is taken piece by piece as it arrives.
    upload.conn.handleData(enc("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1100000\r\n\r\n"));
    upload.conn.handleData(enc("x".repeat(600_000)));
    upload.conn.closeWhenIdle(0, true);
    expect(upload.closed()).toBe(false);
    upload.conn.handleData(enc("y".repeat(500_000)));
    expect(upload.closed()).toBe(true);
    expect(responses(upload.socket.written).map((r) => [r.body, r.headers.connection])).toEqual([["1100000", "close"]]);

    const events = server((c) => c.send(new Response(200, { "Content-Type": "text/event-stream" }, "data: 1\n\n")));
    events.conn.handleData(enc("GET /events HTTP/1.1\r\nHost: h\r\n\r\n"));
    events.conn.closeWhenIdle(0, true);
    events.conn.send(new ServerSentEvents({ data: "2" }));
    expect(events.closed()).toBe(false);
    expect(events.socket.written).toMatch(/data: 1\n\ndata: 2\n\n$/);
  });

  it("Expect: 100-continue gets 100 Continue before the body is sent, then the answer", () => {
    const { conn, socket, requests } = server((c, r) => c.send(r.rawBody()));
    conn.handleData(enc("POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"));
    expect(socket.written).toBe("HTTP/1.1 100 Continue\r\n\r\n");
    conn.handleData(enc("hello"));
    expect(requests).toHaveLength(1);
    expect(responses(socket.written).map((r) => [r.status, r.body])).toEqual([[100, ""], [200, "hello"]]);
  });

  it("an empty line before a request is ignored", () => {
    const { conn, requests } = server();
    conn.handleData(enc("\r\n\r\nGET /x HTTP/1.1\r\nHost: h\r\n\r\n"));
    expect(requests.map((r) => r.uri())).toEqual(["/x"]);
  });

  it("a chunked body larger than 1 MiB and a Content-Length body above 1 MiB arrive whole", () => {
    const big = "y".repeat(1_500_000);
    const { conn, requests } = server((c, r) => c.send(String(r.rawBody().length)));
    const chunked = `POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n${
      big.length.toString(16)
    }\r\n${big}\r\n0\r\n\r\n`;
    const fixed = `POST / HTTP/1.1\r\nHost: h\r\nContent-Length: ${big.length}\r\n\r\n${big}`;
    const bytes = enc(chunked + fixed);
    for (let i = 0; i < bytes.length; i += 65536) conn.handleData(bytes.slice(i, i + 65536));
    expect(requests.map((r) => r.rawBody() === big)).toEqual([true, true]);
  });

  it("body pieces that complete no request never reach onMessage", () => {
    const { conn, requests } = server();
    const body = "z".repeat(3_000_000);
    const bytes = enc(
      `POST /big HTTP/1.1\r\nHost: h\r\nContent-Length: ${body.length}\r\n\r\n${body}GET /next HTTP/1.1\r\nHost: h\r\n\r\n`,
    );
    for (let i = 0; i < bytes.length; i += 4096) conn.handleData(bytes.slice(i, i + 4096));
    expect(requests.map((r) => r.uri())).toEqual(["/big", "/next"]);
  });
});

describe("http:// refuses what request smuggling relies on, answers with the code and closes", () => {
  const cases: [string, string, number, string][] = [
    [
      "Transfer-Encoding with Content-Length",
      "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
      400,
      "ERR_HTTP_TE_WITH_CONTENT_LENGTH",
    ],
    [
      "duplicate Content-Length",
      "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
      400,
      "ERR_HTTP_CONTENT_LENGTH_DUPLICATE",
    ],
    [
      "non-numeric Content-Length",
      "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3a\r\n\r\nabc",
      400,
      "ERR_HTTP_CONTENT_LENGTH",
    ],
    [
      "negative Content-Length",
      "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n",
      400,
      "ERR_HTTP_CONTENT_LENGTH",
    ],
    [
      "Content-Length with a plus sign",
      "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +3\r\n\r\nabc",
      400,
      "ERR_HTTP_CONTENT_LENGTH",
    ],
    [
      "a list as Content-Length",
      "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3, 3\r\n\r\nabc",
      400,
      "ERR_HTTP_CONTENT_LENGTH",
    ],
    [
      "an invalid chunk size",
      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
      400,
      "ERR_HTTP_CHUNK_SIZE",
    ],
    [
      "a chunk size of more than 8 hex digits",
      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n000000001\r\na\r\n0\r\n\r\n",
      400,
      "ERR_HTTP_CHUNK_SIZE",
    ],
    [
      "a chunk size followed by whitespace",
      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3 \r\nabc\r\n0\r\n\r\n",
      400,
      "ERR_HTTP_CHUNK_SIZE",
    ],
    [
      "chunk data longer than its size",
      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n0\r\n\r\n",
      400,
      "ERR_HTTP_CHUNK_FRAMING",
    ],
    [
      "a bare LF in a chunk size line",
      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n",
      400,
      "ERR_HTTP_BARE_LF",
    ],
    ["a bare LF ending a header line", "GET / HTTP/1.1\r\nHost: h\nX: 1\r\n\r\n", 400, "ERR_HTTP_BARE_LF"],
    ["a bare LF ending the request line", "GET / HTTP/1.1\nHost: h\r\n\r\n", 400, "ERR_HTTP_BARE_LF"],
    ["a bare CR inside a header value", "GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n", 400, "ERR_HTTP_BARE_CR"],
    [
      "whitespace before a header's colon",
      "GET / HTTP/1.1\r\nHost: h\r\nContent-Length : 0\r\n\r\n",
      400,
      "ERR_HTTP_SPACE_BEFORE_COLON",
    ],
    ["a folded header line", "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n", 400, "ERR_HTTP_OBS_FOLD"],
    ["an invalid method token", "G@T / HTTP/1.1\r\nHost: h\r\n\r\n", 400, "ERR_HTTP_METHOD"],
    ["an empty method", " / HTTP/1.1\r\nHost: h\r\n\r\n", 400, "ERR_HTTP_METHOD"],
    ["a target with a control character", "GET /a\x01b HTTP/1.1\r\nHost: h\r\n\r\n", 400, "ERR_HTTP_TARGET"],
    ["two spaces in the request line", "GET  / HTTP/1.1\r\nHost: h\r\n\r\n", 400, "ERR_HTTP_TARGET"],
    ["a malformed version", "GET / HTTP/1\r\nHost: h\r\n\r\n", 400, "ERR_HTTP_VERSION"],
    ["HTTP/2.0 in a request line", "GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505, "ERR_HTTP_VERSION_UNSUPPORTED"],
    ["a missing Host on HTTP/1.1", "GET / HTTP/1.1\r\nX: 1\r\n\r\n", 400, "ERR_HTTP_MISSING_HOST"],
    ["two Host headers", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "ERR_HTTP_DUPLICATE_HOST"],
    [
      "a header name with a non-token character",
      "GET / HTTP/1.1\r\nHost: h\r\nX(y): 1\r\n\r\n",
      400,
      "ERR_HTTP_HEADER_NAME",
    ],
    ["a NUL in a header value", "GET / HTTP/1.1\r\nHost: h\r\nX: a\0b\r\n\r\n", 400, "ERR_HTTP_HEADER_VALUE"],
    [
      "Transfer-Encoding in HTTP/1.0",
      "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      400,
      "ERR_HTTP_TE_HTTP10",
    ],
    [
      "Transfer-Encoding not ending in chunked",
      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
      400,
      "ERR_HTTP_TE_NOT_CHUNKED",
    ],
    [
      "chunked twice",
      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
      400,
      "ERR_HTTP_TE_NOT_CHUNKED",
    ],
    [
      "a transfer coding other than chunked",
      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
      501,
      "ERR_HTTP_TE_UNSUPPORTED",
    ],
    [
      "an expectation other than 100-continue",
      "POST / HTTP/1.1\r\nHost: h\r\nExpect: 200-ok\r\nContent-Length: 0\r\n\r\n",
      417,
      "ERR_HTTP_EXPECTATION",
    ],
    [
      "a body above maxBodySize",
      "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 20000000\r\n\r\n",
      413,
      "ERR_HTTP_BODY_TOO_LARGE",
    ],
    [
      "a head above maxHeaderSize",
      `GET / HTTP/1.1\r\nHost: h\r\nX: ${"a".repeat(17000)}\r\n\r\n`,
      431,
      "ERR_HTTP_HEADERS_TOO_LARGE",
    ],
    [
      "a head that never ends, above maxHeaderSize",
      `GET / HTTP/1.1\r\nHost: h\r\nX: ${"a".repeat(17000)}`,
      431,
      "ERR_HTTP_HEADERS_TOO_LARGE",
    ],
    [
      "more than maxHeaderCount headers",
      `GET / HTTP/1.1\r\nHost: h\r\n${"X: 1\r\n".repeat(100)}\r\n`,
      431,
      "ERR_HTTP_TOO_MANY_HEADERS",
    ],
  ];

  for (const [what, raw, status, code] of cases) {
    it(`${what}: ${status} ${code}`, () => {
      const { conn, socket, requests, closed } = server();
      conn.handleData(enc(raw));
      expect(requests).toHaveLength(0);
      const [r] = responses(socket.written);
      expect(r.status).toBe(status);
      expect(r.headers.connection).toBe("close");
      expect(r.body).toContain(code);
      expect(closed()).toBe(true);
    });
  }

  it("a chunked body growing past maxBodySize is refused with 413 as soon as it does", () => {
    const { conn, socket, requests } = server(undefined, new HttpProtocol({ maxBodySize: 1000 }));
    conn.handleData(enc("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"));
    conn.handleData(enc(`400\r\n${"a".repeat(1024)}\r\n`));
    expect(requests).toHaveLength(0);
    expect(responses(socket.written)[0].status).toBe(413);
  });

  it("a request before a refused one is answered first", () => {
    const { conn, socket } = server((c) => c.send("fine"));
    conn.handleData(enc("GET / HTTP/1.1\r\nHost: h\r\n\r\nGET / HTTP/1.1\r\n\r\n"));
    expect(responses(socket.written).map((r) => r.status)).toEqual([200, 400]);
  });
});

describe("http:// takes only what RFC 9110/9112 allow", () => {
  const CHUNKED = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
  const cases: [string, string, number, string][] = [
    ...STRICT_REFUSALS.map(([what, status, code, raw]): [string, string, number, string] => [what, raw, status, code]),
    ["a Host that is only a port", "GET / HTTP/1.1\r\nHost: :80\r\n\r\n", 400, "ERR_HTTP_HOST"],
    ["a Host with a space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400, "ERR_HTTP_HOST"],
    ["a Host with a port that is not digits", "GET / HTTP/1.1\r\nHost: h:8x\r\n\r\n", 400, "ERR_HTTP_HOST"],
    ["an IPv6 Host without its ]", "GET / HTTP/1.1\r\nHost: [::1:80\r\n\r\n", 400, "ERR_HTTP_HOST"],
    ["an IPv6 Host with a name inside", "GET / HTTP/1.1\r\nHost: [example.com]\r\n\r\n", 400, "ERR_HTTP_HOST"],
    ["a Host with a broken percent-encoding", "GET / HTTP/1.1\r\nHost: a%zz\r\n\r\n", 400, "ERR_HTTP_HOST"],
    ["an invalid Host on HTTP/1.0", "GET / HTTP/1.0\r\nHost: u@h\r\n\r\n", 400, "ERR_HTTP_HOST"],
    ["a target starting with * that is not *", "OPTIONS *x HTTP/1.1\r\nHost: h\r\n\r\n", 400, "ERR_HTTP_TARGET_FORM"],
    ["a target with a scheme but no //", "GET urn:x HTTP/1.1\r\nHost: h\r\n\r\n", 400, "ERR_HTTP_TARGET_FORM"],
    ["a target neither /path nor a URL", "GET index.html HTTP/1.1\r\nHost: h\r\n\r\n", 400, "ERR_HTTP_TARGET_FORM"],
    ["CONNECT in HTTP/1.0 with a path", "CONNECT / HTTP/1.0\r\n\r\n", 501, "ERR_HTTP_CONNECT"],
    ["a DEL in the target", "GET /a\x7fb HTTP/1.1\r\nHost: h\r\n\r\n", 400, "ERR_HTTP_TARGET"],
    ["a '>' in the target", "GET /a>b HTTP/1.1\r\nHost: h\r\n\r\n", 400, "ERR_HTTP_TARGET"],
    [
      "a chunk extension with whitespace before CRLF",
      `${CHUNKED}5;a \r\nhello\r\n0\r\n\r\n`,
      400,
      "ERR_HTTP_CHUNK_EXTENSION",
    ],
    [
      "a chunk extension value with whitespace before CRLF",
      `${CHUNKED}5;a=b \r\nhello\r\n0\r\n\r\n`,
      400,
      "ERR_HTTP_CHUNK_EXTENSION",
    ],
    [
      "a quoted chunk extension that does not end",
      `${CHUNKED}5;a="x\r\nhello\r\n0\r\n\r\n`,
      400,
      "ERR_HTTP_CHUNK_EXTENSION",
    ],
    [
      "a byte after a quoted chunk extension",
      `${CHUNKED}5;a="x"y\r\nhello\r\n0\r\n\r\n`,
      400,
      "ERR_HTTP_CHUNK_EXTENSION",
    ],
    [
      "a chunk extension value that is not a token",
      `${CHUNKED}5;a=b/c\r\nhello\r\n0\r\n\r\n`,
      400,
      "ERR_HTTP_CHUNK_EXTENSION",
    ],
    [
      "a chunk extension longer than 1024 bytes",
      `${CHUNKED}5;a=${"b".repeat(1030)}\r\nhello\r\n0\r\n\r\n`,
      400,
      "ERR_HTTP_CHUNK_EXTENSION",
    ],
    [
      "a Content-Length of 2^53",
      "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 9007199254740992\r\n\r\n",
      400,
      "ERR_HTTP_CONTENT_LENGTH",
    ],
  ];

  for (const [what, raw, status, code] of cases) {
    it(`${what}: ${status} ${code}, whole or byte by byte`, () => {
      for (const cut of [-2, -1]) {
        const { conn, socket, requests, closed } = server();
        feed(conn, bytes(raw), cut);
        expect(requests).toHaveLength(0);
        const [r] = responses(socket.written);
        expect(r.status, `cut ${cut}`).toBe(status);
        expect(r.headers.connection).toBe("close");
        expect(r.body).toContain(code);
        expect(closed()).toBe(true);
      }
    });
  }

  for (const [what, raw] of STRICT_ACCEPTED) {
    it(`${what} is taken`, () => {
      const { conn, socket, requests } = server();
      conn.handleData(bytes(raw));
      expect(requests).toHaveLength(1);
      expect(responses(socket.written)[0].status).toBe(200);
      if (raw.includes("chunked")) expect(requests[0].rawBody()).toBe("hello");
    });
  }

  it("a Content-Length with leading zeros is its value", () => {
    const { conn, requests } = server();
    conn.handleData(enc(`POST / HTTP/1.1\r\nHost: h\r\nContent-Length: ${"0".repeat(30)}3\r\n\r\nabc`));
    expect(requests.map((r) => r.rawBody())).toEqual(["abc"]);
  });

  it("a method or target already too long is refused before its request line has arrived", () => {
    const protocol = new HttpProtocol({ maxTargetSize: 100 });
    for (const [head, status] of [["ABCDEFGHIJKLMNOPQR", 501], [`GET /${"a".repeat(100)}`, 414]] as const) {
      const { conn, socket, closed } = server(undefined, protocol);
      conn.handleData(enc(head));
      expect(responses(socket.written)[0].status, head).toBe(status);
      expect(closed()).toBe(true);
    }
  });

  it("a head that fills maxHeaderSize before its request line ends is 414; after it, 431", () => {
    const protocol = new HttpProtocol({ maxHeaderSize: 1000, maxTargetSize: 5000 });
    const cases = [[`GET /${"a".repeat(2000)}`, 414], [`GET /${"a".repeat(2000)} HTTP/1.1\r\nHost: h\r\n\r\n`, 414], [
      `GET / HTTP/1.1\r\nX: ${"a".repeat(2000)}`,
      431,
    ]] as const;
    for (const [head, status] of cases) {
      for (const cut of [-2, 10]) {
        const { conn, socket } = server(undefined, protocol);
        feed(conn, enc(head), cut);
        expect(responses(socket.written)[0].status, `${head.slice(0, 20)} cut ${cut}`).toBe(status);
      }
    }
  });
});

describe("http:// responses", () => {
  function answer(response: unknown, request = "GET / HTTP/1.1\r\nHost: h\r\n\r\n") {
    const { conn, socket, closed } = server((c) => c.send(response as string));
    conn.handleData(enc(request));
    return { text: socket.written.replace(/Date: [^\r]+\r\n/, ""), closed };
  }

  it("new Response(404) has Workerman's headers and an empty body", () => {
    expect(answer(new Response(404)).text).toBe(
      "HTTP/1.1 404 Not Found\r\nServer: workerman\r\nConnection: keep-alive\r\nContent-Type: text/html;charset=utf-8\r\nContent-Length: 0\r\n\r\n",
    );
  });

  it("cookies and array headers are one line each, in the order set", () => {
    const r = new Response(201, {}, "c").cookie("a", "b c", 60, "/", "", false, true).withHeader("X-A", ["1", "2"]);
    expect(answer(r).text).toBe(
      "HTTP/1.1 201 Created\r\nServer: workerman\r\nSet-Cookie: a=b%20c; Max-Age=60; Path=/; HttpOnly\r\nX-A: 1\r\nX-A: 2\r\n" +
        "Connection: keep-alive\r\nContent-Type: text/html;charset=utf-8\r\nContent-Length: 1\r\n\r\nc",
    );
  });

  it("a chunked response is framed chunk by chunk and ends with the empty chunk", () => {
    const { conn, socket } = server((c) => {
      c.send(new Response(200, { "Transfer-Encoding": "chunked" }, "abc"));
      c.send(new Chunk("defg"));
      c.send(new Chunk(""));
    });
    conn.handleData(enc("GET / HTTP/1.1\r\nHost: h\r\n\r\n"));
    expect(socket.written.replace(/Date: [^\r]+\r\n/, "")).toBe(
      "HTTP/1.1 200 OK\r\nServer: workerman\r\nConnection: keep-alive\r\nContent-Type: text/html;charset=utf-8\r\n" +
        "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n",
    );
  });

  it("a chunked response holds back the next pipelined request until its last chunk", async () => {
    const { conn, socket, requests } = server((c, r) => {
      if (r.path() !== "/stream") return c.send("next");
      c.send(new Response(200, { "Transfer-Encoding": "chunked" }));
      setTimeout(() => {
        c.send(new Chunk("late"));
        c.send(new Chunk(""));
      }, 20);
    });
    conn.handleData(enc("GET /stream HTTP/1.1\r\nHost: h\r\n\r\nGET /after HTTP/1.1\r\nHost: h\r\n\r\n"));
    expect(requests).toHaveLength(1);
    for (let i = 0; i < 100 && requests.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    await tick();
    expect(responses(socket.written).map((r) => r.body)).toEqual(["late", "next"]);
  });

  it("chunks to an HTTP/1.0 client are sent raw and the connection closes after the last", () => {
    const { conn, socket, closed } = server((c) => {
      c.send(new Response(200, { "Transfer-Encoding": "chunked" }, "ab"));
      c.send(new Chunk("cd"));
      c.send(new Chunk(""));
    });
    conn.handleData(enc("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    expect(socket.written).not.toContain("Transfer-Encoding");
    expect(socket.written.endsWith("\r\n\r\nabcd")).toBe(true);
    expect(closed()).toBe(true);
  });

  it("an event stream has no Content-Length and carries ServerSentEvents as sent", () => {
    const { conn, socket } = server((c) => {
      c.send(new Response(200, { "Content-Type": "text/event-stream" }, ": hi\n\n"));
      c.send(new ServerSentEvents({ event: "tick", id: 1, data: "a\nb" }));
    });
    conn.handleData(enc("GET / HTTP/1.1\r\nHost: h\r\n\r\n"));
    expect(socket.written).not.toContain("Content-Length");
    expect(socket.written.endsWith("\r\n\r\n: hi\n\nevent: tick\nid: 1\ndata: a\ndata: b\n\n")).toBe(true);
  });

  it("ServerSentEvents writes comment, event, id, retry, data lines and a blank line; no field can inject a line", () => {
    expect(String(new ServerSentEvents({ "": "c", event: "e", id: "i", retry: 5, data: "x\r\ny" }))).toBe(
      ": c\nevent: e\nid: i\nretry: 5\ndata: x\ndata: y\n\n",
    );
    expect(String(new ServerSentEvents({ event: "a\nid: 666" }))).toBe("event: a id: 666\n\n");
  });

  it("a header value with CR or LF is refused with ERR_HTTP_INVALID_HEADER instead of splitting the response", () => {
    let thrown: unknown = null;
    const { conn, socket } = server((c) => {
      try {
        c.send(new Response(200, { "X-Bad": "a\r\nSet-Cookie: x=1" }, "x"));
      } catch (err) {
        thrown = err;
        c.send(new Response(500));
      }
    });
    conn.handleData(enc("GET / HTTP/1.1\r\nHost: h\r\n\r\n"));
    expect((thrown as { code?: string }).code).toBe("ERR_HTTP_INVALID_HEADER");
    expect(socket.written).not.toContain("Set-Cookie");
    expect(responses(socket.written).map((r) => r.status)).toEqual([500]);
  });

  it("204 and 304 carry neither body nor Content-Length", () => {
    expect(answer(new Response(204, {}, "ignored")).text).not.toMatch(/Content-Length|ignored/);
  });

  it("a Response with a Content-Length of its own still gets the real one", () => {
    expect(answer(new Response(200, { "Content-Length": "99" }, "abc")).text).toMatch(/Content-Length: 3\r\n\r\nabc$/);
  });

  it("a Uint8Array body is sent as bytes with its length", () => {
    expect(answer(new Response(200, { "Content-Type": "application/octet-stream" }, new Uint8Array([104, 105]))).text)
      .toMatch(
        /Content-Length: 2\r\n\r\nhi$/,
      );
  });
});

describe("http:// parser pieces", () => {
  it("findHeadEnd resumes where it stopped and flags a LF without CR", () => {
    const head = enc("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    expect(findHeadEnd(head, 0, 0)).toBe(head.length);
    expect(findHeadEnd(head.subarray(0, 20), 0, 0)).toBe(0);
    expect(findHeadEnd(head, 0, 20)).toBe(head.length);
    expect(findHeadEnd(enc("GET / HTTP/1.1\nHost: h\r\n\r\n"), 0, 0)).toBe(-1);
  });

  it("parseHead reads keep-alive from Connection tokens in any case and order", () => {
    const info = new HeadInfo();
    const check = (raw: string) => {
      const b = enc(raw);
      expect(parseHead(b, 0, findHeadEnd(b, 0, 0), info, { maxHeaderCount: 100, maxTargetSize: 1000 })).toBe("");
      return info.keepAlive;
    };
    expect(check("GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, CLOSE\r\n\r\n")).toBe(false);
    expect(check("GET / HTTP/1.0\r\nConnection: foo,keep-alive\r\n\r\n")).toBe(true);
    expect(check("GET / HTTP/1.0\r\n\r\n")).toBe(false);
    expect(check("GET / HTTP/1.1\r\nHost: h\r\n\r\n")).toBe(true);
  });

  it("the chunked decoder takes every form of extension whatever the pieces", () => {
    const body = enc('5 ;a ; b = "q\\"; c" ;c=d\r\nhello\r\n1;x="";y=z\r\n!\r\n0;end\r\n\r\n');
    for (let cut = 0; cut < body.length; cut++) {
      const d = new ChunkedDecoder(1000);
      let data = "";
      const on = (b: Uint8Array) => (data += new TextDecoder().decode(b));
      d.feed(body, 0, cut, on);
      d.feed(body, cut, body.length, on);
      expect(d.error, `cut ${cut}`).toBe("");
      expect(d.done).toBe(true);
      expect(data).toBe("hello!");
    }
  });

  it("the chunked decoder gives the same data whatever the pieces, and stops at the end of the body", () => {
    const body = enc("5;name=v\r\nhello\r\n1\r\n \r\n6\r\nworld!\r\n0\r\nA: b\r\n\r\nNEXT");
    for (let cut = 0; cut < body.length; cut++) {
      const d = new ChunkedDecoder(1000);
      let data = "";
      const on = (b: Uint8Array) => (data += new TextDecoder().decode(b));
      const a = d.feed(body, 0, cut, on);
      const b = d.feed(body, cut, body.length, on);
      expect(d.done, `cut ${cut}`).toBe(true);
      expect(data).toBe("hello world!");
      expect(a + b).toBe(body.length - 4);
    }
  });

  it("parseRanges takes one or several bytes= ranges and ignores what it cannot honour", () => {
    expect(parseRanges("bytes=0-99", 1000)).toEqual([[0, 99]]);
    expect(parseRanges("bytes=900-", 1000)).toEqual([[900, 999]]);
    expect(parseRanges("bytes=-100", 1000)).toEqual([[900, 999]]);
    expect(parseRanges("bytes=990-2000", 1000)).toEqual([[990, 999]]);
    expect(parseRanges("Bytes = 0-9 , 20-29", 1000)).toEqual([[0, 9], [20, 29]]);
    expect(parseRanges("bytes=20-29,0-9", 1000)).toEqual([[20, 29], [0, 9]]); // the order asked
    expect(parseRanges("bytes=-5,0-9,5-14", 1000)).toEqual([[0, 14], [995, 999]]); // overlaps merged, sorted
    expect(parseRanges("bytes=0-9,10-19", 1000)).toEqual([[0, 19]]); // adjacent merged
    expect(parseRanges("bytes=0-9,2000-3000", 1000)).toEqual([[0, 9]]); // the unsatisfiable one dropped
    expect(parseRanges("bytes=1000-", 1000)).toBe("unsatisfiable");
    expect(parseRanges("bytes=1000-,-0", 1000)).toBe("unsatisfiable");
    expect(parseRanges("bytes=0-", 0)).toBe("unsatisfiable");
    expect(parseRanges("bytes=5-1", 1000)).toBe(null);
    expect(parseRanges("bytes=0-1,x", 1000)).toBe(null);
    expect(parseRanges("bytes=-", 1000)).toBe(null);
    expect(parseRanges("items=0-1", 1000)).toBe(null);
    const many = Array.from({ length: MAX_RANGES + 1 }, (_, i) => `${i * 10}-${i * 10 + 1}`).join(",");
    expect(parseRanges(`bytes=${many}`, 1000)).toBe(null);
  });

  it("ETags: If-None-Match compares weakly, If-Range strongly, and an If-Range date must equal Last-Modified", () => {
    const etag = fileETag(300, 1700000000123.5);
    expect(etag).toBe(`"${(1700000000123).toString(16)}-12c"`);
    expect(noneMatch(etag, etag)).toBe(true);
    expect(noneMatch(`"other", W/${etag}`, etag)).toBe(true);
    expect(noneMatch("*", etag)).toBe(true);
    expect(noneMatch('"other"', etag)).toBe(false);
    expect(ifRangeHolds(etag, etag, 0)).toBe(true);
    expect(ifRangeHolds(`W/${etag}`, etag, 0)).toBe(false);
    expect(ifRangeHolds('"other"', etag, 0)).toBe(false);
    const mtime = Date.UTC(2024, 0, 2, 3, 4, 5, 678);
    expect(ifRangeHolds("Tue, 02 Jan 2024 03:04:05 GMT", etag, mtime)).toBe(true);
    expect(ifRangeHolds("Tue, 02 Jan 2024 03:04:06 GMT", etag, mtime)).toBe(false);
    expect(ifRangeHolds("not a date", etag, mtime)).toBe(false);
  });

  it("preconditions: If-Match compares strongly (any listed tag, or *), If-Unmodified-Since to the second, an invalid date is ignored", () => {
    const etag = fileETag(300, 1700000000123);
    expect(ifMatchHolds(etag, etag)).toBe(true);
    expect(ifMatchHolds(`"a", ${etag}`, etag)).toBe(true);
    expect(ifMatchHolds("*", etag)).toBe(true);
    expect(ifMatchHolds(`W/${etag}`, etag)).toBe(false);
    expect(ifMatchHolds('"a", "b"', etag)).toBe(false);
    const mtime = Date.UTC(2024, 0, 2, 3, 4, 5, 678);
    expect(unmodifiedSince("Tue, 02 Jan 2024 03:04:05 GMT", mtime)).toBe(true);
    expect(unmodifiedSince("Tue, 02 Jan 2024 03:04:04 GMT", mtime)).toBe(false);
    expect(unmodifiedSince("not a date", mtime)).toBe(true);
  });
});

describe("gzip of responses", () => {
  const text = "<p>" + "compress me, ".repeat(400) + "</p>"; // 5 KB, very compressible

  /** One request with `headers`; the response's status line, headers and body bytes (gunzipped when gzip). */
  function exchange(answer: Handler, headers: string, protocol: HttpProtocol = new HttpProtocol({ gzip: true })) {
    const { conn, socket } = server(answer, protocol);
    conn.handleData(enc(`GET / HTTP/1.1\r\nHost: h\r\n${headers}\r\n`));
    const all = Buffer.concat(socket.writes);
    const end = all.indexOf("\r\n\r\n");
    const head = all.subarray(0, end).toString("latin1");
    const body = all.subarray(end + 4);
    const gzipped = /\r\nContent-Encoding: gzip\r\n/.test(head);
    return { head, length: body.length, gzipped, text: (gzipped ? gunzipSync(body) : body).toString() };
  }

  it("with the gzip option, a compressible body is gzipped for a client that accepts gzip", () => {
    const r = exchange((c) => c.send(text), "Accept-Encoding: deflate, gzip;q=0.5, br\r\n");
    expect(r.gzipped).toBe(true);
    expect(r.head).toContain("\r\nVary: Accept-Encoding");
    expect(r.head).toContain(`\r\nContent-Length: ${r.length}`);
    expect(r.length).toBeLessThan(text.length / 10);
    expect(r.text).toBe(text);
    const json = JSON.stringify({ list: Array.from({ length: 300 }, (_, i) => ({ i })) });
    const j = exchange(
      (c) => c.send(new Response(200, { "Content-Type": "application/json" }, json)),
      "Accept-Encoding: *\r\n",
    );
    expect(j.gzipped).toBe(true);
    expect(j.text).toBe(json);
  });

  it("no gzip without Accept-Encoding, with gzip;q=0, for a small body, an image or an encoded body", () => {
    const plain = (answer: Handler, headers: string) => {
      const r = exchange(answer, headers);
      expect(r.gzipped, headers).toBe(false);
      expect(r.head).not.toContain("Vary:");
      return r;
    };
    expect(plain((c) => c.send(text), "").text).toBe(text);
    plain((c) => c.send(text), "Accept-Encoding: gzip;q=0, *\r\n");
    plain((c) => c.send(text), "Accept-Encoding: br\r\n");
    plain((c) => c.send("<p>small</p>"), "Accept-Encoding: gzip\r\n");
    plain((c) => c.send(new Response(200, { "Content-Type": "image/png" }, text)), "Accept-Encoding: gzip\r\n");
    plain((c) => c.send(new Response(200, { "Content-Encoding": "br" }, text)), "Accept-Encoding: gzip\r\n");
  });

  it("withCompression() asks for gzip without the option (any size), withCompression(false) refuses it", () => {
    const asked = exchange(
      (c) => c.send(new Response(200, {}, "tiny").withCompression()),
      "Accept-Encoding: gzip\r\n",
      Http,
    );
    expect(asked.gzipped).toBe(true);
    expect(asked.text).toBe("tiny");
    expect(exchange((c) => c.send(new Response(200, {}, text)), "Accept-Encoding: gzip\r\n", Http).gzipped).toBe(false);
    expect(
      exchange((c) => c.send(new Response(200, {}, text).withCompression(false)), "Accept-Encoding: gzip\r\n").gzipped,
    ).toBe(false);
  });

  it("acceptsGzip reads q-values and *", () => {
    expect(acceptsGzip("gzip")).toBe(true);
    expect(acceptsGzip("deflate, GZIP ; q=0.1")).toBe(true);
    expect(acceptsGzip("gzip;q=0")).toBe(false);
    expect(acceptsGzip("*")).toBe(true);
    expect(acceptsGzip("*;q=0")).toBe(false);
    expect(acceptsGzip("gzip;q=0, *")).toBe(false);
    expect(acceptsGzip("identity")).toBe(false);
    expect(acceptsGzip(null)).toBe(false);
  });
});
