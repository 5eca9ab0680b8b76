// Soak server: a text:// line echo and a websocket:// echo, one process each, reporting their
// pids so the soak can sample their memory.
import { Worker } from "workerman-ts";

Worker.pidFile = process.env.PID_FILE ?? ""; // one per runtime: the soak runs all three at once

const text = new Worker("text://127.0.0.1:0");
text.name = "SoakText";
text.onWorkerStart = () => console.log(`WORKER SoakText pid=${process.pid}`);
text.onMessage = (conn, line: string) => conn.send(line);

const ws = new Worker("websocket://127.0.0.1:0");
ws.name = "SoakWs";
ws.onWorkerStart = () => console.log(`WORKER SoakWs pid=${process.pid}`);
ws.onMessage = (conn, data) => conn.send(data);

Worker.runAll();
