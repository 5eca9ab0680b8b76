// Benchmark server: the manual's pipe() proxy (a TcpConnection piped both ways to an
// AsyncTcpConnection) in front of BACKEND_PORT. Prints the worker process's pid for RSS sampling.
import { AsyncTcpConnection, type TcpConnection, Worker } from "workerman-ts";

const backend = `tcp://127.0.0.1:${process.env.BACKEND_PORT}`;

const proxy = new Worker("tcp://127.0.0.1:0");
proxy.name = "PipeProxy";
proxy.onWorkerStart = () => console.log(`PROXY PID ${process.pid}`);
proxy.onConnect = (connection: TcpConnection) => {
  const connectionToBackend = new AsyncTcpConnection(backend);
  connection.pipe(connectionToBackend);
  connectionToBackend.pipe(connection);
  connectionToBackend.connect();
};

Worker.runAll();
