/**
 * HTTP/1.1 for Workerman-style servers: the `http://` protocol (registered as "http"),
 * `Request`, `Response`, `Chunk`, `ServerSentEvents`, sessions and `WebServer`.
 *
 * `onMessage(conn, request)` receives a {@link Request}; `conn.send("text")` answers 200 with
 * `Content-Type: text/html;charset=utf-8`, `conn.send(new Response(...))` anything else.
 * Keep-alive follows RFC 9112 (HTTP/1.1 stays open unless `Connection: close`, HTTP/1.0 closes
 * unless `Connection: keep-alive`), pipelined requests are answered in order, HEAD responses
 * carry no body. `https://` is the same Worker with `{ tls: { cert, key } }` and
 * `worker.transport = "ssl"`.
 *
 * @example
 * ```ts
 * import { Worker } from "workerman-ts";
 * const http = new Worker("http://0.0.0.0:2345");
 * http.count = 4;
 * http.onMessage = (conn, request) => conn.send("hello world");
 * Worker.runAll();
 * ```
 *
 * @module
 */
import type { ConnectionData, TcpConnection } from "../../core/tcp_connection.ts";
import type { Request } from "./request.ts";
import type { Chunk, Response, ServerSentEvents } from "./response.ts";

export { Http, type HttpOptions, HttpProtocol } from "./protocol.ts";
export type { Conn as HttpProtocolConnection } from "./state.ts";
export type { FileBody } from "./response.ts";
export type { GzipOptions } from "./compress.ts";
export { type FormFiles, Request, type RequestData } from "./request.ts";
export {
  Chunk,
  type CookieOptions,
  type HeaderValue,
  Response,
  type ServerSentEvent,
  ServerSentEvents,
} from "./response.ts";
export { FileSessionHandler, Session, type SessionHandler } from "./session.ts";
export {
  UPLOAD_ERR_CANT_WRITE,
  UPLOAD_ERR_NO_FILE,
  UPLOAD_ERR_NO_TMP_DIR,
  UPLOAD_ERR_OK,
  type UploadedFile,
} from "./upload.ts";
export { type WebRoot, WebServer } from "./web_server.ts";
export { HttpError } from "./errors.ts";
export type { Form, FormValue } from "./query.ts";

/** What `conn.send()` / `conn.close()` take on an `http://` connection. */
export type HttpMessage = string | Uint8Array | Response | Chunk | ServerSentEvents;

/**
 * A connection of an `http://` Worker: `onMessage` receives a {@link Request}, `send()` and
 * `close()` take an {@link HttpMessage}; with the application's {@link ConnectionData}.
 */
export interface HttpConnection extends TcpConnection<Request, HttpMessage>, ConnectionData {}
