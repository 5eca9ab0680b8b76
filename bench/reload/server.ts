// Reload bench server: a text:// Worker of BENCH_COUNT processes (default 2) answering each line with
// its pid. BENCH_REUSE_PORT=1 gives each process its own SO_REUSEPORT socket (on Deno a native
// Deno.listen one) instead of the master's shared socket.
import { Worker } from "workerman-ts";

Worker.pidFile = process.env.PID_FILE ?? "";
const w = new Worker(`text://127.0.0.1:${process.env.BENCH_PORT ?? 0}`);
w.name = "BenchReload";
w.count = Number(process.env.BENCH_COUNT ?? 2);
w.reusePort = process.env.BENCH_REUSE_PORT === "1";
w.onMessage = (conn) => conn.send(`pid ${process.pid}`);
Worker.runAll();
