/**
 * The PROXY protocol (HAProxy's, versions 1 and 2): a load balancer that forwards TCP
 * connections puts the client's real address in a header before the client's bytes. With
 * `new Worker(name, { proxyProtocol: { trusted: [...] } })` a connection from a trusted
 * address must start with such a header, and `getRemoteIp()` / `getRemotePort()` then give
 * the client's address; connections from anyone else are served as they are (their header,
 * if any, is plain data: an outsider cannot forge an address).
 *
 * Version 1 (text, at most 107 bytes):
 *
 * ```
 * PROXY TCP4 <src ip> <dst ip> <src port> <dst port>\r\n      (or TCP6, or "PROXY UNKNOWN ...\r\n")
 * ```
 *
 * Version 2 (binary):
 *
 * | offset | size | field                                                                 |
 * | -----: | ---: | --------------------------------------------------------------------- |
 * |      0 |   12 | signature `0D 0A 0D 0A 00 0D 0A 51 55 49 54 0A`                       |
 * |     12 |    1 | version (high nibble, 2) and command (low nibble: 0 LOCAL, 1 PROXY)   |
 * |     13 |    1 | family (high nibble: 1 IPv4, 2 IPv6, 3 unix) and transport (1 stream, 2 dgram) |
 * |     14 |    2 | length of what follows, big-endian                                    |
 * |     16 |   12 | IPv4: src addr (4), dst addr (4), src port (2), dst port (2)          |
 * |     16 |   36 | IPv6: src addr (16), dst addr (16), src port (2), dst port (2)        |
 * |      … |    … | TLVs (ignored)                                                        |
 *
 * A LOCAL command (the balancer's own health check) or an UNKNOWN / unspecified family keeps
 * the socket's own address.
 *
 * @module
 */
import type { Conn, ConnHandler } from "../runtime/types.ts";
import { plainIp } from "./address.ts";
import { ConfigError } from "./errors.ts";
import { log } from "./log.ts";

/** `proxyProtocol` option of a Worker. */
export interface ProxyProtocolOptions {
  /** Addresses of the load balancers (IPs or CIDR ranges such as `10.0.0.0/8`, `fd00::/8`). */
  trusted: string[];
  /** Seconds a trusted peer has to send its header before it is disconnected (default 5). */
  timeout?: number;
}

/** Largest version 1 header, CRLF included (from the specification). */
export const MAX_V1_LENGTH = 107;
/** Largest version 2 header: 16 fixed bytes plus a 16-bit length. */
export const MAX_V2_LENGTH = 16 + 0xffff;

const V2_SIGNATURE = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a];
const V1_PREFIX = [0x50, 0x52, 0x4f, 0x58, 0x59, 0x20]; // "PROXY "

/** What a complete header says. `source` is null when the socket's own address stands (LOCAL, UNKNOWN). */
export interface ProxyHeader {
  /** Bytes the header takes at the start of the stream. */
  length: number;
  version: 1 | 2;
  source: { address: string; port: number } | null;
  destination: { address: string; port: number } | null;
}

/** Why a header was refused, with a stable code. */
export class ProxyHeaderError extends Error {
  readonly code = "ERR_PROXY_HEADER";
}

function fail(message: string): never {
  throw new ProxyHeaderError(`Cannot parse PROXY protocol header: ${message}`);
}

/** True while `buffer` is a prefix of `expected` or starts with it. */
function matchesPrefix(buffer: Uint8Array, expected: number[]): boolean {
  const n = Math.min(buffer.length, expected.length);
  for (let i = 0; i < n; i++) if (buffer[i] !== expected[i]) return false;
  return true;
}

function ipv4(bytes: Uint8Array): string {
  return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
}

function ipv6(bytes: Uint8Array): string {
  if (bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) {
    return ipv4(bytes.subarray(12)); // IPv4-mapped: the IPv4 address, as getRemoteIp() gives it
  }
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] << 8) | bytes[i + 1]).toString(16));
  // Shorten the longest run of zero groups (RFC 5952).
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && groups[j] === "0") j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j > i ? j : i + 1;
  }
  if (bestStart < 0) return groups.join(":");
  return `${groups.slice(0, bestStart).join(":")}::${groups.slice(bestStart + bestLength).join(":")}`;
}

const IPV4_TEXT = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const IPV6_TEXT = /^[0-9A-Fa-f:.]{2,45}$/;
const PORT_TEXT = /^(0|[1-9]\d{0,4})$/;

function parseV1(buffer: Uint8Array): ProxyHeader | 0 {
  const limit = Math.min(buffer.length, MAX_V1_LENGTH);
  let end = -1;
  for (let i = V1_PREFIX.length; i < limit - 1; i++) {
    if (buffer[i] === 0x0d && buffer[i + 1] === 0x0a) {
      end = i;
      break;
    }
  }
  if (end < 0) {
    if (buffer.length >= MAX_V1_LENGTH) fail(`version 1 header without CRLF within ${MAX_V1_LENGTH} bytes`);
    return 0;
  }
  let text = "";
  for (let i = 0; i < end; i++) text += String.fromCharCode(buffer[i]);
  const parts = text.split(" ");
  const length = end + 2;
  if (parts[1] === "UNKNOWN") return { length, version: 1, source: null, destination: null };
  if (parts.length !== 6 || (parts[1] !== "TCP4" && parts[1] !== "TCP6")) {
    fail(`bad version 1 header ${JSON.stringify(text)}`);
  }
  const [, family, src, dst, sport, dport] = parts;
  const ipOk = family === "TCP4" ? IPV4_TEXT : IPV6_TEXT;
  if (!ipOk.test(src) || !ipOk.test(dst) || (family === "TCP6" && (!src.includes(":") || !dst.includes(":")))) {
    fail(`bad address in version 1 header ${JSON.stringify(text)}`);
  }
  if (!PORT_TEXT.test(sport) || !PORT_TEXT.test(dport) || Number(sport) > 65535 || Number(dport) > 65535) {
    fail(`bad port in version 1 header ${JSON.stringify(text)}`);
  }
  return {
    length,
    version: 1,
    source: { address: src.toLowerCase(), port: Number(sport) },
    destination: { address: dst.toLowerCase(), port: Number(dport) },
  };
}

function parseV2(buffer: Uint8Array): ProxyHeader | 0 {
  if (buffer.length < 16) return 0;
  const versionCommand = buffer[12];
  if (versionCommand >> 4 !== 2) fail(`version 2 signature with version ${versionCommand >> 4}`);
  const command = versionCommand & 0x0f;
  if (command > 1) fail(`unknown version 2 command ${command}`);
  const length = 16 + ((buffer[14] << 8) | buffer[15]);
  if (buffer.length < length) return 0;
  if (command === 0) return { length, version: 2, source: null, destination: null }; // LOCAL
  const family = buffer[13] >> 4;
  const body = buffer.subarray(16, length);
  const port = (at: number) => (body[at] << 8) | body[at + 1];
  if (family === 1) {
    if (body.length < 12) fail(`version 2 IPv4 addresses need 12 bytes, got ${body.length}`);
    return {
      length,
      version: 2,
      source: { address: ipv4(body.subarray(0, 4)), port: port(8) },
      destination: { address: ipv4(body.subarray(4, 8)), port: port(10) },
    };
  }
  if (family === 2) {
    if (body.length < 36) fail(`version 2 IPv6 addresses need 36 bytes, got ${body.length}`);
    return {
      length,
      version: 2,
      source: { address: ipv6(body.subarray(0, 16)), port: port(32) },
      destination: { address: ipv6(body.subarray(16, 32)), port: port(34) },
    };
  }
  return { length, version: 2, source: null, destination: null }; // unspecified or unix: keep the socket's
}

/**
 * Parse the header at the start of `buffer`: the header, 0 when more bytes are needed, or a
 * {@link ProxyHeaderError} when the bytes are not a valid header.
 */
export function parseProxyHeader(buffer: Uint8Array): ProxyHeader | 0 {
  if (buffer.length === 0) return 0;
  if (buffer[0] === V1_PREFIX[0]) {
    if (!matchesPrefix(buffer, V1_PREFIX)) fail('the data does not start with "PROXY "');
    return buffer.length < V1_PREFIX.length ? 0 : parseV1(buffer);
  }
  if (buffer[0] === V2_SIGNATURE[0]) {
    if (!matchesPrefix(buffer, V2_SIGNATURE)) fail("the data does not start with the version 2 signature");
    return parseV2(buffer);
  }
  fail(`the data starts with byte 0x${buffer[0].toString(16).padStart(2, "0")}, not a PROXY header`);
}

// ---- trusted addresses ------------------------------------------------------------------

/** 4 or 16 bytes of an IP literal, or null. */
function ipBytes(ip: string): Uint8Array | null {
  ip = plainIp(ip.replace(/%.*$/, ""));
  if (IPV4_TEXT.test(ip)) return new Uint8Array(ip.split(".").map(Number));
  if (!IPV6_TEXT.test(ip) || !ip.includes(":")) return null;
  let text = ip;
  let tail: number[] = [];
  const lastColon = text.lastIndexOf(":");
  if (text.indexOf(".", lastColon) >= 0) {
    const v4 = text.slice(lastColon + 1);
    if (!IPV4_TEXT.test(v4)) return null;
    const b = v4.split(".").map(Number);
    tail = [(b[0] << 8) | b[1], (b[2] << 8) | b[3]];
    text = text.slice(0, lastColon);
    if (text.endsWith(":")) text += ":"; // "::1.2.3.4" → "::" + tail
  }
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const parse = (
    s: string,
  ) => (s === "" ? [] : s.split(":").map((g) => (/^[0-9a-fA-F]{1,4}$/.test(g) ? parseInt(g, 16) : NaN)));
  const head = parse(halves[0]);
  const back = halves.length === 2 ? parse(halves[1]) : [];
  const missing = 8 - head.length - back.length - tail.length;
  if ((halves.length === 1 && missing !== 0) || missing < 0) return null;
  const groups = [...head, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...back, ...tail];
  if (groups.length !== 8 || groups.some((g) => Number.isNaN(g))) return null;
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  });
  return out;
}

/** A predicate telling whether an address is one of `trusted` (IPs and CIDR ranges). Throws a ConfigError on a bad entry. */
export function trustedMatcher(trusted: string[]): (address: string) => boolean {
  const ranges = trusted.map((entry) => {
    const [ip, bitsText] = entry.split("/");
    const bytes = ipBytes(ip);
    const bits = bitsText === undefined ? (bytes?.length ?? 0) * 8 : Number(bitsText);
    if (!bytes || !Number.isInteger(bits) || bits < 0 || bits > bytes.length * 8) {
      throw new ConfigError(
        "ERR_PROXY_PROTOCOL",
        `proxyProtocol.trusted: "${entry}" is not an IP address or CIDR range (e.g. 10.0.0.5, 10.0.0.0/8, fd00::/8)`,
      );
    }
    return { bytes, bits };
  });
  return (address: string) => {
    const bytes = ipBytes(address);
    if (!bytes) return false;
    return ranges.some((r) => {
      if (r.bytes.length !== bytes.length) return false;
      let bits = r.bits;
      for (let i = 0; bits > 0; i++, bits -= 8) {
        const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
        if ((r.bytes[i] & mask) !== (bytes[i] & mask)) return false;
      }
      return true;
    });
  };
}

// ---- connections ------------------------------------------------------------------------

/**
 * A connection whose PROXY header has been read: the client's address from the header, the
 * bytes after the header delivered first, everything else passed through to the socket.
 */
class ProxiedConn implements Conn, ConnHandler {
  readonly socket: Conn;
  readonly remoteAddress: string;
  readonly remotePort: number;
  private handler: ConnHandler | null = null;
  /** Events that arrived before `start()` or while the leftover bytes are being delivered. */
  private held: (() => void)[] | null;

  constructor(socket: Conn, header: ProxyHeader, rest: Uint8Array | null) {
    this.socket = socket;
    this.remoteAddress = header.source?.address ?? socket.remoteAddress;
    this.remotePort = header.source?.port ?? socket.remotePort;
    this.held = rest && rest.length > 0 ? [() => this.handler!.handleData(rest)] : [];
  }
  get localAddress(): string {
    return this.socket.localAddress;
  }
  get localPort(): number {
    return this.socket.localPort;
  }
  get bufferedAmount(): number {
    return this.socket.bufferedAmount;
  }
  start(handler: ConnHandler): void {
    this.handler = handler;
    // After the caller's own start-up (onConnect), as for a fresh connection.
    queueMicrotask(() => {
      const held = this.held!;
      this.held = null;
      for (const event of held) event();
    });
  }
  private deliver(event: () => void): void {
    if (this.held) this.held.push(event);
    else event();
  }
  handleData(chunk: Uint8Array): void {
    if (this.held) this.held.push(() => this.handler!.handleData(chunk));
    else this.handler!.handleData(chunk);
  }
  handleDrain(): void {
    this.deliver(() => this.handler!.handleDrain());
  }
  handleEnd(): void {
    this.deliver(() => this.handler!.handleEnd());
  }
  handleClose(error?: Error): void {
    this.deliver(() => this.handler!.handleClose(error));
  }
  write(data: Uint8Array | string): boolean {
    return this.socket.write(data);
  }
  pause(): void {
    this.socket.pause();
  }
  resume(): void {
    this.socket.resume();
  }
  end(): void {
    this.socket.end();
  }
  destroy(): void {
    this.socket.destroy();
  }
}

/** Reads the header of one connection from a trusted peer, then hands over a {@link ProxiedConn}. */
class HeaderReader implements ConnHandler {
  private readonly socket: Conn;
  private readonly onReady: (conn: Conn) => void;
  private buffer: Uint8Array | null = null;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private proxied: ProxiedConn | null = null;
  private done = false;

  constructor(socket: Conn, timeoutSeconds: number, onReady: (conn: Conn) => void) {
    this.socket = socket;
    this.onReady = onReady;
    this.timer = setTimeout(() => this.reject(`no PROXY header within ${timeoutSeconds} s`), timeoutSeconds * 1000);
  }

  handleData(chunk: Uint8Array): void {
    if (this.proxied) return this.proxied.handleData(chunk);
    if (this.done) return;
    let buffer = chunk;
    if (this.buffer) {
      buffer = new Uint8Array(this.buffer.length + chunk.length);
      buffer.set(this.buffer);
      buffer.set(chunk, this.buffer.length);
    }
    let header: ProxyHeader | 0;
    try {
      header = parseProxyHeader(buffer);
    } catch (err) {
      this.reject((err as Error).message);
      return;
    }
    if (header === 0) {
      this.buffer = buffer;
      return;
    }
    clearTimeout(this.timer);
    this.buffer = null;
    const rest = header.length < buffer.length ? buffer.slice(header.length) : null;
    this.proxied = new ProxiedConn(this.socket, header, rest);
    this.onReady(this.proxied);
  }
  handleDrain(): void {
    this.proxied?.handleDrain();
  }
  handleEnd(): void {
    if (this.proxied) this.proxied.handleEnd();
    else this.reject(null);
  }
  handleClose(error?: Error): void {
    if (this.proxied) return this.proxied.handleClose(error);
    clearTimeout(this.timer);
    this.done = true;
    this.buffer = null;
  }

  /** Drop the connection before the application ever saw it (`reason` null: the peer just left). */
  private reject(reason: string | null): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.timer);
    this.buffer = null;
    if (reason) {
      log(`closing connection from ${plainIp(this.socket.remoteAddress)}:${this.socket.remotePort}: ${reason}`);
    }
    this.socket.destroy();
  }
}

/**
 * The connection handler of a Worker with `proxyProtocol`: connections from trusted
 * addresses reach `accept` once their header is read, the others at once.
 */
export function proxyProtocolAcceptor(
  options: ProxyProtocolOptions,
  accept: (conn: Conn) => void,
): (conn: Conn) => void {
  const isTrusted = trustedMatcher(options.trusted);
  const timeout = options.timeout ?? 5;
  return (socket: Conn) => {
    if (!isTrusted(socket.remoteAddress)) return accept(socket);
    socket.start(new HeaderReader(socket, timeout, accept));
  };
}
