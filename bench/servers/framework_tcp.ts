// Benchmark server: the framework's tcp:// echo (raw bytes, no protocol).
import { Worker } from "workerman-ts";

const echo = new Worker(`tcp://127.0.0.1:${process.env.BENCH_PORT ?? 0}`);
echo.name = "BenchTcpEcho";
// BENCH_REUSE_PORT=1 (bench/run.ts --reuse-port): the process binds its own SO_REUSEPORT socket.
echo.reusePort = process.env.BENCH_REUSE_PORT === "1";
echo.onMessage = (conn, data) => conn.send(data);

Worker.runAll();
