// The manual's http example (test/fixtures/http.ts) under each runtime, over http and https:
// it answers "hello world" to the runtime's own fetch, to Node's fetch, to curl and to
// Chromium; keep-alive,
// HTTP/1.0 and pipelining behave per RFC 9112; every refusal of the parser is seen on a raw
// socket, and the same worker answers the next request after each.
import { execFile, spawn } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestClient } from "../helpers/client.ts";
import { fixtureCommand, type RunningServer, RUNTIMES, startServer } from "../helpers/server.ts";
import { gotoPage, skipBrowser } from "../fixtures/http_browser.ts";
import { certsAndBrowser } from "../helpers/tls_browser.ts";
import { STRICT_ACCEPTED, STRICT_REFUSALS } from "../helpers/http_strict.ts";

const shared = certsAndBrowser();

function run(
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      cmd,
      args,
      { env: { ...process.env, ...env }, timeout: 30_000, maxBuffer: 1 << 26 },
      (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

/**
 * Send raw bytes (`data` as latin1: one character per byte) on a fresh connection; resolves with
 * everything received once the server closes (or `until` holds).
 */
async function raw(
  port: number,
  data: string,
  until?: (text: string) => boolean,
): Promise<{ text: string; closed: boolean }> {
  const c = await TestClient.connect(port);
  c.write(Buffer.from(data, "latin1"));
  await c.until((cl) => cl.closed || (until !== undefined && until(cl.text)), "a response", 10_000);
  const result = { text: c.text, closed: c.closed };
  c.close();
  return result;
}

const HELLO = /^HTTP\/1\.1 200 OK\r\n[^]*Content-Length: 11\r\n\r\nhello world$/;

describe.each(RUNTIMES)("the manual's http example on %s", (runtime) => {
  let server: RunningServer;
  let http: number;
  let https: number;
  beforeAll(async () => {
    server = await startServer(runtime, "http", ["start"], {
      HTTP_TLS_DIR: shared.certs.dir,
      PID_FILE: join(tmpdir(), `wm-http-${runtime}-${process.pid}.pid`),
    });
    [http, https] = server.ports;
  });
  afterAll(async () => {
    const code = await server?.stop();
    expect(code, server?.output()).toBe(0);
  });

  it(`${runtime}'s own fetch gets hello world over http and https`, async () => {
    const [cmd, args] = fixtureCommand(runtime, "http_fetch", [
      `http://127.0.0.1:${http}/`,
      `https://127.0.0.1:${https}/`,
    ]);
    const { stdout, stderr } = await run(cmd, args, {
      NODE_EXTRA_CA_CERTS: shared.certs.ca,
      DENO_CERT: shared.certs.ca,
    });
    const lines = stdout.trim().split("\n").map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.status, l.body]), stderr + stdout).toEqual([[200, "hello world"], [200, "hello world"]]);
  });

  it("Node's fetch gets hello world, and the connection is reused", async () => {
    const res = await fetch(`http://127.0.0.1:${http}/?from=fetch`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/html;charset=utf-8");
    expect(await res.text()).toBe("hello world");
    const again = await fetch(`http://127.0.0.1:${http}/again`);
    expect(await again.text()).toBe("hello world");
  });

  it("curl gets hello world over http and https, and reuses one connection for two URLs", async () => {
    const plain = await run("curl", ["-sS", "-v", `http://127.0.0.1:${http}/a`, `http://127.0.0.1:${http}/b`]);
    expect(plain.stdout).toBe("hello worldhello world");
    expect(plain.stderr).toMatch(/Re-using existing connection/);
    const secure = await run("curl", [
      "-sS",
      "--cacert",
      shared.certs.ca,
      `https://127.0.0.1:${https}/`,
      `https://localhost:${https}/x`,
    ]);
    expect(secure.stdout, secure.stderr).toBe("hello worldhello world");
  });

  it.skipIf(skipBrowser)("Chromium shows hello world over http and https", async () => {
    const context = await shared.browser!.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    for (const url of [`http://127.0.0.1:${http}/`, `https://127.0.0.1:${https}/`]) {
      const response = await gotoPage(page, url);
      expect(response!.status()).toBe(200);
      expect(await page.textContent("body")).toBe("hello world");
    }
    await context.close();
  });

  it("curl over HTTP/1.0 gets hello world and the server closes the connection", async () => {
    const r = await run("curl", ["-sS", "-i", "--http1.0", `http://127.0.0.1:${http}/`]);
    expect(r.stdout).toMatch(/^HTTP\/1\.1 200 OK\r\n[^]*Connection: close\r\n[^]*\r\n\r\nhello world$/);
  });

  it("curl sends a chunked upload and one with Expect: 100-continue; both are answered", async () => {
    const chunked = spawn("curl", [
      "-sS",
      "-H",
      "Transfer-Encoding: chunked",
      "--data-binary",
      "@-",
      `http://127.0.0.1:${http}/up`,
    ]);
    let out = "";
    chunked.stdout.on("data", (d) => (out += d));
    chunked.stdin.end("x".repeat(200_000));
    await new Promise((r) => chunked.on("close", r));
    expect(out).toBe("hello world");
    const expectContinue = await run("curl", [
      "-sS",
      "-v",
      "-H",
      "Expect: 100-continue",
      "--data-binary",
      "y".repeat(5000),
      `http://127.0.0.1:${http}/`,
    ]);
    expect(expectContinue.stderr).toMatch(/HTTP\/1\.1 100 Continue/);
    expect(expectContinue.stdout).toBe("hello world");
  });

  it("two pipelined requests in one write get two answers in order and the connection stays open", async () => {
    const c = await TestClient.connect(http);
    c.write("GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    await c.until((cl) => cl.text.split("hello world").length === 3, "two answers");
    await new Promise((r) => setTimeout(r, 100));
    expect(c.closed).toBe(false);
    c.write("HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    await c.untilClosed();
    expect(c.text.split("HTTP/1.1 200 OK")).toHaveLength(4);
    expect(c.text.endsWith("Content-Length: 11\r\n\r\n")).toBe(true); // HEAD: no body
  });

  it("an HTTP/1.0 request without keep-alive is answered and the connection closed", async () => {
    const r = await raw(http, "GET / HTTP/1.0\r\n\r\n");
    expect(r.closed).toBe(true);
    expect(r.text).toMatch(HELLO);
  });

  const refusals: [string, number, string, string][] = [
    [
      "Transfer-Encoding with Content-Length",
      400,
      "ERR_HTTP_TE_WITH_CONTENT_LENGTH",
      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n",
    ],
    [
      "duplicate Content-Length",
      400,
      "ERR_HTTP_CONTENT_LENGTH_DUPLICATE",
      "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
    ],
    [
      "non-numeric Content-Length",
      400,
      "ERR_HTTP_CONTENT_LENGTH",
      "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0x10\r\n\r\n",
    ],
    [
      "negative Content-Length",
      400,
      "ERR_HTTP_CONTENT_LENGTH",
      "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -5\r\n\r\n",
    ],
    [
      "an invalid chunk size",
      400,
      "ERR_HTTP_CHUNK_SIZE",
      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n\r\n",
    ],
    [
      "chunk data without its CRLF",
      400,
      "ERR_HTTP_CHUNK_FRAMING",
      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabcd\r\n0\r\n\r\n",
    ],
    ["a bare LF as a line end", 400, "ERR_HTTP_BARE_LF", "GET / HTTP/1.1\nHost: h\n\n"],
    ["a bare CR in a header", 400, "ERR_HTTP_BARE_CR", "GET / HTTP/1.1\r\nHost: h\r\nX: 1\r2\r\n\r\n"],
    [
      "whitespace before the colon",
      400,
      "ERR_HTTP_SPACE_BEFORE_COLON",
      "GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding : chunked\r\n\r\n",
    ],
    ["an invalid method token", 400, "ERR_HTTP_METHOD", "G(ET / HTTP/1.1\r\nHost: h\r\n\r\n"],
    ["a missing Host on HTTP/1.1", 400, "ERR_HTTP_MISSING_HOST", "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n"],
    ["a folded header", 400, "ERR_HTTP_OBS_FOLD", "GET / HTTP/1.1\r\nHost: h\r\nX: 1\r\n\t2\r\n\r\n"],
    [
      "Transfer-Encoding other than chunked",
      400,
      "ERR_HTTP_TE_NOT_CHUNKED",
      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: identity\r\n\r\n",
    ],
    [
      "a body above 10 MiB",
      413,
      "ERR_HTTP_BODY_TOO_LARGE",
      "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 20000000\r\n\r\n",
    ],
    [
      "headers above 16 KiB",
      431,
      "ERR_HTTP_HEADERS_TOO_LARGE",
      `GET / HTTP/1.1\r\nHost: h\r\nX-Big: ${"b".repeat(17000)}\r\n\r\n`,
    ],
    ...STRICT_REFUSALS,
  ];

  it.each(refusals)(
    "%s is refused with %i %s and closed, and the worker answers the next request",
    async (_what, status, code, request) => {
      const r = await raw(http, request);
      expect(r.closed).toBe(true);
      expect(r.text).toMatch(new RegExp(`^HTTP/1\\.1 ${status} [^]*Connection: close\\r\\n[^]*${code}`));
      const next = await raw(http, "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
      expect(next.text).toMatch(HELLO);
    },
  );

  it.each(STRICT_ACCEPTED)("%s is answered as usual (RFC 9110/9112 allow it)", async (_what, request) => {
    const r = await raw(http, request, (text) => text.endsWith("hello world"));
    expect(r.text).toMatch(HELLO);
  });

  it("a chunked body growing past 10 MiB is refused with 413 while it arrives", async () => {
    const c = await TestClient.connect(http);
    c.write("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n");
    const piece = `100000\r\n${"c".repeat(0x100000)}\r\n`;
    for (let i = 0; i < 12 && !c.closed && !c.text.includes("413"); i++) {
      c.write(piece);
      await new Promise((r) => setTimeout(r, 5));
    }
    await c.untilText("ERR_HTTP_BODY_TOO_LARGE");
    expect(c.text).toMatch(/^HTTP\/1\.1 413 /);
    c.close();
    expect((await raw(http, "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")).text).toMatch(HELLO);
  });
});
