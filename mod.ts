/**
 * workerman-ts: Workerman's multi-process socket-server framework in TypeScript. One start
 * script runs unchanged on Node, Deno and Bun.
 *
 * @example
 * ```ts
 * import { Worker } from "workerman-ts";
 * const tcp = new Worker("tcp://0.0.0.0:8480");
 * tcp.onMessage = (conn, data) => conn.send("hello " + data);
 * Worker.runAll();
 * ```
 *
 * @module
 */
import "./protocols/mod.ts";

export * from "./core/mod.ts";
export { Frame, Text } from "./protocols/mod.ts";
export {
  BINARY_TYPE_ARRAYBUFFER,
  BINARY_TYPE_BLOB,
  Websocket,
  type WebSocketClientProtocolConnection,
  type WebSocketClientSettings,
  type WebSocketConnection,
  type WebsocketOptions,
  type WebSocketProtocolConnection,
  type WebSocketSettings,
  WsClient,
} from "./protocols/websocket/mod.ts";
export {
  Chunk,
  type CookieOptions,
  type FileBody,
  FileSessionHandler,
  type Form,
  type FormFiles,
  type FormValue,
  type GzipOptions,
  type HeaderValue,
  Http,
  type HttpConnection,
  HttpError,
  type HttpMessage,
  type HttpOptions,
  HttpProtocol,
  type HttpProtocolConnection,
  Request,
  type RequestData,
  Response,
  type ServerSentEvent,
  ServerSentEvents,
  Session,
  type SessionHandler,
  UPLOAD_ERR_CANT_WRITE,
  UPLOAD_ERR_NO_FILE,
  UPLOAD_ERR_NO_TMP_DIR,
  UPLOAD_ERR_OK,
  type UploadedFile,
  type WebRoot,
  WebServer,
} from "./protocols/http/mod.ts";
export * from "./components/mod.ts";
export {
  ApiTransport,
  BusinessWorker,
  type ClientAddress,
  clientIdDecode,
  clientIdEncode,
  Context,
  currentClient,
  type EventHandler,
  type EventServer,
  Gateway,
  GatewayApi,
  type GatewayBackend,
  GatewayClient,
  type GatewayClientOptions,
  type GatewayConnection,
  type GatewayConnectionFields,
  type GatewayPackage,
  type Message,
  type PackageFields,
  Register,
  type Router,
  routerLeastConnections,
  routerRandom,
  type Session as GatewaySession,
} from "./gateway/mod.ts";
