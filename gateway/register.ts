/**
 * `Register`: the directory through which Gateways and BusinessWorkers find each other. Each
 * Gateway process announces its inner address; every BusinessWorker (and push client) gets the
 * list of addresses, again whenever a gateway comes or goes. One JSON object per line:
 *
 * - Gateway → Register: `{"event":"gateway_connect","address":"<lanIp>:<port>","secret_key":"<k>"}`
 * - BusinessWorker → Register: `{"event":"worker_connect","secret_key":"<k>"}`
 * - keep-alive: `{"event":"ping"}`
 * - Register → BusinessWorker: `{"event":"broadcast_addresses","addresses":[...]}`
 *
 * A connection that has not authenticated within 10 s is closed.
 *
 * @module
 */
import { log } from "../core/log.ts";
import type { TcpConnection } from "../core/tcp_connection.ts";
import { Timer } from "../core/timer.ts";
import { Worker } from "../core/worker.ts";
import { Text } from "../protocols/text.ts";

/** Seconds a connection may stay without authenticating. */
export const REGISTER_AUTH_TIMEOUT = 10;

/** The line a Gateway process announces itself with. */
export function gatewayConnectLine(address: string, secretKey: string): string {
  return JSON.stringify({ event: "gateway_connect", address, secret_key: secretKey });
}

/** The line a BusinessWorker (or push client) asks for the gateway addresses with. */
export function workerConnectLine(secretKey: string): string {
  return JSON.stringify({ event: "worker_connect", secret_key: secretKey });
}

/** The line the Register sends to workers: the unique gateway addresses. */
export function broadcastAddressesLine(addresses: Iterable<string>): string {
  return JSON.stringify({ event: "broadcast_addresses", addresses: [...new Set(addresses)] });
}

/** A gateway's inner address as Gateways announce it: `<IPv4>:<port>` (client_ids can only name those). */
export function isGatewayAddress(address: unknown): address is string {
  const m = typeof address === "string" ? /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(address) : null;
  return m !== null && m[1].split(".").every((b) => Number(b) <= 255) && Number(m[2]) > 0 && Number(m[2]) <= 65535;
}

/** What one line sent to a Register asks for; `reject`: close the connection, logging `message`. */
export type RegisterRequest =
  | { event: "gateway_connect"; address: string }
  | { event: "worker_connect" }
  | { event: "ping" }
  | { event: "reject"; message: string };

/** Read one line sent to a Register whose key is `secretKey` (`ip`: the sender, for the messages). */
export function parseRegisterLine(line: string, secretKey: string, ip: string): RegisterRequest {
  let data: { event?: unknown; address?: unknown; secret_key?: unknown };
  try {
    data = JSON.parse(line);
    if (data === null || typeof data !== "object") throw new Error("not an object");
  } catch {
    const message = `Bad request for Register service. Request info(IP:${ip}, Request Buffer:${line}). ` +
      "See http://doc2.workerman.net/register-auth-timeout.html";
    return { event: "reject", message };
  }
  const keyOk = (data.secret_key ?? "") === secretKey;
  const badKey = () => ({
    event: "reject" as const,
    message: `Register: Key does not match ${JSON.stringify(data.secret_key)} !== ${JSON.stringify(secretKey)}`,
  });
  switch (data.event) {
    case "gateway_connect":
      if (typeof data.address !== "string" || data.address === "") {
        return { event: "reject", message: `Register: address not found in ${line} from ${ip}` };
      }
      if (!isGatewayAddress(data.address)) {
        return {
          event: "reject",
          message: `Register: bad address ${JSON.stringify(data.address)} from ${ip} (expected <lanIp>:<port>)`,
        };
      }
      return keyOk ? { event: "gateway_connect", address: data.address } : badKey();
    case "worker_connect":
      return keyOk ? { event: "worker_connect" } : badKey();
    case "ping":
      return { event: "ping" };
    default: {
      // JSON text for anything but a string: String() of {"toString":[],"valueOf":[]} throws.
      const event = typeof data.event === "string" ? data.event : JSON.stringify(data.event);
      return { event: "reject", message: `Register unknown event:${event} IP: ${ip} Buffer:${line}` };
    }
  }
}

/** The directory of the Gateway model: Gateways announce their inner addresses, BusinessWorkers and GatewayClients learn them. */
export class Register extends Worker {
  /** Shared with the Gateways, BusinessWorkers and push clients; empty = no authentication. */
  secretKey = "";
  /** Gateway connections and the inner address each announced. */
  private readonly _gateways = new Map<TcpConnection, string>();
  private readonly _workers = new Set<TcpConnection>();
  private readonly _authTimers = new Map<TcpConnection, number>();

  /** `socketName` is `text://ip:port` (the protocol is always text). */
  constructor(socketName: string) {
    super(socketName);
    this.protocol = Text;
    this.name = "Register";
    this.reloadable = false;
  }

  /** The inner addresses of the gateways connected to this process. */
  get addresses(): string[] {
    return [...new Set(this._gateways.values())];
  }

  /** A Register keeps its directory in memory: it runs as one process. */
  override validate(): void {
    super.validate();
    if (this.count !== 1) {
      log(
        `Register ${this.name}: count must be 1 (the directory lives in one process); using 1 instead of ${this.count}`,
      );
      this.count = 1;
    }
  }

  /** Listen and serve registrations. */
  override run(): Promise<void> {
    this.onConnect = (conn: TcpConnection) => this._onConnect(conn);
    this.onMessage = (conn: TcpConnection, line: string) => this._onMessage(conn, line);
    this.onClose = (conn: TcpConnection) => this._onClose(conn);
    return super.run();
  }

  /** A peer connected: it must authenticate within a few seconds when a secret key is set. */
  private _onConnect(conn: TcpConnection): void {
    const timer = Timer.add(
      REGISTER_AUTH_TIMEOUT,
      () => {
        this._authTimers.delete(conn);
        log(`Register auth timeout (${conn.getRemoteIp()}). See http://doc2.workerman.net/register-auth-timeout.html`);
        conn.close();
      },
      [],
      false,
    );
    this._authTimers.set(conn, timer);
  }

  /** The peer is authenticated: stop its authentication timer. */
  private _authenticated(conn: TcpConnection): void {
    const timer = this._authTimers.get(conn);
    if (timer !== undefined) Timer.del(timer);
    this._authTimers.delete(conn);
  }

  /** Log and close a peer that failed to authenticate. */
  private _reject(conn: TcpConnection, message: string): void {
    log(message);
    conn.close(message);
  }

  /** A registration line from a Gateway, BusinessWorker or GatewayClient. */
  private _onMessage(conn: TcpConnection, line: string): void {
    const request = parseRegisterLine(line, this.secretKey, conn.getRemoteIp());
    switch (request.event) {
      case "gateway_connect":
        this._authenticated(conn);
        this._gateways.set(conn, request.address);
        this._broadcast();
        return;
      case "worker_connect":
        this._authenticated(conn);
        this._workers.add(conn);
        conn.send(broadcastAddressesLine(this._gateways.values()));
        return;
      case "ping":
        return;
      case "reject":
        return this._reject(conn, request.message);
    }
  }

  /** A peer left: a Gateway's address is withdrawn and announced to the BusinessWorkers. */
  private _onClose(conn: TcpConnection): void {
    this._authenticated(conn);
    this._workers.delete(conn);
    if (this._gateways.delete(conn)) this._broadcast();
  }

  /** Tell every worker the current gateway addresses. */
  private _broadcast(): void {
    const line = broadcastAddressesLine(this._gateways.values());
    for (const worker of this._workers) worker.send(line);
  }
}
