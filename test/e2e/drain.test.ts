import { get } from "node:http";
import { connect, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { pattern, PatternChecker } from "../helpers/backend.ts";
import { type RunningServer, RUNTIMES, startServer } from "../helpers/server.ts";
import { until } from "../helpers/wait.ts";

/** What each producer sends: far more than the 64 KiB limit and the kernel buffers between the peers. */
const TOTAL = 16 << 20;
const PIECE = 16384;

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, "127.0.0.1", () => resolve(s));
    s.once("error", reject);
  });
}

/** Counts what arrives on `socket` until it closes. */
function countUntilClosed(socket: Socket): Promise<number> {
  let received = 0;
  socket.on("data", (chunk: Buffer) => (received += chunk.length));
  return new Promise((resolve) => socket.on("close", () => resolve(received)));
}

/**
 * The events a producer reported until `done`, checked to be the manual's pattern working:
 * onBufferFull at least once, and after it (or after several in a row: a WebSocket's frames
 * held back until the handshake count against the limit again when they are written) exactly
 * one onBufferDrain before the next onBufferFull. After `done` (the connection closing) one
 * more drain may come, for the last writes.
 */
function expectFullThenDrain(events: string[]): void {
  const all = events.join("|");
  const done = events.findIndex((e) => e.startsWith("done "));
  expect(done, all).toBeGreaterThan(0);
  expect(events[done]).toBe(`done ${TOTAL}`);
  const cycles = events.slice(0, done).filter((e, i, list) => !(e === "full" && list[i - 1] === "full"));
  expect(cycles, all).toEqual(cycles.map((_, i) => (i % 2 === 0 ? "full" : "drain")));
  expect(cycles.length % 2, all).toBe(0);
  expect(["", "drain"], all).toContain(events.slice(done + 1).join("|"));
}
describe.each(RUNTIMES)("onBufferDrain follows every onBufferFull on %s", (runtime) => {
  let server: RunningServer;
  let tcpPort: number;
  let pipePort: number;
  let wsPort: number;
  let httpPort: number;
  beforeAll(async () => {
    server = await startServer(runtime, "drain", ["start"], {
      PID_FILE: join(tmpdir(), `wm-drain-test-${runtime}-${process.pid}.pid`),
    });
    [tcpPort, pipePort, wsPort, httpPort] = server.ports;
  });
  afterAll(async () => {
    const code = await server?.stop();
    expect(code, server?.output()).toBe(0);
  });

  let serial = 0;
  const newTag = (kind: string) => `${kind}${++serial}`;
  /** What the producer tagged `tag` reported so far. */
  const events = (tag: string) =>
    server.output().split("\n").filter((l) => l.startsWith(`EVENT ${tag} `)).map((l) =>
      l.slice(`EVENT ${tag} `.length)
    );
  const reported = (tag: string, event: string) => server.waitForOutput(new RegExp(`EVENT ${tag} ${event}`));

  it("five sends of 16 KiB while handling one read: onBufferFull, the fifth dropped with onError(2), and onBufferDrain once the 64 KiB are written", async () => {
    const tag = newTag("five");
    const socket = await open(tcpPort);
    socket.pause();
    socket.write(`five ${tag}\n`);
    await reported(tag, "sent");
    expect(events(tag).slice(0, 3)).toEqual(["full", "error 2", "sent null,null,null,null,false"]);
    let received = "";
    socket.on("data", (d: Buffer) => (received += d.toString("latin1")));
    socket.resume();
    await reported(tag, "drain");
    // The answer to a later command says how many drains the connection has seen by then.
    socket.write(`ping ${tag}\n`);
    await new Promise<void>((resolve) => socket.on("data", () => received.endsWith("\n") && resolve()));
    expect(received.slice(4 * PIECE)).toBe(`pong ${tag} 1\n`);
    expect(received.length).toBe(4 * PIECE + `pong ${tag} 1\n`.length);
    expect(events(tag)).toEqual(["full", "error 2", "sent null,null,null,null,false", "drain"]);
    socket.destroy();
  });

  for (const mode of ["corked", "timer"]) {
    const how = mode === "corked"
      ? "while handling a read (collected, one write per read)"
      : "from a timer (each written at once)";
    it(`sends ${how}: the producer stops at onBufferFull, goes on at onBufferDrain, and a client that stops reading gets everything`, async () => {
      const tag = newTag(mode);
      const socket = await open(tcpPort);
      socket.pause();
      socket.write(`${mode} ${tag} ${TOTAL}\n`);
      await reported(tag, "full");
      const received = countUntilClosed(socket);
      socket.resume();
      expect(await received).toBe(TOTAL);
      await reported(tag, "done");
      expectFullThenDrain(events(tag));
    });
  }

  it("pipe(): an echo piped to itself, whose client stops reading, pauses and resumes until everything is echoed", async () => {
    const socket = await open(pipePort);
    const tag = `pipe-${socket.localPort}`;
    socket.pause();
    const checker = new PatternChecker();
    for (let sent = 0; sent < TOTAL; sent += 1 << 20) socket.write(pattern(sent, 1 << 20));
    await reported(tag, "full");
    const echoed = new Promise<void>((resolve) =>
      socket.on("data", (chunk: Buffer) => {
        checker.add(chunk);
        if (checker.received >= TOTAL) resolve();
      })
    );
    socket.resume();
    await echoed;
    socket.destroy();
    expect(checker.ok).toBe(true);
    expect(checker.received).toBe(TOTAL);
    // Each onBufferFull (pauseRecv) is followed by an onBufferDrain (resumeRecv) before the
    // next; drains also follow writes the kernel did not take at once, full or not.
    await until(
      () => events(tag).at(-1) === "drain",
      `the last event of ${tag} to be a drain: ${events(tag).join("|")}`,
    );
    const seen = events(tag).join("|");
    expect(seen).toContain("full");
    expect(seen).not.toMatch(/full\|full/);
  });

  it("a WebSocket connection sent to before its handshake is answered (frames held back) gets everything", async () => {
    const tag = newTag("ws");
    const ws = new WebSocket(`ws://127.0.0.1:${wsPort}/${tag}/${TOTAL}`, { perMessageDeflate: false });
    let received = 0;
    ws.on("message", (data: Buffer) => (received += data.length));
    const closed = new Promise<void>((resolve) => ws.on("close", () => resolve()));
    ws.on("error", () => {});
    await new Promise((resolve) => ws.once("open", resolve));
    ws.pause();
    await reported(tag, "full");
    ws.resume();
    await closed;
    expect(received).toBe(TOTAL);
    await reported(tag, "done");
    expectFullThenDrain(events(tag));
  });

  it("a chunked HTTP response streamed to a client that stops reading arrives whole", async () => {
    const tag = newTag("http");
    const body = await new Promise<number>((resolve, reject) => {
      const req = get(`http://127.0.0.1:${httpPort}/${tag}/${TOTAL}`, { agent: false }, (res) => {
        res.pause();
        let length = 0;
        res.on("data", (chunk: Buffer) => (length += chunk.length));
        res.on("end", () => resolve(length));
        res.on("error", reject);
        reported(tag, "full").then(() => res.resume(), reject);
      });
      req.on("error", reject);
    });
    expect(body).toBe(TOTAL);
    await reported(tag, "done");
    expectFullThenDrain(events(tag));
  });

  describe("AsyncTcpConnection", () => {
    let sink: Server;
    let accepted: Promise<Socket>;
    beforeAll(async () => {
      let accept: (s: Socket) => void;
      accepted = new Promise((resolve) => (accept = resolve));
      sink = createServer({ pauseOnConnect: true }, (s) => accept(s));
      await new Promise<void>((resolve) => sink.listen(0, "127.0.0.1", resolve));
    });
    afterAll(async () => {
      (await accepted).destroy();
      await new Promise<void>((resolve) => sink.close(() => resolve()));
    });

    it("sent to before it is established, towards a server that stops reading, it delivers everything", async () => {
      const tag = newTag("async");
      const control = await open(tcpPort);
      control.write(`async ${tag} ${TOTAL} ${(sink.address() as { port: number }).port}\n`);
      const socket = await accepted;
      await reported(tag, "full");
      const received = countUntilClosed(socket);
      socket.resume();
      expect(await received).toBe(TOTAL);
      await reported(tag, "done");
      expectFullThenDrain(events(tag));
      control.destroy();
    });
  });
});
