// bench/gateway's server: Register + one Gateway process (websocket) + one BusinessWorker, on
// 127.0.0.1. BENCH_MODE=broadcast: any message makes the BusinessWorker call
// Gateway.sendToAll with a 32-byte payload; BENCH_MODE=echo: the BusinessWorker sends each
// message back with Gateway.sendToCurrentClient. REGISTER_PORT is given by the runner (a free
// port); the client port and the inner port are ephemeral (the client port is in the banner).
import { BusinessWorker, Gateway, Register, Worker } from "workerman-ts";

const PAYLOAD = "x".repeat(32);
const env = process.env;
if (env.PID_FILE) Worker.pidFile = env.PID_FILE;
const registerAddress = `127.0.0.1:${env.REGISTER_PORT}`;
new Register(`text://${registerAddress}`);

const gateway = new Gateway("websocket://127.0.0.1:0");
gateway.lanIp = "127.0.0.1";
gateway.startPort = 0;
gateway.registerAddress = registerAddress;

const business = new BusinessWorker();
business.registerAddress = registerAddress;
business.eventHandler = env.BENCH_MODE === "broadcast"
  ? { onMessage: () => Gateway.sendToAll(PAYLOAD) }
  : { onMessage: (_clientId: string, message: string) => Gateway.sendToCurrentClient(message) };

Worker.runAll();
