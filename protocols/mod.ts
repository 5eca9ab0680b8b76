/**
 * The built-in protocols, registered under their scheme names.
 *
 * @example
 * ```ts
 * import { Worker } from "workerman-ts";
 * const chat = new Worker("text://0.0.0.0:8000");
 * chat.onMessage = (conn, line) => conn.send(`you said: ${line}`);
 * Worker.runAll();
 * ```
 *
 * @module
 */
import { registerProtocol } from "../core/protocol.ts";
import { Frame } from "./frame.ts";
import { Http } from "./http/mod.ts";
import { Text } from "./text.ts";
import { Websocket, WsClient } from "./websocket/mod.ts";

registerProtocol("text", Text);
registerProtocol("frame", Frame);
registerProtocol("http", Http);
registerProtocol("websocket", Websocket);
registerProtocol("ws", WsClient);
registerProtocol("wss", WsClient); // AsyncTcpConnection connects wss:// over TLS

export { Frame, Http, Text, Websocket, WsClient };
