/**
 * What the README tells a newcomer to do in a folder of their own, shared by the npm
 * (test/e2e/install.test.ts) and Deno (test/e2e/deno_project.test.ts) variants: the manual's
 * tcp and http examples as start.ts, then `start -d`, both answering, `status`, `stop`.
 */
import { spawn } from "node:child_process";
import { expect } from "vitest";
import { TestClient } from "./client.ts";
import { bannerPorts } from "./server.ts";

/** The manual's tcp and http examples in one start script, on ports the system picks. */
export const START_TS = `import { Worker } from "workerman-ts";

const tcp = new Worker("tcp://127.0.0.1:0");
tcp.onMessage = (conn, data) => conn.send("hello " + data);

const http = new Worker("http://127.0.0.1:0");
http.count = 4;
http.onMessage = (conn, request) => conn.send("hello world");

Worker.runAll();
`;

/** Run a command in `cwd` to completion; resolves with its exit code and output. */
export function run(cwd: string, cmd: string, args: string[]): Promise<{ code: number | string; out: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { cwd, env: { ...process.env, NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    p.stdout.on("data", (c) => out += c);
    p.stderr.on("data", (c) => out += c);
    p.on("exit", (code, signal) => resolve({ code: code ?? signal ?? -1, out }));
  });
}

/**
 * `<script> start -d` in `dir` (`script` is the command that runs start.ts, e.g.
 * `[node, "start.ts"]`), then both examples answer, `status` lists them (the http one with its
 * four processes), `stop` ends them and `status` then says `not run`.
 */
export async function startStatusStop(dir: string, script: string[]): Promise<void> {
  const [cmd, ...pre] = script;
  const start = await run(dir, cmd, [...pre, "start", "-d"]);
  expect(start.code, start.out).toBe(0);
  expect(start.out).toMatch(/Start success\./);
  const [tcpPort, httpPort] = bannerPorts(start.out);
  try {
    const client = await TestClient.connect(tcpPort);
    client.write("world");
    await client.until((c) => c.text === "hello world", "the tcp example's answer");
    client.close();

    const response = await fetch(`http://127.0.0.1:${httpPort}/`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("hello world");

    const status = await run(dir, cmd, [...pre, "status"]);
    expect(status.code, status.out).toBe(0);
    expect(status.out).toContain(`tcp://127.0.0.1:${tcpPort}`);
    expect(status.out.match(new RegExp(`http://127\\.0\\.0\\.1:${httpPort}`, "g"))).toHaveLength(4);
  } finally {
    const stop = await run(dir, cmd, [...pre, "stop"]);
    expect(stop.code, stop.out).toBe(0);
    expect(stop.out).toMatch(/stop success/);
  }
  const after = await run(dir, cmd, [...pre, "status"]);
  expect(after.code).toBe(1);
  expect(after.out).toMatch(/not run/);
  await expect(fetch(`http://127.0.0.1:${httpPort}/`)).rejects.toThrow();
}
