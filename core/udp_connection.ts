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

/**
 * The sender of one datagram. `In` is what `onMessage` receives, `Out` what `send()` takes.
 */
export class UdpConnection<In = unknown, Out = unknown> {
  /** Always `udp`. */
  readonly transport = "udp";
  /** The protocol that frames the datagrams (null: raw bytes). */
  protocol: Protocol | null;
  /** Largest package a protocol may announce. */
  maxPackageSize = 65535;
  private readonly _socket: UdpSocket;
  private readonly _address: string;
  private readonly _port: number;

  /** The sender `address`:`port` of a datagram received on `socket`. */
  constructor(socket: UdpSocket, address: string, port: number, protocol: Protocol | null) {
    this._socket = socket;
    this._address = address;
    this._port = port;
    this.protocol = protocol;
  }

  /** Send one datagram to the sender (encoded by the protocol unless `raw`). */
  send(data: Out, raw?: false): boolean;
  /** Send `data` as it is, bypassing the protocol's encoding. */
  send(data: string | Uint8Array, raw: true): boolean;
  send(data: unknown, raw = false): boolean {
    let out = data as string | Uint8Array;
    if (this.protocol && !raw) {
      out = this.protocol.encode(data, this as never);
      if (!out || out.length === 0) return false;
    }
    return this._socket.send(out, this._port, this._address);
  }

  /** Send `data` if given. */
  close(data?: Out, raw?: false): boolean;
  /** Send `data` as it is, if given. */
  close(data: string | Uint8Array | undefined, raw: true): boolean;
  close(data?: unknown, raw = false): boolean {
    if (data !== undefined && data !== null) this.send(data as Out, raw as false);
    return true;
  }

  /** The sender's IP. */
  getRemoteIp(): string {
    return plainIp(this._address);
  }
  /** The sender's port. */
  getRemotePort(): number {
    return this._port;
  }
  /** `ip:port` of the sender. */
  getRemoteAddress(): string {
    return formatHostPort(this.getRemoteIp(), this._port);
  }
  /** The address the socket is bound to. */
  getLocalIp(): string {
    return this._socket.host;
  }
  /** The port the socket is bound to. */
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
