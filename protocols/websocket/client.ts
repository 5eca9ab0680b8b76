/**
 * `ws://`: the WebSocket client protocol for `new AsyncTcpConnection("ws://host:port/path")`.
 *
 * On connect (`Protocol.onConnect`) it sends the opening handshake with a random 16-byte
 * `Sec-WebSocket-Key`; the server's `101` must carry the matching `Sec-WebSocket-Accept`
 * (else the connection is closed). Then `onWebSocketConnect(conn, responseHead)` runs and what
 * was sent meanwhile is flushed. Every frame sent is masked with a fresh random key
 * (`crypto.getRandomValues`); frames received must be unmasked. Options on the connection,
 * set before `connect()`: `conn.headers` (record, array of `"Name: value"`, or string),
 * `conn.websocketOrigin`, `conn.websocketClientProtocol`, `conn.websocketDeflate = false` (no
 * permessage-deflate offer), `conn.websocketPingInterval` (seconds between pings while open,
 * as Workerman's heartbeat; pongs go to `onWebSocketPong`); afterwards
 * `conn.websocketServerProtocol` holds the server's choice. A `reconnect()` handshakes again.
 *
 * @module
 */
import { reportError } from "../../core/log.ts";
import type { AsyncTcpConnection } from "../../core/async_tcp_connection.ts";
import { Timer } from "../../core/timer.ts";
import {
  type Callback,
  NO_MESSAGE,
  type Protocol,
  type ProtocolConnection as CoreConnection,
} from "../../core/protocol.ts";
import { findHeadEnd, latin1 } from "../http/parser.ts";
import { base64, webSocketAccept } from "./sha1.ts";
import { BINARY_TYPE_ARRAYBUFFER, BINARY_TYPE_BLOB, buildFrame } from "./frame.ts";
import {
  deflateWanted,
  frameDecode,
  frameEncode,
  frameInput,
  heldBytes,
  holdFrame,
  maskFor,
  openState,
  options,
  releaseState,
  takeQueue,
  type WebSocketSettings,
  wsState,
} from "./server.ts";
import { acceptResponse, CLIENT_OFFER, PerMessageDeflate } from "./deflate.ts";

/** What a `ws://` / `wss://` client connection may set before `connect()`, and learns from the handshake. */
export interface WebSocketClientSettings extends WebSocketSettings {
  /** The `Sec-WebSocket-Protocol` offered. */
  websocketClientProtocol?: string;
  /** The `Origin` sent. */
  websocketOrigin?: string;
  /** Seconds between heartbeat pings while open (unset or 0: none). */
  websocketPingInterval?: number;
  /** The sub-protocol the server chose (after the handshake; "" when none). */
  websocketServerProtocol?: string;
  /** `(conn, responseHead)` once the handshake succeeded. */
  onWebSocketConnect?: Callback<[conn: AsyncTcpConnection, responseHead: string]> | null;
  /** `(conn, payload)` on a pong. */
  onWebSocketPong?: Callback<[conn: AsyncTcpConnection, payload: Uint8Array]> | null;
}

/** What this protocol uses of a connection. */
type ProtocolConnection = CoreConnection & WebSocketClientSettings & {
  getRemoteHost(): string;
  getRemoteURI(): string;
  readonly worker?: { readonly name: string; readonly websocketDeflate?: boolean } | null;
};

/** The connection type the `ws://` client protocol's hooks take. */
export type WebSocketClientProtocolConnection = ProtocolConnection;

const KEY = Symbol("websocket client key");
const HEARTBEAT = Symbol("websocket client heartbeat timer");

type ClientConn = ProtocolConnection & { [KEY]?: string; [HEARTBEAT]?: number };

/** Ping every `conn.websocketPingInterval` seconds while open (nothing when unset or 0). */
function startHeartbeat(conn: ClientConn): void {
  const interval = Number(conn.websocketPingInterval);
  if (!(interval > 0)) return;
  conn[HEARTBEAT] = Timer.add(interval, () => {
    if (wsState(conn).open) conn.send(buildFrame(0x89, new Uint8Array(0), maskFor(conn)), true);
  });
}

function stopHeartbeat(conn: ClientConn): void {
  if (conn[HEARTBEAT]) Timer.del(conn[HEARTBEAT]);
  conn[HEARTBEAT] = 0;
}

function userHeaders(headers: unknown): string[] {
  if (headers === undefined || headers === null) return [];
  if (Array.isArray(headers)) return headers.map(String);
  if (typeof headers === "string") return headers.split("\r\n").filter(Boolean);
  return Object.entries(headers as Record<string, unknown>).map(([k, v]) => `${k}: ${v}`);
}

function failHandshake(conn: ProtocolConnection, why: string): typeof NO_MESSAGE {
  reportError(`ws:// client (connection ${conn.id})`, new Error(`WebSocket handshake failed: ${why}`));
  conn.destroy?.();
  return NO_MESSAGE;
}

/** `ws://` / `wss://` client protocol (for AsyncTcpConnection): handshakes on connect, masks what it sends. */
export const WsClient: Protocol<string | Uint8Array, string | Uint8Array, WebSocketClientProtocolConnection> & {
  BINARY_TYPE_BLOB: string;
  BINARY_TYPE_ARRAYBUFFER: string;
} = {
  BINARY_TYPE_BLOB,
  BINARY_TYPE_ARRAYBUFFER,
  onConnect(conn) {
    const state = wsState(conn);
    state.client = true;
    state.open = false;
    state.fragOpcode = -1;
    state.fragments = null;
    state.fragLength = 0;
    state.deflate = null;
    const keyBytes = new Uint8Array(16);
    crypto.getRandomValues(keyBytes);
    const key = base64(keyBytes);
    (conn as ClientConn)[KEY] = key;
    const extra = userHeaders(conn.headers);
    const host = conn.getRemoteHost?.() ?? conn.getRemoteIp();
    const port = conn.getRemotePort();
    let head = `GET ${conn.getRemoteURI?.() ?? "/"} HTTP/1.1\r\n`;
    if (!extra.some((h) => /^host:/i.test(h))) {
      const name = host.includes(":") ? `[${host}]` : host;
      head += `Host: ${port === 80 || port === 443 ? name : `${name}:${port}`}\r\n`;
    }
    head += "Connection: Upgrade\r\nUpgrade: websocket\r\n";
    if (conn.websocketOrigin) head += `Origin: ${conn.websocketOrigin}\r\n`;
    if (conn.websocketClientProtocol) head += `Sec-WebSocket-Protocol: ${conn.websocketClientProtocol}\r\n`;
    head += `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${key}\r\n`;
    if (deflateWanted(conn)) head += `Sec-WebSocket-Extensions: ${CLIENT_OFFER}\r\n`;
    for (const h of extra) head += `${h}\r\n`;
    // The handshake goes before whatever was queued: written directly, not through the queue,
    // and not refused for what the queue holds (it is admitted when the 101 arrives).
    const held = state.queueLength;
    state.queueLength = 0;
    conn.send(head + "\r\n", true);
    state.queueLength = held;
  },
  onClose(conn) {
    stopHeartbeat(conn);
    releaseState(conn);
  },
  input(buffer, conn) {
    const state = wsState(conn);
    state.client = true;
    if (state.open) return frameInput(buffer, conn);
    const end = findHeadEnd(buffer, 0, 0);
    if (end === -1 || end > options.maxHeaderSize || (end === 0 && buffer.length >= options.maxHeaderSize)) {
      failHandshake(conn, "malformed or oversized response head");
      return 0;
    }
    return end;
  },
  decode(buffer, conn) {
    const state = wsState(conn);
    if (state.open) return frameDecode(buffer, conn);
    const head = latin1(buffer, 0, buffer.length - 4);
    const lines = head.split("\r\n");
    if (!/^HTTP\/1\.1 101 /.test(lines[0] + " ")) return failHandshake(conn, `expected 101, got "${lines[0]}"`);
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(":");
      if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const expected = webSocketAccept(String((conn as ClientConn)[KEY]));
    if (headers["sec-websocket-accept"] !== expected) {
      return failHandshake(conn, `Sec-WebSocket-Accept ${headers["sec-websocket-accept"] ? "not match" : "not found"}`);
    }
    conn.websocketServerProtocol = headers["sec-websocket-protocol"] ?? "";
    const deflate = acceptResponse(headers["sec-websocket-extensions"]);
    if (typeof deflate === "string") return failHandshake(conn, deflate);
    if (deflate !== null && !deflateWanted(conn)) {
      return failHandshake(conn, "permessage-deflate accepted but not offered");
    }
    state.deflate = deflate && new PerMessageDeflate(deflate);
    openState(conn);
    // What was sent while connecting goes first, so messages keep the order they were sent in.
    const queue = takeQueue(state);
    if (queue) conn.send(queue, true);
    startHeartbeat(conn);
    const onConnect = conn.onWebSocketConnect;
    if (typeof onConnect === "function") {
      try {
        const r = onConnect(conn as unknown as AsyncTcpConnection, head + "\r\n\r\n") as Promise<unknown> | undefined;
        if (r && typeof r.then === "function") {
          r.then(undefined, (err: unknown) => reportError(`onWebSocketConnect (connection ${conn.id})`, err));
        }
      } catch (err) {
        reportError(`onWebSocketConnect (connection ${conn.id})`, err);
      }
    }
    return NO_MESSAGE;
  },
  encode(data, conn) {
    const state = wsState(conn);
    state.client = true;
    const frame = frameEncode(data, conn);
    return state.open ? frame : holdFrame(state, frame);
  },
  heldBytes,
};
