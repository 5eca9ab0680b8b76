/**
 * Stopping and reloading with idle connections: a connection that never sent a byte owes no
 * answer and is closed at once, so the process exits without being killed.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestClient } from "../helpers/client.ts";
import { RUNTIMES, type RunningServer, runFixture, startServer } from "../helpers/server.ts";
import { until } from "../helpers/wait.ts";

type Runtime = (typeof RUNTIMES)[number];

/** Far longer than a stop needs, so that waiting it out (or being killed at its end) shows. */
const STOP_TIMEOUT = 20;

/** Run a control command of the fixture (stop, reload) to completion. */
async function command(runtime: Runtime, env: Record<string, string>, ...args: string[]) {
  const run = runFixture(runtime, "stop_reload", args, env);
  const code = await run.exited;
  return { code, out: run.output() };
}

async function startApp(runtime: Runtime, name: string) {
  const dir = mkdtempSync(join(tmpdir(), `wm-${name}-${runtime}-`));
  const env = { PID_FILE: join(dir, "app.pid"), STOP_TIMEOUT: String(STOP_TIMEOUT) };
  const server = await startServer(runtime, "stop_reload", ["start"], env);
  await until(() => (server.output().match(/STARTED /g) ?? []).length >= 3, "3 processes started");
  return { dir, env, server, tcpPort: server.ports[0], webPort: server.ports[1] };
}

/** A connection that sends nothing, once the server's process has accepted it. */
async function silentClient(server: RunningServer, port: number, worker: string): Promise<TestClient> {
  const client = await TestClient.connect(port);
  await server.waitForOutput(new RegExp(`CONNECTED ${worker} ${client.socket.localPort}\\b`));
  return client;
}

describe.each(RUNTIMES)("connections that never sent a byte on %s", (runtime) => {
  let app: Awaited<ReturnType<typeof startApp>>;
  beforeAll(async () => {
    app = await startApp(runtime, "stop-idle");
  });
  afterAll(async () => {
    await app?.server.stop(8000);
    if (app) rmSync(app.dir, { recursive: true, force: true });
  });

  it("reload closes them at once: the clients see EOF long before the stop timeout, and no process is killed", async () => {
    const tcp = await silentClient(app.server, app.tcpPort, "Tcp");
    const web = await silentClient(app.server, app.webPort, "Web");
    const reload = await command(runtime, app.env, "reload");
    expect(reload.code, reload.out).toBe(0);
    await tcp.untilClosed(STOP_TIMEOUT * 1000 / 2);
    await web.untilClosed(STOP_TIMEOUT * 1000 / 2);
    await app.server.waitForOutput(/reload done/, STOP_TIMEOUT * 1000 / 2);
    expect(tcp.received.length + web.received.length).toBe(0);
    expect(app.server.output()).not.toMatch(/exit with status/);
  });

  it("stop closes them at once: the clients see EOF long before the stop timeout, and the stop kills no process", async () => {
    const tcp = await silentClient(app.server, app.tcpPort, "Tcp");
    const web = await silentClient(app.server, app.webPort, "Web");
    const stopping = command(runtime, app.env, "stop");
    await tcp.untilClosed(STOP_TIMEOUT * 1000 / 2);
    await web.untilClosed(STOP_TIMEOUT * 1000 / 2);
    const stop = await stopping;
    expect(stop.code, stop.out).toBe(0);
    expect(stop.out).toMatch(/stop success/);
    expect(await app.server.exited).toBe(0);
    expect(app.server.output()).not.toMatch(/exit with status/);
  });
});
