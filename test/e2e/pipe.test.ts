import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Backend, pattern, PatternChecker, startBackend } from "../helpers/backend.ts";
import { type RunningServer, RUNTIMES, startServer } from "../helpers/server.ts";

const SIZE = 64 << 20;
const STALL_MS = 1000;

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, "127.0.0.1", () => resolve(s));
    s.once("error", reject);
  });
}

describe.each(RUNTIMES)("pipe() back-pressure on %s", (runtime) => {
  let server: RunningServer;
  let backend: Backend;
  beforeAll(async () => {
    backend = await startBackend();
    server = await startServer(runtime, "proxy", ["start"], {
      BACKEND_PORT: String(backend.port),
      DEAD_PORT: "9",
      PID_FILE: join(tmpdir(), `wm-pipe-test-${runtime}-${process.pid}.pid`),
    });
  });
  afterAll(async () => {
    const code = await server?.stop();
    await backend?.close();
    expect(code, server?.output()).toBe(0);
  });

  it(`a client that stops reading for ${STALL_MS} ms pauses the backend, and ${SIZE >> 20} MB arrive intact`, async () => {
    const waitedBefore = backend.stats.waitedMs;
    const socket = await open(server.ports[1]);
    const checker = new PatternChecker();
    const ended = new Promise<void>((resolve) => socket.on("end", resolve));
    let stalled = false;
    socket.on("data", (chunk) => {
      checker.add(chunk);
      if (!stalled) {
        stalled = true;
        socket.pause();
        setTimeout(() => socket.resume(), STALL_MS);
      }
    });
    socket.write(`source ${SIZE}\n`);
    await ended;
    socket.destroy();
    expect(checker.ok).toBe(true);
    expect(checker.received).toBe(SIZE);
    // The proxy stopped reading from the backend while its client did not read.
    expect(backend.stats.waitedMs - waitedBefore).toBeGreaterThan(STALL_MS / 2);
  });

  it("close() right after a send the kernel could not take at once still flushes it and closes", async () => {
    const socket = await open(server.ports[3]);
    socket.pause(); // let the kernel buffers fill up
    await new Promise((r) => setTimeout(r, 300));
    let received = 0;
    socket.on("data", (d) => (received += d.length));
    const ended = new Promise<void>((resolve) => socket.on("end", resolve));
    socket.resume();
    await ended;
    socket.destroy();
    expect(received % 1024).toBe(0);
    expect(received).toBeGreaterThan(0);
  });

  it(`a backend that stops reading for ${STALL_MS} ms pauses the client, and ${SIZE >> 20} MB arrive intact`, async () => {
    const socket = await open(server.ports[1]);
    let answer = "";
    const ended = new Promise<void>((resolve) => socket.on("close", () => resolve()));
    socket.on("data", (d) => (answer += d.toString()));
    socket.write(`sink ${SIZE} ${STALL_MS}\n`);
    let waited = 0;
    for (let sent = 0; sent < SIZE; sent += 1 << 20) {
      if (!socket.write(pattern(sent, 1 << 20))) {
        const since = Date.now();
        await new Promise((resolve) => socket.once("drain", resolve));
        waited += Date.now() - since;
      }
    }
    await ended;
    expect(answer).toBe(`got ${SIZE} ok\n`);
    expect(waited).toBeGreaterThan(STALL_MS / 2);
  });
});
