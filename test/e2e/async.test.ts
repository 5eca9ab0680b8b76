import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestClient } from "../helpers/client.ts";
import { freePort } from "../helpers/ports.ts";
import { type RunningServer, RUNTIMES, startServer } from "../helpers/server.ts";

describe.each(RUNTIMES)("AsyncTcpConnection on %s", (runtime) => {
  let server: RunningServer;
  let target: number;
  beforeAll(async () => {
    server = await startServer(runtime, "async", ["start"], {
      PID_FILE: join(tmpdir(), `wm-async-${runtime}-${process.pid}.pid`),
    });
    target = server.ports[0];
  });
  afterAll(async () => {
    const code = await server?.stop();
    expect(code, server?.output()).toBe(0);
  });

  async function run(command: string): Promise<string> {
    const c = await TestClient.connect(server.ports[1]);
    await c.request(`${command}\n`, "\n");
    c.close();
    return c.text.trim();
  }

  it("a refused connect gives onError(1, 'connect <host>:<port> fail after <n> seconds'), then onClose", async () => {
    const port = await freePort();
    expect(await run(`fail ${port}`)).toMatch(
      new RegExp(
        `^error:1:connect 127\\.0\\.0\\.1:${port} fail after \\d+(\\.\\d{1,4})? seconds:CLOSING\\|close:CLOSED$`,
      ),
    );
  });

  it("reconnect(seconds) in onClose tries again after that delay, as often as asked", async () => {
    expect(await run(`retry ${await freePort()} 3`)).toBe("attempts:3|min gap ok:true");
  });

  it("send() before connect() is queued (returns null) and written once connected", async () => {
    expect(await run(`queued ${target}`)).toBe("status:INITIAL|send:null,null|echo a|echo b");
  });

  it("after the server closes it, reconnect() connects again with the same callbacks", async () => {
    expect(await run(`reconnect ${target}`)).toBe(
      "connect#1:ESTABLISHED|message:bye|close|connect#2:ESTABLISHED|message:echo hi|close",
    );
  });

  it("closed by us, reconnected and closed again: the second close completes as the first did", async () => {
    expect(await run(`closeTwice ${target}`)).toBe("echo hi1|close#1|echo hi2|close#2");
  });

  it("close() while connecting fires onClose once and never onConnect", async () => {
    expect(await run(`early ${target}`)).toBe("close|status:CLOSED");
  });

  it("a host name is resolved through the runtime", async () => {
    expect(await run(`name ${target}`)).toMatch(/^echo named\|remote:(127\.0\.0\.1|::1)\|host:localhost$/);
  });
});
