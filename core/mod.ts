/**
 * The runtime-independent core: Worker, TcpConnection, UdpConnection, the outgoing
 * AsyncTcpConnection and AsyncUdpConnection, Timer, the protocol registry and the process
 * model. Nothing here touches a runtime directly; see `runtime/`.
 *
 * @example
 * ```ts
 * import { Worker } from "workerman-ts";
 * const w = new Worker("text://0.0.0.0:8000");
 * w.onMessage = (conn, line) => conn.send(line.toUpperCase());
 * Worker.runAll();
 * ```
 *
 * @module
 */
export {
  type Connection,
  type ConnectionOf,
  type MessageOf,
  type SchemeOf,
  type Schemes,
  type SchemeTypes,
  Worker,
  type WorkerContext,
  type WorkerTypes,
} from "./worker.ts";
export {
  type ConnectionCallback,
  type ConnectionData,
  type ConnectionOwner,
  statistics,
  TcpConnection,
  WORKERMAN_CONNECT_FAIL,
  WORKERMAN_SEND_FAIL,
} from "./tcp_connection.ts";
export { UdpConnection } from "./udp_connection.ts";
export {
  AsyncTcpConnection,
  type AsyncTcpContext,
  type ClientSchemes,
  type ClientTypes,
  type TlsClientOptions,
} from "./async_tcp_connection.ts";
export { AsyncUdpConnection, type UdpClientMessage } from "./async_udp_connection.ts";
export type { ProxyProtocolOptions } from "./proxy_protocol.ts";
export { Timer } from "./timer.ts";
export {
  type Callback,
  getProtocol,
  type MessageOf as ProtocolMessageOf,
  NO_MESSAGE,
  type Protocol,
  type ProtocolConnection,
  registerProtocol,
  type SendOf as ProtocolSendOf,
  type TimeoutKind,
} from "./protocol.ts";
export { ConfigError, ProtocolError, TimerError, WorkermanError } from "./errors.ts";
export { asBytes, Bytes } from "./bytes.ts";
export { VERSION } from "./version.ts";
export type { Conn, ConnHandler, ListenOptions, SharedSocket, TlsOptions } from "../runtime/types.ts";
