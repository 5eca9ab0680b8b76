// Stopping or reloading a process must not cut off a response an async handler still owes on a
// keep-alive connection: the connection has already answered one request (so it looks idle to
// the transport), its second request waits on a timer when the stop or reload arrives, and the
// client still gets that response before the server closes the connection.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestClient } from "../helpers/client.ts";
import { runFixture, type RunningServer, RUNTIMES, startServer } from "../helpers/server.ts";

const QUICK = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
const WAIT = "GET /wait?ms=600 HTTP/1.1\r\nHost: x\r\n\r\n";

/** A keep-alive connection that got one answer and has a slow request in flight in the process. */
async function pendingRequest(server: RunningServer, port: number): Promise<TestClient> {
  const client = await TestClient.connect(port);
  client.write(QUICK);
  await client.untilText("quick");
  const seen = (server.output().match(/WAITING/g) ?? []).length;
  client.write(WAIT);
  await server.waitForOutput(new RegExp(`(?:WAITING[^]*){${seen + 1}}`));
  return client;
}

function expectWaited(client: TestClient): void {
  const second = client.text.slice(client.text.indexOf("quick") + 5);
  expect(second).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
  expect(second).toMatch(/\r\nX-Waited: 600\r\n/);
  expect(second.endsWith("\r\n\r\nwaited 600")).toBe(true);
}

describe.each(RUNTIMES)("stop and reload with a pending async response on %s", (runtime) => {
  let dir: string;
  let env: Record<string, string>;
  let server: RunningServer;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), `wm-http-stop-${runtime}-`));
    env = { PID_FILE: join(dir, "app.pid") };
    server = await startServer(runtime, "http_async", ["start"], env);
  });
  afterAll(async () => {
    await server?.stop(8000);
    rmSync(dir, { recursive: true, force: true });
  });

  it("reload answers the pending request, then closes the connection", async () => {
    const client = await pendingRequest(server, server.ports[0]);
    const reload = runFixture(runtime, "http_async", ["reload"], env);
    expect(await reload.exited).toBe(0);
    await client.untilClosed(10_000);
    expectWaited(client);
    // The new process answers.
    const next = await TestClient.connect(server.ports[0]);
    next.write(QUICK);
    await next.untilText("quick");
    next.close();
  });

  it("reload lets a request body that is still arriving finish, and answers it", async () => {
    const half = 1 << 20;
    const client = await TestClient.connect(server.ports[0]);
    client.write(`POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: ${2 * half}\r\n\r\n${"a".repeat(half)}`);
    await new Promise((r) => setTimeout(r, 300));
    const reload = runFixture(runtime, "http_async", ["reload"], env);
    // The upload pauses for longer than the stop's quiet time (250 ms), then goes on.
    await new Promise((r) => setTimeout(r, 800));
    client.write("a".repeat(half));
    await client.untilClosed(10_000);
    expect(await reload.exited).toBe(0);
    expect(client.text).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(client.text).toMatch(/\r\nConnection: close\r\n/i);
    expect(client.text.endsWith(`\r\n\r\ngot ${2 * half}`)).toBe(true);
  });

  it("stop answers the pending request before the process exits", async () => {
    const client = await pendingRequest(server, server.ports[0]);
    expect(await server.stop(8000)).toBe(0);
    await client.untilClosed(10_000);
    expectWaited(client);
  });
});
