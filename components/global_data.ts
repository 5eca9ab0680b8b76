/**
 * GlobalData: variables shared by every process (and machine), with atomic `add`, `cas` and
 * `increment`. Values are anything JSON can carry; setting `null` deletes the key.
 *
 * Each server address is either an embedded {@link GlobalDataServer} (`host:port`) or a Redis
 * server (`redis://host:port`); with several, every key lives on one of them, chosen by a
 * stable hash of the key (CRC-32 modulo the number of servers, as Workerman's client), so
 * all processes agree without talking to each other.
 *
 * Unlike Workerman's blocking client, every operation returns a Promise.
 *
 * @example
 * ```ts
 * import { GlobalDataClient, GlobalDataServer, Worker } from "workerman-ts";
 * new GlobalDataServer("127.0.0.1", 2207);
 * const web = new Worker("http://0.0.0.0:8080");
 * web.count = 4;
 * let data: GlobalDataClient;
 * web.onWorkerStart = () => (data = new GlobalDataClient("127.0.0.1:2207"));
 * web.onMessage = async (conn) => conn.send(`hit ${await data.increment("hits")}`);
 * Worker.runAll();
 * ```
 *
 * @module
 */
import type { RedisConnection } from "../runtime/types.ts";
import { runtime } from "../runtime/mod.ts";
import { formatHostPort } from "../core/address.ts";
import type { Bytes } from "../core/bytes.ts";
import type { TcpConnection } from "../core/tcp_connection.ts";
import { Worker } from "../core/worker.ts";
import { Frame } from "../protocols/frame.ts";
import { JsonLink } from "./_link.ts";
import { crc32 } from "./hash.ts";

/** One store behind a {@link GlobalDataClient}: stored values are JSON text. */
interface Store {
  get(key: string): Promise<string | null>;
  set(key: string, json: string): Promise<void>;
  delete(key: string): Promise<void>;
  add(key: string, json: string): Promise<boolean>;
  cas(key: string, oldJson: string, newJson: string): Promise<boolean>;
  /** The new value as JSON text, or null when the key does not exist. */
  increment(key: string, step: number): Promise<string | null>;
  close(): void;
}

/** What the embedded server answers each request with. */
type Answer = { ok: true; value: unknown } | { ok: false; error: string };

/**
 * The embedded server: a `frame://` Worker named `globalDataServer`, one process, not
 * reloadable (a reload would lose the data). State lives in its memory.
 */
export class GlobalDataServer extends Worker {
  private readonly data = new Map<string, string>();

  /** Listen on `host:port` (port 0: any free port), or on a `unix:///path` given as `host`. */
  constructor(host = "127.0.0.1", port = 2207) {
    super(host.startsWith("unix://") ? host : `tcp://${formatHostPort(host, port)}`);
    this.protocol = Frame;
    this.name = "globalDataServer";
    this.count = 1;
    this.reloadable = false;
    this.onMessage = (conn: TcpConnection, payload: Bytes) => this.serve(conn, payload.toString());
  }

  /** Answer one request line of a client. */
  private serve(conn: TcpConnection, text: string): void {
    let request: { cmd?: unknown; key?: unknown; value?: unknown; old?: unknown; step?: unknown };
    try {
      request = JSON.parse(text);
    } catch {
      request = {};
    }
    if (typeof request?.cmd !== "string" || typeof request.key !== "string") {
      conn.close(JSON.stringify({ ok: false, error: "bad request: expected JSON {cmd, key, ...}" }));
      return;
    }
    const answer = this.execute(request.cmd, request.key, request);
    if (answer.ok) conn.send(JSON.stringify(answer));
    else conn.close(JSON.stringify(answer));
  }

  /** Carry out one operation on the in-memory data. */
  private execute(cmd: string, key: string, r: { value?: unknown; old?: unknown; step?: unknown }): Answer {
    const data = this.data;
    const json = typeof r.value === "string" ? r.value : "null";
    switch (cmd) {
      case "get":
        return { ok: true, value: data.get(key) ?? null };
      case "set":
        if (json === "null") data.delete(key);
        else data.set(key, json);
        return { ok: true, value: true };
      case "delete":
        data.delete(key);
        return { ok: true, value: true };
      case "add":
        if (data.has(key) || json === "null") return { ok: true, value: false };
        data.set(key, json);
        return { ok: true, value: true };
      case "cas": {
        if ((data.get(key) ?? "null") !== r.old) return { ok: true, value: false };
        if (json === "null") data.delete(key);
        else data.set(key, json);
        return { ok: true, value: true };
      }
      case "increment": {
        const current = data.get(key);
        if (current === undefined) return { ok: true, value: null };
        const parsed = JSON.parse(current);
        const next = JSON.stringify((typeof parsed === "number" ? parsed : 0) + Number(r.step));
        data.set(key, next);
        return { ok: true, value: next };
      }
      default:
        return { ok: false, error: `bad cmd ${cmd}` };
    }
  }
}

interface Waiting {
  resolve(v: unknown): void;
  reject(e: Error): void;
  deadline: number;
}

/**
 * A store on an embedded {@link GlobalDataServer}; answers come back in request order. When
 * the oldest request has waited `timeout` ms the server is taken for stuck: the connection is
 * dropped (every waiting request rejects) and made again.
 */
class EmbeddedStore implements Store {
  private readonly link: JsonLink;
  private readonly waiting: Waiting[] = [];
  private readonly address: string;
  private readonly timeout: number;
  private watchdog: ReturnType<typeof setInterval> | undefined;

  constructor(address: string, timeout: number) {
    this.address = address;
    this.timeout = timeout;
    this.link = new JsonLink(address, `GlobalData ${address}`, {
      message: (answer) => this.answer(answer as Answer),
      up: () => {},
      down: () => this.failAll(`GlobalData: the connection to ${this.address} closed before the answer came`),
    });
  }

  private failAll(message: string): void {
    const error = new Error(message);
    for (const w of this.waiting.splice(0)) w.reject(error);
    clearInterval(this.watchdog);
    this.watchdog = undefined;
  }

  /** While requests wait, check every 100 ms that the oldest is not overdue. */
  private watch(): void {
    this.watchdog ??= setInterval(() => {
      const oldest = this.waiting[0];
      if (!oldest) {
        clearInterval(this.watchdog);
        this.watchdog = undefined;
      } else if (Date.now() > oldest.deadline) {
        this.failAll(`GlobalData: ${this.address} did not answer within ${this.timeout} ms; reconnecting`);
        this.link.reset();
      }
    }, 100);
  }

  private answer(answer: Answer): void {
    const w = this.waiting.shift();
    if (!w) return;
    if (answer.ok) w.resolve(answer.value);
    else w.reject(new Error(`GlobalData server ${this.address}: ${answer.error}`));
  }

  private call(request: Record<string, unknown>): Promise<unknown> {
    if (!this.link.pending || !this.link.send(request)) {
      return Promise.reject(new Error(`GlobalData: not connected to ${this.address} (reconnecting)`));
    }
    this.watch();
    return new Promise((resolve, reject) =>
      this.waiting.push({ resolve, reject, deadline: Date.now() + this.timeout })
    );
  }

  async get(key: string) {
    return (await this.call({ cmd: "get", key })) as string | null;
  }
  async set(key: string, json: string) {
    await this.call({ cmd: "set", key, value: json });
  }
  async delete(key: string) {
    await this.call({ cmd: "delete", key });
  }
  async add(key: string, json: string) {
    return (await this.call({ cmd: "add", key, value: json })) as boolean;
  }
  async cas(key: string, oldJson: string, newJson: string) {
    return (await this.call({ cmd: "cas", key, old: oldJson, value: newJson })) as boolean;
  }
  async increment(key: string, step: number) {
    return (await this.call({ cmd: "increment", key, step })) as string | null;
  }
  close() {
    this.failAll(`GlobalData: the client was closed`);
    this.link.close();
  }
}

const CAS = `local v = redis.call('GET', KEYS[1]) or 'null'
if v ~= ARGV[1] then return 0 end
if ARGV[2] == 'null' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[2]) end
return 1`;

// Lua's tostring keeps 14 significant digits: integers are exact up to 10^14.
const INCREMENT = `local v = redis.call('GET', KEYS[1])
if not v then return false end
local n = tonumber(v)
if n == nil or string.sub(v, 1, 1) == '"' then n = 0 end
local s = tostring(n + tonumber(ARGV[1]))
redis.call('SET', KEYS[1], s)
return s`;

/** A store on Redis: one key per variable (`prefix + key`), holding the JSON text. */
class RedisStore implements Store {
  private readonly redis: RedisConnection;
  private readonly prefix: string;

  constructor(url: string, prefix: string, timeout: number) {
    this.redis = runtime.redis(url, { maxRetriesPerRequest: 3, commandTimeout: timeout });
    this.prefix = prefix;
  }

  async get(key: string) {
    return (await this.redis.command("GET", [this.prefix + key])) as string | null;
  }
  async set(key: string, json: string) {
    if (json === "null") await this.redis.command("DEL", [this.prefix + key]);
    else await this.redis.command("SET", [this.prefix + key, json]);
  }
  async delete(key: string) {
    await this.redis.command("DEL", [this.prefix + key]);
  }
  async add(key: string, json: string) {
    if (json === "null") return false;
    return (await this.redis.command("SET", [this.prefix + key, json, "NX"])) === "OK";
  }
  async cas(key: string, oldJson: string, newJson: string) {
    return (await this.redis.script(CAS, [this.prefix + key], [oldJson, newJson])) === 1;
  }
  async increment(key: string, step: number) {
    return (await this.redis.script(INCREMENT, [this.prefix + key], [step])) as string | null;
  }
  close() {
    this.redis.close();
  }
}

/** Options of {@link GlobalDataClient}. */
export interface GlobalDataOptions {
  /** Prefix of the Redis keys (default `globaldata:`); ignored by embedded servers. */
  prefix?: string;
  /** Milliseconds an operation may wait for its answer before it rejects (default 5000, as Workerman's client). */
  timeout?: number;
}

function toJson(value: unknown, what: string): string {
  const json = JSON.stringify(value);
  if (json === undefined) throw new TypeError(`GlobalData ${what}: the value cannot be stored as JSON`);
  return json;
}

/** Shared variables across processes and machines: a GlobalDataServer (or several, sharded) or Redis. */
export class GlobalDataClient {
  private readonly stores: Store[];

  /**
   * `servers`: one address or several, each `host:port` (an embedded {@link GlobalDataServer}),
   * `unix:///path`, or `redis://[:password@]host:port[/db]`.
   */
  constructor(servers: string | string[], options: GlobalDataOptions = {}) {
    const list = typeof servers === "string" ? [servers] : [...servers];
    if (list.length === 0) throw new TypeError("GlobalDataClient: servers empty (give at least one address)");
    const prefix = options.prefix ?? "globaldata:";
    const timeout = options.timeout ?? 5000;
    this.stores = list.map((a) =>
      a.startsWith("redis://") || a.startsWith("rediss://")
        ? new RedisStore(a, prefix, timeout)
        : new EmbeddedStore(a, timeout)
    );
  }

  /** The server (shard) that holds `key`. */
  private store(key: string): Store {
    return this.stores[crc32(key) % this.stores.length];
  }

  /** The value of `key`, or null when it is not set. */
  async get<T = unknown>(key: string): Promise<T | null> {
    const json = await this.store(key).get(key);
    return json === null ? null : JSON.parse(json);
  }

  /** Set `key` (null deletes it). */
  set(key: string, value: unknown): Promise<void> {
    return this.store(key).set(key, toJson(value, "set"));
  }

  /** True when `key` is set. */
  async has(key: string): Promise<boolean> {
    return (await this.store(key).get(key)) !== null;
  }

  /** Remove `key`. */
  delete(key: string): Promise<void> {
    return this.store(key).delete(key);
  }

  /** Set `key` only if it is not set yet; true when this call set it. */
  add(key: string, value: unknown): Promise<boolean> {
    return this.store(key).add(key, toJson(value, "add"));
  }

  /**
   * Compare and swap: set `key` to `value` only if its current value is `old` (compared as
   * JSON text; `null` matches a key that is not set). True when swapped.
   */
  cas(key: string, old: unknown, value: unknown): Promise<boolean> {
    return this.store(key).cas(key, toJson(old, "cas"), toJson(value, "cas"));
  }

  /**
   * Add `step` to the number at `key` and return the new value; false when `key` is not set.
   * A value that is not a number counts as 0.
   */
  async increment(key: string, step = 1): Promise<number | false> {
    if (!Number.isFinite(step)) throw new TypeError(`GlobalData increment: step must be a finite number, got ${step}`);
    const json = await this.store(key).increment(key, step);
    return json === null ? false : JSON.parse(json);
  }

  /** Close every connection. */
  close(): void {
    for (const s of this.stores) s.close();
  }
}
