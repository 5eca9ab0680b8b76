/**
 * WebSocket (RFC 6455): the `websocket://` server protocol, registered as "websocket".
 *
 * `onMessage(conn, data)` receives a string for a text message and bytes (a `Uint8Array`
 * whose `toString()` is UTF-8) for a binary one, reassembled from fragments. `conn.send(string)`
 * sends a text frame, `conn.send(bytes)` a binary frame. Worker (or connection) callbacks:
 * `onWebSocketConnect(conn, request)` (reject with `conn.close()`), `onWebSocketClose(conn,
 * code, reason)`, `onWebSocketPing(conn, payload)`, `onWebSocketPong(conn, payload)`.
 *
 * @example
 * ```ts
 * import { Worker } from "workerman-ts";
 * const ws = new Worker("websocket://0.0.0.0:2346");
 * ws.onMessage = (conn, data) => conn.send("hello " + data);
 * Worker.runAll();
 * ```
 *
 * @module
 */
export { BINARY_TYPE_ARRAYBUFFER, BINARY_TYPE_BLOB, buildFrame, closeFrame, isValidCloseCode } from "./frame.ts";
export {
  Websocket,
  type WebSocketConnection,
  type WebsocketOptions,
  type WebSocketProtocolConnection,
  type WebSocketSettings,
} from "./server.ts";
export { type WebSocketClientProtocolConnection, type WebSocketClientSettings, WsClient } from "./client.ts";
export { base64, sha1 } from "./sha1.ts";
