// deno-lint-ignore-file no-explicit-any
// Uploads, downloads, sessions, streamed responses and the WebServer, under each runtime, with
// real clients (Node's http and fetch, curl, raw sockets) against test/fixtures/http_features.ts.
// A 50 MB multipart upload and a 100 MB static download must leave the server's memory flat.
import { createHash, randomBytes } from "node:crypto";
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestClient } from "../helpers/client.ts";
import { nodeBinary, type RunningServer, RUNTIMES, startServer } from "../helpers/server.ts";
import type { Browser } from "playwright-core";
import { gotoPage, launchChromium, skipBrowser } from "../fixtures/http_browser.ts";
import { makeTestCerts, type TestCerts } from "../fixtures/http_certs.ts";

const MB = 1024 * 1024;
const BIG = 100 * MB;
const UPLOAD = 50 * MB;
/**
 * Most the memory JavaScript holds (after full collections) may grow while the server is in
 * the middle of moving 50-100 MB: a server that buffered the body would hold all of it.
 */
const FLAT = 8 * MB;

let data: string;
let certs: TestCerts;
let browser: Browser | null = null;

/** A page that loads a module script, fetches from and posts to the WebServer's onMessage API. */
const APP_HTML = `<!doctype html><html><head><meta charset="utf-8"><title>loading</title>
<link rel="stylesheet" href="/style.css"><script type="module" src="/app.js"></script></head>
<body><div id="hello"></div><pre id="form"></pre><pre id="urlencoded"></pre></body></html>`;
const APP_JS = `const hello = await (await fetch("/api/hello")).text();
document.getElementById("hello").textContent = hello;
const form = new FormData();
form.append("name", "chromium");
form.append("file", new Blob(["from the browser"], { type: "text/plain" }), "b.txt");
document.getElementById("form").textContent = JSON.stringify(await (await fetch("/api/echo", { method: "POST", body: form })).json());
const urlencoded = new URLSearchParams({ q: "a b", "list[]": "1" });
document.getElementById("urlencoded").textContent = JSON.stringify(await (await fetch("/api/echo", { method: "POST", body: urlencoded })).json());
document.title = "done";
`;
/** 1 MiB of random bytes; the big files repeat it, shifted by one byte per MiB. */
const block = randomBytes(MB);
const patternAt = (i: number) => block[(i + Math.floor(i / MB)) % MB];

function bigFileContent(): Uint8Array {
  const out = new Uint8Array(BIG);
  for (let m = 0; m < BIG / MB; m++) {
    const shift = m % MB;
    out.set(block.subarray(shift), m * MB);
    out.set(block.subarray(0, shift), m * MB + MB - shift);
  }
  return out;
}

beforeAll(async () => {
  if (!skipBrowser) browser = await launchChromium();
  certs = makeTestCerts();
  data = mkdtempSync(join(tmpdir(), "wm-http-e2e-"));
  const www = join(data, "www");
  mkdirSync(join(www, "a", "sub"), { recursive: true });
  mkdirSync(join(www, "b"), { recursive: true });
  mkdirSync(join(www, "a", ".git"), { recursive: true });
  writeFileSync(join(www, "a", "index.html"), "<h1>site a</h1>");
  writeFileSync(join(www, "a", "sub", "index.html"), "<h1>a/sub</h1>");
  writeFileSync(join(www, "a", "style.css"), "body{color:red}");
  writeFileSync(join(www, "a", "app.html"), APP_HTML);
  writeFileSync(join(www, "a", "app.js"), APP_JS);
  writeFileSync(join(www, "a", "with space.txt"), "spaced");
  writeFileSync(join(www, "a", ".env"), "SECRET=1");
  writeFileSync(join(www, "a", ".git", "config"), "[core]");
  writeFileSync(join(www, "b", "index.html"), "<h1>site b</h1>");
  writeFileSync(join(www, "b", "404.html"), "<h1>b has no such page</h1>");
  writeFileSync(join(www, "secret.txt"), "outside the roots");
  symlinkSync("/etc/passwd", join(www, "a", "passwd-link"));
  symlinkSync(join(www, "secret.txt"), join(www, "a", "secret-link"));
  symlinkSync(join(www, "a", "style.css"), join(www, "a", "inside-link.css"));
  writeFileSync(join(www, "a", "big.bin"), bigFileContent());
  utimesSync(join(www, "a", "style.css"), new Date("2024-01-02T03:04:05Z"), new Date("2024-01-02T03:04:05Z"));
});
afterAll(async () => {
  await browser?.close();
  rmSync(data, { recursive: true, force: true });
  rmSync(certs.dir, { recursive: true, force: true });
});

interface Got {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  sha256: string;
  length: number;
}

/** One request with node:http (Host, method and body as given); the body is hashed as it streams. */
function get(
  port: number,
  path: string,
  options: { host?: string; method?: string; headers?: Record<string, string>; keep?: boolean } = {},
): Promise<Got> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({
      host: "127.0.0.1",
      port,
      path,
      method: options.method ?? "GET",
      headers: { ...(options.host ? { Host: options.host } : {}), ...options.headers },
      agent: false,
    }, (res) => {
      const hash = createHash("sha256");
      const parts: Buffer[] = [];
      let length = 0;
      res.on("data", (d: Buffer) => {
        hash.update(d);
        length += d.length;
        if (options.keep !== false && length <= 4 * MB) parts.push(d);
      });
      res.on(
        "end",
        () =>
          resolve({
            status: res.statusCode!,
            headers: res.headers,
            body: Buffer.concat(parts),
            sha256: hash.digest("hex"),
            length,
          }),
      );
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

/** POST a multipart body with one field and a generated `size`-byte file, streamed with back-pressure. */
function uploadLarge(port: number, size: number): Promise<{ status: number; json: any; sha256: string }> {
  const boundary = "----wmboundary" + Date.now();
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="title"\r\n\r\nbig one\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const hash = createHash("sha256");
  return new Promise((resolve, reject) => {
    const req = httpRequest({
      host: "127.0.0.1",
      port,
      path: "/upload",
      method: "POST",
      agent: false,
      headers: {
        "Content-Type": `multipart/form-data; boundary=${boundary}`,
        "Content-Length": head.length + size + tail.length,
      },
    }, (res) => {
      let text = "";
      res.on("data", (d) => (text += d));
      res.on("end", () => resolve({ status: res.statusCode!, json: JSON.parse(text), sha256: hash.digest("hex") }));
    });
    req.on("error", reject);
    req.write(head);
    let sent = 0;
    const pump = () => {
      while (sent < size) {
        const n = Math.min(256 * 1024, size - sent);
        const piece = Buffer.alloc(n);
        for (let i = 0; i < n; i += 65536) {
          block.copy(piece, i, (sent + i) % MB, Math.min((sent + i) % MB + Math.min(65536, n - i), MB));
        }
        hash.update(piece);
        sent += n;
        if (!req.write(piece)) return req.once("drain", pump);
      }
      req.end(tail);
    };
    pump();
  });
}

function run(cmd: string, args: string[], input?: string): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      cmd,
      args,
      { timeout: 30_000, maxBuffer: 1 << 26 },
      (_err, stdout, stderr) => resolve({ stdout, stderr }),
    );
    if (input !== undefined) child.stdin!.end(input);
  });
}

/** The parts of a multipart/byteranges body: each part's Content-Range and bytes. */
function byteRangeParts(body: Buffer, contentType: string): { range: string; data: Buffer }[] {
  const boundary = /boundary=(\S+)/.exec(contentType)![1];
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: { range: string; data: Buffer }[] = [];
  let at = body.indexOf(delimiter);
  for (;;) {
    const start = at + delimiter.length;
    if (body.subarray(start, start + 2).toString() === "--") break;
    const headEnd = body.indexOf("\r\n\r\n", start);
    const next = body.indexOf(Buffer.concat([Buffer.from("\r\n"), delimiter]), headEnd);
    parts.push({
      range: /Content-Range: (.*)\r\n/.exec(body.subarray(start, headEnd + 2).toString())![1],
      data: body.subarray(headEnd + 4, next),
    });
    at = next + 2;
  }
  return parts;
}

/** Bytes `first`..`last` of the 100 MB file. */
const bigBytes = (first: number, last: number) =>
  Buffer.from(Array.from({ length: last - first + 1 }, (_, i) => patternAt(first + i)));

interface Memory {
  rss: number;
  peak: number;
  /** What JavaScript holds after full collections. */
  live: number;
}
const memory = async (url: string) => (await (await fetch(url)).json()) as Memory;
const mb = (n: number) => `${(n / MB).toFixed(1)} MB`;

/** Download `path` whole (hashing it); once `pauseAt` bytes are in, stop reading and call `paused` first. */
function download(
  port: number,
  path: string,
  pauseAt: number,
  paused: () => Promise<void>,
): Promise<{ length: number; sha256: string }> {
  return new Promise((resolve, reject) => {
    httpRequest({ host: "127.0.0.1", port, path, agent: false }, (res) => {
      const hash = createHash("sha256");
      let length = 0;
      let done = false;
      res.on("data", (d: Buffer) => {
        hash.update(d);
        length += d.length;
        if (!done && length >= pauseAt) {
          done = true;
          res.pause();
          paused().then(() => res.resume(), reject);
        }
      });
      res.on("end", () => resolve({ length, sha256: hash.digest("hex") }));
      res.on("error", reject);
    }).on("error", reject).end();
  });
}

describe.each(RUNTIMES)("http features on %s", (runtime) => {
  let server: RunningServer;
  let app: number;
  let appTls: number;
  let web: number;
  let statics: number;
  let gz: number;
  beforeAll(async () => {
    server = await startServer(runtime, "http_features", ["start"], {
      HTTP_DATA_DIR: data,
      HTTP_TLS_DIR: certs.dir,
      PID_FILE: join(tmpdir(), `wm-http-features-${runtime}-${process.pid}.pid`),
      // A gc() to call, so the fixture can tell memory held from garbage not yet collected.
      ...(nodeBinary(runtime) !== null
        ? { NODE_OPTIONS: "--expose-gc" }
        : runtime === "deno"
        ? { DENO_V8_FLAGS: "--expose-gc" }
        : {}),
    });
    [app, appTls, web, statics, gz] = server.ports;
  });
  afterAll(async () => {
    const code = await server?.stop();
    expect(code, server?.output()).toBe(0);
  });

  it("the Request API gives query, form, headers, cookies, host and remote address", async () => {
    const res = await fetch(`http://127.0.0.1:${app}/echo?a=1&b[]=2&b[]=3`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Cookie: "x=1; y=two%20words", "X-Dup": "1" },
      body: "k=v&n[x]=9",
    });
    const r = (await res.json()) as any;
    expect(r).toMatchObject({
      method: "POST",
      path: "/echo",
      query: { a: "1", b: ["2", "3"] },
      post: { k: "v", n: { x: "9" } },
      cookies: { x: "1", y: "two words" },
      version: "1.1",
      host: `127.0.0.1:${app}`,
      hostname: "127.0.0.1",
      remote: "127.0.0.1",
    });
    expect(r.headers["x-dup"]).toBe("1");
  });

  it("a JSON body is decoded by post() and a small multipart form from fetch gives fields and files", async () => {
    const json: any = await (await fetch(`http://127.0.0.1:${app}/echo`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ list: [1, 2], nested: { ok: true } }),
    })).json();
    expect(json.post).toEqual({ list: [1, 2], nested: { ok: true } });
    const form = new FormData();
    form.append("name", "wörld");
    form.append("doc", new Blob(["file body"], { type: "text/plain" }), "notes.txt");
    form.append("many[]", new Blob(["a"]), "a.bin");
    form.append("many[]", new Blob(["bb"]), "b.bin");
    const up: any = await (await fetch(`http://127.0.0.1:${app}/upload`, { method: "POST", body: form })).json();
    expect(up.post).toEqual({ name: "wörld" });
    expect(up.files.doc).toMatchObject({ name: "notes.txt", size: 9, error: 0, type: "text/plain" });
    expect(up.files.doc.sha256).toBe(createHash("sha256").update("file body").digest("hex"));
    expect([up.files["many.0"].size, up.files["many.1"].size]).toEqual([1, 2]);
  });

  it("curl uploads a chunked body and one with Expect: 100-continue, and both arrive whole", async () => {
    const body = "q".repeat(300_000);
    const chunked = await run("curl", [
      "-sS",
      "-H",
      "Transfer-Encoding: chunked",
      "-H",
      "Content-Type: text/plain",
      "--data-binary",
      "@-",
      `http://127.0.0.1:${app}/echo`,
    ], body);
    expect(JSON.parse(chunked.stdout).bodyLength).toBe(body.length);
    const cont = await run("curl", [
      "-sS",
      "-v",
      "-H",
      "Expect: 100-continue",
      "-F",
      "f=@-;filename=x.txt",
      `http://127.0.0.1:${app}/upload`,
    ], body);
    expect(cont.stderr).toContain("HTTP/1.1 100 Continue");
    expect(JSON.parse(cont.stdout).files.f.size).toBe(body.length);
  });

  it("a 50 MB multipart upload is streamed to a temp file with flat memory", async () => {
    const before = await memory(`http://127.0.0.1:${app}/memory`);
    const up = await uploadLarge(app, UPLOAD);
    expect(up.status).toBe(200);
    expect(up.json.post).toEqual({ title: "big one" });
    expect(up.json.files.file).toMatchObject({ name: "big.bin", size: UPLOAD, error: 0 });
    expect(up.json.files.file.sha256).toBe(up.sha256);
    const after: Memory = up.json.memory; // measured by the handler: the whole upload has arrived
    console.log(
      `${runtime}: 50 MB upload: held ${mb(after.live - before.live)} more at its end; RSS ${mb(before.rss)} → peak ${
        mb(after.peak)
      }`,
    );
    expect(after.live - before.live).toBeLessThan(FLAT);
  });

  it("a 100 MB static file downloads whole with flat memory, and a Range of it gives 206 with those bytes", async () => {
    const before = await memory(`http://127.0.0.1:${web}/api/memory`);
    let during: Memory | null = null;
    const all = await download(web, "/big.bin", 40 * MB, async () => {
      during = await memory(`http://127.0.0.1:${web}/api/memory`);
    });
    expect(all.length).toBe(BIG);
    expect(all.sha256).toBe(createHash("sha256").update(bigFileContent()).digest("hex"));
    const part = await get(web, "/big.bin", { headers: { Range: "bytes=52428700-53477375" } });
    expect(part.status).toBe(206);
    expect(part.headers["content-range"]).toBe(`bytes 52428700-53477375/${BIG}`);
    expect(part.length).toBe(53477376 - 52428700);
    expect([...part.body.subarray(0, 64)]).toEqual(Array.from({ length: 64 }, (_, i) => patternAt(52428700 + i)));
    const after = await memory(`http://127.0.0.1:${web}/api/memory`);
    console.log(
      `${runtime}: 100 MB download: held ${mb(during!.live - before.live)} more halfway; RSS ${mb(before.rss)} → peak ${
        mb(after.peak)
      }`,
    );
    expect(during!.live - before.live).toBeLessThan(FLAT);
  });

  it("sessions: a new visitor gets a session cookie, the counter follows it, a forged cookie starts over", async () => {
    const first = await fetch(`http://127.0.0.1:${app}/session`);
    const cookie = first.headers.get("set-cookie")!;
    expect(cookie).toMatch(/^PHPSID=[0-9a-f]{32}; Path=\/; SameSite=Lax; HttpOnly$/);
    expect(await first.text()).toBe("count=1");
    const id = cookie.split(";")[0];
    expect(await (await fetch(`http://127.0.0.1:${app}/session`, { headers: { Cookie: id } })).text()).toBe("count=2");
    expect(await (await fetch(`http://127.0.0.1:${app}/session`, { headers: { Cookie: id } })).text()).toBe("count=3");
    const forged = await fetch(`http://127.0.0.1:${app}/session`, {
      headers: { Cookie: "PHPSID=../../../../etc/passwd" },
    });
    expect(await forged.text()).toBe("count=1");
    expect(forged.headers.get("set-cookie")).toMatch(/^PHPSID=[0-9a-f]{32};/);
  });

  it("a chunked response arrives chunk by chunk, over http and over https", async () => {
    const res = await fetch(`http://127.0.0.1:${app}/chunked`);
    expect(res.headers.get("transfer-encoding")).toBe("chunked");
    expect(await res.text()).toBe("first;chunk1;chunk2;chunk3;");
    const curl = await run("curl", ["-sS", "--cacert", certs.ca, `https://127.0.0.1:${appTls}/chunked`]);
    expect(curl.stdout).toBe("first;chunk1;chunk2;chunk3;");
  });

  it("server-sent events stream to fetch as they are sent", async () => {
    const controller = new AbortController();
    const res = await fetch(`http://127.0.0.1:${app}/sse`, { signal: controller.signal });
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    const reader = res.body!.getReader();
    let text = "";
    while (!text.includes("id: 3\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    controller.abort();
    expect(text).toContain(": open\n\nevent: tick\nid: 1\ndata: line 1\ndata: second line\n\n");
    expect(text).toContain("event: tick\nid: 3\n");
  });

  it("pipelined requests to an async handler are answered in request order", async () => {
    const c = await TestClient.connect(app);
    c.write(
      "GET /slow?ms=60 HTTP/1.1\r\nHost: h\r\n\r\nGET /slow?ms=0 HTTP/1.1\r\nHost: h\r\n\r\nGET /slow?ms=20 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
    );
    await c.untilClosed();
    expect([...c.text.matchAll(/slow (\d+)/g)].map((m) => m[1])).toEqual(["60", "0", "20"]);
  });

  it("HEAD keeps the Content-Length the handler set and sends no body", async () => {
    const c = await TestClient.connect(app);
    c.write("HEAD /head-length HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
    await c.untilClosed();
    expect(c.text).toMatch(/Content-Length: 1234\r\n\r\n$/);
  });

  it("gzip: fetch and curl --compressed get the page gzipped and decoded; images and short bodies are sent as they are", async () => {
    const res = await fetch(`http://127.0.0.1:${gz}/page`); // Node's fetch asks for gzip and decodes it
    expect(res.headers.get("content-encoding")).toBe("gzip");
    expect(res.headers.get("vary")).toBe("Accept-Encoding");
    const page = await res.text();
    expect(page).toMatch(/^<ul><li>item 0<\/li>[^]*<li>item 199<\/li><\/ul>$/);
    const curl = await run("curl", ["-sS", "--compressed", "-D", "-", `http://127.0.0.1:${gz}/page`]);
    const [head, body] = curl.stdout.split("\r\n\r\n");
    expect(head).toMatch(/\r\nContent-Encoding: gzip\r\n/);
    expect(Number(/\r\nContent-Length: (\d+)/.exec(head)![1])).toBeLessThan(page.length / 4);
    expect(body).toBe(page);
    const identity = await run("curl", ["-sS", "-D", "-", `http://127.0.0.1:${gz}/page`]); // no Accept-Encoding
    expect(identity.stdout).not.toMatch(/Content-Encoding/i);
    expect(identity.stdout.endsWith(page)).toBe(true);
    const png = await fetch(`http://127.0.0.1:${gz}/png`);
    expect(png.headers.get("content-encoding")).toBe(null);
    expect(await png.text()).toBe(page);
    const short = await fetch(`http://127.0.0.1:${gz}/short`);
    expect(short.headers.get("content-encoding")).toBe(null);
    expect(await short.text()).toBe("short");
    const forced = await fetch(`http://127.0.0.1:${gz}/short?force=1`);
    expect(forced.headers.get("content-encoding")).toBe("gzip");
    expect(await forced.text()).toBe("short");
  });

  describe("the WebServer", () => {
    it.skipIf(skipBrowser)(
      "a page it serves runs in Chromium: a module script, a fetch, a multipart and a urlencoded post",
      async () => {
        const page = await browser!.newPage();
        const errors: string[] = [];
        page.on("pageerror", (e) => errors.push(String(e)));
        await gotoPage(page, `http://127.0.0.1:${web}/app.html`);
        await page.waitForFunction('document.title === "done"', undefined, { timeout: 10_000 });
        expect(errors).toEqual([]);
        expect(await page.textContent("#hello")).toBe("hello world");
        const form = JSON.parse((await page.textContent("#form"))!);
        expect(form.post).toEqual({ name: "chromium" });
        expect(form.files.file).toMatchObject({ name: "b.txt", size: 16, error: 0, type: "text/plain" });
        expect(JSON.parse((await page.textContent("#urlencoded"))!).post).toEqual({ q: "a b", list: ["1"] });
        expect(await page.evaluate("getComputedStyle(document.body).color")).toBe("rgb(255, 0, 0)");
        await page.close();
      },
    );

    it("serves each virtual host from its root, and the first root for an unknown Host", async () => {
      expect((await get(web, "/", { host: `a.test:${web}` })).body.toString()).toBe("<h1>site a</h1>");
      const b = await get(web, "/", { host: "B.TEST" });
      expect(b.body.toString()).toBe("<h1>site b</h1>");
      expect(b.headers["x-site"]).toBe("b");
      expect((await get(web, "/", { host: "unknown.example" })).body.toString()).toBe("<h1>site a</h1>");
    });

    it("serves index.html for a directory and redirects a directory without its slash", async () => {
      expect((await get(web, "/sub/")).body.toString()).toBe("<h1>a/sub</h1>");
      const redirect = await get(web, "/sub?x=1");
      expect(redirect.status).toBe(301);
      expect(redirect.headers.location).toBe("/sub/?x=1");
    });

    it("sends MIME type and Last-Modified, and 304 for an unchanged file", async () => {
      const css = await get(web, "/style.css");
      expect(css.headers["content-type"]).toBe("text/css;charset=utf-8");
      expect(css.headers["last-modified"]).toBe("Tue, 02 Jan 2024 03:04:05 GMT");
      const again = await get(web, "/style.css", { headers: { "If-Modified-Since": "Tue, 02 Jan 2024 03:04:05 GMT" } });
      expect(again.status).toBe(304);
      expect(again.length).toBe(0);
      expect((await get(web, "/with%20space.txt")).body.toString()).toBe("spaced");
    });

    it("ETag with If-None-Match gives 304, to fetch and to curl", async () => {
      const css = await fetch(`http://127.0.0.1:${web}/style.css`);
      const etag = css.headers.get("etag")!;
      expect(etag).toMatch(/^"[0-9a-f]+-f"$/); // 15 bytes
      await css.text();
      const again = await fetch(`http://127.0.0.1:${web}/style.css`, { headers: { "If-None-Match": etag } });
      expect(again.status).toBe(304);
      expect(again.headers.get("etag")).toBe(etag);
      const curl = await run("curl", [
        "-sS",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "-H",
        `If-None-Match: W/${etag}`,
        `http://127.0.0.1:${web}/style.css`,
      ]);
      expect(curl.stdout).toBe("304");
      const changed = await run("curl", ["-sS", "-H", 'If-None-Match: "old"', `http://127.0.0.1:${web}/style.css`]);
      expect(changed.stdout).toBe("body{color:red}");
    });

    it("several ranges give 206 multipart/byteranges with the right bytes, to fetch and to curl", async () => {
      const wanted: [number, number][] = [[0, 9], [20, 29], [BIG - 5, BIG - 1]];
      const res = await fetch(`http://127.0.0.1:${web}/big.bin`, { headers: { Range: "bytes=0-9,20-29,-5" } });
      expect(res.status).toBe(206);
      const type = res.headers.get("content-type")!;
      expect(type).toMatch(/^multipart\/byteranges; boundary=/);
      const body = Buffer.from(await res.arrayBuffer());
      expect(Number(res.headers.get("content-length"))).toBe(body.length);
      const parts = byteRangeParts(body, type);
      expect(parts.map((p) => p.range)).toEqual(wanted.map(([a, b]) => `bytes ${a}-${b}/${BIG}`));
      parts.forEach((p, i) => expect(p.data.equals(bigBytes(...wanted[i]))).toBe(true));

      const file = join(data, "ranges.out");
      const curl = await run("curl", [
        "-sS",
        "-r",
        "0-9,20-29,-5",
        "-D",
        "-",
        "-o",
        file,
        `http://127.0.0.1:${web}/big.bin`,
      ]);
      expect(curl.stdout).toMatch(/^HTTP\/1\.1 206 Partial Content\r\n/);
      const curlType = /content-type: (.*)\r\n/i.exec(curl.stdout)![1];
      const curlParts = byteRangeParts(readFileSync(file), curlType);
      expect(curlParts.map((p) => p.range)).toEqual(wanted.map(([a, b]) => `bytes ${a}-${b}/${BIG}`));
      curlParts.forEach((p, i) => expect(p.data.equals(bigBytes(...wanted[i]))).toBe(true));
    });

    it("If-Range honours the Range only for the current validator; an unsatisfiable Range gives 416 with bytes */size", async () => {
      const url = `http://127.0.0.1:${web}/style.css`;
      const head = await fetch(url, { method: "HEAD" });
      const etag = head.headers.get("etag")!;
      const part = await fetch(url, { headers: { Range: "bytes=0-3", "If-Range": etag } });
      expect(part.status).toBe(206);
      expect(await part.text()).toBe("body");
      const byDate = await run("curl", ["-sS", "-r", "0-3", "-H", "If-Range: Tue, 02 Jan 2024 03:04:05 GMT", url]);
      expect(byDate.stdout).toBe("body");
      const stale = await fetch(url, { headers: { Range: "bytes=0-3", "If-Range": '"stale"' } });
      expect(stale.status).toBe(200);
      expect(await stale.text()).toBe("body{color:red}");
      const refused = await run("curl", [
        "-sS",
        "-r",
        `${BIG}-`,
        "-D",
        "-",
        "-o",
        "/dev/null",
        `http://127.0.0.1:${web}/big.bin`,
      ]);
      expect(refused.stdout).toMatch(/^HTTP\/1\.1 416 Range Not Satisfiable\r\n/);
      expect(refused.stdout).toContain(`Content-Range: bytes */${BIG}\r\n`);
      expect(refused.stdout).toContain("Content-Length: 0\r\n");
    });

    it("If-Match and If-Unmodified-Since: 412 when they fail, the file when they hold, to fetch and to curl", async () => {
      const url = `http://127.0.0.1:${web}/style.css`;
      const etag = (await fetch(url, { method: "HEAD" })).headers.get("etag")!;
      const held = await fetch(url, { headers: { "If-Match": etag } });
      expect(held.status).toBe(200);
      expect(await held.text()).toBe("body{color:red}");
      const failed = await fetch(url, { headers: { "If-Match": '"old"' } });
      expect(failed.status).toBe(412);
      expect(await failed.text()).toBe("");
      const older = await run("curl", [
        "-sS",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "-H",
        "If-Unmodified-Since: Mon, 01 Jan 2024 00:00:00 GMT",
        url,
      ]);
      expect(older.stdout).toBe("412");
      const same = await run("curl", ["-sS", "-H", "If-Unmodified-Since: Tue, 02 Jan 2024 03:04:05 GMT", url]);
      expect(same.stdout).toBe("body{color:red}");
    });

    it("answers 404 (custom404 on b) and 405 for other methods; with onMessage set, those requests go to it", async () => {
      const missing = await get(statics, "/missing.html", { host: "b.test" });
      expect(missing.status).toBe(404);
      expect(missing.body.toString()).toBe("<h1>b has no such page</h1>");
      const plain = await get(statics, "/missing.html", { host: "a.test" });
      expect(plain.status).toBe(404);
      expect(plain.body.toString()).toContain("404 Not Found");
      const post = await get(statics, "/index.html", { method: "POST" });
      expect(post.status).toBe(405);
      expect(post.headers.allow).toBe("GET, HEAD");
      expect((await get(web, "/api/hello")).body.toString()).toBe("hello world");
      expect((await get(web, "/missing.html", { host: "b.test" })).body.toString()).toBe("nothing at /missing.html");
      expect((await get(web, "/index.html", { method: "POST" })).body.toString()).toBe("nothing at /index.html");
    });

    it("never serves anything outside the root: .., encoded dots, symlinks out, dot-files", async () => {
      const attempts: [string, number[]][] = [
        ["/../secret.txt", [403, 404]],
        ["/%2e%2e/secret.txt", [403]],
        ["/%2E%2E%2Fsecret.txt", [403]],
        ["/sub/..%2f..%2fsecret.txt", [403]],
        ["/%252e%252e/secret.txt", [404]],
        ["/passwd-link", [403]],
        ["/secret-link", [403]],
        ["/.env", [403]],
        ["/.git/config", [403]],
        ["/%00", [400]],
      ];
      for (const [path, statuses] of attempts) {
        const c = await TestClient.connect(web);
        c.write(`GET ${path} HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n`);
        await c.untilClosed();
        const status = Number(/^HTTP\/1\.1 (\d+)/.exec(c.text)?.[1]);
        expect(statuses, `${path} → ${status}`).toContain(status);
        expect(c.text).not.toContain("outside the roots");
        expect(c.text).not.toContain("root:");
      }
      expect((await get(web, "/inside-link.css")).body.toString()).toBe("body{color:red}");
    });
  });
});
