// Benchmark server: the framework's websocket:// echo; a text message starting with "B" is
// sent to every connection instead (a broadcast, its frame encoded once).
import { type TcpConnection, Worker } from "workerman-ts";

const ws = new Worker("websocket://127.0.0.1:0");
ws.name = "BenchWs";
ws.onMessage = (conn: TcpConnection, data: string) => {
  if (data.charCodeAt(0) !== 66) {
    conn.send(data);
    return;
  }
  for (const c of ws.connections.values()) c.send(data);
};

Worker.runAll();
