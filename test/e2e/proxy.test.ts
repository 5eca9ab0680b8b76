import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Backend, pattern, startBackend } from "../helpers/backend.ts";
import { TestClient } from "../helpers/client.ts";
import { freePort } from "../helpers/ports.ts";
import { type RunningServer, RUNTIMES, startServer } from "../helpers/server.ts";
import { until } from "../helpers/wait.ts";

describe.each(RUNTIMES)("the manual's proxies to a backend on %s", (runtime) => {
  let server: RunningServer;
  let backend: Backend;
  beforeAll(async () => {
    backend = await startBackend();
    server = await startServer(runtime, "proxy", ["start"], {
      BACKEND_PORT: String(backend.port),
      DEAD_PORT: String(await freePort()),
      PID_FILE: join(tmpdir(), `wm-proxy-test-${runtime}-${process.pid}.pid`),
    });
  });
  afterAll(async () => {
    const code = await server?.stop();
    await backend?.close();
    expect(code, server?.output()).toBe(0);
  });

  describe.each([["onMessage/onClose by hand", 0], ["pipe()", 1]] as const)("%s", (_name, index) => {
    it("forwards both ways, including data sent before the backend connection is up", async () => {
      const c = await TestClient.connect(server.ports[index]);
      c.write("echo\nhello ");
      c.write("world");
      await c.untilText("hello world");
      c.write("!");
      await c.untilText("hello world!");
      c.close();
    });

    it("closes the client when the backend closes", async () => {
      const c = await TestClient.connect(server.ports[index]);
      c.write("close\n");
      await c.untilClosed();
    });

    it("closes the backend connection when the client closes", async () => {
      const before = backend.stats.closed;
      const c = await TestClient.connect(server.ports[index]);
      await c.request("echo\nping", "ping");
      c.close();
      await until(() => backend.stats.closed > before, "the backend connection to close");
    });

    // Forwarding by hand has no back-pressure: beyond maxSendBufferSize (1 MiB) queued, data is
    // dropped, as in Workerman. pipe() pauses the sender instead, so any amount arrives.
    const size = index === 1 ? 8 << 20 : 512 << 10;
    it(`moves ${size >> 10} KiB in each direction intact`, async () => {
      const down = await TestClient.connect(server.ports[index]);
      down.write(`source ${size}\n`);
      await down.untilClosed(30_000);
      expect(down.received.length).toBe(size);
      expect(down.received.equals(pattern(0, size))).toBe(true);
      const up = await TestClient.connect(server.ports[index]);
      up.write(`sink ${size}\n`);
      up.write(pattern(0, size));
      await up.untilText("\n", 30_000);
      expect(up.text).toBe(`got ${size} ok\n`);
      up.close();
    });
  });

  it("a backend that refuses the connection closes the client", async () => {
    const c = await TestClient.connect(server.ports[2]);
    c.write("anyone?");
    await c.untilClosed();
    expect(c.text).toBe("");
  });
});
