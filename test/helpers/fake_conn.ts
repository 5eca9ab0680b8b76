/** An in-memory {@link Conn} for unit tests: records writes, simulates a kernel that takes only `capacity` bytes. */
import {
  type ConnectionData,
  type GatewayConnectionFields,
  type Protocol,
  TcpConnection,
  type WebSocketClientSettings,
  type WebSocketConnection,
} from "../../mod.ts";

/**
 * A connection as the unit tests drive it, whatever its protocol: the WebSocket settings and
 * callbacks (server and client), the Gateway's fields and the application's ConnectionData.
 */
type AnyCallback = ((...args: never[]) => unknown) | null;
export type TestConnection =
  & TcpConnection
  & Omit<WebSocketConnection, keyof TcpConnection | `onWebSocket${string}`>
  & Omit<WebSocketClientSettings, `onWebSocket${string}`>
  & {
    onWebSocketConnect?: AnyCallback;
    onWebSocketClose?: AnyCallback;
    onWebSocketPing?: AnyCallback;
    onWebSocketPong?: AnyCallback;
    getRemoteHost(): string;
    getRemoteURI(): string;
  }
  & Partial<Omit<GatewayConnectionFields, "uid" | "onWebSocketConnect">>
  & Partial<ConnectionData>;
import type { Conn, ConnHandler } from "../../runtime/types.ts";

export class FakeConn implements Conn {
  remoteAddress = "127.0.0.1";
  remotePort = 40000;
  localAddress = "127.0.0.1";
  localPort = 8000;
  handler: ConnHandler | null = null;
  /** Each write() call, as it was made. */
  writes: Uint8Array[] = [];
  /** Bytes the "kernel" still accepts before writes start queueing. */
  capacity = Infinity;
  queued = 0;
  paused = false;
  ended = false;
  destroyed = false;

  start(handler: ConnHandler): void {
    this.handler = handler;
  }
  write(data: Uint8Array | string): boolean {
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    this.writes.push(bytes);
    const taken = Math.min(bytes.length, Math.max(0, this.capacity));
    this.capacity -= taken;
    this.queued += bytes.length - taken;
    return this.queued === 0;
  }
  get bufferedAmount(): number {
    return this.queued;
  }
  /** The peer reads everything: the queue empties and the handler hears about it. */
  drain(): void {
    this.capacity = Infinity;
    const had = this.queued;
    this.queued = 0;
    if (had > 0) this.handler?.handleDrain();
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
  end(): void {
    this.ended = true;
  }
  destroy(): void {
    this.destroyed = true;
  }
  /** Everything written, as text. */
  get written(): string {
    return this.writes.map((w) => new TextDecoder().decode(w)).join("");
  }
}

/**
 * A server-side TcpConnection speaking `protocol` over a fresh {@link FakeConn}, registered with
 * a stand-in worker (`owner`) and started, as a worker's accept would.
 */
export function fakeConnection(
  protocol: Protocol | null,
): { socket: FakeConn; conn: TestConnection; owner: { name: string; connections: Map<number, TcpConnection> } } {
  const socket = new FakeConn();
  const owner = { name: "test", connections: new Map<number, TcpConnection>() };
  const conn = new TcpConnection(socket, owner, protocol) as TestConnection;
  owner.connections.set(conn.id, conn);
  socket.start(conn);
  return { socket, conn, owner };
}
