/**
 * A persistent connection to one gateway's inner port for push clients (and a BusinessWorker's
 * calls while its own connection to that gateway is not in use): it
 * authenticates with `GATEWAY_CLIENT_CONNECT` on every (re)connect when a secret is set,
 * reconnects on demand, and matches answers to queries in order.
 *
 * @module
 */
import { AsyncTcpConnection } from "../core/async_tcp_connection.ts";
import { TcpConnection } from "../core/tcp_connection.ts";
import { PendingAnswers, QUERY_TIMEOUT_MS } from "./_answers.ts";
import { CMD, encodePackage, ReplyProtocol } from "./protocol.ts";

/** Send buffer limit of a link: a broadcast burst from a push client must fit. */
const LINK_SEND_BUFFER = 10240000;

export class GatewayLink {
  readonly address: string;
  private readonly _secretKey: string;
  private readonly _conn: AsyncTcpConnection;
  private readonly _answers: PendingAnswers;
  /** Sends waiting for the connection to be established. */
  private _waiting: ((ok: boolean) => void)[] = [];
  private _lastError = "";

  constructor(address: string, secretKey: string) {
    this.address = address;
    this._secretKey = secretKey;
    const conn = new AsyncTcpConnection<string>(`tcp://${address}`);
    this._answers = new PendingAnswers(address);
    this._answers.onTimeout = () => conn.destroy();
    conn.protocol = ReplyProtocol;
    conn.maxSendBufferSize = LINK_SEND_BUFFER;
    conn.onConnect = () => this._settleWaiting(true);
    conn.onMessage = (_c: TcpConnection, value: unknown) => this._answers.answer(value);
    conn.onError = (_c: TcpConnection, _code: number, message: string) => {
      this._lastError = message;
    };
    conn.onClose = () => {
      this._settleWaiting(false);
      const error = new Error(
        `connection to gateway ${address} closed${this._lastError ? `: ${this._lastError}` : ""}`,
      );
      this._lastError = "";
      this._answers.failAll(error);
    };
    this._conn = conn;
  }

  private _settleWaiting(ok: boolean): void {
    const waiting = this._waiting;
    this._waiting = [];
    for (const w of waiting) w(ok);
  }

  /** Connect if closed; the auth packet goes first on every new connection. */
  private _ensure(): void {
    const status = this._conn.getStatus();
    if (status !== TcpConnection.STATUS_INITIAL && status !== TcpConnection.STATUS_CLOSED) return;
    this._conn.connect();
    if (this._secretKey) {
      this._conn.send(
        encodePackage({ cmd: CMD.GATEWAY_CLIENT_CONNECT, body: JSON.stringify({ secret_key: this._secretKey }) }),
      );
    }
  }

  /** Write a packet; resolves false when it cannot be handed over (connect failed, buffer full). */
  send(packet: Uint8Array): Promise<boolean> {
    this._ensure();
    const result = this._conn.send(packet);
    if (result === false) return Promise.resolve(false);
    if (this._conn.getStatus() === TcpConnection.STATUS_ESTABLISHED) return Promise.resolve(true);
    return new Promise((resolve) => this._waiting.push(resolve));
  }

  /** Write a query and resolve with the gateway's answer. */
  query(packet: Uint8Array, timeoutMs = QUERY_TIMEOUT_MS): Promise<unknown> {
    this._ensure();
    return this._answers.query(this._conn, packet, timeoutMs);
  }

  /** Close for good (pending queries fail). */
  close(): void {
    this._conn.destroy();
  }
}
