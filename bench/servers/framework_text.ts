// Benchmark server: the framework's text:// line echo (one onMessage per line).
import { Worker } from "workerman-ts";

const echo = new Worker("text://127.0.0.1:0");
echo.name = "BenchTextEcho";
echo.onMessage = (conn, line: string) => conn.send(line);

Worker.runAll();
