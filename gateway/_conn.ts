/**
 * What the Gateway model keeps on the connections it handles: a client connection of a Gateway
 * (its id, header, session, uid, groups, the BusinessWorker it is bound to) and a
 * BusinessWorker's link to a Gateway's inner port (its key, authorization, client count).
 *
 * @module
 */
import type { Callback } from "../core/protocol.ts";
import type { TcpConnection } from "../core/tcp_connection.ts";
import type { Request } from "../protocols/http/request.ts";

/** The fields a Gateway sets on a client connection and on a BusinessWorker's link to it. */
export interface GatewayConnectionFields {
  /** Client: its connection id in this Gateway process (part of its client_id). */
  gatewayConnectionId: number;
  /** Client: the header fields every package about it carries (addresses, connection id). */
  gatewayHeader: Record<string, number>;
  /** Client: its session, PHP-serialized ("" when empty). */
  session: string;
  /** Client: heartbeat ticks without a message (-1 right after one). */
  pingNotResponseCount: number;
  /** Client: the uid it is bound to (null or unset: none). */
  uid: string | null;
  /** Client: the groups it joined, as keys. */
  groups?: Record<string, string>;
  /** Client: the key (`<ip>:<name>:<id>`) of the BusinessWorker it is bound to. */
  gatewayWorkerKey: string;
  /** BusinessWorker link: how many clients are bound to it. */
  gatewayClientCount: number;
  /** BusinessWorker link: its key (`<ip>:<name>:<id>`). */
  workerKey: string;
  /** Inner link: the peer sent the right secret key. */
  authorized: boolean;
  /** Client of a `websocket://` Gateway: runs before the 101 (the Gateway forwards it to the BusinessWorkers). */
  onWebSocketConnect?: Callback<[conn: GatewayConnection, request: Request]> | null;
}

/** A connection as the Gateway model sees it: a client, or a link between Gateway and BusinessWorker. */
export type GatewayConnection = TcpConnection & GatewayConnectionFields;
