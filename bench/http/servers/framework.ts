// Benchmark server: the manual's http example (one process), the framework under test.
// BENCH_REUSE_PORT=1 lets the process bind its own SO_REUSEPORT socket instead of sharing the
// master's (on Deno with --unstable-net that is a native Deno.listen socket, not node:net).
import { Worker } from "workerman-ts";

Worker.pidFile = process.env.PID_FILE ?? "";
const http = new Worker(`http://127.0.0.1:${process.env.BENCH_PORT ?? 0}`);
http.name = "BenchHttp";
http.count = 1;
http.reusePort = process.env.BENCH_REUSE_PORT === "1";
http.onWorkerStart = () => console.log(`WORKER_PID ${process.pid}`);
http.onMessage = (connection, _request) => {
  connection.send("hello world");
};

Worker.runAll();
