// memcached with memjs: "set <key> <value>" stores for ten minutes, "get <key>" reads back.
import memjs from "memjs";
import { Worker } from "workerman-ts";

const worker = new Worker(`text://0.0.0.0:${process.env.PORT ?? 2345}`);
worker.count = 2;

let cache: memjs.Client;
worker.onWorkerStart = () => {
  cache = memjs.Client.create(process.env.MEMCACHE_SERVERS ?? "127.0.0.1:11211"); // connects on first use
};
worker.onWorkerStop = () => cache?.close();

worker.onMessage = async (conn, line: string) => {
  const [command, key, ...value] = line.split(" ");
  if (command === "set") {
    await cache.set(key, value.join(" "), { expires: 600 });
    conn.send("STORED");
  } else {
    const { value: stored } = await cache.get(key);
    conn.send(stored ? stored.toString() : "NOT_FOUND");
  }
};

Worker.runAll();
