// Diagnostic benchmark server: the framework's core without the http protocol — a `tcp://`
// Worker that answers each read with the hand-written hello-world response (one per request
// end found, as servers/raw.ts does). The difference to framework.ts is what the http://
// protocol costs; the difference to raw.ts is what the core and runtime adapter cost.
import { Worker } from "workerman-ts";

Worker.pidFile = process.env.PID_FILE ?? "";
const END = new TextEncoder().encode("\r\n\r\n");
let response = new Uint8Array(0);
let closing = new Uint8Array(0);
function refresh(): void {
  const head = (c: string) =>
    `HTTP/1.1 200 OK\r\nServer: workerman\r\nDate: ${new Date().toUTCString()}\r\nConnection: ${c}\r\n` +
    "Content-Type: text/html;charset=utf-8\r\nContent-Length: 11\r\n\r\nhello world";
  response = new TextEncoder().encode(head("keep-alive"));
  closing = new TextEncoder().encode(head("close"));
}
refresh();

/** Index of the first CRLFCRLF at or after `from`, or -1. */
function endOf(buf: Uint8Array, from: number): number {
  for (let i = buf.indexOf(13, from); i !== -1 && i + 3 < buf.length; i = buf.indexOf(13, i + 1)) {
    if (buf[i + 1] === END[1] && buf[i + 2] === END[2] && buf[i + 3] === END[3]) return i;
  }
  return -1;
}

const http = new Worker(`tcp://127.0.0.1:${process.env.BENCH_PORT ?? 0}`);
http.name = "BenchCore";
http.onWorkerStart = () => {
  console.log(`WORKER_PID ${process.pid}`);
  setInterval(refresh, 1000);
};
http.onMessage = (conn, data: Uint8Array) => {
  // One request per read is what wrk sends on keep-alive; "Connection: close" only in the close workload.
  let from = 0;
  for (;;) {
    const end = endOf(data, from);
    if (end === -1) break;
    const close = data.length > 40 && new TextDecoder().decode(data.subarray(from, end)).includes("Connection: close");
    if (close) return conn.close(closing, true);
    conn.send(response, true);
    from = end + 4;
  }
};

Worker.runAll();
