import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  FileSessionHandler,
  Http,
  type HttpConnection,
  HttpProtocol,
  Request,
  Response,
  Session,
  TcpConnection,
  type UploadedFile,
} from "../../mod.ts";
import { MultipartParser, type MultipartSink, type PartInfo } from "../../protocols/http/multipart.ts";
import { parseForm } from "../../protocols/http/query.ts";
import { FakeConn } from "../helpers/fake_conn.ts";
import { until } from "../helpers/wait.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dir = mkdtempSync(join(tmpdir(), "wm-http-unit-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// deno-lint-ignore no-explicit-any
function server(answer: (conn: HttpConnection, request: Request) => any, protocol = Http) {
  const socket = new FakeConn();
  const owner = { name: "test", connections: new Map<number, TcpConnection>() };
  const conn = new TcpConnection(socket, owner, protocol);
  socket.start(conn);
  conn.onMessage = answer;
  return { socket, conn };
}

describe("Request", () => {
  const raw = "POST /json?a=1&b[]=2&b[]=3&c[x][y]=z HTTP/1.1\r\nHost: a:8080\r\nX-Dup: 1\r\nx-dup: 2\r\n" +
    "Cookie: x=1; y=hello%20there\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 11\r\n\r\nk=v&z=9+9%21";

  it("gives the query, form, headers and cookies as Workerman 4 does", () => {
    const r = new Request(raw);
    expect(r.method()).toBe("POST");
    expect(r.uri()).toBe("/json?a=1&b[]=2&b[]=3&c[x][y]=z");
    expect(r.path()).toBe("/json");
    expect(r.queryString()).toBe("a=1&b[]=2&b[]=3&c[x][y]=z");
    expect(r.get()).toEqual({ a: "1", b: ["2", "3"], c: { x: { y: "z" } } });
    expect(r.get("a")).toBe("1");
    expect(r.get("missing", "dflt")).toBe("dflt");
    expect(r.get("constructor")).toBe(null);
    expect(r.post()).toEqual({ k: "v", z: "9 9!" });
    expect(r.header("X-DUP")).toBe("1, 2");
    expect(r.header("host")).toBe("a:8080");
    expect(r.header("nope", "d")).toBe("d");
    expect(r.cookie()).toEqual({ x: "1", y: "hello there" });
    expect(r.host()).toBe("a:8080");
    expect(r.host(true)).toBe("a");
    expect(r.protocolVersion()).toBe("1.1");
    expect(r.rawHead().split("\r\n")[0]).toBe("POST /json?a=1&b[]=2&b[]=3&c[x][y]=z HTTP/1.1");
    expect(r.rawBody()).toBe("k=v&z=9+9%21");
  });

  it("post() decodes JSON when the Content-Type says json, and gives {} for invalid JSON", () => {
    const json = (body: string, type = "application/json") =>
      new Request(
        `POST / HTTP/1.1\r\nHost: h\r\nContent-Type: ${type}\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      );
    expect(json('{"a":[1,2]}').post()).toEqual({ a: [1, 2] });
    expect(json('{"a":1}', "application/vnd.api+json; charset=utf-8").post("a")).toBe(1);
    expect(json("{nope").post()).toEqual({});
  });

  it("host(true) keeps a bracketed IPv6 address whole", () => {
    expect(new Request("GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n").host(true)).toBe("[::1]");
  });

  it("path() of an absolute-form target is its path", () => {
    expect(new Request("GET http://example.com/p?q=1 HTTP/1.1\r\nHost: example.com\r\n\r\n").path()).toBe("/p");
  });

  it("a Request built from an invalid head throws the code the server answers with", () => {
    expect(() => new Request("GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\nHost: h\r\n\r\n")).toThrow(
      expect.objectContaining({ code: "ERR_HTTP_CONTENT_LENGTH_DUPLICATE", status: 400 }),
    );
  });

  it("the connection's remote address is available on the request", () => {
    let ip = "";
    const { conn } = server((c, r) => {
      ip = `${r.getRemoteIp()}:${r.getRemotePort()}`;
      c.send("x");
    });
    conn.handleData(enc("GET / HTTP/1.1\r\nHost: h\r\n\r\n"));
    expect(ip).toBe("127.0.0.1:40000");
  });
});

describe("form decoding (parse_str rules)", () => {
  it("builds lists and nested objects from brackets and decodes + and %XX", () => {
    expect(parseForm("a=1&a=2")).toEqual({ a: "2" });
    expect(parseForm("l[]=x&l[]=y&m[k]=v&m[]=w")).toEqual({ l: ["x", "y"], m: { k: "v", 0: "w" } });
    expect(parseForm("s=a+b%20c%E2%82%AC&bad=%zz%4")).toEqual({ s: "a b c€", bad: "%zz%4" });
    expect(parseForm("novalue&=skipped&e=")).toEqual({ novalue: "", e: "" });
  });

  it("keeps a leading U+FEFF of a name or value (it is data, not a byte order mark)", () => {
    expect(parseForm("%EF%BB%BFk=%EF%BB%BFv")).toEqual({ "\uFEFFk": "\uFEFFv" });
    expect(parseForm("m=%EF%BB%BFv%zz")).toEqual({ m: "\uFEFFv%zz" }); // the byte-by-byte path of malformed escapes
  });

  it("a __proto__ name is stored as data and never reaches a prototype", () => {
    const form = parseForm("__proto__[polluted]=1&a[__proto__][x]=2");
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.keys(form)).toContain("__proto__");
  });

  it("stops at 1000 pairs and ignores names nested deeper than 64 levels", () => {
    const many = Array.from({ length: 1500 }, (_, i) => `k${i}=1`).join("&");
    expect(Object.keys(parseForm(many))).toHaveLength(1000);
    expect(parseForm(`d${"[a]".repeat(65)}=1`)).toEqual({});
  });
});

/** A multipart body with a field, a file and an empty file input. */
function multipart(boundary: string, fileContent: string): string {
  return `--${boundary}\r\nContent-Disposition: form-data; name="f1"\r\n\r\nv1\r\n` +
    `--${boundary}\r\nContent-Disposition: form-data; name="up"; filename="dir/a \\"q\\".txt"\r\nContent-Type: text/plain\r\n\r\n${fileContent}\r\n` +
    `--${boundary}\r\nContent-Disposition: form-data; name="list[]"\r\n\r\nx\r\n` +
    `--${boundary}\r\nContent-Disposition: form-data; name="none"; filename=""\r\nContent-Type: application/octet-stream\r\n\r\n\r\n` +
    `--${boundary}--\r\nepilogue`;
}

describe("multipart/form-data", () => {
  it("the parser gives the same parts whatever the pieces (split at every offset)", () => {
    const body = enc(multipart("XyZ", "hello\r\n--XyNot a boundary\r\n"));
    const collect = () => {
      const parts: { info: PartInfo; data: string }[] = [];
      const sink: MultipartSink = {
        begin: (info) => parts.push({ info, data: "" }),
        data: (b) => (parts[parts.length - 1].data += new TextDecoder().decode(b)),
        end: () => {},
      };
      return { parts, sink };
    };
    const expected = [
      ["f1", null, "v1"],
      ["up", 'a "q".txt', "hello\r\n--XyNot a boundary\r\n"],
      ["list[]", null, "x"],
      ["none", "", ""],
    ];
    for (let cut = 0; cut <= body.length; cut++) {
      const { parts, sink } = collect();
      const p = new MultipartParser("XyZ", sink);
      p.write(body.slice(0, cut));
      p.write(body.slice(cut));
      expect(p.done).toBe(true);
      expect(parts.map((x) => [x.info.name, x.info.filename, x.data]), `cut ${cut}`).toEqual(expected);
    }
  });

  it("post() and file() describe fields and files as PHP does; the temp files are removed after the response", async () => {
    let seen: { post: unknown; file: UploadedFile; content: string; none: unknown } | null = null;
    const protocol = new HttpProtocol({ uploadTmpDir: dir });
    const { conn, socket } = server((c, r) => {
      const file = r.file("up") as UploadedFile;
      seen = { post: r.post(), file, content: readFileSync(file.tmp_name, "utf8"), none: r.file("none") };
      c.send("ok");
    }, protocol);
    const body = multipart("b0undary", "hello");
    conn.handleData(
      enc(
        `POST /up HTTP/1.1\r\nHost: h\r\nContent-Type: multipart/form-data; boundary=b0undary\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      ),
    );
    expect(socket.written).toContain("\r\n\r\nok");
    expect(seen!.post).toEqual({ f1: "v1", list: ["x"] });
    expect(seen!.file).toMatchObject({ name: 'a "q".txt', size: 5, error: 0, type: "text/plain" });
    expect(seen!.file.tmp_name).toMatch(/\/workerman\.upload\.[0-9a-f]{16}$/);
    expect(seen!.content).toBe("hello");
    expect(seen!.none).toEqual({ name: "", tmp_name: "", size: 0, error: 4, type: "application/octet-stream" });
    expect(existsSync(seen!.file.tmp_name as string)).toBe(false);
  });

  it("a multipart upload larger than the inline limit, chunked, is streamed to its temp file", async () => {
    const protocol = new HttpProtocol({ uploadTmpDir: dir });
    let size = 0;
    let same = false;
    const content = "0123456789".repeat(300_000);
    const { conn } = server((c, r) => {
      const f = r.file("up") as UploadedFile;
      size = f.size;
      same = readFileSync(f.tmp_name, "utf8") === content;
      c.send("ok");
    }, protocol);
    const body = enc(multipart("bb", content));
    const head = enc(
      "POST / HTTP/1.1\r\nHost: h\r\nContent-Type: multipart/form-data; boundary=bb\r\nTransfer-Encoding: chunked\r\n\r\n",
    );
    conn.handleData(head);
    for (let i = 0; i < body.length; i += 70_000) {
      const piece = body.slice(i, i + 70_000);
      conn.handleData(enc(`${piece.length.toString(16)}\r\n`));
      conn.handleData(piece);
      conn.handleData(enc("\r\n"));
    }
    conn.handleData(enc("0\r\n\r\n"));
    expect(size).toBe(content.length);
    expect(same).toBe(true);
  });

  it("more file parts than maxFileUploads is refused with 413", () => {
    const protocol = new HttpProtocol({ uploadTmpDir: dir, maxFileUploads: 2 });
    const { conn, socket } = server((c) => c.send("ok"), protocol);
    const part = `--b\r\nContent-Disposition: form-data; name="f[]"; filename="x"\r\n\r\nx\r\n`;
    const body = part.repeat(3) + "--b--\r\n";
    conn.handleData(
      enc(
        `POST / HTTP/1.1\r\nHost: h\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      ),
    );
    expect(socket.written).toMatch(/^HTTP\/1\.1 413 [^]*ERR_HTTP_TOO_MANY_PARTS/);
  });
});

describe("Response.withFile", () => {
  const small = join(dir, "page.html");
  const big = join(dir, "big.bin");
  const odd = join(dir, "data.weird");
  writeFileSync(small, "<p>hi</p>");
  const bigContent = new Uint8Array(300_000).map((_, i) => i % 251);
  writeFileSync(big, bigContent);
  writeFileSync(odd, "x");

  function get(path: string, headers = "", method = "GET", response = () => new Response().withFile(path)) {
    const { conn, socket } = server((c) => c.send(response()));
    conn.handleData(enc(`${method} / HTTP/1.1\r\nHost: h\r\n${headers}\r\n`));
    return socket;
  }
  const headOf = (s: FakeConn) => s.written.slice(0, s.written.indexOf("\r\n\r\n"));

  it("sends a small file with its MIME type, Last-Modified and Accept-Ranges", () => {
    const s = get(small);
    expect(headOf(s)).toContain("Content-Type: text/html;charset=utf-8");
    expect(headOf(s)).toContain(`Last-Modified: ${statSync(small).mtime.toUTCString()}`);
    expect(headOf(s)).toContain("Accept-Ranges: bytes");
    expect(s.written.endsWith("\r\n\r\n<p>hi</p>")).toBe(true);
  });

  it("an unknown extension is sent as an octet-stream attachment", () => {
    expect(headOf(get(odd))).toMatch(
      /Content-Type: application\/octet-stream\r\nContent-Disposition: attachment; filename="data.weird"/,
    );
  });

  it("If-Modified-Since at or after the file's time answers 304 without a body", () => {
    const s = get(small, `If-Modified-Since: ${new Date(Date.now() + 1000).toUTCString()}\r\n`);
    expect(s.written).toMatch(/^HTTP\/1\.1 304 Not Modified\r\n/);
    expect(s.written.endsWith("\r\n\r\n")).toBe(true);
    expect(get(small, "If-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT\r\n").written).toMatch(/^HTTP\/1\.1 200 /);
  });

  it("a Range answers 206 with Content-Range and only those bytes; an unsatisfiable one 416", async () => {
    const s = get(big, "Range: bytes=100000-100009\r\n");
    expect(headOf(s)).toMatch(/^HTTP\/1\.1 206 Partial Content/);
    expect(headOf(s)).toContain("Content-Range: bytes 100000-100009/300000");
    expect([...s.writes.at(-1)!.slice(-10)]).toEqual([...bigContent.slice(100000, 100010)]);
    expect(headOf(get(big, "Range: bytes=400000-\r\n"))).toMatch(/^HTTP\/1\.1 416 [^]*Content-Range: bytes \*\/300000/);
  });

  /** Everything written, as latin1 text (one char per byte). */
  const allText = (s: FakeConn) => {
    const all = new Uint8Array(s.writes.reduce((n, w) => n + w.length, 0));
    let o = 0;
    for (const w of s.writes) {
      all.set(w, o);
      o += w.length;
    }
    return new TextDecoder("latin1").decode(all);
  };
  const latin1 = (bytes: Uint8Array) => new TextDecoder("latin1").decode(bytes);

  it("sends an ETag, and If-None-Match with it answers 304 whatever If-Modified-Since says", () => {
    const etag = /ETag: ("[^"]+")/.exec(headOf(get(small)))![1];
    const s = get(small, `If-None-Match: "x", ${etag}\r\nIf-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT\r\n`);
    expect(s.written).toMatch(/^HTTP\/1\.1 304 Not Modified\r\n/);
    expect(headOf(s)).toContain(`ETag: ${etag}`);
    expect(s.written.endsWith("\r\n\r\n")).toBe(true);
    // Another tag: the file is sent, and If-Modified-Since is not consulted.
    const other = get(
      small,
      `If-None-Match: "x"\r\nIf-Modified-Since: ${new Date(Date.now() + 1000).toUTCString()}\r\n`,
    );
    expect(other.written).toMatch(/^HTTP\/1\.1 200 [^]*<p>hi<\/p>$/);
  });

  it("If-Match / If-Unmodified-Since that fail answer 412 with no body, before If-None-Match and Range are looked at", () => {
    const etag = /ETag: ("[^"]+")/.exec(headOf(get(big)))![1];
    for (
      const failing of [
        'If-Match: "stale"',
        `If-Match: W/${etag}`,
        "If-Unmodified-Since: Thu, 01 Jan 1970 00:00:00 GMT",
      ]
    ) {
      const s = get(big, `${failing}\r\nIf-None-Match: ${etag}\r\nRange: bytes=0-9\r\n`);
      expect(headOf(s)).toMatch(/^HTTP\/1\.1 412 Precondition Failed\r\n/);
      expect(headOf(s)).toContain("Content-Length: 0");
      expect(s.written.endsWith("\r\n\r\n")).toBe(true);
    }
    // If-Match decides alone: a stale If-Unmodified-Since beside a matching tag is not consulted.
    const held = get(
      big,
      `If-Match: "x", ${etag}\r\nIf-Unmodified-Since: Thu, 01 Jan 1970 00:00:00 GMT\r\nRange: bytes=0-9\r\n`,
    );
    expect(headOf(held)).toMatch(/^HTTP\/1\.1 206 [^]*Content-Range: bytes 0-9\/300000/);
    expect(headOf(get(small, `If-Unmodified-Since: ${new Date(Date.now() + 1000).toUTCString()}\r\n`))).toMatch(
      /^HTTP\/1\.1 200 /,
    );
  });

  it("several ranges answer 206 multipart/byteranges, each part with its Content-Range and bytes", async () => {
    const s = get(big, "Range: bytes=0-9,200000-200019,-5\r\n");
    await until(() => allText(s).endsWith("--\r\n"), "the whole multipart body", 1000);
    const text = allText(s);
    const head = text.slice(0, text.indexOf("\r\n\r\n"));
    expect(head).toMatch(/^HTTP\/1\.1 206 Partial Content/);
    const boundary = /Content-Type: multipart\/byteranges; boundary=(\S+)\r\n/.exec(head)![1];
    expect(head).not.toContain("Content-Range:");
    const body = text.slice(head.length + 4);
    expect(Number(/Content-Length: (\d+)/.exec(head)![1])).toBe(body.length);
    const parts = body.split(`--${boundary}`);
    expect(parts[0]).toBe("");
    expect(parts.at(-1)).toBe("--\r\n");
    const expected = [[0, 9], [200000, 200019], [299995, 299999]];
    expect(parts.length).toBe(expected.length + 2);
    expected.forEach(([first, last], i) => {
      const part = parts[i + 1];
      expect(part).toContain(
        `\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes ${first}-${last}/300000\r\n\r\n`,
      );
      const data = part.slice(part.indexOf("\r\n\r\n") + 4, -2);
      expect(data).toBe(latin1(bigContent.slice(first, last + 1)));
      expect(part.endsWith("\r\n")).toBe(true);
    });
  });

  it("If-Range: the Range is honoured for the current ETag or Last-Modified, the whole file is sent otherwise", () => {
    const etag = /ETag: ("[^"]+")/.exec(headOf(get(big)))![1];
    const lastModified = statSync(big).mtime.toUTCString();
    for (const ok of [etag, lastModified]) {
      expect(headOf(get(big, `Range: bytes=0-9\r\nIf-Range: ${ok}\r\n`))).toMatch(
        /^HTTP\/1\.1 206 [^]*Content-Range: bytes 0-9\/300000/,
      );
    }
    for (const stale of ['"stale"', `W/${etag}`, "Thu, 01 Jan 1970 00:00:00 GMT"]) {
      const head = headOf(get(big, `Range: bytes=0-9\r\nIf-Range: ${stale}\r\n`));
      expect(head).toMatch(/^HTTP\/1\.1 200 /);
      expect(head).toContain("Content-Length: 300000");
    }
  });

  it("an unsatisfiable Range answers 416 with Content-Range: bytes */size and no body; a malformed one is ignored", () => {
    const s = get(big, "Range: bytes=400000-,500000-600000\r\n");
    expect(headOf(s)).toMatch(/^HTTP\/1\.1 416 Range Not Satisfiable\r\n/);
    expect(headOf(s)).toContain("Content-Range: bytes */300000");
    expect(headOf(s)).toContain("Content-Length: 0");
    expect(s.written.endsWith("\r\n\r\n")).toBe(true);
    expect(headOf(get(big, "Range: bytes=9-2\r\n"))).toMatch(/^HTTP\/1\.1 200 [^]*Content-Length: 300000/);
  });

  it("withFile(path, offset, length) sends that part as 206", () => {
    const s = get(big, "", "GET", () => new Response().withFile(big, 10, 5));
    expect(headOf(s)).toContain("Content-Range: bytes 10-14/300000");
    expect(headOf(s)).toContain("Content-Length: 5");
  });

  it("HEAD gets the file's headers and Content-Length but no body", () => {
    const s = get(big, "", "HEAD");
    expect(headOf(s)).toContain("Content-Length: 300000");
    expect(s.written.endsWith("\r\n\r\n")).toBe(true);
  });

  it("a missing file answers 404", () => {
    expect(get(join(dir, "nope")).written).toMatch(/^HTTP\/1\.1 404 Not Found[^]*<h3>404 Not Found<\/h3>$/);
  });

  it("stopping (closeWhenIdle) during a file download closes the connection once the whole file is sent", async () => {
    const { conn, socket } = server((c) => c.send(new Response().withFile(big)));
    conn.maxSendBufferSize = 128 * 1024;
    socket.capacity = 0; // the peer reads slowly
    conn.handleData(enc("GET / HTTP/1.1\r\nHost: h\r\n\r\n"));
    await new Promise((r) => setTimeout(r, 20));
    conn.closeWhenIdle();
    expect(socket.ended || socket.destroyed).toBe(false);
    for (let i = 0; i < 20 && !socket.ended; i++) {
      socket.drain();
      await new Promise((r) => setTimeout(r, 1));
    }
    expect(socket.ended).toBe(true);
    expect(socket.destroyed).toBe(false);
    const text = allText(socket);
    expect(text.length - (text.indexOf("\r\n\r\n") + 4)).toBe(300_000);
  });

  it("a large file is streamed with back-pressure: it waits while the peer does not read and resumes on drain", async () => {
    const { conn, socket } = server((c) => c.send(new Response().withFile(big)));
    conn.maxSendBufferSize = 128 * 1024;
    socket.capacity = 0; // the peer reads nothing
    conn.handleData(enc("GET / HTTP/1.1\r\nHost: h\r\n\r\n"));
    await new Promise((r) => setTimeout(r, 20));
    const queued = socket.writes.reduce((n, w) => n + w.length, 0);
    expect(queued).toBeLessThan(200_000); // not the whole 300 KB
    for (let i = 0; i < 20; i++) {
      socket.drain();
      await new Promise((r) => setTimeout(r, 1));
    }
    const all = new Uint8Array(socket.writes.reduce((n, w) => n + w.length, 0));
    let o = 0;
    for (const w of socket.writes) {
      all.set(w, o);
      o += w.length;
    }
    const text = new TextDecoder("latin1").decode(all);
    const bodyStart = text.indexOf("\r\n\r\n") + 4;
    expect(all.length - bodyStart).toBe(300_000);
    expect(all.slice(bodyStart).every((b, i) => b === i % 251)).toBe(true);
  });
});

describe("sessions", () => {
  const sessions = join(dir, "sessions");
  Session.handler = new FileSessionHandler(sessions);

  async function visit(cookie: string) {
    const { conn, socket } = server(async (c, r) => {
      const s = await r.session();
      s.set("n", (s.get<number>("n") ?? 0) + 1);
      c.send(`n=${s.get("n")}`);
    });
    conn.handleData(enc(`GET / HTTP/1.1\r\nHost: h\r\n${cookie ? `Cookie: ${cookie}\r\n` : ""}\r\n`));
    await until(() => socket.written.includes("n="), "the answer", 1000);
    await new Promise((r) => setTimeout(r, 10)); // the save
    return socket.written;
  }

  it("a request without a session cookie gets a new random id in a Set-Cookie; the next one with it sees the data", async () => {
    const first = await visit("");
    const id = /Set-Cookie: PHPSID=([0-9a-f]{32}); Path=\/; SameSite=Lax; HttpOnly\r\n/.exec(first)?.[1];
    expect(id).toBeDefined();
    expect(first).toContain("n=1");
    expect(existsSync(join(sessions, `session_${id}`))).toBe(true);
    const second = await visit(`PHPSID=${id}`);
    expect(second).toContain("n=2");
    expect(second).not.toContain("Set-Cookie");
  });

  it("a malformed session cookie gets a new session, never a crash", async () => {
    for (const bad of ["PHPSID=../../etc/passwd", "PHPSID=", "PHPSID=a%00b", 'PHPSID="x"', "PHPSID=short"]) {
      const text = await visit(bad);
      expect(text).toContain("n=1");
      expect(text).toMatch(/Set-Cookie: PHPSID=[0-9a-f]{32};/);
    }
  });

  it("get/set/delete/pull/all/flush/has behave as Workerman's", () => {
    const s = new Session("a".repeat(32));
    s.set("a", 1);
    s.put({ b: 2, c: null });
    expect(s.all()).toEqual({ a: 1, b: 2, c: null });
    expect([s.has("a"), s.has("c"), s.exists("c"), s.has("zz")]).toEqual([true, false, true, false]);
    expect(s.pull("a")).toBe(1);
    expect(s.get("a", "gone")).toBe("gone");
    s.delete("b");
    s.forget(["c"]);
    expect(s.all()).toEqual({});
    s.set("x", 1);
    s.flush();
    expect(s.all()).toEqual({});
    expect(s.dirty).toBe(true);
  });
});
