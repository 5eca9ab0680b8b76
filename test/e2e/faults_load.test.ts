/**
 * Faults under load: HTTP keep-alive clients and WebSocket echo clients run while worker
 * processes are SIGKILLed at random, while the server reloads, and while its master is SIGKILLed.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { TestClient } from "../helpers/client.ts";
import { runFixture, type RunningServer, RUNTIMES, startServer } from "../helpers/server.ts";
import { isRunning, until } from "../helpers/wait.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Latest pid of each process id of worker `name`, from the fixture's STARTED lines. */
function started(output: string, name: string): Map<number, number> {
  const ids = new Map<number, number>();
  for (const m of output.matchAll(new RegExp(`STARTED ${name} id=(\\d+) pid=(\\d+)`, "g"))) {
    ids.set(Number(m[1]), Number(m[2]));
  }
  return ids;
}

/** What the load generator saw. */
interface Tally {
  ok: number;
  /** Requests repeated on a new connection because a reused keep-alive connection closed before answering. */
  retriedIdle: number;
  /** Requests repeated because their connection broke (a killed process). */
  retriedBroken: number;
  failures: string[];
}

const tally = (): Tally => ({ ok: 0, retriedIdle: 0, retriedBroken: 0, failures: [] });

/**
 * One HTTP/1.1 keep-alive client: requests one at a time on one connection, a new connection
 * when it closes. A request is retried (up to 5 times) when its connection closes or breaks
 * before the response is complete; `retryBroken` false makes anything but a reused idle
 * connection closing before the first response byte a failure.
 */
class HttpClient {
  private socket: Socket | null = null;
  private used = 0;
  private readonly port: number;
  private readonly t: Tally;
  private readonly retryBroken: boolean;

  constructor(port: number, t: Tally, retryBroken: boolean) {
    this.port = port;
    this.t = t;
    this.retryBroken = retryBroken;
  }

  private connect(): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const s = new Socket();
      s.once("error", reject);
      s.connect(this.port, "127.0.0.1", () => {
        s.off("error", reject);
        s.on("error", () => {});
        resolve(s);
      });
    });
  }

  /** One attempt: the response body, or why it failed and whether the connection was reused with nothing received. */
  private async attempt(path: string): Promise<{ body?: string; error?: string; idleClose?: boolean }> {
    if (this.socket === null || this.socket.destroyed) {
      this.socket = await this.connect();
      this.used = 0;
    }
    const s = this.socket;
    const reused = this.used++ > 0;
    return await new Promise((resolve) => {
      let data = Buffer.alloc(0);
      const finish = (r: { body?: string; error?: string; idleClose?: boolean }) => {
        s.off("data", onData);
        s.off("close", onClose);
        clearTimeout(timer);
        if (r.error) s.destroy();
        resolve(r);
      };
      const onData = (chunk: Buffer) => {
        data = Buffer.concat([data, chunk]);
        const end = data.indexOf("\r\n\r\n");
        if (end === -1) return;
        const head = data.subarray(0, end).toString();
        const length = Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1] ?? -1);
        if (data.length < end + 4 + length) return;
        if (!head.startsWith("HTTP/1.1 200 ")) return finish({ error: `status ${head.split("\r\n")[0]}` });
        if (/\r\nconnection: close/i.test(head)) {
          s.end();
          this.socket = null; // the server closes it: the next request goes on a new connection
        }
        finish({ body: data.subarray(end + 4, end + 4 + length).toString() });
      };
      const onClose = () =>
        finish({ error: `closed after ${data.length} bytes`, idleClose: reused && data.length === 0 });
      const timer = setTimeout(() => finish({ error: "no answer within 10 s" }), 10_000);
      s.on("data", onData);
      s.on("close", onClose);
      s.write(`GET ${path} HTTP/1.1\r\nHost: load\r\n\r\n`);
    });
  }

  async request(path: string): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      let r: { body?: string; error?: string; idleClose?: boolean };
      try {
        r = await this.attempt(path);
      } catch (err) {
        r = { error: (err as Error).message };
      }
      if (r.body !== undefined) {
        if (r.body.endsWith(` ${path}`)) this.t.ok++;
        else this.t.failures.push(`wrong answer ${JSON.stringify(r.body)} to ${path}`);
        return;
      }
      if (r.idleClose) this.t.retriedIdle++;
      else if (this.retryBroken) this.t.retriedBroken++;
      else return void this.t.failures.push(`${path}: ${r.error}`);
    }
    this.t.failures.push(`${path}: failed 5 times`);
  }

  close(): void {
    this.socket?.destroy();
  }
}

/**
 * One WebSocket echo client: sends a message, waits for its echo, repeats; when the connection
 * closes or breaks it reconnects and sends the unanswered message again (up to 5 times).
 */
async function wsClient(port: number, t: Tally, running: () => boolean, tag: string): Promise<void> {
  let ws: WebSocket | null = null;
  let n = 0;
  while (running()) {
    const message = `${tag} ${n}`;
    let done = false;
    for (let attempt = 0; attempt < 5 && !done; attempt++) {
      try {
        if (ws === null || ws.readyState !== WebSocket.OPEN) {
          ws?.terminate();
          ws = new WebSocket(`ws://127.0.0.1:${port}/`);
          await new Promise<void>((resolve, reject) => {
            ws!.once("open", resolve);
            ws!.once("error", reject);
            ws!.once("close", () => reject(new Error("closed while connecting")));
          });
          ws.on("error", () => {});
        }
        const socket = ws;
        const echo = await new Promise<string>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error("no echo within 10 s")), 10_000);
          socket.once("message", (data) => {
            clearTimeout(timer);
            resolve(String(data));
          });
          socket.once("close", () => {
            clearTimeout(timer);
            reject(new Error("closed"));
          });
          socket.send(message);
        });
        if (echo === message) t.ok++;
        else t.failures.push(`ws echo ${JSON.stringify(echo)} for ${JSON.stringify(message)}`);
        done = true;
        ws.removeAllListeners("close");
      } catch {
        t.retriedBroken++;
        ws?.terminate();
        ws = null;
        await sleep(50);
      }
    }
    if (!done) t.failures.push(`${message}: no echo after 5 attempts`);
    n++;
  }
  ws?.close();
}

/** Runs `http` HTTP clients and `ws` WebSocket clients until stopped. */
function load(httpPort: number, wsPort: number, retryBroken: boolean) {
  const http = tally();
  const ws = tally();
  let running = true;
  const clients = [0, 1, 2, 3].map(() => new HttpClient(httpPort, http, retryBroken));
  const loops = [
    ...clients.map(async (c, i) => {
      for (let n = 0; running; n++) await c.request(`/c${i}/r${n}`);
      c.close();
    }),
    ...[0, 1, 2].map((i) => wsClient(wsPort, ws, () => running, `client${i}`)),
  ];
  return {
    http,
    ws,
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

/** Run a control command of the fixture (status, reload) to completion. */
async function command(runtime: (typeof RUNTIMES)[number], env: Record<string, string>, ...args: string[]) {
  const run = runFixture(runtime, "faults_load", args, env);
  const code = await run.exited;
  return { code, out: run.output() };
}

describe.each(RUNTIMES)("faults under load on %s", (runtime) => {
  let dir: string;
  let env: Record<string, string>;
  let server: RunningServer;
  let httpPort: number, wsPort: number;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), `wm-faults-${runtime}-`));
    env = { PID_FILE: join(dir, "app.pid") };
    server = await startServer(runtime, "faults_load", ["start"], env);
    [httpPort, wsPort] = server.ports;
    const deadline = Date.now() + 20_000;
    while (started(server.output(), "Web").size < 3 || started(server.output(), "Ws").size < 2) {
      if (Date.now() > deadline) throw new Error(`not every process started:\n${server.output()}`);
      await sleep(50);
    }
  });
  afterAll(async () => {
    await server?.stop(8000);
    rmSync(dir, { recursive: true, force: true });
  });

  it("processes SIGKILLed at random under load are replaced; clients that retry all succeed; status counts every exit", async () => {
    const traffic = load(httpPort, wsPort, true);
    await sleep(500);
    const killed = { Web: 0, Ws: 0 };
    for (let round = 0; round < 8; round++) {
      const name = round % 3 === 2 ? "Ws" : "Web";
      const live = () => [...started(server.output(), name).values()].every(isRunning);
      for (const deadline = Date.now() + 10_000; !live();) {
        if (Date.now() > deadline) throw new Error(`a ${name} process was not replaced:\n${server.output()}`);
        await sleep(50);
      }
      const pids = [...started(server.output(), name).values()];
      const victim = pids[Math.floor(Math.random() * pids.length)];
      process.kill(victim, "SIGKILL");
      killed[name]++;
      await server.waitForOutput(new RegExp(`worker\\[${name}:${victim}\\] exit with status 9`));
      await sleep(400 + Math.random() * 400);
    }
    const before = { http: traffic.http.ok, ws: traffic.ws.ok };
    await sleep(1500); // service continues after the last kill
    await traffic.stop();
    console.log(
      `${runtime} kills ${JSON.stringify(killed)}: http ${JSON.stringify(traffic.http)} ws ${
        JSON.stringify(traffic.ws)
      }`,
    );

    expect(traffic.http.failures).toEqual([]);
    expect(traffic.ws.failures).toEqual([]);
    expect(traffic.http.ok).toBeGreaterThan(before.http);
    expect(traffic.ws.ok).toBeGreaterThan(before.ws);
    // How many requests a kill broke (retried) depends on which process held the clients'
    // connections (on Deno one process often accepts them all), so it is reported, not asserted;
    // that every kill happened and was replaced is asserted through `status` below.

    expect(started(server.output(), "Web").size).toBe(3);
    // The last victim's replacement may still be starting on a loaded machine: wait for it.
    const everyLatest = () => [...started(server.output(), "Web").values(), ...started(server.output(), "Ws").values()];
    await until(() => everyLatest().every(isRunning), "every killed process to be replaced", 15_000);
    const status = await command(runtime, env, "status");
    expect(status.code, status.out).toBe(0);
    expect(status.out).toMatch(new RegExp(`^Web\\s+9\\s+${killed.Web}$`, "m"));
    expect(status.out).toMatch(new RegExp(`^Ws\\s+9\\s+${killed.Ws}$`, "m"));
    expect(status.out).toMatch(/2 workers\s+5 processes/);
  });

  it("reload under the same load completes with zero failed requests", async () => {
    const before = [...started(server.output(), "Web").values()];
    const traffic = load(httpPort, wsPort, false);
    await sleep(500);
    const { code } = await command(runtime, env, "reload");
    expect(code).toBe(0);
    await server.waitForOutput(/reload done/, 30_000);
    await sleep(500);
    await traffic.stop();
    console.log(`${runtime} reload: http ${JSON.stringify(traffic.http)} ws ${JSON.stringify(traffic.ws)}`);
    expect(traffic.http.failures).toEqual([]);
    expect(traffic.ws.failures).toEqual([]);
    expect(traffic.http.ok).toBeGreaterThan(0);
    expect(traffic.ws.ok).toBeGreaterThan(0);
    for (const pid of before) expect(isRunning(pid)).toBe(false);
  });

  it("the master SIGKILLed under load: every process exits within a few seconds and the port is free", async () => {
    const children = [...started(server.output(), "Web").values(), ...started(server.output(), "Ws").values()];
    const traffic = load(httpPort, wsPort, true);
    await sleep(500);
    server.proc.kill("SIGKILL");
    const deadline = Date.now() + 10_000;
    while (children.some(isRunning) && Date.now() < deadline) await sleep(50);
    await traffic.stop();
    expect(children.filter(isRunning)).toEqual([]);
    for (const port of [httpPort, wsPort]) {
      const refused = await TestClient.connect(port).then((c) => (c.close(), false), () => true);
      expect(refused, `port ${port}`).toBe(true);
    }
  });
});
