// Soak server: a text:// line echo and a websocket:// echo, one process each, reporting their
// pids so the soak can sample their memory. The message `__heap` answers `heap <bytes>`: the
// heap in use right after a full garbage collection, the leak signal RSS only approximates.
import v8 from "node:v8";
import vm from "node:vm";
import { Worker } from "workerman-ts";

Worker.pidFile = process.env.PID_FILE ?? ""; // one per runtime: the soak runs all three at once

/** Heap bytes in use after a full collection (Bun.gc on Bun, V8's gc elsewhere). */
function heapAfterGc(): number {
  const bun = (globalThis as { Bun?: { gc(force: boolean): void } }).Bun;
  if (bun) bun.gc(true);
  else {
    v8.setFlagsFromString("--expose-gc");
    (vm.runInNewContext("gc") as () => void)();
  }
  return process.memoryUsage().heapUsed;
}

const text = new Worker("text://127.0.0.1:0");
text.name = "SoakText";
text.onWorkerStart = () => console.log(`WORKER SoakText pid=${process.pid}`);
text.onMessage = (conn, line: string) => conn.send(line === "__heap" ? `heap ${heapAfterGc()}` : line);

const ws = new Worker("websocket://127.0.0.1:0");
ws.name = "SoakWs";
ws.onWorkerStart = () => console.log(`WORKER SoakWs pid=${process.pid}`);
ws.onMessage = (conn, data) => conn.send(data === "__heap" ? `heap ${heapAfterGc()}` : data);

Worker.runAll();
