/**
 * `RedisSessionHandler`: HTTP sessions in Redis, shared by every process and machine. Each
 * session is one key (`prefix + id`) that expires `Session.lifetime` seconds after its last
 * write, so Redis collects old sessions itself.
 *
 * @example
 * ```ts
 * import { RedisSessionHandler, Session } from "workerman-ts";
 * Session.handler = new RedisSessionHandler("redis://127.0.0.1:6379");
 * ```
 *
 * @module
 */
import type { RedisConnection } from "../runtime/types.ts";
import { runtime } from "../runtime/mod.ts";
import { Session, type SessionHandler } from "../protocols/http/session.ts";

/** Keeps HTTP sessions in Redis, so that every machine sees them; each expires `Session.lifetime` seconds after its last write. */
export class RedisSessionHandler implements SessionHandler {
  /** Prefix of the Redis keys (`session:` by default). */
  readonly prefix: string;
  private readonly redis: RedisConnection;

  /** `url`: `redis://[:password@]host:port[/db]`; keys are `prefix + id` (default `session:`). */
  constructor(url: string, prefix = "session:") {
    this.redis = runtime.redis(url, { maxRetriesPerRequest: 3 });
    this.prefix = prefix;
  }

  async read(id: string): Promise<string | null> {
    return (await this.redis.command("GET", [this.prefix + id])) as string | null;
  }

  /** Store session `id` (its expiry restarts). */
  async write(id: string, data: string): Promise<void> {
    await this.redis.command("SET", [this.prefix + id, data, "EX", Math.max(1, Math.round(Session.lifetime))]);
  }

  /** Delete session `id`. */
  async destroy(id: string): Promise<void> {
    await this.redis.command("DEL", [this.prefix + id]);
  }

  /** Nothing to do: every key expires by itself. */
  gc(): void {}

  /** Close the connection. */
  close(): void {
    this.redis.close();
  }
}
