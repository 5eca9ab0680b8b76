/**
 * Stopping and reloading with idle connections and under keep-alive load: a connection that
 * never sent a byte owes no answer and is closed at once (the process exits without being
 * killed), and keep-alive clients that retry nothing lose no request across reloads and a
 * graceful stop, because a stopping process marks each connection's last response with
 * `Connection: close`. A graceful stop or reload does the same for HTTP keep-alive connections, so
 * they never hold it up, but leaves a WebSocket and an event stream for their clients to close.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { Agent, request } from "node:http";
import type { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
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
  await until(() => (server.output().match(/STARTED /g) ?? []).length >= 4, "4 processes started");
  return { dir, env, server, tcpPort: server.ports[0], webPort: server.ports[1], wsPort: server.ports[2] };
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
  let lastAnswerEnds = false;
  const agents = Array.from({ length: clients }, () => new Agent({ keepAlive: true, maxSockets: 1 }));
  const get = (agent: Agent, path: string) =>
    new Promise<boolean>((resolve) => {
      const req = request({ host: "127.0.0.1", port, path, agent }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk) => (body += chunk));
        res.on("end", () => {
          if (res.statusCode !== 200 || !body.endsWith(` ${path}`)) {
            t.failures.push(`${path}: ${res.statusCode} ${body}`);
          } else t.ok++;
          if (res.headers.connection === "close") t.lastOnConnection++;
          resolve(res.headers.connection === "close");
        });
        res.on("error", (err) => {
          t.failures.push(`${path}: response ${err.message}`);
          resolve(false);
        });
      });
      req.on("error", (err) => {
        t.failures.push(
          `${path}: ${(err as NodeJS.ErrnoException).code ?? ""} ${err.message}${
            req.reusedSocket ? " (reused connection)" : ""
          }`,
        );
        resolve(false);
      });
      req.setTimeout(10_000, () => req.destroy(new Error("no answer within 10 s")));
      req.end();
    });
  let ended = 0;
  const loops = agents.map(async (agent, i) => {
    for (let n = 0; running; n++) {
      const last = await get(agent, `/c${i}/r${n}`);
      if (last && lastAnswerEnds) break;
    }
    ended++;
  });
  return {
    tally: t,
    /** Clients that have stopped sending. */
    ended: () => ended,
    /**
     * From now on each client stops after an answer saying `Connection: close` (its
     * connection's last, from a stopping process), as a client would that has no server to go to.
     */
    endAfterLastAnswer() {
      lastAnswerEnds = true;
    },
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
    // A graceful stop answers each connection's requests until its last answer, which says
    // Connection: close; having no server to go to then, each client stops there.
    load.endAfterLastAnswer();
    const closes = load.tally.lastOnConnection;
    const stopping = command(runtime, app.env, "stop", "-g");
    await until(() => load.ended() === 8 || load.tally.failures.length > 0, "each client's last answer", 20_000);
    const stop = await stopping;
    await load.stop();
    console.log(`${runtime}: ${JSON.stringify({ ...load.tally, failures: load.tally.failures.length })}`);
    expect(load.tally.failures).toEqual([]);
    expect(load.tally.lastOnConnection - closes).toBe(8);
    expect(stop.code, stop.out).toBe(0);
    expect(await app.server.exited).toBe(0);
    expect(app.server.output()).not.toMatch(/exit with status/);
  });
});

/** One answer to {@link backToBack}'s client: which connection (numbered from 1) and process answered, and whether it was that connection's last. */
interface Answer {
  connection: number;
  pid: number;
  close: boolean;
}

/**
 * One HTTP/1.1 keep-alive client (node's http.Agent, one connection at a time, retrying
 * nothing) sending requests back to back, each as soon as the previous one was answered.
 */
function backToBack(port: number) {
  const answers: Answer[] = [];
  const failures: string[] = [];
  const connections = new Map<Socket, number>();
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  let running = true;
  let sent = 0;
  const get = (path: string) =>
    new Promise<void>((resolve) => {
      sent++;
      const req = request({ host: "127.0.0.1", port, path, agent }, (res) => {
        const socket = res.socket;
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk) => (body += chunk));
        res.on("end", () => {
          const m = /^pid (\d+) (\S+)$/.exec(body);
          if (res.statusCode !== 200 || !m || m[2] !== path) failures.push(`${path}: ${res.statusCode} ${body}`);
          else {
            if (!connections.has(socket)) connections.set(socket, connections.size + 1);
            answers.push({
              connection: connections.get(socket)!,
              pid: Number(m[1]),
              close: res.headers.connection === "close",
            });
          }
          resolve();
        });
        res.on("error", (err) => {
          failures.push(`${path}: response ${err.message}`);
          resolve();
        });
      });
      req.on("error", (err) => {
        failures.push(`${path}: ${(err as NodeJS.ErrnoException).code ?? ""} ${err.message}`);
        resolve();
      });
      req.setTimeout(10_000, () => req.destroy(new Error("no answer within 10 s")));
      req.end();
    });
  const loop = (async () => {
    for (let n = 0; running; n++) await get(`/r${n}`);
  })();
  return {
    answers,
    failures,
    sent: () => sent,
    /** Let the client finish its request, then close its connection. */
    async stop() {
      running = false;
      await loop;
      agent.destroy();
    },
  };
}

/** The pids of the fixture's processes of `worker` started so far. */
function pidsOf(server: RunningServer, worker: string): number[] {
  return [...server.output().matchAll(new RegExp(`STARTED ${worker} id=\\d+ pid=(\\d+)`, "g"))].map((m) =>
    Number(m[1])
  );
}

/** Open a `ws` client; resolves once open. */
function openWebSocket(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}

/** Send `text` and resolve with the next message. */
function echo(ws: WebSocket, text: string): Promise<string> {
  return new Promise((resolve) => {
    ws.once("message", (data) => resolve(String(data)));
    ws.send(text);
  });
}

describe.each(RUNTIMES)("graceful stop and reload of an HTTP server with keep-alive clients on %s", (runtime) => {
  let app: Awaited<ReturnType<typeof startApp>>;
  beforeAll(async () => {
    app = await startApp(runtime, "stop-graceful");
  });
  afterAll(async () => {
    await app?.server.stop(8000);
    if (app) rmSync(app.dir, { recursive: true, force: true });
  });

  it("reload -g finishes under a client sending back to back on one keep-alive connection, which loses no request", async () => {
    const old = pidsOf(app.server, "Web");
    const client = backToBack(app.webPort);
    const answered = (n: number) =>
      until(() => client.answers.length >= n || client.failures.length > 0, `${n} answers`, 20_000);
    await answered(50);
    const reload = await command(runtime, app.env, "reload", "-g");
    expect(reload.code, reload.out).toBe(0);
    await app.server.waitForOutput(/reload done/, 30_000);
    const afterReload = client.answers.length;
    await answered(afterReload + 50);
    await client.stop();
    expect(client.failures).toEqual([]);
    expect(client.answers.length).toBe(client.sent());
    // Each connection the old processes closed ended with an answer saying so; the next
    // request went on a new connection.
    const byConnection = new Map<number, Answer[]>();
    for (const a of client.answers) byConnection.set(a.connection, [...byConnection.get(a.connection) ?? [], a]);
    expect(byConnection.size).toBeGreaterThan(1);
    for (const [connection, answers] of byConnection) {
      const closes = answers.map((a) => a.close);
      const ended = connection < byConnection.size;
      expect(closes, `connection ${connection}`).toEqual(answers.map((_, i) => ended && i === answers.length - 1));
      expect(new Set(answers.map((a) => a.pid)).size, `connection ${connection}`).toBe(1);
    }
    // Once the reload is done, new processes answer.
    for (const a of client.answers.slice(afterReload)) expect(old).not.toContain(a.pid);
    expect(app.server.output()).not.toMatch(/exit with status/);
  });

  it("stop -g closes an idle keep-alive connection and leaves a WebSocket and an event stream open until their clients close them", async () => {
    const idle = await TestClient.connect(app.webPort);
    await idle.request("GET /idle HTTP/1.1\r\nHost: x\r\n\r\n", " /idle");
    expect(idle.text).toMatch(/Connection: keep-alive/i);
    const events = await TestClient.connect(app.webPort);
    await events.request("GET /events HTTP/1.1\r\nHost: x\r\n\r\n", "tick 1\n");
    const ws = await openWebSocket(`ws://127.0.0.1:${app.wsPort}`);
    expect(await echo(ws, "before")).toMatch(/^pid \d+ before$/);

    let stopped = false;
    const stopping = command(runtime, app.env, "stop", "-g").finally(() => (stopped = true));
    await app.server.waitForOutput(/is gracefully stopping/);
    await idle.untilClosed(10_000);
    // The event stream goes on after the stop closed the idle connection, and the WebSocket is served.
    const ticks = () => Math.max(...[...events.text.matchAll(/tick (\d+)/g)].map((m) => Number(m[1])));
    const seen = ticks();
    await events.until(() => ticks() >= seen + 2, "two more ticks");
    expect(await echo(ws, "after")).toMatch(/^pid \d+ after$/);
    expect(stopped).toBe(false);
    expect(events.closed).toBe(false);

    ws.close();
    events.close();
    const stop = await stopping;
    expect(stop.code, stop.out).toBe(0);
    expect(stop.out).toMatch(/stop success/);
    expect(await app.server.exited).toBe(0);
    expect(app.server.output()).not.toMatch(/exit with status/);
  });
});
