// The reference for bench/gateway: the framework's own websocket:// Worker in one process,
// with no Gateway in between. BENCH_MODE=broadcast: any message makes it send a 32-byte frame
// to every connection of the process; BENCH_MODE=echo: each message is sent back.
import { Worker } from "workerman-ts";

const PAYLOAD = "x".repeat(32);
if (process.env.PID_FILE) Worker.pidFile = process.env.PID_FILE;
const ws = new Worker("websocket://127.0.0.1:0");
ws.name = "PlainWs";
if (process.env.BENCH_MODE === "broadcast") {
  ws.onMessage = () => {
    for (const conn of ws.connections.values()) conn.send(PAYLOAD);
  };
} else {
  ws.onMessage = (conn, message) => conn.send(message);
}
Worker.runAll();
