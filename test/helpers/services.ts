/**
 * Real servers for the components guide's tests, each started on a free port in a temp dir as
 * the current user, with a way to count the client connections it holds, asked of the server
 * itself (`SHOW PROCESSLIST`, `CLIENT LIST`, mosquitto's `$SYS` tree, memcached's `stats conns`).
 * The test's own connection is never counted.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createSocket } from "node:dgram";
import { mkdirSync, writeFileSync } from "node:fs";
import { Socket } from "node:net";
import { userInfo } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import mqtt from "mqtt";
import mysql from "mysql2/promise";
import { freePort } from "./ports.ts";
import { until } from "./wait.ts";

export interface Service {
  port: number;
  url: string;
  /** Client connections the server holds, the test's own excluded. */
  clients(): Promise<number>;
  stop(): Promise<void>;
}

// Debian puts mariadbd and mosquitto in /usr/sbin, which is not on every user's PATH.
const PATH = `${process.env.PATH}:/usr/local/sbin:/usr/sbin:/sbin`;
const USER = userInfo().username;

/** Which of these server binaries are missing (the test skips, naming them). */
export function missingBinaries(names: string[]): string[] {
  return names.filter((name) =>
    spawnSync("sh", ["-c", `command -v ${name}`], { env: { ...process.env, PATH } }).status !== 0
  );
}

function daemon(cmd: string, args: string[], dir: string): ChildProcess {
  const proc = spawn(cmd, args, { cwd: dir, env: { ...process.env, PATH }, stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  proc.stderr!.on("data", (c) => (err += c).length > 4000 && (err = err.slice(-4000)));
  proc.on("exit", (code) => code && console.error(`${cmd} exited with ${code}: ${err}`));
  return proc;
}

async function kill(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once("exit", r));
  proc.kill("SIGKILL");
  await exited;
}

/** Resolves with `connect()`'s result once it succeeds (the server is accepting). */
async function retry<T>(what: string, connect: () => Promise<T>): Promise<T> {
  let result: T | undefined;
  await until(
    async () => {
      try {
        result = await connect();
        return true;
      } catch {
        return false;
      }
    },
    what,
    30_000,
  );
  return result!;
}

/**
 * MariaDB with an empty data directory and `--skip-grant-tables` (any user, no password):
 * it starts in about a second, without `mariadb-install-db`. Database `test` is created.
 */
export async function startMariadb(dir: string): Promise<Service> {
  const port = await freePort();
  const data = join(dir, "mariadb");
  mkdirSync(data);
  const proc = daemon("mariadbd", [
    "--no-defaults",
    `--datadir=${data}`,
    `--socket=${join(data, "mariadb.sock")}`,
    `--port=${port}`,
    "--bind-address=127.0.0.1",
    `--user=${USER}`,
    "--skip-grant-tables",
    "--skip-log-bin",
    "--innodb-buffer-pool-size=16M",
  ], dir);
  const admin = await retry("mariadbd", () => mysql.createConnection({ host: "127.0.0.1", port, user: "root" }));
  await admin.query("CREATE DATABASE IF NOT EXISTS test");
  return {
    port,
    url: `mysql://root@127.0.0.1:${port}/test`,
    async clients() {
      const [rows] = await admin.query<mysql.RowDataPacket[]>(
        "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND COMMAND <> 'Daemon'",
      );
      return Number(rows[0].n);
    },
    async stop() {
      await admin.end().catch(() => {});
      await kill(proc);
    },
  };
}

/** redis-server without persistence (on `port` when given: a restart keeps the clients' address). */
export async function startRedis(dir: string, port = 0): Promise<Service & { admin: Redis }> {
  port ||= await freePort();
  const proc = daemon("redis-server", [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    "no",
  ], dir);
  const admin = await retry("redis-server", async () => {
    const client = new Redis({ port, host: "127.0.0.1", lazyConnect: true, retryStrategy: () => null });
    await client.connect();
    return client;
  });
  const own = await admin.client("ID");
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    admin,
    async clients() {
      const list = (await admin.client("LIST")) as string;
      return list.split("\n").filter((line) => line.startsWith("id=") && !line.startsWith(`id=${own} `)).length;
    },
    async stop() {
      admin.disconnect();
      await kill(proc);
    },
  };
}

/** mosquitto, anonymous, publishing its `$SYS` counters every second. */
export async function startMosquitto(dir: string): Promise<Service & { admin: mqtt.MqttClient }> {
  const port = await freePort();
  const conf = join(dir, "mosquitto.conf");
  writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nsys_interval 1\n`);
  const proc = daemon("mosquitto", ["-c", conf], dir);
  const url = `mqtt://127.0.0.1:${port}`;
  const admin = await retry("mosquitto", () => mqtt.connectAsync(url, { reconnectPeriod: 0 }));
  let connected = -1;
  admin.on("message", (topic, payload) => {
    if (topic === "$SYS/broker/clients/connected") connected = Number(payload.toString());
  });
  await admin.subscribeAsync("$SYS/broker/clients/connected");
  await until(() => connected >= 0, "mosquitto's $SYS/broker/clients/connected");
  return {
    port,
    url,
    admin,
    // $SYS is published once a second: the count can lag the truth by that much.
    clients: async () => connected - 1,
    async stop() {
      await admin.endAsync(true).catch(() => {});
      await kill(proc);
    },
  };
}

/**
 * The client connections memcached lists in `stats conns` (one `<fd>:listen_addr` line per
 * accepted connection), the one asking excluded. (`curr_connections` also counts the
 * listening socket and the asking connection, so this is the same number, without the sums.)
 */
function memcachedClients(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new Socket();
    let text = "";
    socket.on("error", reject);
    socket.on("data", (chunk) => {
      text += chunk;
      if (!text.endsWith("END\r\n")) return;
      const own = `tcp:127.0.0.1:${socket.localPort}`;
      socket.destroy();
      const addr = new Map([...text.matchAll(/^STAT (\d+):addr (\S+)\r$/gm)].map((m) => [m[1], m[2]]));
      const accepted = [...text.matchAll(/^STAT (\d+):listen_addr /gm)].map((m) => m[1]);
      resolve(accepted.filter((fd) => addr.get(fd) !== own).length);
    });
    socket.connect(port, "127.0.0.1", () => socket.write("stats conns\r\n"));
  });
}

/** memcached, TCP only. */
export async function startMemcached(dir: string): Promise<Service> {
  const port = await freePort();
  const proc = daemon("memcached", ["-l", "127.0.0.1", "-p", String(port), "-U", "0", "-u", USER], dir);
  await retry("memcached", () => memcachedClients(port));
  return {
    port,
    url: `127.0.0.1:${port}`,
    clients: () => memcachedClients(port),
    stop: () => kill(proc),
  };
}

/**
 * A DNS server on UDP that knows one name: `names[name]` is its A record; any other name gets
 * NXDOMAIN. Enough for `resolve4` through `Resolver.setServers`.
 */
export async function startDnsServer(
  names: Record<string, [number, number, number, number]>,
): Promise<{ address: string; stop(): void }> {
  const socket = createSocket("udp4");
  socket.on("message", (query, peer) => {
    // header (12 bytes), then the question: length-prefixed labels ending with 0, type, class
    const labels: string[] = [];
    let at = 12;
    while (query[at] !== 0) {
      labels.push(query.subarray(at + 1, at + 1 + query[at]).toString());
      at += query[at] + 1;
    }
    const ip = names[labels.join(".")];
    const header = Buffer.from(query.subarray(0, 12));
    header.writeUInt16BE(0x8180 | (ip ? 0 : 3), 2); // response, recursion available; rcode 3: NXDOMAIN
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(ip ? 1 : 0, 6);
    header.writeUInt32BE(0, 8);
    // the answer names the question by pointer (0xc00c), type A, class IN, TTL 60, 4 bytes
    const answer = ip ? Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, ...ip]) : Buffer.alloc(0);
    socket.send(Buffer.concat([header, query.subarray(12, at + 5), answer]), peer.port, peer.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  return { address: `127.0.0.1:${socket.address().port}`, stop: () => socket.close() };
}
