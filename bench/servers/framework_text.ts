// Benchmark server: the framework's text:// line echo (one onMessage per line).
import { Worker } from "workerman-ts";

const echo = new Worker(`text://127.0.0.1:${process.env.BENCH_PORT ?? 0}`);
echo.name = "BenchTextEcho";
// BENCH_REUSE_PORT=1 (bench/run.ts --reuse-port): the process binds its own SO_REUSEPORT socket.
echo.reusePort = process.env.BENCH_REUSE_PORT === "1";
echo.onMessage = (conn, line: string) => conn.send(line);

Worker.runAll();
