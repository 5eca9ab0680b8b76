/**
 * How {@link GatewayApi} reaches the gateways: the backend (a BusinessWorker's connections or
 * a push client's), client_id routing, and sends and queries to one or every gateway.
 *
 * @module
 */
import { log } from "../core/log.ts";
import { type ClientAddress, clientIdDecode, clientIdEncode, ip2long } from "./client_id.ts";
import { type Context, currentClient } from "./context.ts";
import { CMD, encodePackage, type PackageFields } from "./protocol.ts";

/** How the API reaches the gateways (a BusinessWorker's connections, or a push client's). */
export interface GatewayBackend {
  /** Inner addresses (`ip:port`) of every gateway process (an array when known without asking). */
  addresses(): string[] | Promise<string[]>;
  /** Hand a packet to one gateway; false when that is not possible. */
  send(address: string, packet: Uint8Array): Promise<boolean>;
  /** Send a query packet to one gateway and resolve with its (unserialized) answer. */
  query(address: string, packet: Uint8Array): Promise<unknown>;
}

/** `{"5":5, ...}`: a set of connection ids as GatewayWorker puts it in JSON ext data. */
export function idMap(ids: number[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const id of ids) out[id] = id;
  return out;
}

/** One value or a list of them, as a list. */
export const list = <T>(value: T | T[]): T[] => Array.isArray(value) ? value : [value];
/** An empty uid or group name, which GatewayWorker ignores. */
export const blank = (value: unknown) => value === "" || value === null || value === undefined;
/** Every send succeeded. */
export const all = (results: boolean[]) => results.every(Boolean);

/** The entries of a PHP array answer (a Map, an object or a list). */
export function entries(value: unknown): [string, unknown][] {
  if (value instanceof Map) return [...value.entries()].map(([k, v]) => [String(k), v]);
  if (value !== null && typeof value === "object") return Object.entries(value);
  return [];
}

/** `ip:port` split into its parts. */
export function addressOf(address: string): { ip: string; port: number } {
  const i = address.lastIndexOf(":");
  return { ip: address.slice(0, i), port: Number(address.slice(i + 1)) };
}

/** `{value: value}` for each value, as GatewayWorker answers lists. */
export function keyed(values: Iterable<string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) out[v] = v;
  return out;
}

/** The plumbing under {@link GatewayApi}. */
export class ApiTransport {
  /** Where packets go; null until a BusinessWorker (or a push client) provides it. */
  backend: GatewayBackend | null;

  /** Calls go through `backend` (null: this process's BusinessWorker, resolved at call time). */
  constructor(backend: GatewayBackend | null = null) {
    this.backend = backend;
  }

  /** The backend calls go through; throws when there is none (outside a BusinessWorker). */
  protected _backend(): GatewayBackend {
    if (!this.backend) {
      throw new Error(
        "the Gateway API works inside a BusinessWorker process; elsewhere use new GatewayClient(registerAddress)",
      );
    }
    return this.backend;
  }

  /** The gateway address and connection id of a client_id; null (and a log line) when invalid. */
  protected _decode(clientId: string): ClientAddress | null {
    const address = clientIdDecode(clientId);
    if (!address) log(`client_id ${JSON.stringify(clientId)} is invalid`);
    return address;
  }

  /** The event being handled synchronously; `method` names the call that needs it, for the error. */
  protected _current(method: string): Context {
    const ctx = currentClient();
    if (!ctx) {
      throw new Error(
        `${method} can not be called in async context: use the handler's ctx (its last argument) after an await`,
      );
    }
    return ctx;
  }

  /**
   * Run `fn` with the gateway addresses: synchronously when the backend knows them (a
   * BusinessWorker, so its sends go out in call order, before the session write-back), else
   * once they are fetched (a push client: calls made meanwhile continue in call order).
   */
  protected _withAddresses<T>(fn: (addresses: string[]) => T | Promise<T>): Promise<T> {
    try {
      const addresses = this._backend().addresses();
      return Array.isArray(addresses) ? Promise.resolve(fn(addresses)) : addresses.then(fn);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** A send: resolves false (and logs why) instead of rejecting. */
  protected _send(fn: (addresses: string[]) => Promise<boolean>): Promise<boolean> {
    return this._withAddresses(fn).catch((err) => {
      log(`Gateway API: ${(err as Error)?.message ?? err}`);
      return false;
    });
  }

  /** The known gateway holding `clientId` and the packet for it; null for an invalid id or an unknown gateway. */
  protected _route(addresses: string[], clientId: string, fields: PackageFields): [string, Uint8Array] | null {
    const a = this._decode(clientId);
    if (!a) return null;
    const address = `${a.ip}:${a.port}`;
    if (!addresses.includes(address)) return null;
    return [
      address,
      encodePackage({ ...fields, localIp: ip2long(a.ip), localPort: a.port, connectionId: a.connectionId }),
    ];
  }

  /** Send to the gateway holding `clientId`. */
  protected _toClient(clientId: string, fields: PackageFields): Promise<boolean> {
    return this._send((addresses) => {
      const route = this._route(addresses, clientId, fields);
      return route ? this._backend().send(...route) : Promise.resolve(false);
    });
  }

  /** Send one packet (or one per gateway) to every gateway. */
  protected _toAll(fields: PackageFields | ((address: string) => PackageFields)): Promise<boolean> {
    return this._send(async (addresses) => {
      const backend = this._backend();
      const shared = typeof fields === "function" ? null : encodePackage(fields);
      const results = await Promise.all(
        addresses.map((address) =>
          backend.send(address, shared ?? encodePackage((fields as (a: string) => PackageFields)(address)))
        ),
      );
      return all(results);
    });
  }

  /** Ask every gateway; resolves with `[address, answer]` pairs. */
  protected _queryAll(fields: PackageFields): Promise<[string, unknown][]> {
    const packet = encodePackage(fields);
    return this._withAddresses((addresses) => {
      const backend = this._backend();
      return Promise.all(
        addresses.map(async (address) => [address, await backend.query(address, packet)] as [string, unknown]),
      );
    });
  }

  /** Ask the gateway holding `clientId`; undefined for an invalid id or an unknown gateway. */
  protected _queryClient(clientId: string, fields: PackageFields): Promise<unknown> {
    return this._withAddresses((addresses) => {
      const route = this._route(addresses, clientId, fields);
      return route ? this._backend().query(...route) : undefined;
    });
  }

  /** Group client_ids by gateway address: `address -> connection ids`. */
  protected _byGateway(clientIds: string[]): Map<string, number[]> {
    const out = new Map<string, number[]>();
    for (const clientId of clientIds) {
      const a = this._decode(clientId);
      if (!a) continue;
      const key = `${a.ip}:${a.port}`;
      (out.get(key) ?? out.set(key, []).get(key)!).push(a.connectionId);
    }
    return out;
  }

  /** `SELECT` on every gateway: rows by client_id. */
  protected async _select(
    fields: string[],
    where: Record<string, unknown[]>,
  ): Promise<Map<string, Record<string, unknown>>> {
    const out = new Map<string, Record<string, unknown>>();
    const answers = await this._queryAll({ cmd: CMD.SELECT, extData: JSON.stringify({ fields, where }) });
    for (const [address, rows] of answers) {
      const { ip, port } = addressOf(address);
      for (const [id, row] of entries(rows)) {
        out.set(clientIdEncode(ip, port, Number(id)), (row ?? {}) as Record<string, unknown>);
      }
    }
    return out;
  }
}
