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
import { Text } from "./text.ts";

registerProtocol("text", Text);
registerProtocol("frame", Frame);

export { Frame, Text };
