/**
 * What {@link ChannelClient} needs from a backend (the embedded server or Redis): the
 * client keeps the subscriptions, watches and waiting publishes, the transport moves them.
 *
 * @module
 */

/** A publish, a publish to one subscriber, or an enqueue. */
export interface Outgoing {
  type: "publish" | "publishLoop" | "enqueue";
  channels: string[];
  data: unknown;
}

/** What a transport reports to its client. */
export interface TransportEvents {
  /** A published event for a subscribed channel. */
  event(channel: string, data: unknown): void;
  /** A queue message for one reservation. */
  queue(channel: string, data: unknown): void;
  /** Connected (again): the client subscribes and watches anew. */
  up(): void;
  down(): void;
  /** The transport is {@link ChannelTransport.writable} again after it was not. */
  drain(): void;
}

export interface ChannelTransport {
  readonly up: boolean;
  /** Connected and able to take a publish now (its send buffer is not full). */
  readonly writable: boolean;
  /** Resolves once the server has the subscription (or it failed, which is logged). */
  subscribe(channels: string[]): Promise<void>;
  unsubscribe(channels: string[]): void;
  watch(channels: string[]): void;
  unwatch(channels: string[]): void;
  /** Ask for one queue message; the transport keeps the request across reconnects. */
  reserve(): void;
  /** Publish, publish to one subscriber, or enqueue; rejects when it could not be sent. */
  send(out: Outgoing): Promise<void>;
  close(): void;
}
