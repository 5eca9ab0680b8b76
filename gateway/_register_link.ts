/**
 * Connections from Gateways and BusinessWorkers to the Register(s): each announces itself on
 * every (re)connect, reconnects after losing the connection (after 0.1 s, doubling up to 1 s
 * while attempts fail: at start-up the Register's process may not be accepting yet), and pings
 * every 25 s unless the Register is on 127.0.0.1.
 *
 * @module
 */
import { AsyncTcpConnection } from "../core/async_tcp_connection.ts";
import { log } from "../core/log.ts";
import type { TcpConnection } from "../core/tcp_connection.ts";
import { Timer } from "../core/timer.ts";
import { Text } from "../protocols/text.ts";

/** Seconds between keep-alive pings to a Register that is not on 127.0.0.1. */
const PING_INTERVAL = 25;
/** Seconds before the first reconnect attempt, and the most between attempts. */
const RETRY_FIRST = 0.1;
const RETRY_MAX = 1;

/** `"ip:port"` or a list of them (a `text://` prefix is accepted) as a list of `ip:port`. */
export function registerAddresses(address: string | string[]): string[] {
  const list = Array.isArray(address) ? address : [address];
  return list.map((a) => a.trim().replace(/^[a-z]+:\/\//i, "")).filter((a) => a !== "");
}

/** One kept-alive connection per Register address. */
export class RegisterLinks {
  private readonly _connections: AsyncTcpConnection[] = [];
  private readonly _pingTimer: number;
  private _closed = false;

  /**
   * `hello()` gives the line sent on every connect; `onLine` receives the Register's lines,
   * `onLost` is told when a connection to a Register closes.
   */
  constructor(
    addresses: string | string[],
    hello: () => string,
    onLine: (line: string, conn: TcpConnection) => void,
    onLost: (conn: TcpConnection) => void = () => {},
  ) {
    for (const address of registerAddresses(addresses)) {
      const conn = new AsyncTcpConnection<string>(`tcp://${address}`);
      conn.protocol = Text;
      let failing = false; // log the first failed attempt of a series, not every retry
      let retry = RETRY_FIRST;
      conn.onConnect = () => {
        failing = false;
        retry = RETRY_FIRST;
        conn.send(hello());
      };
      conn.onError = (_c: TcpConnection, _code: number, message: string) => {
        if (!failing) log(`cannot reach the Register at ${address} (${message}); retrying`);
        failing = true;
      };
      conn.onMessage = (_c: TcpConnection, line: string) => onLine(line, conn);
      conn.onClose = () => {
        onLost(conn);
        if (this._closed) return;
        conn.reconnect(retry);
        retry = Math.min(RETRY_MAX, retry * 2);
      };
      conn.connect();
      this._connections.push(conn);
    }
    const remote = this._connections.filter((c) => !c.getRemoteHost().startsWith("127.0.0.1"));
    this._pingTimer = remote.length === 0 ? 0 : Timer.add(PING_INTERVAL, () => {
      for (const conn of remote) conn.send(JSON.stringify({ event: "ping" }));
    });
  }

  /** Close every connection for good. */
  close(): void {
    this._closed = true;
    if (this._pingTimer) Timer.del(this._pingTimer);
    for (const conn of this._connections) conn.destroy();
  }
}
