/**
 * GatewayWorker's internal protocol (`GatewayProtocol`), spoken between Gateways,
 * BusinessWorkers and push clients on the Gateway's inner port. Every package starts with a
 * 28-byte big-endian header:
 *
 * | Offset | Size | Field                                                            |
 * |-------:|-----:|------------------------------------------------------------------|
 * |      0 |    4 | `pack_len` = 28 + ext_len + body_len                             |
 * |      4 |    1 | `cmd` (see {@link CMD})                                          |
 * |      5 |    4 | `local_ip`: the gateway's lanIp as uint32                        |
 * |      9 |    2 | `local_port`: the gateway's inner port                           |
 * |     11 |    4 | `client_ip` as uint32                                            |
 * |     15 |    2 | `client_port`                                                    |
 * |     17 |    4 | `connection_id`: the client's id in that gateway process         |
 * |     21 |    1 | `flag`: 0x01 body is a plain string, 0x02 send it raw, 0x04 binary |
 * |     22 |    2 | `gateway_port`: the gateway's public (client-facing) port        |
 * |     24 |    4 | `ext_len`                                                        |
 * |     28 |  ext | `ext_data`: session, uid, group or JSON, depending on `cmd`      |
 * |      … | rest | `body`: the string as is (flag 0x01), else PHP-serialized        |
 *
 * Answers to queries are not packages of this protocol: `uint32 length + serialize(result)`
 * ({@link encodeReply}, {@link ReplyProtocol}).
 *
 * @module
 */
import { asBytes, utf8Decode, utf8Encode } from "../core/bytes.ts";
import { log } from "../core/log.ts";
import { NO_MESSAGE, type Protocol } from "../core/protocol.ts";
import { serializePhp, unserializePhp } from "./php_serialize.ts";

/** Length of the fixed header. */
export const HEAD_LEN = 28;
/** `flag` bit: the body is a plain (scalar) string, not PHP-serialized. */
export const FLAG_BODY_IS_SCALAR = 0x01;
/** `flag` bit: the gateway sends the body to the client without the client protocol's encode. */
export const FLAG_NOT_CALL_ENCODE = 0x02;

/**
 * `flag` bit (workerman-ts; GatewayWorker has no such bit and its peers ignore it): the plain
 * body is a binary message — a WebSocket binary frame from a client, or `Uint8Array` data to
 * send to one — so it reaches the other side as bytes even when it happens to be valid UTF-8.
 * Without it a plain body is a string when it is valid UTF-8 (what a PHP peer sends).
 */
export const FLAG_BODY_IS_BINARY = 0x04;

/** Command codes, as GatewayWorker numbers them. */
export const CMD = {
  ON_CONNECT: 1,
  ON_MESSAGE: 3,
  ON_CLOSE: 4,
  SEND_TO_ONE: 5,
  SEND_TO_ALL: 6,
  KICK: 7,
  DESTROY: 8,
  UPDATE_SESSION: 9,
  GET_ALL_CLIENT_SESSIONS: 10,
  IS_ONLINE: 11,
  BIND_UID: 12,
  UNBIND_UID: 13,
  SEND_TO_UID: 14,
  GET_CLIENT_ID_BY_UID: 15,
  BATCH_GET_CLIENT_ID_BY_UID: 16,
  JOIN_GROUP: 20,
  LEAVE_GROUP: 21,
  SEND_TO_GROUP: 22,
  GET_CLIENT_SESSIONS_BY_GROUP: 23,
  GET_CLIENT_COUNT_BY_GROUP: 24,
  SELECT: 25,
  GET_GROUP_ID_LIST: 26,
  UNGROUP: 27,
  BATCH_GET_CLIENT_COUNT_BY_GROUP: 28,
  WORKER_CONNECT: 200,
  PING: 201,
  GATEWAY_CLIENT_CONNECT: 202,
  GET_SESSION_BY_CLIENT_ID: 203,
  SET_SESSION: 204,
  ON_WEBSOCKET_CONNECT: 205,
} as const;

/** One decoded package. `body` is a `Bytes` (flag 0x01) or the unserialized value. */
export interface GatewayPackage {
  /** The command (see {@link CMD}). */
  cmd: number;
  /** The gateway's inner IP, as a number. */
  localIp: number;
  /** The gateway's inner port. */
  localPort: number;
  /** The client's IP, as a number. */
  clientIp: number;
  /** The client's port. */
  clientPort: number;
  /** The client's connection id in its gateway process. */
  connectionId: number;
  /** Flag bits: 0x01 the body is a plain string, 0x02 send it raw, 0x04 binary. */
  flag: number;
  /** The gateway's client-facing port. */
  gatewayPort: number;
  /** Extra data: a session, a group, a JSON list of connections. */
  extData: string;
  /** The message or the command's argument. */
  body: unknown;
}

/** What {@link encodePackage} needs: `cmd`; every other field defaults to 0 / empty. */
export type PackageFields = Partial<GatewayPackage> & { cmd: number };

/** PHP's `serialize()` of a value (objects become arrays, `Map`s keep integer keys; see php_serialize.ts). */
export function phpSerialize(value: unknown): string {
  return serializePhp(value);
}

/** PHP's `unserialize()`: PHP arrays become JS arrays (keys 0..n-1) or plain objects. */
export function phpUnserialize(text: string): unknown {
  return unserializePhp(text);
}

/** The bytes of a body, and whether it goes as a plain string (PHP's `is_scalar`). */
function bodyBytes(body: unknown): { bytes: Uint8Array; scalar: boolean } {
  if (body instanceof Uint8Array) return { bytes: body, scalar: true };
  if (typeof body === "string") return { bytes: utf8Encode(body), scalar: true };
  if (typeof body === "number" || typeof body === "bigint") return { bytes: utf8Encode(String(body)), scalar: true };
  if (typeof body === "boolean") return { bytes: utf8Encode(body ? "1" : ""), scalar: true };
  return { bytes: utf8Encode(phpSerialize(body ?? null)), scalar: false };
}

/**
 * Encode one package. A string, bytes, number or boolean body (or none) sets flag 0x01 (bytes
 * also 0x04); anything else, null included, is serialized.
 */
export function encodePackage(p: PackageFields): Uint8Array {
  const body = "body" in p ? p.body : "";
  const { bytes, scalar } = bodyBytes(body);
  const binary = body instanceof Uint8Array ? FLAG_BODY_IS_BINARY : 0;
  const ext = utf8Encode(p.extData ?? "");
  const out = new Uint8Array(HEAD_LEN + ext.length + bytes.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, out.length);
  view.setUint8(4, p.cmd);
  view.setUint32(5, p.localIp ?? 0);
  view.setUint16(9, p.localPort ?? 0);
  view.setUint32(11, p.clientIp ?? 0);
  view.setUint16(15, p.clientPort ?? 0);
  view.setUint32(17, p.connectionId ?? 0);
  view.setUint8(21, (p.flag ?? 0) | (scalar ? FLAG_BODY_IS_SCALAR : 0) | binary);
  view.setUint16(22, p.gatewayPort ?? 0);
  view.setUint32(24, ext.length);
  out.set(ext, HEAD_LEN);
  out.set(bytes, HEAD_LEN + ext.length);
  return out;
}

/** Decode one whole package (`buffer` holds exactly `pack_len` bytes). */
export function decodePackage(buffer: Uint8Array): GatewayPackage {
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  const extLen = view.getUint32(24);
  if (HEAD_LEN + extLen > buffer.length) {
    throw new RangeError(`GatewayProtocol: ext_len ${extLen} exceeds the package length ${buffer.length}`);
  }
  const flag = view.getUint8(21);
  const raw = buffer.slice(HEAD_LEN + extLen);
  return {
    cmd: view.getUint8(4),
    localIp: view.getUint32(5),
    localPort: view.getUint16(9),
    clientIp: view.getUint32(11),
    clientPort: view.getUint16(15),
    connectionId: view.getUint32(17),
    flag,
    gatewayPort: view.getUint16(22),
    extData: utf8Decode(buffer.subarray(HEAD_LEN, HEAD_LEN + extLen)),
    body: flag & FLAG_BODY_IS_SCALAR ? asBytes(raw) : raw.length === 0 ? null : unserializePhp(raw),
  };
}

const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * The message a package carries: bytes when `flag` has {@link FLAG_BODY_IS_BINARY}, else a plain
 * body as a string when it is valid UTF-8 (as bytes when not: a PHP peer's binary data).
 */
export function bodyMessage(body: unknown, flag: number): string | Uint8Array {
  if (typeof body === "string") return body;
  if (body instanceof Uint8Array) {
    if (flag & FLAG_BODY_IS_BINARY) return body;
    try {
      return strict.decode(body);
    } catch {
      return body;
    }
  }
  return body === null || body === undefined ? "" : String(body);
}

/** The body of a package as text (JSON bodies of the auth commands). */
export function bodyText(body: unknown): string {
  return body instanceof Uint8Array ? utf8Decode(body) : String(body ?? "");
}

/** `GatewayProtocol` for a `TcpConnection`: input = `pack_len` once 28 bytes are there. */
export const GatewayProtocol: Protocol = {
  input(buffer) {
    if (buffer.length < HEAD_LEN) return 0;
    const length = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength).getUint32(0);
    return length < HEAD_LEN ? -1 : length; // shorter than its own header: not this protocol
  },
  decode(buffer, conn) {
    try {
      return decodePackage(buffer);
    } catch (err) {
      // An ext_len past the package or a body that is not PHP-serialized: bad input, so only
      // this peer is cut off, with one log line (no stack: nothing in the code went wrong).
      log(
        `Error package. ${
          err instanceof Error ? err.message : String(err)
        }, closing connection ${conn.id} from ${conn.getRemoteAddress()}`,
      );
      conn.destroy();
      return NO_MESSAGE;
    }
  },
  encode(data) {
    return data instanceof Uint8Array ? data : encodePackage(data as PackageFields);
  },
};

/** A query answer: `uint32 BE length` then `serialize(value)`. */
export function encodeReply(value: unknown): Uint8Array {
  return encodeRawReply(phpSerialize(value));
}

/** A query answer whose payload is already serialized (a stored session string). */
export function encodeRawReply(serialized: string): Uint8Array {
  const payload = utf8Encode(serialized);
  const out = new Uint8Array(4 + payload.length);
  new DataView(out.buffer).setUint32(0, payload.length);
  out.set(payload, 4);
  return out;
}

/** Frames query answers on the asking side; `decode` gives the unserialized value. */
export const ReplyProtocol: Protocol = {
  input(buffer) {
    if (buffer.length < 4) return 0;
    return 4 + new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength).getUint32(0);
  },
  decode(buffer) {
    return unserializePhp(buffer.subarray(4));
  },
  encode(data) {
    return data as Uint8Array;
  },
};

/** What a gateway sends a BusinessWorker on its own: client events and pings. */
const EVENT_CMDS = new Set<number>([CMD.ON_CONNECT, CMD.ON_MESSAGE, CMD.ON_CLOSE, CMD.PING, CMD.ON_WEBSOCKET_CONNECT]);

/**
 * A BusinessWorker that sends a query on its connection to a gateway gets the answer on it,
 * between the gateway's event packages. What is at the front of `buffer`: the answer's whole
 * length, 0 when more bytes are needed to tell, -1 when it is a package. An answer's first 4
 * bytes count what follows them (a package's count itself and its 28-byte header, so never
 * less than 28) and its 5th byte is the first character of `serialize()` output, a letter,
 * where a package has its `cmd`, an event's.
 */
export function answerLength(buffer: Uint8Array): number {
  if (buffer.length < 4) return 0;
  const length = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength).getUint32(0);
  if (length < HEAD_LEN) return 4 + length;
  if (buffer.length < 5) return 0;
  return EVENT_CMDS.has(buffer[4]) ? -1 : 4 + length;
}
