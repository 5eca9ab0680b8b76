// The components guide (docs/components.md): each example in examples/components/, run as
// written with count = 2 under every runtime, against a real server from Debian (MariaDB,
// Redis, mosquitto, memcached), a framework http:// worker and a small DNS server; checked
// through real clients, and across a `reload` by counting connections on the server's side.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import memjs from "memjs";
import mysql from "mysql2/promise";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { TestClient } from "../helpers/client.ts";
import { runFixture, type RunningServer, type RuntimeName, RUNTIMES, startServer } from "../helpers/server.ts";
import {
  missingBinaries,
  type Service,
  startDnsServer,
  startMariadb,
  startMemcached,
  startMosquitto,
  startRedis,
} from "../helpers/services.ts";
import { isRunning, until } from "../helpers/wait.ts";

const MISSING = missingBinaries(["mariadbd", "redis-server", "mosquitto", "memcached"]);
if (MISSING.length) {
  console.warn(`components_clients.test.ts: skipped, ${MISSING.join(", ")} not installed (.ci/run installs them)`);
}

/** runFixture resolves a name under test/fixtures (npm/esm/test/fixtures for Node): this reaches examples/. */
const example = (name: string) => `../../examples/components/${name}`;

/** Pids of the master's children (every thread's: Bun spawns from more than one). */
function children(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).flatMap((task) =>
    readFileSync(`/proc/${pid}/task/${task}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number)
  );
}

/** Established TCP connections whose server side is `port` (as the kernel sees them). */
function tcpConnectionsTo(port: number): number {
  const out = spawnSync("ss", ["-Htn", "state", "established", `( sport = :${port} )`]).stdout.toString();
  return out.split("\n").filter(Boolean).length;
}

/** Send one line and resolve with the next answer line that matches. */
async function ask(client: TestClient, line: string, answer: RegExp): Promise<string> {
  const from = client.text.length;
  client.write(line + "\n");
  let match: RegExpMatchArray | null = null;
  await client.until((c) => !!(match = c.text.slice(from).match(answer)), String(answer));
  return match![0];
}

describe.skipIf(MISSING.length > 0)("the components guide's clients", () => {
  const dir = mkdtempSync(join(tmpdir(), "wm-clients-"));
  let mariadb: Service;
  let redis: Awaited<ReturnType<typeof startRedis>>;
  let mosquitto: Awaited<ReturnType<typeof startMosquitto>>;
  let memcached: Service;
  let dns: Awaited<ReturnType<typeof startDnsServer>>;
  let api: RunningServer;
  let silent: Server;
  const held = new Set<Socket>();

  beforeAll(async () => {
    [mariadb, redis, mosquitto, memcached, dns, api] = await Promise.all([
      startMariadb(dir),
      startRedis(dir),
      startMosquitto(dir),
      startMemcached(dir),
      startDnsServer({ "game.example.test": [10, 1, 2, 3] }),
      startServer("node", "http", ["start"], { PID_FILE: join(dir, "api.pid") }),
    ]);
    // An HTTP server that accepts and never answers: what AbortSignal.timeout is for.
    silent = createServer((socket) => {
      socket.on("error", () => {}); // reset when the fetching process exits
      held.add(socket);
      socket.on("close", () => held.delete(socket));
    });
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
  });

  afterAll(async () => {
    for (const socket of held) socket.destroy();
    silent?.close();
    dns?.stop();
    await Promise.all([api?.stop(), mariadb?.stop(), redis?.stop(), mosquitto?.stop(), memcached?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  describe.each(RUNTIMES)("on %s", (runtime: RuntimeName) => {
    const apps: RunningServer[] = [];
    // One example at a time: the servers' connection counts are of that example alone.
    afterEach(async () => {
      await Promise.all(apps.splice(0).map((app) => app.stop(8000)));
    });

    async function start(name: string, env: Record<string, string>): Promise<RunningServer> {
      const app = await startServer(runtime, example(name), ["start"], { PORT: "0", PORT_OUT: "0", ...env });
      apps.push(app);
      return app;
    }

    /**
     * `reload`, then: every old process has exited and as many new ones serve, and the server
     * ends up holding exactly `after` connections of the app (the old ones' are all closed).
     */
    async function reloadLeavesNoConnection(
      name: string,
      app: RunningServer,
      clients: () => Promise<number> | number,
      after: number,
    ) {
      const before = children(app.proc.pid!);
      const mark = app.output().length;
      const reload = runFixture(runtime, example(name), ["reload"]);
      expect(await reload.exited, reload.output()).toBe(0);
      await until(() => app.output().slice(mark).includes("reload done"), "reload done", 30_000);
      for (const pid of before) await until(() => !isRunning(pid), `old process ${pid} to exit`);
      const now = children(app.proc.pid!);
      expect(now.length).toBe(before.length);
      expect(now.filter((pid) => before.includes(pid))).toEqual([]);
      let seen = -1;
      await until(
        async () => (seen = await clients()) === after,
        `the server to hold ${after} connections of the app (it holds ${seen})`,
      )
        .catch((err) => {
          throw new Error(`${err.message}; it holds ${seen}\n${app.output()}`);
        });
      expect(app.output()).not.toMatch(/Error|exit with status/);
    }

    it("MySQL: a mysql2 pool per process inserts and counts rows; reload closes every pool", async () => {
      const app = await start("mysql", { MYSQL_URL: mariadb.url });
      const [a, b] = await Promise.all([TestClient.connect(app.ports[0]), TestClient.connect(app.ports[0])]);
      expect(await ask(a, `alice-${runtime}`, /user \d+ \S+, \d+ users\n/)).toMatch(
        new RegExp(`^user \\d+ alice-${runtime}, \\d+ users`),
      );
      await ask(b, `bob-${runtime}`, /user \d+ \S+, \d+ users\n/);
      a.close();
      b.close();
      const check = await mysql.createConnection(mariadb.url);
      const [rows] = await check.query<mysql.RowDataPacket[]>("SELECT name FROM users WHERE name LIKE ?", [
        `%-${runtime}`,
      ]);
      await check.end();
      expect(rows.map((r) => r.name).sort()).toEqual([`alice-${runtime}`, `bob-${runtime}`]);
      // onWorkerStart's CREATE TABLE leaves one idle pooled connection per process
      await reloadLeavesNoConnection("mysql", app, () => mariadb.clients(), 2);
    });

    it("Redis: an ioredis command numbers a line and pub/sub delivers it to every connection; reload closes both clients of each process", async () => {
      const app = await start("redis", { REDIS_URL: redis.url });
      const clients = await Promise.all(Array.from({ length: 4 }, () => TestClient.connect(app.ports[0])));
      const n0 = Number(await redis.admin.get("chat:count"));
      clients[0].write(`hello from ${runtime}\n`);
      for (const c of clients) await c.untilText(`#${n0 + 1} hello from ${runtime}\n`);
      expect(Number(await redis.admin.get("chat:count"))).toBe(n0 + 1);
      for (const c of clients) c.close();
      await reloadLeavesNoConnection("redis", app, () => redis.clients(), 4);
    });

    it("HTTP client: fetch keeps one connection alive for sequential requests and times out with AbortSignal.timeout", async () => {
      const app = await start("http_client", { API_URL: `http://127.0.0.1:${api.ports[0]}` });
      const client = await TestClient.connect(app.ports[0]);
      for (let i = 0; i < 5; i++) expect(await ask(client, `/hello?i=${i}`, /.*\n/)).toBe("200 hello world\n");
      expect(tcpConnectionsTo(api.ports[0])).toBe(1);
      expect(await ask(client, `http://127.0.0.1:${(silent.address() as { port: number }).port}/`, /.*\n/)).toBe(
        "failed: TimeoutError\n",
      );
      client.close();
      await reloadLeavesNoConnection("http_client", app, () => tcpConnectionsTo(api.ports[0]), 0);
    });

    it("MQTT: a TCP line is published through MQTT.js and MQTT messages reach TCP clients; reload closes every MQTT client", async () => {
      const app = await start("mqtt", { MQTT_URL: mosquitto.url });
      const [inPort, outPort] = app.ports;
      const listener = await TestClient.connect(outPort);
      const seen: string[] = [];
      mosquitto.admin.on("message", (topic, payload) => seen.push(`${topic} ${payload}`));
      await mosquitto.admin.subscribeAsync("devices/#");
      const device = await TestClient.connect(inPort);
      expect(await ask(device, `devices/${runtime}/temp 21.5`, /.*\n/)).toBe("published\n");
      await until(() => seen.includes(`devices/${runtime}/temp 21.5`), "the message at a real MQTT client");
      await listener.untilText(`devices/${runtime}/temp 21.5\n`);
      await mosquitto.admin.publishAsync(`devices/${runtime}/switch`, "on");
      await listener.untilText(`devices/${runtime}/switch on\n`);
      await mosquitto.admin.unsubscribeAsync("devices/#");
      listener.close();
      device.close();
      await reloadLeavesNoConnection("mqtt", app, () => mosquitto.clients(), 4);
    });

    it("memcache: memjs stores and reads values across processes; reload closes its connections", async () => {
      const app = await start("memcache", { MEMCACHE_SERVERS: memcached.url });
      const [a, b] = await Promise.all([TestClient.connect(app.ports[0]), TestClient.connect(app.ports[0])]);
      expect(await ask(a, `set greeting-${runtime} hello world`, /.*\n/)).toBe("STORED\n");
      expect(await ask(b, `get greeting-${runtime}`, /.*\n/)).toBe("hello world\n");
      expect(await ask(b, `get absent-${runtime}`, /.*\n/)).toBe("NOT_FOUND\n");
      const check = memjs.Client.create(memcached.url);
      expect((await check.get(`greeting-${runtime}`)).value?.toString()).toBe("hello world");
      check.close();
      a.close();
      b.close();
      expect(await memcached.clients()).toBeGreaterThan(0);
      await reloadLeavesNoConnection("memcache", app, () => memcached.clients(), 0);
    });

    it("DNS: node:dns/promises resolves through the chosen server and reports NXDOMAIN as ENOTFOUND", async () => {
      const app = await start("dns", { DNS_SERVER: dns.address });
      const client = await TestClient.connect(app.ports[0]);
      expect(await ask(client, "game.example.test", /.*\n/)).toBe("game.example.test: 10.1.2.3\n");
      expect(await ask(client, "absent.example.test", /.*\n/)).toBe("absent.example.test: ENOTFOUND\n");
      client.close();
    });

    it("message queue: jobs added to a Redis stream are done once each by a consumer group of processes; reload closes every client", async () => {
      await redis.admin.del("jobs:done");
      const app = await start("queue", { REDIS_URL: redis.url });
      const client = await TestClient.connect(app.ports[0]);
      const jobs = Array.from({ length: 6 }, (_, i) => `job ${i} ${runtime}`);
      for (const job of jobs) expect(await ask(client, job, /.*\n/)).toMatch(/^queued \d+-\d+\n$/);
      client.close();
      await until(async () => (await redis.admin.llen("jobs:done")) >= jobs.length, "6 jobs done");
      expect((await redis.admin.lrange("jobs:done", 0, -1)).sort()).toEqual(jobs.map((j) => j.toUpperCase()).sort());
      // A job is acknowledged just after its result is pushed: wait for the last XACK.
      await until(async () => (await redis.admin.xpending("jobs", "workers"))[0] === 0, "every job acknowledged");
      // two producers' clients, two consumers' clients
      await reloadLeavesNoConnection("queue", app, () => redis.clients(), 4);
    });
  });
});
