// An HTTP client with the runtime's fetch: a line is a path, fetched from API_URL and answered
// with the status and body. fetch keeps connections alive by default on Node, Deno and Bun;
// AbortSignal.timeout bounds each request.
import { Worker } from "workerman-ts";

const API_URL = process.env.API_URL ?? "http://127.0.0.1:8080";
const worker = new Worker(`text://0.0.0.0:${process.env.PORT ?? 2345}`);
worker.count = 2;

worker.onMessage = async (conn, path: string) => {
  try {
    const response = await fetch(new URL(path, API_URL), { signal: AbortSignal.timeout(2000) });
    conn.send(`${response.status} ${await response.text()}`);
  } catch (err) {
    conn.send(`failed: ${(err as Error).name}`); // TimeoutError, or TypeError when it cannot connect
  }
};

Worker.runAll();
