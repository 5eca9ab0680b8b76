/**
 * The embedded Channel server: publish/subscribe and work queues between processes on one
 * machine (or a few, over TCP). A `frame://` Worker named `ChannelServer`, one process, not
 * reloadable; messages are JSON.
 *
 * Client → server: `{type: "subscribe" | "unsubscribe" | "watch" | "unwatch", channels}`,
 * `{type: "publish" | "publishLoop" | "enqueue", channels, data}`, `{type: "reserve"}`.
 * Server → client: `{type: "event", channel, data}` and `{type: "queue", channel, data}`.
 *
 * @module
 */
import { formatHostPort } from "../core/address.ts";
import type { Bytes } from "../core/bytes.ts";
import { log } from "../core/log.ts";
import type { TcpConnection } from "../core/tcp_connection.ts";
import { Worker } from "../core/worker.ts";
import { Frame } from "../protocols/frame.ts";

/** What the server knows about one client connection. */
interface Peer {
  conn: TcpConnection;
  channels: Set<string>;
  watches: Set<string>;
  /** Queue messages this client asked for (`reserve`) and has not been given yet. */
  reserved: number;
}

/**
 * Send buffer of each client connection: a subscriber that reads slower than others publish
 * gets this much backlog before messages to it are dropped (and logged), as in Workerman.
 */
const SUBSCRIBER_BUFFER = 16 * 1024 * 1024;

interface Request {
  type?: unknown;
  channels?: unknown;
  data?: unknown;
}

/** The embedded Channel server: a Worker with one process that relays events and keeps queues in memory. */
export class ChannelServer extends Worker {
  private readonly peers = new Map<number, Peer>();
  /** Channel → subscribed peers, in subscription order. */
  private readonly subscribers = new Map<string, Map<number, Peer>>();
  /** Channel → how many `publishLoop` deliveries it has had (the round-robin cursor). */
  private readonly cursors = new Map<string, number>();
  /** Channel → queued messages, oldest first. */
  private readonly queues = new Map<string, unknown[]>();
  /** Peers waiting for a queue message, in the order they asked. */
  private waiting: Peer[] = [];

  /** Listen on `host:port` (port 0: any free port), or on a `unix:///path` given as `host`. */
  constructor(host = "127.0.0.1", port = 2206) {
    super(host.startsWith("unix://") ? host : `tcp://${formatHostPort(host, port)}`);
    this.protocol = Frame;
    this.name = "ChannelServer";
    this.count = 1;
    this.reloadable = false;
    this.onConnect = (conn: TcpConnection) => {
      conn.maxSendBufferSize = SUBSCRIBER_BUFFER;
      this.peers.set(conn.id, { conn, channels: new Set(), watches: new Set(), reserved: 0 });
    };
    this.onMessage = (conn: TcpConnection, payload: Bytes) => this.serve(conn, payload);
    this.onClose = (conn: TcpConnection) => this.forget(conn);
    this.onError = (conn: TcpConnection, _code: number, message: string) => {
      log(`ChannelServer: ${message} (client ${conn.getRemoteAddress()} reads slower than messages come)`);
    };
  }

  /** Handle one frame from a client. */
  private serve(conn: TcpConnection, payload: Bytes): void {
    const peer = this.peers.get(conn.id);
    if (!peer || payload.length === 0) return; // an empty package is a ping
    let request: Request;
    try {
      request = JSON.parse(payload.toString());
    } catch {
      request = {};
    }
    const channels = request?.channels ?? [];
    if (
      typeof request?.type !== "string" || !Array.isArray(channels) || !channels.every((c) => typeof c === "string")
    ) {
      conn.close(
        JSON.stringify({ type: "error", message: "bad request: expected JSON {type, channels: string[], data}" }),
      );
      return;
    }
    this.dispatch(peer, request.type, channels as string[], request.data);
  }

  /** Carry out one command of a client. */
  private dispatch(peer: Peer, type: string, channels: string[], data: unknown): void {
    switch (type) {
      case "subscribe":
        for (const c of channels) this.subscribe(peer, c);
        return;
      case "unsubscribe":
        for (const c of channels) this.unsubscribe(peer, c);
        return;
      case "publish":
        for (const c of channels) this.publish(c, data);
        return;
      case "publishLoop":
        for (const c of channels) this.publishLoop(c, data);
        return;
      case "watch":
        for (const c of channels) peer.watches.add(c);
        this.serveWaiting();
        return;
      case "unwatch":
        for (const c of channels) peer.watches.delete(c);
        return;
      case "enqueue":
        for (const c of channels) this.enqueue(c, data);
        return;
      case "reserve":
        peer.reserved++;
        if (!this.waiting.includes(peer)) this.waiting.push(peer);
        this.serveWaiting();
        return;
      default:
        peer.conn.close(JSON.stringify({ type: "error", message: `bad type ${type}` }));
    }
  }

  /** Add `peer` to the subscribers of `channel`. */
  private subscribe(peer: Peer, channel: string): void {
    peer.channels.add(channel);
    let set = this.subscribers.get(channel);
    if (!set) this.subscribers.set(channel, set = new Map());
    set.set(peer.conn.id, peer);
  }

  /** Remove `peer` from the subscribers of `channel`. */
  private unsubscribe(peer: Peer, channel: string): void {
    peer.channels.delete(channel);
    const set = this.subscribers.get(channel);
    if (!set) return;
    set.delete(peer.conn.id);
    if (set.size === 0) {
      this.subscribers.delete(channel);
      this.cursors.delete(channel);
    }
  }

  /** Send an event to every subscriber of `channel`. */
  private publish(channel: string, data: unknown): void {
    const set = this.subscribers.get(channel);
    if (!set) return;
    const message = JSON.stringify({ type: "event", channel, data });
    for (const peer of set.values()) peer.conn.send(message);
  }

  /** Deliver to one subscriber, taking turns. */
  private publishLoop(channel: string, data: unknown): void {
    const set = this.subscribers.get(channel);
    if (!set) return;
    const turn = this.cursors.get(channel) ?? 0;
    this.cursors.set(channel, turn + 1);
    const peer = [...set.values()][turn % set.size];
    peer.conn.send(JSON.stringify({ type: "event", channel, data }));
  }

  /** Queue a message for one consumer of `channel`. */
  private enqueue(channel: string, data: unknown): void {
    let queue = this.queues.get(channel);
    if (!queue) this.queues.set(channel, queue = []);
    queue.push(data);
    this.serveWaiting();
  }

  /** Hand queued messages to the peers waiting for one (first asked, first served). */
  private serveWaiting(): void {
    for (const peer of this.waiting) {
      while (peer.reserved > 0) {
        const channel = [...peer.watches].find((c) => (this.queues.get(c)?.length ?? 0) > 0);
        if (channel === undefined) break;
        const queue = this.queues.get(channel)!;
        const data = queue.shift();
        if (queue.length === 0) this.queues.delete(channel);
        peer.reserved--;
        peer.conn.send(JSON.stringify({ type: "queue", channel, data }));
      }
    }
    this.waiting = this.waiting.filter((p) => p.reserved > 0);
  }

  /** Drop everything a closed client had subscribed to or reserved. */
  private forget(conn: TcpConnection): void {
    const peer = this.peers.get(conn.id);
    if (!peer) return;
    this.peers.delete(conn.id);
    for (const c of peer.channels) this.unsubscribe(peer, c);
    this.waiting = this.waiting.filter((p) => p !== peer);
  }
}
