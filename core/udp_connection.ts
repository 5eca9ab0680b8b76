/**
 * `UdpConnection`: the sender of one datagram received by a `udp://` Worker. `send()` answers
 * that sender; `close(data)` only sends (UDP has nothing to close).
 *
 * @module
 */
import type { UdpSocket } from "../runtime/types.ts";
import { formatHostPort, plainIp } from "./address.ts";
import { asBytes } from "./bytes.ts";
import type { Protocol } from "./protocol.ts";

export class UdpConnection {
  // deno-lint-ignore no-explicit-any
  [key: string]: any;
  readonly transport = "udp";
  protocol: Protocol | null;
  maxPackageSize = 65535;
  private readonly _socket: UdpSocket;
  private readonly _address: string;
  private readonly _port: number;

  constructor(socket: UdpSocket, address: string, port: number, protocol: Protocol | null) {
    this._socket = socket;
    this._address = address;
    this._port = port;
    this.protocol = protocol;
  }

  /** Send one datagram to the sender (encoded by the protocol unless `raw`). */
  send(data: string | Uint8Array, raw = false): boolean {
    if (this.protocol && !raw) {
      data = this.protocol.encode(data, this as never);
      if (!data || data.length === 0) return false;
    }
    return this._socket.send(data, this._port, this._address);
  }

  /** Send `data` if given. */
  close(data?: string | Uint8Array, raw = false): boolean {
    if (data !== undefined && data !== null) this.send(data, raw);
    return true;
  }

  getRemoteIp(): string {
    return plainIp(this._address);
  }
  getRemotePort(): number {
    return this._port;
  }
  getRemoteAddress(): string {
    return formatHostPort(this.getRemoteIp(), this._port);
  }
  getLocalIp(): string {
    return this._socket.host;
  }
  getLocalPort(): number {
    return this._socket.port;
  }

  /** Split one datagram into packages with the protocol and decode each (undefined entries are dropped). */
  static decodeDatagram(conn: UdpConnection, data: Uint8Array): unknown[] {
    const protocol = conn.protocol;
    if (!protocol) return [asBytes(data)];
    const messages: unknown[] = [];
    let rest = data;
    while (rest.length > 0) {
      const length = protocol.input(rest, conn as never);
      if (!(length > 0) || length > rest.length) break; // incomplete or invalid: the rest is dropped
      messages.push(protocol.decode(rest.subarray(0, length), conn as never));
      rest = rest.subarray(length);
    }
    return messages;
  }
}
