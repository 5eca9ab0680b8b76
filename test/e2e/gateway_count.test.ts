// Stress: the client count is exact from the moment clients are served. A cluster shaped like
// the chat's (2 gateway processes, 2 BusinessWorkers) is started several times; three websocket
// clients connect from the moment the process is spawned (retrying while the port is not open
// or no BusinessWorker serves their gateway yet) and, as soon as each is greeted, all of them
// and a GatewayClient ask for the count many times while the BusinessWorkers may still be
// joining the gateways. Every answer must be 3.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import WebSocket from "ws";
import { GatewayClient } from "../../mod.ts";
import { freePorts } from "../helpers/ports.ts";
import { runFixture, RUNTIMES } from "../helpers/server.ts";

/** Cluster start-ups per runtime, and count questions per client per start-up. */
const ROUNDS = 3;
const QUESTIONS = 25;

/** A websocket client that is greeted with its client_id and asks `count <n>`. */
class CountClient {
  readonly ws: WebSocket;
  readonly messages: string[] = [];
  private waiters: (() => void)[] = [];
  closed = false;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on("message", (data) => {
      this.messages.push(String(data));
      this.wake();
    });
    ws.on("close", () => {
      this.closed = true;
      this.wake();
    });
    ws.on("error", () => {});
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Resolves with the first message matching `pattern`, or null once closed without one. */
  next(pattern: RegExp): Promise<string | null> {
    return new Promise((resolve) => {
      const check = () => {
        const found = this.messages.find((m) => pattern.test(m));
        if (found !== undefined) return resolve(found);
        if (this.closed) return resolve(null);
        this.waiters.push(check);
      };
      check();
    });
  }

  /**
   * Connect until greeted: the port may not be open yet, and a gateway process that no
   * BusinessWorker has joined yet closes a new client at once (bounded: 500 attempts, each
   * after the previous one failed, and 20 ms apart when refused).
   */
  static async connect(port: number): Promise<CountClient> {
    for (let attempt = 0; attempt < 500; attempt++) {
      const c = new CountClient(new WebSocket(`ws://127.0.0.1:${port}/`));
      if (await c.next(/^hello /)) return c;
      if (c.messages.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error("no greeting after 500 connections");
  }

  async count(n: number): Promise<string> {
    this.ws.send(`count ${n}`);
    const answer = await this.next(new RegExp(`^count ${n} `));
    if (answer === null) throw new Error(`closed before answering count ${n}`);
    return answer.slice(`count ${n} `.length);
  }

  close(): void {
    this.ws.close();
  }
}

describe.each(RUNTIMES)("client count right after start-up on %s", (runtime) => {
  it(
    `getAllClientCount() is 3 for 3 clients, asked ${QUESTIONS} times by each and by a GatewayClient, over ${ROUNDS} start-ups`,
    async () => {
      const wrong: string[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        const dir = mkdtempSync(join(tmpdir(), "wm-gwcount-"));
        const [registerPort, wsPort] = await freePorts(2);
        const server = runFixture(runtime, "gateway_count", ["start"], {
          PID_FILE: join(dir, "app.pid"),
          REGISTER_PORT: String(registerPort),
          WS_PORT: String(wsPort),
        });
        const clients: CountClient[] = [];
        const push = new GatewayClient(`127.0.0.1:${registerPort}`, { addressesCacheSeconds: 0 });
        try {
          clients.push(...await Promise.all([0, 1, 2].map(() => CountClient.connect(wsPort))));
          const asked = clients.map(async (c, i) => {
            for (let n = 0; n < QUESTIONS; n++) {
              const answer = await c.count(n);
              if (answer !== "3") wrong.push(`round ${round} client ${i} question ${n}: ${answer}`);
            }
          });
          asked.push((async () => {
            for (let n = 0; n < QUESTIONS; n++) {
              const answer = String(await push.getAllClientCount().catch((err) => `error ${err.message}`));
              if (answer !== "3") wrong.push(`round ${round} GatewayClient question ${n}: ${answer}`);
            }
          })());
          await Promise.all(asked);
          await server.waitForOutput(/Start success\./);
        } finally {
          push.close();
          for (const c of clients) c.close();
          const code = await server.stop();
          rmSync(dir, { recursive: true, force: true });
          expect(code, server.output()).toBe(0);
        }
      }
      expect(wrong).toEqual([]);
    },
    120_000,
  );
});
