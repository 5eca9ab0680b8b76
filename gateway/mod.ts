/**
 * The Gateway/BusinessWorker model (GatewayWorker): Gateways hold the client connections,
 * BusinessWorkers run the application and reload freely, a Register lets them find each other
 * across machines, and the `Gateway.*` API (or a {@link GatewayClient} from anywhere) reaches
 * any client, uid or group. Wire-compatible with GatewayWorker's internal protocol.
 *
 * @example
 * ```ts
 * import { BusinessWorker, Gateway, Register, Worker } from "workerman-ts";
 * new Register("text://0.0.0.0:1236");
 * const gateway = new Gateway("websocket://0.0.0.0:8282");
 * gateway.registerAddress = "127.0.0.1:1236";
 * const bw = new BusinessWorker();
 * bw.registerAddress = "127.0.0.1:1236";
 * bw.eventHandler = { onMessage: (clientId, message) => Gateway.sendToAll(`${clientId}: ${message}`) };
 * Worker.runAll();
 * ```
 *
 * @module
 */
export { Register } from "./register.ts";
export { Gateway, type Router, routerLeastConnections, routerRandom } from "./gateway.ts";
export type { GatewayConnection, GatewayConnectionFields } from "./_conn.ts";
export { BusinessWorker, type EventHandler } from "./business_worker.ts";
export { GatewayApi, type GatewayBackend, type Message } from "./api.ts";
export { ApiTransport } from "./_api_transport.ts";
export { GatewayClient, type GatewayClientOptions } from "./client.ts";
export { Context, currentClient, type EventServer } from "./context.ts";
export { type ClientAddress, clientIdDecode, clientIdEncode } from "./client_id.ts";
export {
  CMD,
  decodePackage,
  encodePackage,
  type GatewayPackage,
  GatewayProtocol,
  type PackageFields,
} from "./protocol.ts";
export type { Session } from "./session.ts";
