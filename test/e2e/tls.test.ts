import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect as tlsConnect, type TLSSocket } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeCa, makeLeaf } from "../fixtures/http_certs.ts";
import { TestClient } from "../helpers/client.ts";
import { runFixture, type RunningServer, RUNTIMES, startServer } from "../helpers/server.ts";
import { until } from "../helpers/wait.ts";

/** A TLS client trusting the test CA; resolves once the handshake is done. */
function tlsClient(
  port: number,
  ca: string,
  servername = "localhost",
): Promise<{ socket: TLSSocket; text: () => string }> {
  return new Promise((resolve, reject) => {
    let received = "";
    const socket = tlsConnect(
      { host: "127.0.0.1", port, ca, servername },
      () => resolve({ socket, text: () => received }),
    );
    socket.on("data", (d) => (received += d.toString()));
    socket.once("error", reject);
  });
}

let certDir: string;
let ca: string;
beforeAll(() => {
  certDir = mkdtempSync(join(tmpdir(), "wm-tls-"));
  makeCa(certDir);
  makeLeaf(certDir, "localhost", "leaf.pem", "leaf.key");
  ca = readFileSync(join(certDir, "ca.pem"), "utf8");
});
afterAll(() => rmSync(certDir, { recursive: true, force: true }));

describe.each(RUNTIMES)("TLS on %s", (runtime) => {
  let server: RunningServer;
  let dir: string;
  let env: Record<string, string>;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), `wm-tls-${runtime}-`));
    // Each runtime gets its own copy of the leaf: the reload test replaces it.
    for (const f of ["leaf.pem", "leaf.key"]) writeFileSync(join(dir, f), readFileSync(join(certDir, f)));
    env = {
      TLS_CERT: join(dir, "leaf.pem"),
      TLS_KEY: join(dir, "leaf.key"),
      TLS_CA: join(certDir, "ca.pem"),
      PID_FILE: join(dir, "app.pid"),
    };
    server = await startServer(runtime, "tls", ["start"], env);
  });
  afterAll(async () => {
    const code = await server?.stop();
    rmSync(dir, { recursive: true, force: true });
    expect(code, server?.output()).toBe(0);
  });

  it("the banner shows ssl as the transport of the TLS workers", () => {
    expect(server.output()).toMatch(/^ssl\s+\S+\s+TlsTcp\s+tcp:\/\/127\.0\.0\.1:\d+/m);
    expect(server.output()).toMatch(/^ssl\s+\S+\s+TlsText\s+text:\/\/127\.0\.0\.1:\d+/m);
  });

  it("tcp:// and text:// serve TLS clients that verify the certificate against the test CA", async () => {
    const raw = await tlsClient(server.ports[0], ca);
    raw.socket.write("hello");
    await until(() => raw.text() === "tls hello", "the tcp:// answer");
    const text = await tlsClient(server.ports[1], ca);
    text.socket.write("one\ntwo\n");
    await until(() => text.text() === "text one from 127.0.0.1\ntext two from 127.0.0.1\n", "the text:// answers");
    raw.socket.destroy();
    text.socket.destroy();
  });

  it("a plain-text client on a TLS port is closed without an answer, and a TLS client meanwhile is served", async () => {
    const good = await tlsClient(server.ports[1], ca);
    const plain = await TestClient.connect(server.ports[1]);
    plain.write("hello\n");
    await plain.untilClosed();
    expect(plain.text).not.toContain("text hello");
    good.socket.write("still here\n");
    await until(() => good.text() === "text still here from 127.0.0.1\n", "the TLS client's answer");
    good.socket.destroy();
  });

  it("AsyncTcpConnection over TLS verifies with a CA: ssl:// by IP and text:// by host name", async () => {
    const c = await TestClient.connect(server.ports[3]);
    await c.request(`ssl://127.0.0.1:${server.ports[0]} ca hi\n`, "close\n");
    expect(c.text).toBe("connect:ssl|message:tls hi|close\n");
    const d = await TestClient.connect(server.ports[3]);
    await d.request(`text://localhost:${server.ports[1]} ca hi\n`, "close\n");
    expect(d.text).toMatch(/^connect:ssl\|message:text hi from (127\.0\.0\.1|::1)\|close\n$/);
    c.close();
    d.close();
  });

  it("frame:// works over TLS on both sides too", async () => {
    const c = await TestClient.connect(server.ports[3]);
    await c.request(`frame://localhost:${server.ports[4]} ca hi\n`, "close\n");
    expect(c.text).toBe("connect:ssl|message:frame hi|close\n");
    c.close();
  });

  it("AsyncTcpConnection rejects a certificate no trusted CA signed: onError(1, 'connect ... fail after ...') then onClose", async () => {
    const c = await TestClient.connect(server.ports[3]);
    await c.request(`ssl://localhost:${server.ports[0]} system hi\n`, "close\n");
    expect(c.text).toMatch(
      new RegExp(`^error:1:connect localhost:${server.ports[0]} fail after \\d+(\\.\\d+)? seconds\\|close\\n$`),
    );
    c.close();
  });

  it("verify: false accepts it (for development)", async () => {
    const c = await TestClient.connect(server.ports[3]);
    await c.request(`ssl://localhost:${server.ports[0]} insecure hi\n`, "close\n");
    expect(c.text).toBe("connect:ssl|message:tls hi|close\n");
    c.close();
  });

  it("a TLS client connecting to a plain-text server fails cleanly: onError(1, ...) then onClose", async () => {
    const c = await TestClient.connect(server.ports[3]);
    await c.request(`ssl://127.0.0.1:${server.ports[2]} ca hi\n`, "close\n");
    expect(c.text).toMatch(
      new RegExp(`^error:1:connect 127\\.0\\.0\\.1:${server.ports[2]} fail after [\\d.]+ seconds\\|close\\n$`),
    );
    c.close();
  });

  it("reload puts a renewed certificate in service without a restart", async () => {
    leafInto(dir, "renewed.example");
    const reload = runFixture(runtime, "tls", ["reload"], env);
    expect(await reload.exited, reload.output()).toBe(0);
    await server.waitForOutput(/reload done/);
    const client = await new Promise<TLSSocket>((resolve, reject) => {
      const s = tlsConnect({ host: "127.0.0.1", port: server.ports[0], ca, servername: "localhost" }, () => resolve(s));
      s.once("error", reject);
    });
    expect(client.getPeerCertificate().subject.CN).toBe("renewed.example");
    client.destroy();
  });
});

/** Replace the leaf certificate in `dir` with a fresh one of common name `cn` (same CA, same names). */
function leafInto(dir: string, cn: string): void {
  makeLeaf(certDir, cn, "renewed.pem", "renewed.key");
  writeFileSync(join(dir, "leaf.pem"), readFileSync(join(certDir, "renewed.pem")));
  writeFileSync(join(dir, "leaf.key"), readFileSync(join(certDir, "renewed.key")));
}
