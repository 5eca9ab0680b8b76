/**
 * The floor of an idle WebSocket connection on Node: a plain `node:net` server with no
 * WebSocket layer at all.
 *
 * - `handshake` (default): reads the upgrade request and answers it with a 101 (the accept
 *   key computed from the request's `Sec-WebSocket-Key`), then keeps the connection idle
 *   without any state of its own: one read and one write per connection, as a real
 *   handshake costs, and nothing more.
 * - `silent`: accepts and never reads a byte or writes one (for a client that sends nothing).
 *
 * One shared listener per event, no closure or property per connection. Prints
 * `raw node <mode> listening ws://127.0.0.1:<port>` then `Start success.`.
 * Usage: `node bench/ws/servers/raw_node.ts [handshake|silent]` (npm/esm/bench/... when built)
 */
import { createHash } from "node:crypto";
import * as net from "node:net";

const mode = process.argv[2] === "silent" ? "silent" : "handshake";
const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const KEY = /\r\nSec-WebSocket-Key: *([^\r]*)\r\n/i;

/** Answer the upgrade request (the load client sends it in one segment). */
function onData(this: net.Socket, chunk: Buffer): void {
  const key = KEY.exec(chunk.toString("latin1"))?.[1] ?? "";
  const accept = createHash("sha1").update(key + GUID).digest("base64");
  this.write(
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      `Sec-WebSocket-Accept: ${accept}\r\n\r\n`,
  );
}
function ignore(): void {}

const server = net.createServer((socket) => {
  socket.on("error", ignore);
  if (mode === "handshake") socket.on("data", onData);
});
server.listen(0, "127.0.0.1", () => {
  const { port } = server.address() as net.AddressInfo;
  console.log(`raw node ${mode} listening ws://127.0.0.1:${port}`);
  console.log("Start success.");
});
