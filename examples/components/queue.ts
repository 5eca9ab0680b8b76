// A message queue on a Redis stream with ioredis. Producers: a line on PORT is added to the
// "jobs" stream. Consumers: processes of one consumer group, each job to exactly one of them,
// acknowledged once done (here: its text upper-cased onto the "jobs:done" list).
import { Redis } from "ioredis";
import { Worker } from "workerman-ts";

const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

const producer = new Worker(`text://0.0.0.0:${process.env.PORT ?? 2345}`);
producer.count = 2;
let redis: Redis;
producer.onWorkerStart = () => {
  redis = new Redis(REDIS_URL);
};
producer.onWorkerStop = async () => {
  await redis?.quit();
};
producer.onMessage = async (conn, text: string) => {
  conn.send(`queued ${await redis.xadd("jobs", "*", "text", text)}`);
};

const consumer = new Worker(); // no listening socket: a process that only consumes
consumer.count = 2;
let stopping = false;
let loop: Promise<void>;
consumer.onWorkerStart = async () => {
  const queue = new Redis(REDIS_URL);
  await queue.xgroup("CREATE", "jobs", "workers", "0", "MKSTREAM").catch(() => {}); // BUSYGROUP: exists
  loop = (async () => {
    while (!stopping) {
      // BLOCK 1000: wake up every second to see whether this process is stopping
      const batch = await queue.xreadgroup(
        "GROUP",
        "workers",
        `consumer-${consumer.id}`,
        "COUNT",
        10,
        "BLOCK",
        1000,
        "STREAMS",
        "jobs",
        ">",
      ) as [string, [string, string[]][]][] | null;
      for (const [id, fields] of batch?.[0][1] ?? []) {
        await queue.rpush("jobs:done", fields[1].toUpperCase());
        await queue.xack("jobs", "workers", id);
      }
    }
    await queue.quit();
  })();
};
consumer.onWorkerStop = () => {
  stopping = true;
  return loop;
};

Worker.runAll();
