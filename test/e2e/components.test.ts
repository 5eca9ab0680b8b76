// Channel and GlobalData between real worker processes, one suite run against both backends
// (the embedded servers and Redis) on every runtime; and the manual's cluster push example.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestClient } from "../helpers/client.ts";
import { freePort } from "../helpers/ports.ts";
import { type RunningServer, RUNTIMES, startServer } from "../helpers/server.ts";
import { type Service, startRedis } from "../helpers/services.ts";
import { until } from "../helpers/wait.ts";

const HAS_REDIS = spawnSync("redis-server", ["--version"]).status === 0;
if (!HAS_REDIS) console.warn("components.test.ts: redis-server is not installed; the Redis backend tests are skipped");
const BACKENDS = ["embedded", ...(HAS_REDIS ? ["redis"] : [])] as const;

type Message = {
  dropped?: unknown;
  probe?: number;
  event?: string;
  queued?: string;
  data?: unknown;
  id?: number;
  result?: unknown;
  error?: string;
};

/** A WebSocket client of one probe process of the app fixture. */
class Probe {
  readonly messages: Message[] = [];
  private seq = 0;
  private readonly ws: WebSocket;
  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on("message", (raw) => this.messages.push(JSON.parse(raw.toString())));
  }

  static async open(port: number): Promise<Probe> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
    await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
    return new Probe(ws);
  }

  /** Run one command in the probe process and resolve with its result. */
  async run(op: string, fields: Record<string, unknown> = {}): Promise<unknown> {
    const id = ++this.seq;
    this.ws.send(JSON.stringify({ id, op, ...fields }));
    let answer: Message | undefined;
    await until(() => !!(answer = this.messages.find((m) => m.id === id)), `answer to ${op}`, 30_000);
    if (answer!.error) throw new Error(answer!.error);
    return answer!.result;
  }

  events(event: string): unknown[] {
    return this.messages.filter((m) => m.event === event).map((m) => m.data);
  }

  queued(channel: string): unknown[] {
    return this.messages.filter((m) => m.queued === channel).map((m) => m.data);
  }

  /**
   * Subscribe and make sure the server has the subscription: publish a probe event to
   * itself until it comes back (subscriptions and publishes of one client are served in order).
   */
  async subscribe(event: string): Promise<void> {
    await this.run("on", { event });
    const sync = `sync-${Math.random()}`;
    await this.run("on", { event: sync });
    for (let attempt = 0; !this.events(sync).length; attempt++) {
      if (attempt === 100) throw new Error(`the subscription to ${event} did not take effect`);
      await this.run("publish", { event: sync, data: attempt });
      await new Promise((r) => setTimeout(r, 100));
    }
    await this.run("unsubscribe", { event: sync });
  }

  close(): void {
    this.ws.close();
  }
}

describe.each(RUNTIMES)("components on %s", (runtime) => {
  describe.each(BACKENDS)("with the %s backend", (backend) => {
    const dir = mkdtempSync(join(tmpdir(), "wm-components-"));
    let servers: RunningServer | null = null;
    let redis: Service | null = null;
    let redisPort = 0;
    let app: RunningServer;
    let probes: Probe[] = [];
    let env: Record<string, string>;

    async function startBackend(ports: string[] = []): Promise<void> {
      if (backend === "redis") {
        redisPort ||= await freePort();
        redis = await startRedis(dir, redisPort);
        return;
      }
      servers = await startServer(runtime, "components_servers", ["start"], {
        PID_FILE: join(dir, "servers.pid"),
        CHANNEL_PORT: ports[0] ?? "0",
        GLOBAL_PORT: ports[1] ?? "0",
        GLOBAL_PORT2: ports[2] ?? "0",
      });
    }

    async function stopBackend(): Promise<void> {
      await redis?.stop();
      redis = null;
      await servers?.stop();
      servers = null;
    }

    beforeAll(async () => {
      await startBackend();
      // GlobalData keys are sharded over two servers: two embedded ones, or two Redis databases.
      const redisUrl = `redis://127.0.0.1:${redisPort}`;
      env = backend === "redis" ? { CHANNEL: redisUrl, GLOBAL: `${redisUrl}/1,${redisUrl}/2` } : {
        CHANNEL: `127.0.0.1:${servers!.ports[0]}`,
        GLOBAL: `127.0.0.1:${servers!.ports[1]},127.0.0.1:${servers!.ports[2]}`,
      };
      env.PID_FILE = join(dir, "app.pid");
      app = await startServer(runtime, "components_app", ["start"], env);
      probes = await Promise.all(app.ports.slice(0, 4).map((p) => Probe.open(p)));
      for (const p of probes) {
        for (let i = 0; (await p.run("connected")) !== true; i++) {
          if (i === 100) throw new Error(`the probe's Channel client did not connect:\n${app.output()}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    });

    afterAll(async () => {
      for (const p of probes) p.close();
      const code = await app?.stop();
      await stopBackend();
      rmSync(dir, { recursive: true, force: true });
      expect(code, app?.output()).toBe(0);
    });

    it("publish reaches every subscriber in every process, the publisher too; unsubscribed ones get nothing", async () => {
      const [p0, p1, p2, p3] = probes;
      for (const p of [p0, p1, p2]) await p.subscribe("news");
      for (const p of probes) await p.subscribe("marker");
      await p0.run("publish", { event: "news", data: { x: 1 } });
      for (const p of [p0, p1, p2]) await until(() => p.events("news").length === 1, "news to every subscriber");
      expect(p0.events("news")).toEqual([{ x: 1 }]);

      await p1.run("unsubscribe", { event: "news" });
      await p3.run("publish", { event: "news", data: { x: 2 } });
      await p3.run("publish", { event: "marker", data: "after" });
      for (const p of probes) await until(() => p.events("marker").length === 1, "the marker");
      // Events of one publisher arrive in order: the marker came after x:2 would have.
      expect(p1.events("news")).toEqual([{ x: 1 }]);
      expect(p3.events("news")).toEqual([]);
      for (const p of [p0, p2]) await until(() => p.events("news").length === 2, "x:2");
      expect(p2.events("news")).toEqual([{ x: 1 }, { x: 2 }]);
    });

    it("publishLoop gives each message to one subscriber, taking turns", async () => {
      const [p0, p1, p2] = probes;
      await p0.subscribe("job");
      await p1.subscribe("job");
      for (let i = 1; i <= 4; i++) await p2.run("publishLoop", { event: "job", data: i });
      await p2.run("publish", { event: "job", data: "end" });
      for (const p of [p0, p1]) await until(() => p.events("job").includes("end"), "the end of the jobs");
      const got0 = p0.events("job").filter((d) => d !== "end");
      const got1 = p1.events("job").filter((d) => d !== "end");
      expect([...got0, ...got1].sort()).toEqual([1, 2, 3, 4]);
      expect(got0).toHaveLength(2);
      expect(got1).toHaveLength(2);
    });

    it("queues: each enqueued message goes to exactly one watcher, in order; reserve takes one; unwatch stops", async () => {
      const [p0, p1, p2, p3] = probes;
      for (const v of ["a", "b", "c"]) await p3.run("enqueue", { event: "later", data: v });
      await p3.run("watch", { event: "later", autoReserve: false });
      await p3.run("reserve");
      await until(() => p3.queued("later").length === 1, "one reserved message");
      await p3.run("reserve");
      await until(() => p3.queued("later").length === 2, "a second reserved message");
      expect(p3.queued("later")).toEqual(["a", "b"]);
      // "c" stays queued for the next reserve; stop watching so later tests' reserves skip it
      await p3.run("unwatch", { event: "later" });

      await p0.run("watch", { event: "tasks" });
      await p1.run("watch", { event: "tasks" });
      for (let i = 1; i <= 6; i++) await p2.run("enqueue", { event: "tasks", data: i });
      const all = () => [...p0.queued("tasks"), ...p1.queued("tasks")];
      await until(() => all().length >= 6, "six tasks");
      await p0.run("unwatch", { event: "tasks" });
      await p2.run("enqueue", { event: "tasks", data: 7 });
      await until(() => p1.queued("tasks").includes(7), "the task after unwatch at the remaining watcher");
      expect(all().sort()).toEqual([1, 2, 3, 4, 5, 6, 7]);
      expect(p0.queued("tasks")).not.toContain(7);
    });

    it("GlobalData: get/set/add/cas/increment/delete semantics, seen from every process", async () => {
      const [p0, p1] = probes;
      const gd = (p: Probe, method: string, ...args: unknown[]) => p.run("gd", { method, args });
      expect(await gd(p0, "get", "k")).toBe(null);
      expect(await gd(p0, "has", "k")).toBe(false);
      await gd(p0, "set", "k", [1, 2]);
      expect(await gd(p1, "get", "k")).toEqual([1, 2]);
      expect(await gd(p1, "has", "k")).toBe(true);
      expect(await gd(p1, "add", "k", 3)).toBe(false);
      expect(await gd(p1, "add", "fresh", 3)).toBe(true);
      expect(await gd(p0, "get", "fresh")).toBe(3);
      await gd(p0, "set", "n", 5);
      expect(await gd(p1, "increment", "n")).toBe(6);
      expect(await gd(p0, "increment", "n", 10)).toBe(16);
      expect(await gd(p0, "increment", "missing")).toBe(false);
      expect(await gd(p0, "cas", "n", 15, 0)).toBe(false);
      expect(await gd(p1, "cas", "n", 16, { v: 1 })).toBe(true);
      expect(await gd(p0, "get", "n")).toEqual({ v: 1 });
      expect(await gd(p0, "cas", "absent", null, "v")).toBe(true);
      expect(await gd(p1, "get", "absent")).toBe("v");
      await gd(p1, "delete", "k");
      expect(await gd(p0, "get", "k")).toBe(null);
      await gd(p0, "set", "s", "str");
      expect(await gd(p1, "increment", "s", 2)).toBe(2);
      await gd(p0, "set", "fresh", null);
      expect(await gd(p1, "has", "fresh")).toBe(false);
    });

    it("GlobalData: 4 processes incrementing at once lose no update (increment and cas)", async () => {
      const n = 200;
      await probes[0].run("gd", { method: "set", args: ["hits:inc", 0] });
      await probes[0].run("gd", { method: "set", args: ["hits:cas", 0] });
      await Promise.all(probes.map((p) => p.run("hammer", { key: "hits", n })));
      expect(await probes[3].run("gd", { method: "get", args: ["hits:inc"] })).toBe(4 * n);
      expect(await probes[3].run("gd", { method: "get", args: ["hits:cas"] })).toBe(4 * n);
    });

    it.skipIf(backend !== "redis")("GlobalData spreads keys over its servers by a stable hash", async () => {
      const keys = Array.from({ length: 20 }, (_, i) => `spread-${i}`);
      for (const k of keys) await probes[0].run("gd", { method: "set", args: [k, k] });
      for (const k of keys) expect(await probes[1].run("gd", { method: "get", args: [k] })).toBe(k);
      const inDb = (db: number) =>
        spawnSync("redis-cli", ["-p", String(redisPort), "-n", String(db), "keys", "globaldata:spread-*"]).stdout
          .toString().trim().split("\n").filter(Boolean);
      const [one, two] = [inDb(1), inDb(2)];
      expect(one.length).toBeGreaterThan(0);
      expect(two.length).toBeGreaterThan(0);
      expect([...one, ...two].sort()).toEqual(keys.map((k) => `globaldata:${k}`).sort());
    });

    it("the manual's cluster push: an HTTP request in one process reaches a WebSocket held by another; group send reaches all", async () => {
      const [pushPort, webPort] = app.ports.slice(4);
      const clients = await Promise.all(Array.from({ length: 6 }, async () => {
        const ws = new WebSocket(`ws://127.0.0.1:${pushPort}/`);
        const texts: string[] = [];
        ws.on("message", (m) => texts.push(m.toString()));
        await new Promise((r) => ws.once("open", r));
        await until(() => texts.length > 0, "the greeting");
        const [, worker, conn] = /workerID:(\d+) connectionID:(\d+)/.exec(texts[0])!;
        return { ws, texts, worker, conn };
      }));
      const one = new Map(clients.map((c) => [c.worker, c]));
      for (const [worker, c] of one) {
        const res = await fetch(
          `http://127.0.0.1:${webPort}/push?to_worker_id=${worker}&to_connection_id=${c.conn}&content=hi${worker}`,
        );
        expect(await res.text()).toBe("ok");
        await until(() => c.texts.includes(`hi${worker}`), "the pushed message");
      }
      await fetch(`http://127.0.0.1:${webPort}/broadcast?content=everyone`);
      for (const c of clients) await until(() => c.texts.includes("everyone"), "the group message");
      for (const c of clients) {
        expect(c.texts.filter((t) => t.startsWith("hi"))).toEqual(one.get(c.worker) === c ? [`hi${c.worker}`] : []);
      }
      for (const c of clients) c.ws.close();
    });

    it.skipIf(backend !== "embedded")(
      "the embedded servers close a connection that sends bad input, saying why; others go on",
      async () => {
        const frame = (text: string) => {
          const payload = Buffer.from(text);
          const head = Buffer.alloc(4);
          head.writeUInt32BE(payload.length + 4);
          return Buffer.concat([head, payload]);
        };
        const cases: [number, string, RegExp][] = [
          [servers!.ports[0], "not json", /bad request/],
          [servers!.ports[0], JSON.stringify({ type: "shout", channels: [] }), /bad type shout/],
          [servers!.ports[1], JSON.stringify({ cmd: "get" }), /bad request/],
          [servers!.ports[1], JSON.stringify({ cmd: "drop", key: "k" }), /bad cmd drop/],
        ];
        for (const [port, text, error] of cases) {
          const c = await TestClient.connect(port);
          c.write(frame(text));
          await c.untilClosed();
          expect(c.text).toMatch(error);
        }
        expect(await probes[0].run("gd", { method: "add", args: ["still-serving", 1] })).toBe(true);
      },
    );

    it("sessions: one visitor's session is shared by the HTTP processes (in Redis with the Redis backend)", async () => {
      const webPort = app.ports[5];
      let cookie = "";
      const pids = new Set<string>();
      for (let i = 1; i <= 8; i++) {
        const res = await fetch(`http://127.0.0.1:${webPort}/session`, { headers: { cookie, connection: "close" } });
        cookie ||= res.headers.get("set-cookie")!.split(";")[0];
        const [, visits, pid] = /visits (\d+) pid (\d+)/.exec(await res.text())!;
        expect(Number(visits)).toBe(i);
        pids.add(pid);
      }
      if (backend === "redis") {
        const keys = spawnSync("redis-cli", ["-p", String(redisPort), "keys", "test-session:*"]).stdout.toString()
          .trim();
        expect(keys).toBe(`test-session:${cookie.split("=")[1]}`);
      }
    });

    it("a Channel client survives a server restart: subscriptions and watches come back, publishes made meanwhile are delivered", async () => {
      const [p0, p1, p2, p3] = probes;
      await p0.subscribe("after-restart");
      await p1.subscribe("after-restart");
      await p3.run("watch", { event: "work" });
      await p2.run("enqueue", { event: "work", data: "before" });
      await until(() => p3.queued("work").includes("before"), "a task before the restart");
      const ports = backend === "redis" ? [] : servers!.ports.map(String);
      await stopBackend();
      while ((await p0.run("connected")) !== false) await new Promise((r) => setTimeout(r, 50));
      // The probes keep 3 publishes while disconnected; the others are reported, not sent.
      for (let i = 1; i <= 5; i++) await p0.run("publish", { event: "after-restart", data: `down ${i}` });
      expect(p0.messages.filter((m) => "dropped" in m).map((m) => m.dropped)).toEqual(["down 4", "down 5"]);
      await startBackend(ports);
      // The publisher subscribes again before it sends what waited, so it sees its own messages.
      await until(() => p0.events("after-restart").includes("down 3"), "the publishes made while down", 15_000);
      expect(p0.events("after-restart")).toEqual(["down 1", "down 2", "down 3"]);
      // Another process's subscription comes back too (publish until it is there).
      for (let i = 0; !p1.events("after-restart").some((d) => String(d).startsWith("later")); i++) {
        if (i === 100) throw new Error("p1 never received an event after the restart");
        await p2.run("publish", { event: "after-restart", data: `later ${i}` });
        await new Promise((r) => setTimeout(r, 100));
      }
      // The watcher watches and reserves again: a task enqueued after the restart reaches it.
      await p2.run("enqueue", { event: "work", data: "after" });
      await until(() => p3.queued("work").includes("after"), "a task after the restart", 15_000);
    });
  });
});
