/**
 * `GatewayClient`: push into a running Gateway cluster from any Node, Deno or Bun program (a
 * web app, a cron job) with the same API as `Gateway.*` in a BusinessWorker — except the
 * `*CurrentClient` calls, which need an event.
 *
 * It asks the Register for the gateway addresses (cached for 1 s) and keeps one connection per
 * gateway process; call `close()` when done so the program can exit.
 *
 * @example
 * ```ts
 * import { GatewayClient } from "workerman-ts";
 * const gateway = new GatewayClient("127.0.0.1:1236", { secretKey: "" });
 * await gateway.sendToAll("maintenance in 5 minutes");
 * console.log(await gateway.getAllClientCount());
 * gateway.close();
 * ```
 *
 * @module
 */
import { AsyncTcpConnection } from "../core/async_tcp_connection.ts";
import type { TcpConnection } from "../core/tcp_connection.ts";
import { Text } from "../protocols/text.ts";
import { GatewayApi, type GatewayBackend } from "./api.ts";
import { GatewayLink } from "./_link.ts";
import { registerAddresses } from "./_register_link.ts";
import { workerConnectLine } from "./register.ts";

/** Options of `new GatewayClient()`. */
export interface GatewayClientOptions {
  /** The cluster's secret key. */
  secretKey?: string;
  /** Seconds a Register may take to connect and answer before the next one is tried (default 5). */
  connectTimeout?: number;
  /** Seconds the gateway address list is reused before asking the Register again (default 1). */
  addressesCacheSeconds?: number;
}

/** Ask one Register for the gateway addresses. */
function askRegister(address: string, secretKey: string, timeoutMs: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const conn = new AsyncTcpConnection<string>(`tcp://${address}`);
    conn.protocol = Text;
    let done = false;
    const finish = (error: Error | null, addresses: string[] = []) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      conn.onClose = null;
      conn.destroy();
      if (error) reject(error);
      else resolve(addresses);
    };
    const timer = setTimeout(
      () =>
        finish(
          new Error(`getAllGatewayAddressesFromRegister fail. tcp://${address} did not answer within ${timeoutMs} ms`),
        ),
      timeoutMs,
    );
    conn.onMessage = (_c: TcpConnection, line: string) => {
      try {
        const data = JSON.parse(line);
        if (!Array.isArray(data.addresses)) throw new Error("no addresses");
        finish(null, data.addresses.map(String));
      } catch {
        finish(new Error(`getAllGatewayAddressesFromRegister fail. tcp://${address} return ${line}`));
      }
    };
    conn.onError = (_c: TcpConnection, _code: number, message: string) =>
      finish(new Error(`Can not connect to tcp://${address} ${message}`));
    conn.onClose = () => finish(new Error(`connection close tcp://${address}`));
    conn.send(workerConnectLine(secretKey));
    conn.connect();
  });
}

/** The Gateway API from any program: finds the Gateways through the Register(s). */
export class GatewayClient extends GatewayApi {
  /** Register address(es), `ip:port` (the Register's real address, not 0.0.0.0). */
  readonly registerAddress: string[];
  /** Shared with the Register and the Gateways. */
  readonly secretKey: string;
  private readonly _links = new Map<string, GatewayLink>();
  private _cache: { at: number; addresses: string[] } | null = null;
  private _fetching: Promise<string[]> | null = null;
  private readonly _options: GatewayClientOptions;

  /** Use the Register(s) at `registerAddress` (`ip:port`, or a list). */
  constructor(registerAddress: string | string[], options: GatewayClientOptions = {}) {
    super(null);
    this.registerAddress = registerAddresses(registerAddress);
    this.secretKey = options.secretKey ?? "";
    this._options = options;
    this.backend = this._makeBackend();
  }

  /** How API calls reach the Gateways: through links asked of the Registers. */
  private _makeBackend(): GatewayBackend {
    return {
      addresses: () => this._addresses(),
      send: (address, packet) => this._link(address).send(packet),
      query: (address, packet) => this._link(address).query(packet),
    };
  }

  /** The gateway addresses: from the first Register that answers, reused for `addressesCacheSeconds`. */
  private _addresses(): string[] | Promise<string[]> {
    const ttl = (this._options.addressesCacheSeconds ?? 1) * 1000;
    if (this._cache && Date.now() - this._cache.at < ttl) return this._cache.addresses;
    // Calls made while the Register is being asked share one answer, and so keep their order.
    this._fetching ??= this._askRegisters().finally(() => this._fetching = null);
    return this._fetching;
  }

  /** The Gateway addresses the Registers announce (cached briefly). */
  private async _askRegisters(): Promise<string[]> {
    let lastError: Error | null = null;
    for (const address of this.registerAddress) {
      try {
        const addresses = await askRegister(address, this.secretKey, (this._options.connectTimeout ?? 5) * 1000);
        this._cache = { at: Date.now(), addresses };
        return addresses;
      } catch (err) {
        lastError = err as Error;
      }
    }
    throw lastError ?? new Error("GatewayClient: no register address given");
  }

  /** The link to the Gateway at `address` (created on first use). */
  private _link(address: string): GatewayLink {
    let link = this._links.get(address);
    if (!link) this._links.set(address, link = new GatewayLink(address, this.secretKey));
    return link;
  }

  /** Close every connection to the gateways (the client may be used again afterwards). */
  close(): void {
    for (const link of this._links.values()) link.close();
    this._links.clear();
  }
}
