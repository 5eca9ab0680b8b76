import { spawnSync } from "node:child_process";
import { existsSync, lstatSync, mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestClient } from "../helpers/client.ts";
import { runFixture, type RunningServer, RUNTIMES, startServer } from "../helpers/server.ts";

/** Leave a socket file nobody listens on at `path`, as a server killed with SIGKILL does. */
function leaveStaleSocket(path: string): void {
  const script = `require("net").createServer().listen(${
    JSON.stringify(path)
  }, () => process.kill(process.pid, "SIGKILL"))`;
  spawnSync(process.execPath, ["-e", script]);
}

/** Send `data` over the unix socket at `path`; resolves with the first answer. */
function ask(path: string, data: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(path, () => s.write(data));
    s.once("data", (d) => {
      resolve(d.toString());
      s.destroy();
    });
    s.once("error", reject);
  });
}

describe.each(RUNTIMES)("unix sockets on %s", (runtime) => {
  let dir: string;
  let sock: string;
  let server: RunningServer;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), `wm-unix-${runtime}-`));
    sock = join(dir, "app.sock");
    leaveStaleSocket(sock);
    if (!lstatSync(sock).isSocket()) throw new Error(`could not leave a stale socket file at ${sock}`);
    server = await startServer(runtime, "unix", ["start"], { SOCK: sock, PID_FILE: join(dir, "app.pid") });
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("a stale socket file is replaced at start, and the banner shows the socket path", () => {
    expect(lstatSync(sock).isSocket()).toBe(true);
    expect(server.output()).toContain(`unix://${sock}`);
  });

  it("the socket file gets the permissions asked for (unixSocketMode)", () => {
    expect((lstatSync(sock).mode & 0o777).toString(8)).toBe("660");
  });

  it("a unix:// worker accepts and answers; the connection knows it is neither IPv4 nor IPv6", async () => {
    expect(await ask(sock, "hello")).toBe("unix hello (unix, ipv4=false, ipv6=false)");
  });

  it("AsyncTcpConnection connects to unix:///path", async () => {
    const c = await TestClient.connect(server.ports[0]);
    await c.request("over there\n", "false)\n");
    expect(c.text).toBe("via async: unix over there (unix, ipv4=false, ipv6=false)\n");
    c.close();
  });

  it("a second server on the same socket path fails to start and leaves the first one serving", async () => {
    const second = runFixture(runtime, "unix", ["start"], { SOCK: sock, PID_FILE: join(dir, "second.pid") });
    expect(await second.exited).toBe(1);
    expect(second.output()).toMatch(/address already in use/);
    expect(await ask(sock, "still")).toMatch(/^unix still/);
  });

  it("stop removes the socket file", async () => {
    expect(await server.stop()).toBe(0);
    expect(existsSync(sock)).toBe(false);
  });
});
