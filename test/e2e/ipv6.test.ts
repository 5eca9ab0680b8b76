import { createSocket } from "node:dgram";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestClient } from "../helpers/client.ts";
import { type RunningServer, RUNTIMES, startServer } from "../helpers/server.ts";

/** Whether this kernel has an IPv6 loopback to bind (containers sometimes have none). */
const hasIPv6 = await new Promise<boolean>((resolve) => {
  const s = createServer();
  s.once("error", () => resolve(false));
  s.listen(0, "::1", () => s.close(() => resolve(true)));
});
if (!hasIPv6) console.warn("ipv6.test.ts: skipped, this system has no IPv6 loopback (::1)");

describe.skipIf(!hasIPv6).each(RUNTIMES)("IPv6 on %s", (runtime) => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer(runtime, "ipv6", ["start"], {
      PID_FILE: join(tmpdir(), `wm-ipv6-${runtime}-${process.pid}.pid`),
    });
  });
  afterAll(async () => {
    const code = await server?.stop();
    expect(code, server?.output()).toBe(0);
  });

  it("the banner shows IPv6 addresses in brackets", () => {
    expect(server.output()).toMatch(/Tcp6\s+tcp:\/\/\[::1\]:\d+/);
    expect(server.output()).toMatch(/TextAny\s+text:\/\/\[::\]:\d+\s+2/);
    expect(server.output()).toMatch(/Udp6\s+udp:\/\/\[::1\]:\d+/);
  });

  it("tcp://[::1] accepts; getRemoteIp() is the address without brackets", async () => {
    const c = await TestClient.connect(server.ports[0], "::1");
    await c.request("hi", "local=");
    await c.untilText(`local=[::1]:${server.ports[0]}`);
    expect(c.text).toBe(`hi ip=::1 port=${c.socket.localPort} v6=true local=[::1]:${server.ports[0]}`);
    c.close();
  });

  it("text://[::] answers clients over IPv6 and, dual stack, over IPv4 as plain 127.0.0.1", async () => {
    const v6 = await TestClient.connect(server.ports[1], "::1");
    await v6.request("six\n", "\n");
    expect(v6.text).toBe("six ip=::1 v4=false v6=true\n");
    const v4 = await TestClient.connect(server.ports[1], "127.0.0.1");
    await v4.request("four\n", "\n");
    expect(v4.text).toBe("four ip=127.0.0.1 v4=true v6=false\n");
    v6.close();
    v4.close();
  });

  it("udp://[::1] answers datagrams from ::1", async () => {
    const socket = createSocket("udp6");
    await new Promise<void>((resolve) => socket.bind(0, "::1", () => resolve()));
    const reply = new Promise<string>((resolve) => socket.once("message", (m) => resolve(m.toString())));
    socket.send("dgram", server.ports[2], "::1");
    expect(await reply).toBe(`dgram ip=::1 port=${socket.address().port}`);
    socket.close();
  });
});
