/**
 * `ChannelClient`: publish/subscribe and work queues between worker processes, through an
 * embedded {@link ChannelServer} (`host:port`) or Redis (`redis://host:port`), with the same
 * API and semantics on both.
 *
 * - `on(event, cb)` subscribes; `publish(event, data)` reaches every subscriber of the event,
 *   the publisher included; `publishLoop(event, data)` reaches one of them, taking turns.
 * - `enqueue(channel, data)` appends to a queue; each message goes to exactly one process
 *   that `watch`es the channel and has `reserve`d (with `autoReserve`, it reserves again
 *   once the callback is done).
 * - The client reconnects by itself and subscribes again. Publishes and enqueues made while
 *   it is disconnected (or while its send buffer is full) wait, up to `maxPending`; each one
 *   over is reported to `onDrop` (default: a log line) and not sent. The rest go out, in
 *   order, once connected.
 *
 * @example
 * ```ts
 * import { ChannelClient, ChannelServer, Worker } from "workerman-ts";
 * new ChannelServer("127.0.0.1", 2206);
 * const ws = new Worker("websocket://0.0.0.0:8000");
 * ws.count = 4;
 * ws.onWorkerStart = () => {
 *   const channel = ChannelClient.connect("127.0.0.1", 2206);
 *   channel.on("broadcast", (text) => ws.connections.forEach((c) => c.send(String(text))));
 *   ws.onMessage = (_conn, text) => channel.publish("broadcast", text);
 * };
 * Worker.runAll();
 * ```
 *
 * @module
 */
import { formatHostPort } from "../core/address.ts";
import { log, reportError, safeCall } from "../core/log.ts";
import { JsonLink } from "./_link.ts";
import type { ChannelTransport, Outgoing, TransportEvents } from "./channel_transport.ts";
import { RedisChannelTransport } from "./channel_redis.ts";

/** Options of {@link ChannelClient.connect}. */
export interface ChannelOptions {
  /** Publishes and enqueues kept while disconnected or while the send buffer is full (default 10000). */
  maxPending?: number;
  /** Prefix of the Redis keys and channels (default `channel:`); ignored by the embedded server. */
  prefix?: string;
}

/**
 * What `on()`, `subscribe()` and `watch()` call with each event's or message's data. `T` is
 * the data's type as the application publishes it (it travels as JSON: the type is the
 * application's word, not checked on the way).
 */
export type ChannelCallback<T = unknown> = (data: T) => unknown;
interface Watch {
  callback: ChannelCallback;
  autoReserve: boolean;
}

const list = (channels: string | string[]) => (typeof channels === "string" ? [channels] : [...channels]);

/** The embedded server's wire (see `channel_server.ts`) behind the transport interface. */
class EmbeddedChannelTransport implements ChannelTransport {
  private readonly link: JsonLink;
  /** Reservations the server has not answered: a new connection has to ask again. */
  private reserved = 0;

  constructor(address: string, events: TransportEvents) {
    this.link = new JsonLink(address, `Channel ${address}`, {
      message: (m) => {
        if (m.type === "event") events.event(String(m.channel), m.data);
        else if (m.type === "queue") {
          this.reserved--;
          events.queue(String(m.channel), m.data);
        } else if (m.type === "error") log(`Channel ${address}: the server refused a request: ${m.message}`);
      },
      up: () => {
        events.up();
        for (let i = 0; i < this.reserved; i++) this.link.send({ type: "reserve" });
      },
      down: () => events.down(),
      drain: () => events.drain(),
    });
  }

  get up(): boolean {
    return this.link.up;
  }
  get writable(): boolean {
    return this.link.writable;
  }
  subscribe(channels: string[]): Promise<void> {
    // The server serves one connection's messages in order: what follows sees the subscription.
    this.link.send({ type: "subscribe", channels });
    return Promise.resolve();
  }
  unsubscribe(channels: string[]) {
    this.link.send({ type: "unsubscribe", channels });
  }
  watch(channels: string[]) {
    this.link.send({ type: "watch", channels });
  }
  unwatch(channels: string[]) {
    this.link.send({ type: "unwatch", channels });
  }
  reserve() {
    this.reserved++;
    if (this.link.up) this.link.send({ type: "reserve" });
  }
  send(out: Outgoing): Promise<void> {
    if (!this.link.send({ ...out })) return Promise.reject(new Error("not connected"));
    return Promise.resolve();
  }
  close() {
    this.link.close();
  }
}

/** A client of a ChannelServer or of Redis: events published to every subscriber, queues with one consumer per message. */
export class ChannelClient {
  /** Called for an event that was subscribed without a callback of its own. */
  onMessage: ((event: string, data: unknown) => unknown) | null = null;
  /** Connected (first time and after each reconnect, once subscriptions are renewed). */
  onConnect: (() => unknown) | null = null;
  /** The connection was lost; the client is reconnecting. */
  onClose: (() => unknown) | null = null;
  /**
   * A publish or enqueue made while disconnected did not fit in the waiting queue and was
   * not sent. Default: a log line.
   */
  onDrop: ((type: string, channels: string[], data: unknown) => unknown) | null = null;
  /** Publishes and enqueues kept while disconnected or while the send buffer is full. */
  maxPending: number;

  private readonly transport: ChannelTransport;
  private readonly events = new Map<string, ChannelCallback | null>();
  private readonly watches = new Map<string, Watch>();
  private pending: Outgoing[] = [];
  private dropped = 0;

  private constructor(address: string, options: ChannelOptions) {
    this.maxPending = options.maxPending ?? 10_000;
    const events: TransportEvents = {
      event: (channel, data) => this.deliver(channel, data),
      queue: (channel, data) => void this.deliverQueued(channel, data),
      up: () => void this.renew(),
      down: () => safeCall(() => "ChannelClient onClose", this.onClose),
      drain: () => this.flush(),
    };
    this.transport = address.startsWith("redis://") || address.startsWith("rediss://")
      ? new RedisChannelTransport(address, options.prefix ?? "channel:", events)
      : new EmbeddedChannelTransport(address, events);
  }

  /**
   * Connect to a Channel server: `connect("127.0.0.1", 2206)` (the defaults) for an embedded
   * {@link ChannelServer} (or `connect("127.0.0.1:2206")`), `connect("unix:///path")`, or
   * `connect("redis://host:6379")`.
   * Returns at once; the connection is made (and kept) in the background. Unlike Workerman's
   * static client, each call makes a new client: connect once per process and keep it.
   */
  static connect(host = "127.0.0.1", port = 2206, options: ChannelOptions = {}): ChannelClient {
    const given = /^[a-z]+:\/\//.test(host) || /^(?:[^:]+|\[.*\]):\d+$/.test(host);
    const address = given ? host : formatHostPort(host, port);
    return new ChannelClient(address, options);
  }

  /** True while connected. */
  get connected(): boolean {
    return this.transport.up;
  }

  /** Subscribe to `event`; `callback(data)` runs for each one published (`on<string>(...)` types `data`). */
  on<T = unknown>(event: string, callback: ChannelCallback<T>): void {
    this.subscribe(event, callback);
  }

  /** Subscribe to events; those without a callback go to {@link onMessage}. */
  subscribe<T = unknown>(events: string | string[], callback: ChannelCallback<T> | null = null): void {
    const fresh = list(events).filter((e) => !this.events.has(e));
    const stored = callback as ChannelCallback | null; // data arrives as the JSON the publisher sent
    for (const e of list(events)) this.events.set(e, stored ?? this.events.get(e) ?? null);
    if (fresh.length && this.transport.up) void this.transport.subscribe(fresh);
  }

  /** Stop receiving `events`. */
  unsubscribe(events: string | string[]): void {
    const names = list(events).filter((e) => this.events.delete(e));
    if (names.length && this.transport.up) this.transport.unsubscribe(names);
  }

  /** Send `data` to every subscriber of each event (the publisher included). */
  publish<T = unknown>(events: string | string[], data: T): void {
    this.send({ type: "publish", channels: list(events), data });
  }

  /** Send `data` to one subscriber of each event, each time the next one. */
  publishLoop<T = unknown>(events: string | string[], data: T): void {
    this.send({ type: "publishLoop", channels: list(events), data });
  }

  /** Append `data` to the queue of each channel. */
  enqueue<T = unknown>(channels: string | string[], data: T): void {
    this.send({ type: "enqueue", channels: list(channels), data });
  }

  /**
   * Consume the queues of `channels`: `callback(data)` gets each message given to this
   * process. With `autoReserve` (default) this reserves one message now and another each
   * time the callback is done; otherwise call {@link reserve}.
   */
  watch<T = unknown>(channels: string | string[], callback: ChannelCallback<T>, autoReserve = true): void {
    const names = list(channels);
    for (const c of names) this.watches.set(c, { callback: callback as ChannelCallback, autoReserve });
    if (this.transport.up) this.transport.watch(names);
    if (autoReserve) this.transport.reserve();
  }

  /** Stop consuming the queues of `channels`. */
  unwatch(channels: string | string[]): void {
    const names = list(channels).filter((c) => this.watches.delete(c));
    if (names.length && this.transport.up) this.transport.unwatch(names);
  }

  /** Ask for one message from the watched queues (it arrives when there is one). */
  reserve(): void {
    this.transport.reserve();
  }

  /** Disconnect for good. */
  close(): void {
    this.transport.close();
  }

  /** Write `out` now, or keep it (up to `maxPending`) until connected. */
  private send(out: Outgoing): void {
    if (this.transport.writable && this.pending.length === 0) {
      this.transport.send(out).catch(() => this.keep(out));
      return;
    }
    this.keep(out);
  }

  /** Send what waited, oldest first, while the transport takes it. */
  private flush(): void {
    while (this.pending.length && this.transport.writable) {
      const out = this.pending.shift()!;
      this.transport.send(out).catch(() => this.keep(out));
    }
  }

  /** Keep a message for the next connection, or report it dropped when the queue is full. */
  private keep(out: Outgoing): void {
    if (this.pending.length < this.maxPending) {
      this.pending.push(out);
      return;
    }
    this.dropped++;
    if (this.onDrop) safeCall(() => "ChannelClient onDrop", this.onDrop, out.type, out.channels, out.data);
    else if (this.dropped === 1 || this.dropped % 1000 === 0) {
      log(
        `Channel: ${this.dropped} message(s) dropped: not sendable now (disconnected or send buffer full) and ${this.maxPending} already waiting`,
      );
    }
  }

  /**
   * Connected: subscribe and watch again, then send what waited (after the subscriptions are
   * in place, so this process receives its own publishes).
   */
  private async renew(): Promise<void> {
    if (this.watches.size) this.transport.watch([...this.watches.keys()]);
    if (this.events.size) await this.transport.subscribe([...this.events.keys()]);
    if (this.dropped) log(`Channel: connected again; ${this.dropped} message(s) were dropped while disconnected`);
    this.dropped = 0;
    this.flush();
    safeCall(() => "ChannelClient onConnect", this.onConnect);
  }

  /** Run the callback subscribed to `event`, if any. */
  private deliver(event: string, data: unknown): void {
    if (!this.events.has(event)) return; // unsubscribed while it was on its way
    const callback = this.events.get(event);
    if (callback) safeCall(() => `Channel callback of event ${event}`, callback, data);
    else if (this.onMessage) safeCall(() => "ChannelClient onMessage", this.onMessage, event, data);
    else reportError("ChannelClient", new Error(`event:${event} have not callback`));
  }

  /** Run the watcher of `channel` on a queued message, then reserve the next one. */
  private async deliverQueued(channel: string, data: unknown): Promise<void> {
    const watch = this.watches.get(channel);
    if (!watch) {
      // Unwatched while it was on its way: put it back for another consumer.
      this.enqueue(channel, data);
      return;
    }
    try {
      await watch.callback(data);
    } catch (err) {
      reportError(`Channel queue callback of ${channel}`, err);
    }
    if (watch.autoReserve && this.watches.get(channel) === watch) this.transport.reserve();
  }
}
