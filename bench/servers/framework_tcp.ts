// Benchmark server: the framework's tcp:// echo (raw bytes, no protocol).
import { Worker } from "workerman-ts";

const echo = new Worker("tcp://127.0.0.1:0");
echo.name = "BenchTcpEcho";
echo.onMessage = (conn, data) => conn.send(data);

Worker.runAll();
