/**
 * {@link RedisConnection} on top of the `ioredis` package, which works the same on Node, Deno
 * and Bun (it uses `node:net`). The package is imported on first use, so an application that
 * never talks to Redis does not load it.
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { RedisConnection, RedisOptions } from "./types.ts";

// The subset of ioredis this file uses.
interface IoRedis {
  status: string;
  call(name: string, ...args: (string | number)[]): Promise<unknown>;
  subscribe(...channels: string[]): Promise<unknown>;
  unsubscribe(...channels: string[]): Promise<unknown>;
  on(event: string, cb: (...args: never[]) => void): void;
  disconnect(): void;
}
type IoRedisClass = new (url: string, options: Record<string, unknown>) => IoRedis;

let loaded: Promise<IoRedisClass> | null = null;

/** `npm:` specifiers let Deno load the package without a node_modules folder. */
const DENO_SPECIFIER = "npm:ioredis@^5";

function ioredis(): Promise<IoRedisClass> {
  loaded ??= import("ioredis")
    .catch((err) => {
      if (!("Deno" in globalThis)) throw err;
      return import(DENO_SPECIFIER);
    })
    .then((m) => (m.default ?? m) as unknown as IoRedisClass)
    .catch((err) => {
      throw new Error(`Redis support needs the ioredis package (npm install ioredis): ${(err as Error).message}`);
    });
  return loaded;
}

/** Reconnect delays grow by 100 ms per attempt, capped at one second. */
const retryStrategy = (times: number) => Math.min(times * 100, 1000);

class IoRedisConnection implements RedisConnection {
  private readonly client: Promise<IoRedis>;
  private _ready = false;
  private closed = false;
  private readonly readyCbs: (() => void)[] = [];
  private readonly downCbs: ((error?: Error) => void)[] = [];
  private readonly messageCbs: ((channel: string, message: string) => void)[] = [];
  private readonly shas = new Map<string, string>();
  private lastError: Error | undefined;

  constructor(url: string, options: RedisOptions) {
    this.client = ioredis().then((Redis) => {
      const client = new Redis(url, {
        retryStrategy,
        autoResubscribe: false,
        maxRetriesPerRequest: options.maxRetriesPerRequest === undefined ? null : options.maxRetriesPerRequest,
        commandTimeout: options.commandTimeout,
        lazyConnect: false,
      });
      client.on("ready", () => {
        this._ready = true;
        for (const cb of this.readyCbs) cb();
      });
      client.on("error", (error: Error) => (this.lastError = error));
      client.on("close", () => {
        if (!this._ready) return;
        this._ready = false;
        for (const cb of this.downCbs) cb(this.lastError);
      });
      client.on("message", (channel: string, message: string) => {
        for (const cb of this.messageCbs) cb(channel, message);
      });
      if (this.closed) client.disconnect();
      return client;
    });
    // Without ioredis every command rejects with the import error; nothing else must.
    this.client.catch(() => {});
  }

  get ready(): boolean {
    return this._ready;
  }

  async command(name: string, args: (string | number)[]): Promise<unknown> {
    return (await this.client).call(name, ...args);
  }

  async script(lua: string, keys: string[], args: (string | number)[]): Promise<unknown> {
    let sha = this.shas.get(lua);
    if (!sha) {
      sha = createHash("sha1").update(lua).digest("hex");
      this.shas.set(lua, sha);
    }
    const client = await this.client;
    try {
      return await client.call("EVALSHA", sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!String((err as Error).message).startsWith("NOSCRIPT")) throw err;
      return await client.call("EVAL", lua, keys.length, ...keys, ...args);
    }
  }

  async subscribe(channels: string[]): Promise<void> {
    if (channels.length) await (await this.client).subscribe(...channels);
  }

  async unsubscribe(channels: string[]): Promise<void> {
    if (channels.length) await (await this.client).unsubscribe(...channels);
  }

  onMessage(cb: (channel: string, message: string) => void): void {
    this.messageCbs.push(cb);
  }

  onReady(cb: () => void): void {
    this.readyCbs.push(cb);
  }

  onDown(cb: (error?: Error) => void): void {
    this.downCbs.push(cb);
  }

  close(): void {
    this.closed = true;
    this._ready = false;
    void this.client.then((c) => c.disconnect(), () => {});
  }
}

/** Connect to Redis at `url`; see {@link RedisConnection}. */
export function connectRedis(url: string, options: RedisOptions = {}): RedisConnection {
  return new IoRedisConnection(url, options);
}
