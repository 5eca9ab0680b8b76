/**
 * Channel on Redis, for when one machine is not enough. Keys and channels (with the
 * client's `prefix`, default `channel:`):
 *
 * | what                  | Redis                                                          |
 * | --------------------- | -------------------------------------------------------------- |
 * | event `e`             | pub/sub channel `event:e`                                      |
 * | subscribers of `e`    | sorted set `members:e` of client ids, scored by expiry (renewed every 10 s) |
 * | `publishLoop(e)`      | a script picks the next member (counter `cursor:e`) and publishes to its own channel `client:<id>` |
 * | queue `q`             | list `queue:q`: `LPUSH` to enqueue, `BRPOP` on a third connection to reserve |
 *
 * A message popped for a queue that was unwatched meanwhile is pushed back where it was.
 *
 * @module
 */
import type { RedisConnection } from "../runtime/types.ts";
import { runtime } from "../runtime/mod.ts";
import { log } from "../core/log.ts";
import { Timer } from "../core/timer.ts";
import { randomHex } from "../protocols/http/session.ts";
import type { ChannelTransport, Outgoing, TransportEvents } from "./channel_transport.ts";

/** Seconds a subscriber stays in `members:e` without renewing (renewed every third of it). */
const MEMBER_TTL = 30;

const REGISTER = `local t = redis.call('TIME')
redis.call('ZADD', KEYS[1], tonumber(t[1]) + tonumber(ARGV[2]), ARGV[1])
return 1`;

const LOOP = `local t = tonumber(redis.call('TIME')[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', t)
local m = redis.call('ZRANGE', KEYS[1], 0, -1)
if #m == 0 then return 0 end
table.sort(m)
local i = (redis.call('INCR', KEYS[2]) - 1) % #m
redis.call('PUBLISH', ARGV[1] .. m[i + 1], ARGV[2])
return 1`;

export class RedisChannelTransport implements ChannelTransport {
  private readonly url: string;
  private readonly prefix: string;
  private readonly events: TransportEvents;
  private readonly cmd: RedisConnection;
  private readonly sub: RedisConnection;
  private block: RedisConnection | null = null;
  private readonly id = randomHex(8);
  private readonly subscribed = new Set<string>();
  private readonly watched = new Set<string>();
  private reserved = 0;
  private popping = false;
  private wasUp = false;
  private closed = false;
  private readonly renewTimer: number;

  constructor(url: string, prefix: string, events: TransportEvents) {
    this.url = url;
    this.prefix = prefix;
    this.events = events;
    this.cmd = runtime.redis(url);
    this.sub = runtime.redis(url);
    for (const conn of [this.cmd, this.sub]) {
      conn.onReady(() => this.changed());
      conn.onDown(() => this.changed());
    }
    this.sub.onMessage((channel, message) => this.received(channel, message));
    this.renewTimer = Timer.add(MEMBER_TTL / 3, () => {
      if (this.up) this.register([...this.subscribed]);
    });
  }

  get up(): boolean {
    return !this.closed && this.cmd.ready && this.sub.ready;
  }

  /** ioredis queues commands without limit: connected is enough. */
  get writable(): boolean {
    return this.up;
  }

  private get clientChannel(): string {
    return `${this.prefix}client:${this.id}`;
  }

  /** Report up once both connections are ready, down once either is lost. */
  private changed(): void {
    const up = this.up;
    if (up === this.wasUp) return;
    this.wasUp = up;
    if (!up) {
      log(`Channel ${this.url}: Redis connection lost; reconnecting`);
      this.events.down();
      return;
    }
    this.subscribed.clear(); // a new connection has no subscriptions; the client renews them
    this.fail(this.sub.subscribe([this.clientChannel]), "subscribe");
    this.events.up();
  }

  private received(channel: string, message: string): void {
    let data: unknown;
    try {
      data = JSON.parse(message);
    } catch {
      log(`Channel ${this.url}: a message on ${channel} is not JSON; ignored`);
      return;
    }
    if (channel === this.clientChannel) {
      const m = data as { channel: string; data: unknown };
      this.events.event(m.channel, m.data);
    } else {
      this.events.event(channel.slice(`${this.prefix}event:`.length), data);
    }
  }

  private fail(promise: Promise<unknown>, what: string): void {
    promise.catch((err) => log(`Channel ${this.url}: ${what} failed: ${(err as Error).message}`));
  }

  private register(events: string[]): void {
    for (const e of events) {
      this.fail(this.cmd.script(REGISTER, [`${this.prefix}members:${e}`], [this.id, MEMBER_TTL]), "subscribe");
    }
  }

  async subscribe(channels: string[]): Promise<void> {
    for (const c of channels) this.subscribed.add(c);
    this.register(channels);
    try {
      await this.sub.subscribe(channels.map((c) => `${this.prefix}event:${c}`));
    } catch (err) {
      log(`Channel ${this.url}: subscribe failed: ${(err as Error).message}`);
    }
  }

  unsubscribe(channels: string[]): void {
    for (const c of channels) {
      this.subscribed.delete(c);
      this.fail(this.cmd.command("ZREM", [`${this.prefix}members:${c}`, this.id]), "unsubscribe");
    }
    this.fail(this.sub.unsubscribe(channels.map((c) => `${this.prefix}event:${c}`)), "unsubscribe");
  }

  watch(channels: string[]): void {
    for (const c of channels) this.watched.add(c);
    void this.pop();
  }

  unwatch(channels: string[]): void {
    for (const c of channels) this.watched.delete(c);
  }

  reserve(): void {
    this.reserved++;
    void this.pop();
  }

  async send(out: Outgoing): Promise<void> {
    const json = JSON.stringify(out.data);
    await Promise.all(out.channels.map((c) => {
      if (out.type === "publish") return this.cmd.command("PUBLISH", [`${this.prefix}event:${c}`, json]);
      if (out.type === "enqueue") return this.cmd.command("LPUSH", [`${this.prefix}queue:${c}`, json]);
      const keys = [`${this.prefix}members:${c}`, `${this.prefix}cursor:${c}`];
      return this.cmd.script(LOOP, keys, [`${this.prefix}client:`, JSON.stringify({ channel: c, data: out.data })]);
    }));
  }

  /**
   * Serve reservations: pop from the watched queues (waiting at most a second per try, so
   * a channel watched meanwhile is included at the next try).
   */
  private async pop(): Promise<void> {
    if (this.popping) return;
    this.popping = true;
    const block = (this.block ??= runtime.redis(this.url));
    const queuePrefix = `${this.prefix}queue:`;
    while (this.reserved > 0 && this.watched.size > 0 && !this.closed) {
      let popped: [string, string] | null;
      try {
        popped = (await block.command("BRPOP", [...[...this.watched].map((c) => queuePrefix + c), 1])) as [
          string,
          string,
        ] | null;
      } catch (err) {
        if (this.closed) break;
        log(`Channel ${this.url}: reserve failed (${(err as Error).message}); trying again in a second`);
        await new Promise((resolve) => setTimeout(resolve, 1000));
        continue;
      }
      if (!popped) continue;
      const [key, json] = popped;
      const channel = key.slice(queuePrefix.length);
      if (!this.watched.has(channel) || this.closed) {
        await block.command("RPUSH", [key, json]).catch(() => {});
        continue;
      }
      this.reserved--;
      this.events.queue(channel, JSON.parse(json));
    }
    this.popping = false;
  }

  close(): void {
    this.closed = true;
    Timer.del(this.renewTimer);
    for (const c of this.subscribed) {
      void this.cmd.command("ZREM", [`${this.prefix}members:${c}`, this.id]).catch(() => {});
    }
    setTimeout(() => {
      this.cmd.close();
      this.sub.close();
      this.block?.close();
    }, 100);
  }
}
