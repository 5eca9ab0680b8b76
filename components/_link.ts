/**
 * The client side of the embedded servers' wire: JSON messages in `frame://` packages over
 * one outgoing connection that comes back by itself (one attempt per second) after the
 * server went away, until {@link JsonLink.close}.
 *
 * @module
 */
import { AsyncTcpConnection } from "../core/async_tcp_connection.ts";
import { type Bytes, concatAll } from "../core/bytes.ts";
import { log } from "../core/log.ts";
import { TcpConnection } from "../core/tcp_connection.ts";
import { Frame } from "../protocols/frame.ts";

/** What a {@link JsonLink} reports to its owner. */
export interface LinkEvents {
  message(message: Record<string, unknown>): void;
  /** Connected (first time or again). */
  up(): void;
  /** The connection closed or could not be made; a new attempt follows in a second. */
  down(): void;
  /** The send buffer, full before, has been written out. */
  drain?(): void;
}

/** Seconds between reconnect attempts. */
const RETRY = 1;

/** `tcp://host:port` or `unix:///path` for an embedded server address (`host:port` or `unix:///path`). */
export function remoteFor(address: string): string {
  return address.startsWith("unix://") ? address : `tcp://${address}`;
}

export class JsonLink {
  private readonly conn: AsyncTcpConnection;
  private readonly name: string;
  private closed = false;
  /** Set after a loss was logged, so an outage is logged once and not every second. */
  private lost = false;
  /** Frames sent in this turn of the event loop, written together. */
  private batch: Uint8Array[] = [];
  private batchLength = 0;

  /** `what` names the link in log lines, e.g. `Channel 127.0.0.1:2206`. */
  constructor(address: string, what: string, events: LinkEvents) {
    this.name = what;
    this.conn = new AsyncTcpConnection(remoteFor(address));
    this.conn.protocol = Frame;
    this.conn.onConnect = () => {
      if (this.lost) log(`${this.name}: connected again`);
      this.lost = false;
      events.up();
    };
    this.conn.onMessage = (_c: TcpConnection, data: Bytes) => {
      let message: Record<string, unknown>;
      try {
        message = JSON.parse(data.toString());
      } catch {
        log(`${this.name}: the server sent a package that is not JSON; closing the connection`);
        this.conn.close();
        return;
      }
      events.message(message);
    };
    this.conn.onError = () => {}; // the close that follows is what counts
    this.conn.onBufferDrain = () => events.drain?.();
    this.conn.onClose = () => {
      if (this.closed) return;
      if (!this.lost) log(`${this.name}: connection closed; reconnecting every ${RETRY} s`);
      this.lost = true;
      events.down();
      this.conn.reconnect(RETRY);
    };
    this.conn.connect();
  }

  /** True while the connection is established. */
  get up(): boolean {
    return this.conn.getStatus() === TcpConnection.STATUS_ESTABLISHED;
  }

  /** True while connected with room in the send buffer (a send now is not dropped). */
  get writable(): boolean {
    return this.up && this.conn.getSendBufferQueueSize() < this.conn.maxSendBufferSize;
  }

  /** True while connecting or connected: a message sent now is written once connected. */
  get pending(): boolean {
    const status = this.conn.getStatus();
    return status === TcpConnection.STATUS_ESTABLISHED || status === TcpConnection.STATUS_CONNECTING;
  }

  /**
   * Send one message; false when the connection is not (being) established. Messages sent in
   * one turn of the event loop leave in one write.
   */
  send(message: Record<string, unknown>): boolean {
    if (!this.pending) return false;
    const frame = Frame.encode(JSON.stringify(message), this.conn) as Uint8Array;
    this.batch.push(frame);
    this.batchLength += frame.length;
    if (this.batch.length === 1) queueMicrotask(() => this.flush());
    return true;
  }

  private flush(): void {
    const data = concatAll(this.batch, this.batchLength);
    this.batch = [];
    this.batchLength = 0;
    this.conn.send(data, true);
  }

  /** Drop the connection now and reconnect (as after a loss: `down`, then `up`). */
  reset(): void {
    this.conn.destroy();
  }

  /** Close for good (no reconnect). */
  close(): void {
    this.closed = true;
    this.conn.cancelReconnect();
    this.conn.close();
  }
}
