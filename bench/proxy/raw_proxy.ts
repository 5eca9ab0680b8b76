// Reference for bench/proxy: the same proxy written with the runtime's node:net streams
// (`client.pipe(backend)`, `backend.pipe(client)`), which pause and resume on their own.
import { connect, createServer, type Socket } from "node:net";
import process from "node:process";

const backendPort = Number(process.env.BACKEND_PORT);

const server = createServer((client: Socket) => {
  const backend = connect(backendPort, "127.0.0.1");
  client.pipe(backend);
  backend.pipe(client);
  const closeBoth = () => {
    client.destroy();
    backend.destroy();
  };
  client.on("error", closeBoth);
  backend.on("error", closeBoth);
  client.on("close", closeBoth);
  backend.on("close", closeBoth);
});
server.listen(0, "127.0.0.1", () => {
  const { port } = server.address() as { port: number };
  console.log(`PROXY PID ${process.pid}`);
  console.log(`listening on tcp://127.0.0.1:${port} Start success.`);
});
process.on("SIGINT", () => process.exit(0));
