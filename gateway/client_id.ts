/**
 * client_id: 20 lowercase hex characters, `bin2hex(pack("NnN", ip2long(lanIp), lanPort,
 * connection_id))` — the gateway's inner IPv4 address (8), its inner port (4) and the
 * client's connection id in that gateway process (8). Any process that knows a client_id
 * therefore knows which gateway holds the client.
 *
 * @module
 */

/** What a client_id encodes. */
export interface ClientAddress {
  /** The gateway's inner IP (dotted IPv4). */
  ip: string;
  /** The gateway's inner port. */
  port: number;
  /** The client's connection id in that gateway process. */
  connectionId: number;
}

/** `ip2long`: a dotted IPv4 address as an unsigned 32-bit number (0 for anything else). */
export function ip2long(ip: string): number {
  const parts = ip.split(".");
  if (parts.length !== 4) return 0;
  let n = 0;
  for (const part of parts) {
    const byte = Number(part);
    if (!/^\d{1,3}$/.test(part) || byte > 255) return 0;
    n = n * 256 + byte;
  }
  return n;
}

/** `long2ip`: an unsigned 32-bit number as a dotted IPv4 address. */
export function long2ip(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

const hex = (n: number, width: number) => (n >>> 0).toString(16).padStart(width, "0");

/** The client_id of connection `connectionId` on the gateway whose inner address is `ip:port`. */
export function clientIdEncode(ip: string | number, port: number, connectionId: number): string {
  const long = typeof ip === "number" ? ip : ip2long(ip);
  return hex(long, 8) + hex(port & 0xffff, 4) + hex(connectionId, 8);
}

/** Decode a client_id; null when it is not 20 hex characters. */
export function clientIdDecode(clientId: string): ClientAddress | null {
  if (typeof clientId !== "string" || !/^[0-9a-fA-F]{20}$/.test(clientId)) return null;
  return {
    ip: long2ip(parseInt(clientId.slice(0, 8), 16)),
    port: parseInt(clientId.slice(8, 12), 16),
    connectionId: parseInt(clientId.slice(12, 20), 16),
  };
}
