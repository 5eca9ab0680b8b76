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
