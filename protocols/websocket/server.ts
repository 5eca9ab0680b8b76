/**
 * `websocket://`: the RFC 6455 server protocol as a pure byte state machine.
 *
 * States per connection: `handshake` (reading the HTTP request head) → `open` (reading
 * frames). `input` validates a frame header as soon as it is complete and fails the
 * connection with a close frame on the first violation; `decode` unmasks, reassembles
 * fragments and answers control frames. Limits (each a documented default):
 *
 * | limit              | default        | on violation                        |
 * | ------------------ | -------------- | ----------------------------------- |
 * | request head bytes | `maxHeaderSize` 16 KiB | 400 and close                |
 * | message payload    | `maxPayload` 10 MiB (also ≤ a smaller `conn.maxPackageSize` per frame) | close 1009 |
 * | control payload    | 125 bytes      | close 1002                          |
 *
 * permessage-deflate (deflate.ts) is negotiated when offered unless turned off; a compressed
 * message inflating past `maxPayload` closes with 1009, corrupt compressed data with 1007.
 *
 * Other failures: unmasked frame, RSV bits (RSV1 without deflate), unknown opcode, fragmented control frame, stray
 * continuation, bad close code → 1002; invalid UTF-8 in text or close reason → 1007.
 *
 * @module
 */
import { asBytes, concatAll, utf8Decode } from "../../core/bytes.ts";
import { log, reportError } from "../../core/log.ts";
import {
  type Callback,
  NO_MESSAGE,
  type Protocol,
  type ProtocolConnection as CoreConnection,
} from "../../core/protocol.ts";
import type { ConnectionData, TcpConnection } from "../../core/tcp_connection.ts";
import { REJECTIONS } from "../http/errors.ts";
import { findHeadEnd, HeadInfo, type HeadLimits, nameIs, parseHead } from "../http/parser.ts";
import { Request } from "../http/request.ts";
import { checkHeader } from "../http/response.ts";
import { isWebSocketKey, webSocketAccept } from "./sha1.ts";
import { acceptOffer, PerMessageDeflate } from "./deflate.ts";
import {
  BINARY_TYPE_ARRAYBUFFER,
  BINARY_TYPE_BLOB,
  buildFrame,
  closeFrame,
  isValidCloseCode,
  OP_BINARY,
  OP_CLOSE,
  OP_CONT,
  OP_PING,
  OP_PONG,
  OP_TEXT,
  unmask,
} from "./frame.ts";

/** What a WebSocket connection may set to shape its handshake and frames (both sides). */
export interface WebSocketSettings {
  /** {@link BINARY_TYPE_BLOB} (every frame sent is text) or {@link BINARY_TYPE_ARRAYBUFFER} (binary); unset: by the data's type. */
  websocketType?: string;
  /** Extra headers of the handshake response (or, on a client, request): `["Name: value"]`, `"Name: value\r\n..."` or `{ Name: "value" }`. */
  headers?: readonly string[] | string | Record<string, string> | null;
  /** The `Sec-WebSocket-Protocol` to answer with (chosen in `onWebSocketConnect`). */
  websocketProtocol?: string;
  /** false: no permessage-deflate on this connection (set in `onWebSocketConnect`). */
  websocketDeflate?: boolean;
  /** Messages shorter than this many bytes go uncompressed (default `Websocket.options.deflateThreshold`). */
  websocketDeflateThreshold?: number;
  /** Largest message accepted (default `Websocket.options.maxPayload`). */
  websocketMaxPayload?: number;
}

/**
 * A connection of a `websocket://` Worker: a string per text message and bytes per binary
 * message in, a string (text frame) or bytes (binary frame) out, plus the WebSocket settings
 * and callbacks.
 */
export interface WebSocketConnection
  extends TcpConnection<string | Uint8Array, string | Uint8Array>, WebSocketSettings, ConnectionData {
  /** `(conn, request)` before the 101 is sent (the Worker's when unset); `conn.close()` inside rejects. */
  onWebSocketConnect?: Callback<[conn: WebSocketConnection, request: Request]> | null;
  /** `(conn, code, reason)` on a close frame; when unset the close is echoed. */
  onWebSocketClose?: Callback<[conn: WebSocketConnection, code: number, reason: string]> | null;
  /** `(conn, payload)` on a ping; when unset a pong is sent automatically. */
  onWebSocketPing?: Callback<[conn: WebSocketConnection, payload: Uint8Array]> | null;
  /** `(conn, payload)` on a pong. */
  onWebSocketPong?: Callback<[conn: WebSocketConnection, payload: Uint8Array]> | null;
}

/** What this protocol uses of a connection: the core's, plus the WebSocket settings. */
type ProtocolConnection = CoreConnection & WebSocketSettings & {
  readonly worker?: { readonly name: string; readonly websocketDeflate?: boolean } | null;
};

/** The connection type the `websocket://` protocol's hooks take. */
export type WebSocketProtocolConnection = ProtocolConnection;

const STATE = Symbol("websocket state");
const fatalUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const textEncoder = new TextEncoder();

/** Per-connection WebSocket state. */
export interface WsState {
  open: boolean;
  /** This side is the client: it masks what it sends and expects unmasked frames. */
  client: boolean;
  /** Frames sent before the handshake completed, and their bytes (held back: they count as queued). */
  queue: Uint8Array[] | null;
  queueLength: number;
  /** Opcode of the fragmented message being received, -1 when none. */
  fragOpcode: number;
  /** Payloads of the fragmented message being received (null when none: idle connections hold no array). */
  fragments: Uint8Array[] | null;
  fragLength: number;
  /** The fragmented message being received is compressed (RSV1 on its first frame). */
  fragCompressed: boolean;
  /** permessage-deflate, when negotiated. */
  deflate: PerMessageDeflate | null;
}

type WsConn = ProtocolConnection & { [STATE]?: WsState };

/** A fresh state: not open, holding nothing. */
function newState(open: boolean): WsState {
  return {
    open,
    client: false,
    queue: null,
    queueLength: 0,
    fragOpcode: -1,
    fragments: null,
    fragLength: 0,
    fragCompressed: false,
    deflate: null,
  };
}

// The states of connections that hold nothing of their own, shared so that an idle connection
// costs no state object: before the handshake (or once closed), and open on the server side
// without permessage-deflate and between fragmented messages. Never written to: `wsState`
// gives a connection its own copy first.
const INITIAL: Readonly<WsState> = Object.freeze(newState(false));
const OPEN: Readonly<WsState> = Object.freeze(newState(true));

/** The state of `conn` to read (possibly shared: never write to it). */
function peekState(conn: ProtocolConnection): Readonly<WsState> {
  return (conn as WsConn)[STATE] ?? INITIAL;
}

/** The state of `conn` to change: its own, made now if it had none or a shared one. */
export function wsState(conn: ProtocolConnection): WsState {
  const c = conn as WsConn;
  const state = c[STATE];
  if (state !== undefined && state !== INITIAL && state !== OPEN) return state;
  return (c[STATE] = newState(state === OPEN));
}

/** Limits of the server protocol (change them on `Websocket.options`). */
export interface WebsocketOptions {
  /** Largest message (after reassembly) in bytes; above it the connection is closed with 1009. Default 10 MiB. */
  maxPayload: number;
  /** Largest request head in bytes; above it the answer is 400. Default 16 KiB. */
  maxHeaderSize: number;
  /**
   * Negotiate permessage-deflate when the peer offers it (server) or offer it (client).
   * Default true; `worker.websocketDeflate = false` or `conn.websocketDeflate = false` turns it
   * off for one worker or connection (set it in `onWebSocketConnect` on the server, before
   * `connect()` on a client).
   */
  perMessageDeflate: boolean;
  /** Messages shorter than this many bytes go uncompressed (`conn.websocketDeflateThreshold` per connection). Default 1024. */
  deflateThreshold: number;
  /** The server resets its compressor per message even when the client allows context takeover (less memory, less compression). Default false. */
  serverNoContextTakeover: boolean;
}

export const options: WebsocketOptions = {
  maxPayload: 10 * 1024 * 1024,
  maxHeaderSize: 16384,
  perMessageDeflate: true,
  deflateThreshold: 1024,
  serverNoContextTakeover: false,
};

/** permessage-deflate is wanted on `conn` (connection setting, then worker, then `options`). */
export function deflateWanted(conn: ProtocolConnection): boolean {
  return (conn.websocketDeflate ?? conn.worker?.websocketDeflate ?? options.perMessageDeflate) !== false;
}

/**
 * The connection is open: a frame of exactly `maxPayload` bytes must fit in one package, so a
 * `maxPackageSize` not below `maxPayload` (the default 10 MiB of both) gets room for the
 * longest frame header. A smaller `maxPackageSize` set by the user stays the per-frame limit.
 */
export function openState(conn: ProtocolConnection): WsState {
  const state = wsState(conn);
  state.open = true;
  setMaxPackageSize(conn);
  return state;
}

function setMaxPackageSize(conn: ProtocolConnection): void {
  const maxPayload = conn.websocketMaxPayload ?? options.maxPayload;
  if (conn.maxPackageSize >= maxPayload) conn.maxPackageSize = Math.max(conn.maxPackageSize, maxPayload + 14);
}

/** Release what a closed connection holds (its zlib streams). */
export function releaseState(conn: ProtocolConnection): void {
  const state = (conn as WsConn)[STATE];
  if (state === undefined || state === INITIAL) return;
  if (state === OPEN) {
    (conn as WsConn)[STATE] = INITIAL;
    return;
  }
  state.open = false;
  state.queue = null;
  state.queueLength = 0;
  state.deflate?.close();
  state.deflate = null;
}

function callback(conn: ProtocolConnection, name: string): ((...args: unknown[]) => unknown) | null {
  type Named = Record<string, ((...args: unknown[]) => unknown) | null | undefined>;
  return (conn as unknown as Named)[name] ?? (conn.worker as unknown as Named | null | undefined)?.[name] ?? null;
}

function call(
  conn: ProtocolConnection,
  name: string,
  fn: (...args: unknown[]) => unknown,
  a?: unknown,
  b?: unknown,
): void {
  const where = `${name} (connection ${conn.id})`;
  try {
    const r = fn(conn, a, b) as Promise<unknown> | undefined;
    if (r && typeof r.then === "function") r.then(undefined, (err) => reportError(where, err));
  } catch (err) {
    reportError(where, err);
  }
}

/** Fail the connection: send a close frame with `code`, then close (RFC 6455 §7.1.7). */
export function fail(conn: ProtocolConnection, code: number, reason: string): number {
  conn.close(closeFrame(code, reason, maskFor(conn)), true);
  return 0;
}

/**
 * Every way a handshake is refused, with a stable code: the status and what was wrong, as
 * the refusal's body says it (HTTP's own head errors keep their `ERR_HTTP_*` code and meaning).
 */
export const HANDSHAKE_REJECTIONS: Record<string, readonly [status: string, message: string]> = {
  ERR_WS_METHOD: ["400 Bad Request", "a WebSocket handshake is a GET request"],
  ERR_WS_HEAD: ["400 Bad Request", "the request head is malformed"],
  ERR_WS_HEAD_TOO_LARGE: ["400 Bad Request", "the request head exceeds maxHeaderSize"],
  ERR_WS_UPGRADE: ["400 Bad Request", "missing Upgrade: websocket"],
  ERR_WS_CONNECTION: ["400 Bad Request", "missing Connection: Upgrade"],
  ERR_WS_MISSING_KEY: ["400 Bad Request", "missing Sec-WebSocket-Key"],
  ERR_WS_KEY: ["400 Bad Request", "Sec-WebSocket-Key is not 16 bytes in base64"],
  ERR_WS_VERSION: ["426 Upgrade Required", "only Sec-WebSocket-Version 13 is served"],
  ERR_WS_RESPONSE_HEADER: ["500 Internal Server Error", "onWebSocketConnect set a response header that is not valid"],
};

/**
 * Refuse the handshake: the status, a plain-text body naming the reason and its code
 * (`Bad Request: missing Sec-WebSocket-Key (ERR_WS_MISSING_KEY)`), a log line, and close.
 */
function reject(conn: ProtocolConnection, code: string, extra = ""): number {
  const [status, message] = HANDSHAKE_REJECTIONS[code] ?? ["400 Bad Request", REJECTIONS[code]?.[1] ?? "bad request"];
  const body = `${status.slice(4)}: ${message} (${code})\n`;
  log(
    `WebSocket handshake refused with ${
      status.slice(0, 3)
    } ${code} (${message}), connection ${conn.id} from ${conn.getRemoteAddress?.()}`,
  );
  conn.close(
    `HTTP/1.1 ${status}\r\n${extra}Content-Type: text/plain;charset=utf-8\r\nContent-Length: ${body.length}\r\n` +
      `Connection: close\r\nServer: workerman\r\n\r\n${body}`,
    true,
  );
  return 0;
}

// Client masking keys (RFC 6455 §5.3): fresh random bytes, drawn from a pool refilled 1 KiB at a time.
const maskPool = new Uint8Array(1024);
let maskAt = maskPool.length;

/** A fresh random masking key when `conn` is a client, else null (servers never mask). */
export function maskFor(conn: ProtocolConnection): Uint8Array | null {
  if (!peekState(conn).client) return null;
  if (maskAt === maskPool.length) {
    crypto.getRandomValues(maskPool);
    maskAt = 0;
  }
  maskAt += 4;
  return maskPool.slice(maskAt - 4, maskAt);
}

/**
 * Validate the frame header at the start of `buffer`: its total length, 0 when incomplete
 * (or after failing the connection). A server requires masked frames, a client unmasked ones.
 */
export function frameInput(buffer: Uint8Array, conn: ProtocolConnection): number {
  const state = peekState(conn);
  const masked = !state.client;
  if (buffer.length < 2) return 0;
  const b0 = buffer[0];
  const b1 = buffer[1];
  const opcode = b0 & 0x0f;
  const fin = (b0 & 0x80) !== 0;
  if ((b0 & 0x70) !== 0) {
    // RSV1 marks the first frame of a compressed message, and only that, when deflate is on
    if ((b0 & 0x70) !== 0x40 || state.deflate === null) return fail(conn, 1002, "reserved bits set");
    if (opcode !== OP_TEXT && opcode !== OP_BINARY) {
      return fail(conn, 1002, "RSV1 set on a continuation or control frame");
    }
  }
  if (opcode >= 8) {
    if (opcode > OP_PONG) return fail(conn, 1002, `invalid opcode ${opcode}`);
    if (!fin) return fail(conn, 1002, "fragmented control frame");
    if ((b1 & 0x7f) > 125) return fail(conn, 1002, "control frame payload over 125 bytes");
  } else if (opcode === OP_CONT) {
    if (state.fragOpcode === -1) return fail(conn, 1002, "continuation frame without a message");
  } else if (opcode === OP_TEXT || opcode === OP_BINARY) {
    if (state.fragOpcode !== -1) return fail(conn, 1002, "new message inside a fragmented message");
  } else {
    return fail(conn, 1002, `invalid opcode ${opcode}`);
  }
  if (((b1 & 0x80) !== 0) !== masked) return fail(conn, 1002, masked ? "frame not masked" : "frame masked");
  let length = b1 & 0x7f;
  let header = 2;
  if (length === 126) {
    if (buffer.length < 4) return 0;
    length = (buffer[2] << 8) | buffer[3];
    header = 4;
  } else if (length === 127) {
    if (buffer.length < 10) return 0;
    const high = ((buffer[2] << 24) | (buffer[3] << 16) | (buffer[4] << 8) | buffer[5]) >>> 0;
    const low = ((buffer[6] << 24) | (buffer[7] << 16) | (buffer[8] << 8) | buffer[9]) >>> 0;
    if (high >= 0x200000) return fail(conn, 1009, "payload length over 2^53");
    length = high * 0x100000000 + low;
    header = 10;
  }
  if (masked) header += 4;
  const maxPayload = conn.websocketMaxPayload ?? options.maxPayload;
  const message = opcode >= 8 ? length : state.fragLength + length; // control frames stand alone
  if (message > maxPayload || header + length > conn.maxPackageSize) {
    return fail(
      conn,
      1009,
      `payload length ${message} exceeds maxPayload ${Math.min(maxPayload, conn.maxPackageSize - header)}`,
    );
  }
  return header + length;
}

/**
 * Decode a validated frame: the message it completes (string or bytes), or NO_MESSAGE for a
 * control frame, a fragment, or after failing the connection.
 */
export function frameDecode(buffer: Uint8Array, conn: ProtocolConnection): string | Uint8Array | typeof NO_MESSAGE {
  const b0 = buffer[0];
  const b1 = buffer[1];
  const opcode = b0 & 0x0f;
  let at = 2;
  const len7 = b1 & 0x7f;
  if (len7 === 126) at = 4;
  else if (len7 === 127) at = 10;
  let payload: Uint8Array;
  if (b1 & 0x80) {
    const keyAt = at;
    at += 4;
    // the payload starts at the same offset mod 4 as its source, so unmask runs on 32-bit words
    const length = buffer.length - at;
    const pad = length < 512 ? 0 : (buffer.byteOffset + at) & 3;
    payload = pad === 0 ? new Uint8Array(length) : new Uint8Array(new ArrayBuffer(length + pad), pad, length);
    unmask(buffer, at, payload.length, buffer, keyAt, payload, 0);
  } else {
    payload = buffer.slice(at);
  }
  if (opcode >= 8) {
    if (opcode === OP_CLOSE) {
      let code = 1005;
      let reason = "";
      if (payload.length === 1) return fail(conn, 1002, "close frame with a 1-byte payload"), NO_MESSAGE;
      if (payload.length >= 2) {
        code = (payload[0] << 8) | payload[1];
        if (!isValidCloseCode(code)) return fail(conn, 1002, `invalid close code ${code}`), NO_MESSAGE;
        try {
          reason = fatalUtf8.decode(payload.subarray(2));
        } catch {
          return fail(conn, 1007, "close reason is not valid UTF-8"), NO_MESSAGE;
        }
      }
      const onClose = callback(conn, "onWebSocketClose");
      if (onClose) call(conn, "onWebSocketClose", onClose, code, reason);
      else {conn.close(
          code === 1005 ? buildFrame(0x88, new Uint8Array(0), maskFor(conn)) : closeFrame(code, "", maskFor(conn)),
          true,
        );}
      return NO_MESSAGE;
    }
    const data = asBytes(payload);
    if (opcode === OP_PING) {
      const onPing = callback(conn, "onWebSocketPing");
      if (onPing) call(conn, "onWebSocketPing", onPing, data);
      else conn.send(buildFrame(0x8a, payload, maskFor(conn)), true);
    } else {
      const onPong = callback(conn, "onWebSocketPong");
      if (onPong) call(conn, "onWebSocketPong", onPong, data);
    }
    return NO_MESSAGE;
  }
  const fin = (b0 & 0x80) !== 0;
  let kind = opcode;
  let compressed = (b0 & 0x40) !== 0;
  if (peekState(conn).fragOpcode !== -1 || !fin) {
    const state = wsState(conn);
    if (state.fragOpcode === -1) {
      state.fragOpcode = opcode;
      state.fragCompressed = compressed;
    }
    (state.fragments ??= []).push(payload);
    state.fragLength += payload.length;
    if (!fin) return NO_MESSAGE;
    kind = state.fragOpcode;
    compressed = state.fragCompressed;
    const parts = state.fragments!;
    state.fragOpcode = -1;
    state.fragments = null;
    state.fragLength = 0;
    if (compressed) return inflateMessage(conn, kind, parts);
    payload = joinParts(parts);
  } else if (compressed) {
    return inflateMessage(conn, kind, [payload]);
  }
  return message(conn, kind, payload);
}

/** Frames sent before the handshake, joined (null when none); the queue is emptied. */
export function takeQueue(state: WsState): Uint8Array | null {
  const queue = state.queue;
  state.queue = null;
  state.queueLength = 0;
  return queue && joinParts(queue);
}

/** Hold back a frame sent before the handshake completed. */
export function holdFrame(state: WsState, frame: Uint8Array): "" {
  (state.queue ??= []).push(frame);
  state.queueLength += frame.length;
  return "";
}

/** `Protocol.heldBytes`: frames held back until the handshake completes. */
export function heldBytes(conn: ProtocolConnection): number {
  return peekState(conn).queueLength;
}

/** All `parts` in one array. */
export function joinParts(parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  return concatAll(parts, length);
}

/** Inflate a compressed message: over `maxPayload` closes with 1009, corrupt data with 1007. */
function inflateMessage(
  conn: ProtocolConnection,
  kind: number,
  parts: Uint8Array[],
): string | Uint8Array | typeof NO_MESSAGE {
  const maxPayload = conn.websocketMaxPayload ?? options.maxPayload;
  let payload: Uint8Array;
  try {
    payload = peekState(conn).deflate!.decompress(parts, maxPayload);
  } catch (err) {
    if (err instanceof RangeError) {
      return fail(conn, 1009, `inflated message exceeds maxPayload ${maxPayload}`), NO_MESSAGE;
    }
    return fail(conn, 1007, `invalid compressed data: ${(err as Error).message}`), NO_MESSAGE;
  }
  return message(conn, kind, payload);
}

/** The message a complete payload carries: a string for text (1007 when not UTF-8), else bytes. */
function message(conn: ProtocolConnection, kind: number, payload: Uint8Array): string | Uint8Array | typeof NO_MESSAGE {
  if (kind === OP_TEXT) {
    try {
      return fatalUtf8.decode(payload);
    } catch {
      return fail(conn, 1007, "text message is not valid UTF-8"), NO_MESSAGE;
    }
  }
  return asBytes(payload);
}

/** The frame `data` goes out as (opcode from `conn.websocketType` when set, else by type). */
export function frameEncode(data: unknown, conn: ProtocolConnection): Uint8Array {
  let first: number;
  const type = conn.websocketType;
  if (typeof data === "string") {
    first = type === BINARY_TYPE_ARRAYBUFFER ? 0x82 : 0x81;
  } else if (data instanceof Uint8Array) {
    first = type === BINARY_TYPE_BLOB ? 0x81 : 0x82;
  } else if (typeof data === "number" || typeof data === "boolean" || typeof data === "bigint") {
    data = String(data);
    first = type === BINARY_TYPE_ARRAYBUFFER ? 0x82 : 0x81;
  } else {
    throw new TypeError(
      `You can't send(${data === null ? "null" : typeof data}) to client, you need to convert it to a string.`,
    );
  }
  const mask = maskFor(conn);
  const deflate = peekState(conn).deflate;
  if (deflate === null && mask === null && typeof data === "string" && data.length <= SHARED_MAX) {
    return sharedTextFrame(first, data);
  }
  if (deflate !== null) {
    const threshold = conn.websocketDeflateThreshold ?? options.deflateThreshold;
    const bytes = typeof data === "string"
      ? (data.length * 3 < threshold ? null : textEncoder.encode(data))
      : data as Uint8Array;
    if (bytes !== null && bytes.length >= threshold) return buildFrame(first | 0x40, deflate.compress(bytes), mask);
  }
  return buildFrame(first, data as string | Uint8Array, mask);
}

// The last unmasked, uncompressed text frame built: a broadcast (one string sent to every
// connection in a loop) encodes it once. Strings are immutable, so the cache cannot go stale;
// bytes are never cached (the caller may refill the same array). Frames are never written into.
// Strings up to 64 Ki characters, so the cache never keeps a large message alive.
const SHARED_MAX = 65536;
let lastText: string | null = null;
let lastFirst = 0;
let lastFrame: Uint8Array = new Uint8Array(0);

function sharedTextFrame(first: number, data: string): Uint8Array {
  if (data !== lastText || first !== lastFirst) {
    lastFrame = buildFrame(first, data);
    lastText = data;
    lastFirst = first;
  }
  return lastFrame;
}

/** The request headers a handshake reads, each as `Request.header()` gives it; null when absent. */
interface HandshakeHeaders {
  upgrade: string | null;
  connection: string | null;
  key: string | null;
  version: string | null;
  extensions: string | null;
}

/**
 * Read the handshake's headers from a head `parseHead` accepted, without the `Request` and its
 * map of every header: an idle connection's memory depends on what its handshake left to collect.
 * Names are tokens (ASCII), so comparing their bytes without case is what lower-casing does.
 */
function handshakeHeaders(buf: Uint8Array, info: HeadInfo): HandshakeHeaders {
  const h: HandshakeHeaders = { upgrade: null, connection: null, key: null, version: null, extensions: null };
  const end = info.end - 2; // the empty line
  let line = buf.indexOf(10, info.start) + 1;
  while (line < end) {
    const eol = buf.indexOf(13, line); // a value holds no CR
    const colon = buf.indexOf(58, line); // a name holds no colon
    for (let i = 0; i < WANTED.length; i++) {
      const [name, field] = WANTED[i];
      if (colon - line === name.length && nameIs(buf, line, name)) {
        h[field] = joinValue(h[field], buf, colon, eol);
        break;
      }
    }
    line = eol + 2;
  }
  return h;
}

/** The handshake headers by their lower-case name, and where each goes. */
const WANTED: readonly (readonly [name: string, field: keyof HandshakeHeaders])[] = [
  ["upgrade", "upgrade"],
  ["connection", "connection"],
  ["sec-websocket-key", "key"],
  ["sec-websocket-version", "version"],
  ["sec-websocket-extensions", "extensions"],
];

/** A header's value (after the colon, trimmed), appended to an earlier one of the same name as `Request` does. */
function joinValue(earlier: string | null, buf: Uint8Array, colon: number, eol: number): string {
  const value = utf8Decode(buf.subarray(colon + 1, eol)).trim();
  return earlier === null ? value : `${earlier}, ${value}`;
}

/** `token` (lower-case) is one of the comma-separated tokens of a header value, ignoring case. */
function hasToken(value: string | null, token: string): boolean {
  const tokens = (value ?? "").toLowerCase().split(",");
  for (let i = 0; i < tokens.length; i++) if (tokens[i].trim() === token) return true;
  return false;
}

/** The head being parsed: one for all, as parsing is synchronous and `Request` copies what it keeps. */
const headInfo = new HeadInfo();
/** The handshake's head as a whole is bounded by `maxHeaderSize` before it is parsed. */
const HANDSHAKE_LIMITS: HeadLimits = { maxHeaderCount: 100, maxTargetSize: Infinity };

/** No response headers added by the application. */
const NO_HEADERS: readonly string[] = Object.freeze([]);

function handshake(buffer: Uint8Array, conn: ProtocolConnection): typeof NO_MESSAGE {
  const info = headInfo;
  const error = parseHead(buffer, 0, buffer.length, info, HANDSHAKE_LIMITS, true);
  if (error !== "") return reject(conn, REJECTIONS[error] ? error : "ERR_WS_HEAD"), NO_MESSAGE;
  const h = handshakeHeaders(buffer, info);
  const key = h.key ?? "";
  const refusal = info.method !== "GET"
    ? "ERR_WS_METHOD"
    : !hasToken(h.upgrade, "websocket")
    ? "ERR_WS_UPGRADE"
    : !hasToken(h.connection, "upgrade")
    ? "ERR_WS_CONNECTION"
    : h.key === null
    ? "ERR_WS_MISSING_KEY"
    : !isWebSocketKey(key)
    ? "ERR_WS_KEY"
    : "";
  if (refusal) return reject(conn, refusal), NO_MESSAGE;
  if (h.version !== "13") {
    return reject(conn, "ERR_WS_VERSION", "Sec-WebSocket-Version: 13\r\n"), NO_MESSAGE;
  }
  let offer = h.extensions;
  const onConnect = callback(conn, "onWebSocketConnect");
  if (onConnect) {
    const request = new Request(buffer, info);
    request.connection = conn as never;
    call(conn, "onWebSocketConnect", onConnect, request);
    if (conn.getStatus?.() !== 2) return NO_MESSAGE; // closed inside: rejected, no 101
    offer = request.header("sec-websocket-extensions");
  }
  const accept = webSocketAccept(key);
  let head = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n" +
    `Connection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n`;
  const agreed = typeof offer === "string" && deflateWanted(conn)
    ? acceptOffer(offer, options.serverNoContextTakeover)
    : null;
  if (agreed) head += `Sec-WebSocket-Extensions: ${agreed.response}\r\n`;
  const extra: readonly string[] = conn.headers === undefined || conn.headers === null
    ? NO_HEADERS
    : Array.isArray(conn.headers)
    ? conn.headers
    : typeof conn.headers === "string"
    ? conn.headers.split("\r\n").filter(Boolean)
    : Object.entries(conn.headers).map(([k, v]) => `${k}: ${v}`);
  try {
    if (conn.websocketProtocol) {
      checkHeader("Sec-WebSocket-Protocol", String(conn.websocketProtocol));
      head += `Sec-WebSocket-Protocol: ${conn.websocketProtocol}\r\n`;
    }
    for (const h of extra) {
      const line = String(h);
      const colon = line.indexOf(":");
      checkHeader(colon > 0 ? line.slice(0, colon) : line, colon > 0 ? line.slice(colon + 1) : "\n"); // no colon: refused
      head += `${line}\r\n`;
    }
  } catch (err) {
    // A header that would split the response (CR/LF) is the application's bug: report it, refuse.
    reportError(`onWebSocketConnect response headers (connection ${conn.id})`, err);
    return reject(conn, "ERR_WS_RESPONSE_HEADER"), NO_MESSAGE;
  }
  if (!hasServerHeader(extra)) head += "Server: workerman-ts\r\n";
  // the 101 and what was sent meanwhile leave in one write, admitted once by the send buffer
  let queue: Uint8Array | null = null;
  if (!agreed && peekState(conn) === INITIAL) {
    // Nothing of its own to keep (no compressor, nothing sent meanwhile): the shared open state.
    (conn as WsConn)[STATE] = OPEN;
    setMaxPackageSize(conn);
  } else {
    const state = openState(conn);
    if (agreed) state.deflate = new PerMessageDeflate(agreed.params);
    queue = takeQueue(state);
  }
  conn.send(queue ? joinParts([textEncoder.encode(head + "\r\n"), queue]) : head + "\r\n", true);
  return NO_MESSAGE;
}

/** One of the application's response headers is a Server header. */
function hasServerHeader(extra: readonly string[]): boolean {
  for (let i = 0; i < extra.length; i++) if (/^server:/i.test(extra[i])) return true;
  return false;
}

/**
 * The server protocol. On its connections: `conn.websocketType` forces the frame type of
 * every send (`BINARY_TYPE_BLOB` text, `BINARY_TYPE_ARRAYBUFFER` binary; unset: strings go as
 * text, bytes as binary); in `onWebSocketConnect(conn, request)`, `conn.websocketProtocol`
 * picks the sub-protocol answered in `Sec-WebSocket-Protocol`, `conn.headers` (array of
 * `"Name: value"`, one string, or a record) adds response headers, `conn.close()` rejects;
 * `conn.websocketMaxPayload` overrides `options.maxPayload` for one connection.
 */
export const Websocket: Protocol<string | Uint8Array, string | Uint8Array, WebSocketProtocolConnection> & {
  BINARY_TYPE_BLOB: string;
  BINARY_TYPE_ARRAYBUFFER: string;
  options: WebsocketOptions;
} = {
  BINARY_TYPE_BLOB,
  BINARY_TYPE_ARRAYBUFFER,
  options,
  input(buffer, conn) {
    if (peekState(conn).open) return frameInput(buffer, conn);
    if (buffer.length >= 3 && (buffer[0] !== 71 || buffer[1] !== 69 || buffer[2] !== 84)) {
      return reject(conn, "ERR_WS_METHOD");
    }
    const end = findHeadEnd(buffer, 0, 0);
    if (end === -1) return reject(conn, "ERR_WS_HEAD");
    if (end > options.maxHeaderSize) return reject(conn, "ERR_WS_HEAD_TOO_LARGE");
    if (end === 0) return buffer.length >= options.maxHeaderSize ? reject(conn, "ERR_WS_HEAD_TOO_LARGE") : 0;
    return end;
  },
  decode(buffer, conn) {
    if (!peekState(conn).open) return handshake(buffer, conn);
    return frameDecode(buffer, conn);
  },
  onClose: releaseState,
  encode(data, conn) {
    const frame = frameEncode(data, conn);
    return peekState(conn).open ? frame : holdFrame(wsState(conn), frame);
  },
  heldBytes,
  /** Until the handshake is done the connection's headerTimeout applies. */
  receivingHead(conn) {
    return !peekState(conn).open;
  },
};
