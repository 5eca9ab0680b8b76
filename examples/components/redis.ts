// Redis with ioredis: commands, and pub/sub to every process. A line sent to any process is
// numbered by INCR and published; every process forwards it to all of its connections.
import { Redis } from "ioredis";
import { Worker } from "workerman-ts";

const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const worker = new Worker(`text://0.0.0.0:${process.env.PORT ?? 2345}`);
worker.count = 2;

let redis: Redis;
let subscriber: Redis; // a subscribed connection takes no other commands: one more per process
worker.onWorkerStart = async () => {
  redis = new Redis(REDIS_URL);
  subscriber = new Redis(REDIS_URL);
  subscriber.on("message", (_channel: string, text: string) => {
    for (const conn of worker.connections.values()) conn.send(text);
  });
  await subscriber.subscribe("chat");
};
worker.onWorkerStop = async () => {
  await Promise.all([redis?.quit(), subscriber?.quit()]);
};

worker.onMessage = async (_conn, line: string) => {
  const n = await redis.incr("chat:count");
  await redis.publish("chat", `#${n} ${line}`);
};

Worker.runAll();
