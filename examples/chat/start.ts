/**
 * The manual's chat room over the text protocol: every line a client sends is broadcast to
 * everyone. Try it with two terminals running `nc 127.0.0.1 2347` (or `telnet`).
 *
 *   deno run -A examples/chat/start.ts start
 *   bun examples/chat/start.ts start
 *   npm start                     (Node, from the npm build)
 */
import { type TcpConnection, Timer, Worker } from "workerman-ts";

const chat = new Worker("text://0.0.0.0:2347");
chat.name = "ChatRoom";

let lastUid = 0;
const users = new Map<number, TcpConnection>();
const broadcast = (line: string) => {
  for (const conn of users.values()) conn.send(line);
};

chat.onWorkerStart = () => {
  // Tell everyone how many are here, once a minute.
  Timer.add(60, () => broadcast(`* ${users.size} user(s) online`));
};
chat.onConnect = (conn) => {
  conn.uid = ++lastUid;
  users.set(conn.uid, conn);
  conn.send(`* welcome, you are user[${conn.uid}]`);
  broadcast(`* user[${conn.uid}] joined`);
};
chat.onMessage = (conn, line: string) => broadcast(`user[${conn.uid}] said: ${line}`);
chat.onClose = (conn) => {
  users.delete(conn.uid);
  broadcast(`* user[${conn.uid}] left`);
};

// The manual's tcp echo beside it.
const echo = new Worker("tcp://0.0.0.0:2348");
echo.name = "TcpEcho";
echo.onMessage = (conn, data) => conn.send("hello " + data);

Worker.runAll();
