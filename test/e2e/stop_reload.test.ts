/**
 * Stopping and reloading with idle connections and under keep-alive load: a connection that
 * never sent a byte owes no answer and is closed at once (the process exits without being
 * killed), and keep-alive clients that retry nothing lose no request across reloads and a
 * graceful stop, because a stopping process marks each connection's last response with
 * `Connection: close`.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestClient } from "../helpers/client.ts";
import { runFixture, type RunningServer, RUNTIMES, startServer } from "../helpers/server.ts";
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

/** What the load's clients saw. */
interface Tally {
  ok: number;
  /** Responses that said `Connection: close` (the last one of a connection of a stopping process). */
  lastOnConnection: number;
  failures: string[];
}

/**
 * `clients` HTTP/1.1 keep-alive clients (node's http.Agent, one connection each, retrying
 * nothing), each sending a request as soon as the previous one was answered, until stopped.
 */
function keepAliveLoad(port: number, clients: number) {
  const t: Tally = { ok: 0, lastOnConnection: 0, failures: [] };
  let running = true;
  const agents = Array.from({ length: clients }, () => new Agent({ keepAlive: true, maxSockets: 1 }));
  const get = (agent: Agent, path: string) =>
    new Promise<void>((resolve) => {
      const req = request({ host: "127.0.0.1", port, path, agent }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk) => (body += chunk));
        res.on("end", () => {
          if (res.statusCode !== 200 || !body.endsWith(` ${path}`)) {
            t.failures.push(`${path}: ${res.statusCode} ${body}`);
          } else t.ok++;
          if (res.headers.connection === "close") t.lastOnConnection++;
          resolve();
        });
        res.on("error", (err) => {
          t.failures.push(`${path}: response ${err.message}`);
          resolve();
        });
      });
      req.on("error", (err) => {
        t.failures.push(
          `${path}: ${(err as NodeJS.ErrnoException).code ?? ""} ${err.message}${
            req.reusedSocket ? " (reused connection)" : ""
          }`,
        );
        resolve();
      });
      req.setTimeout(10_000, () => req.destroy(new Error("no answer within 10 s")));
      req.end();
    });
  const loops = agents.map(async (agent, i) => {
    for (let n = 0; running; n++) await get(agent, `/c${i}/r${n}`);
  });
  return {
    tally: t,
    /** Let each client finish its request, then close its connection. */
    async stop() {
      running = false;
      await Promise.all(loops);
      for (const agent of agents) agent.destroy();
    },
  };
}

describe.each(RUNTIMES)("keep-alive load through reloads and a graceful stop on %s", (runtime) => {
  let app: Awaited<ReturnType<typeof startApp>>;
  beforeAll(async () => {
    app = await startApp(runtime, "stop-load");
  });
  afterAll(async () => {
    await app?.server.stop(8000);
    if (app) rmSync(app.dir, { recursive: true, force: true });
  });

  it("two reloads and a stop -g under keep-alive load fail no request of clients that retry nothing", async () => {
    const load = keepAliveLoad(app.webPort, 8);
    const answered = (n: number) =>
      until(() => load.tally.ok >= n || load.tally.failures.length > 0, `${n} answers`, 20_000);
    await answered(200);
    for (let round = 1; round <= 2; round++) {
      const reload = await command(runtime, app.env, "reload");
      expect(reload.code, reload.out).toBe(0);
      await app.server.waitForOutput(new RegExp(`(?:reload done[^]*){${round}}`), 30_000);
      await answered(load.tally.ok + 200); // the new processes serve the load
    }
    const stopping = command(runtime, app.env, "stop", "-g");
    await app.server.waitForOutput(/is gracefully stopping/);
    await answered(load.tally.ok + 100); // a graceful stop keeps serving open connections
    await load.stop();
    const stop = await stopping;
    console.log(`${runtime}: ${JSON.stringify({ ...load.tally, failures: load.tally.failures.length })}`);
    expect(load.tally.failures).toEqual([]);
    expect(stop.code, stop.out).toBe(0);
    expect(await app.server.exited).toBe(0);
    expect(app.server.output()).not.toMatch(/exit with status/);
  });
});
