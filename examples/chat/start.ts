/**
 * A chat room on the Gateway model, like workerman-chat: rooms, nicknames, private messages
 * and a user list. One start script runs the four parts that would usually run on separate
 * machines:
 *
 * - a Register (the directory the Gateways and BusinessWorkers find each other through);
 * - a Gateway holding the browsers' WebSocket connections (never reloaded, so `reload` keeps
 *   everyone connected);
 * - BusinessWorkers running the chat logic in `events.ts` (reloaded freely);
 * - a WebServer serving the page in `web/`.
 *
 *   npm start                                  (Node, from the npm build)
 *   deno run -A examples/chat/start.ts start
 *   bun examples/chat/start.ts start
 *
 * then open http://127.0.0.1:55151 in two browser tabs. Ports come from the environment
 * (defaults in brackets): CHAT_WEB_PORT (55151), CHAT_WS_PORT (7272), CHAT_REGISTER_PORT
 * (1236), CHAT_INNER_PORT (2900, the first of the Gateway processes' inner ports; 0: ephemeral).
 */
import { BusinessWorker, Gateway, Register, Response, WebServer, Worker } from "workerman-ts";
import { events } from "./events.ts";

const env = process.env;
const port = (name: string, fallback: number) => Number(env[name] ?? fallback);
if (env.PID_FILE) Worker.pidFile = env.PID_FILE;

const wsPort = port("CHAT_WS_PORT", 7272);
const registerAddress = `127.0.0.1:${port("CHAT_REGISTER_PORT", 1236)}`;

new Register(`text://${registerAddress}`);

const gateway = new Gateway(`websocket://0.0.0.0:${wsPort}`);
gateway.name = "ChatGateway";
gateway.count = 2;
gateway.lanIp = "127.0.0.1";
gateway.startPort = port("CHAT_INNER_PORT", 2900);
gateway.registerAddress = registerAddress;
// A ping every 25 s keeps idle connections open through proxies; browsers need not answer.
gateway.pingInterval = 25;
gateway.pingData = JSON.stringify({ type: "ping" });
// Each gateway process says when a BusinessWorker process joins it (clients are served once one
// has), and its inner port: the port a client_id names, so a client's gateway process can be found.
gateway.onBusinessWorkerConnected = () =>
  console.log(
    `ChatGateway process ${process.pid} (inner port ${gateway.lanPort}) has ${gateway.workerConnections.size} business worker(s)`,
  );

const business = new BusinessWorker();
business.name = "ChatBusiness";
business.count = 2;
business.registerAddress = registerAddress;
business.eventHandler = events;

const web = new WebServer(`http://0.0.0.0:${port("CHAT_WEB_PORT", 55151)}`);
web.name = "ChatWeb";
web.addRoot("localhost", new URL("./web", import.meta.url).pathname);
// What no file answers: the page asks here which port the Gateway listens on.
web.onMessage = (conn, request) => {
  if (request.path() === "/config.json") {
    conn.send(new Response(200, { "Content-Type": "application/json" }, JSON.stringify({ wsPort })));
  } else {
    conn.send(new Response(404, {}, "not found"));
  }
};

Worker.runAll();
