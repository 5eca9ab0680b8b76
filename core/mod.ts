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
export { Worker, type WorkerContext } from "./worker.ts";
export {
  statistics,
  TcpConnection,
  WORKERMAN_CONNECT_FAIL,
  WORKERMAN_SEND_FAIL,
} from "./tcp_connection.ts";
export { UdpConnection } from "./udp_connection.ts";
export { AsyncTcpConnection, type AsyncTcpContext, type TlsClientOptions } from "./async_tcp_connection.ts";
export { AsyncUdpConnection } from "./async_udp_connection.ts";
export type { ProxyProtocolOptions } from "./proxy_protocol.ts";
export { Timer } from "./timer.ts";
export { getProtocol, NO_MESSAGE, type Protocol, type ProtocolConnection, registerProtocol } from "./protocol.ts";
export { ConfigError, ProtocolError, TimerError, WorkermanError } from "./errors.ts";
export { asBytes, Bytes } from "./bytes.ts";
export { VERSION } from "./version.ts";
