import { createSocket, type Socket } from "node:dgram";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestClient } from "../helpers/client.ts";
import { type RunningServer, RUNTIMES, startServer } from "../helpers/server.ts";

interface Reply {
  text: string;
  port: number;
}

/** A UDP client socket that collects replies. */
class UdpClient {
  readonly socket: Socket;
  readonly replies: Reply[] = [];
  private wake: (() => void) | null = null;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on("message", (msg, rinfo) => {
      this.replies.push({ text: msg.toString(), port: rinfo.port });
      this.wake?.();
    });
  }

  static open(type: "udp4" | "udp6" = "udp4"): Promise<UdpClient> {
    const socket = createSocket(type);
    return new Promise((resolve) => socket.bind(0, () => resolve(new UdpClient(socket))));
  }

  get port(): number {
    return this.socket.address().port;
  }

  /** Send `payload` until `count` replies are in (a datagram may be lost, even on loopback). */
  async request(port: number, payload: string, host = "127.0.0.1", count = 1): Promise<Reply[]> {
    const start = this.replies.length;
    for (let attempt = 0; attempt < 5; attempt++) {
      this.socket.send(payload, port, host);
      const deadline = Date.now() + 2000;
      while (this.replies.length - start < count && Date.now() < deadline) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          setTimeout(resolve, 100);
        });
      }
      if (this.replies.length - start >= count) return this.replies.slice(start, start + count);
    }
    throw new Error(`no reply to ${JSON.stringify(payload)} from ${host}:${port}`);
  }

  close(): void {
    this.socket.close();
  }
}

describe.each(RUNTIMES)("UDP on %s", (runtime) => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer(runtime, "udp", ["start"], {
      PID_FILE: join(tmpdir(), `wm-udp-${runtime}-${process.pid}.pid`),
    });
  });
  afterAll(async () => {
    const code = await server?.stop();
    expect(code, server?.output()).toBe(0);
  });

  it("the banner lists the udp workers with the port the master bound", () => {
    expect(server.output()).toMatch(/^udp\s+\S+\s+UdpEcho\s+udp:\/\/127\.0\.0\.1:\d+\s+2\s/m);
    expect(server.output()).toMatch(/^udp\s+\S+\s+UdpText\s+text:\/\/127\.0\.0\.1:\d+\s+1\s/m);
    expect(server.ports.every((p) => p > 0)).toBe(true);
  });

  it("each datagram is one onMessage, answered from the worker's port, with getRemoteIp/Port giving the sender", async () => {
    const client = await UdpClient.open();
    const [reply] = await client.request(server.ports[0], "hello");
    expect(reply.port).toBe(server.ports[0]);
    expect(reply.text).toMatch(new RegExp(`^pid=\\d+ from=127\\.0\\.0\\.1:${client.port} hello$`));
    client.close();
  });

  it("with count = 2 both processes receive on the shared socket: while one is busy the other answers", async () => {
    const pids = [...server.output().matchAll(/STARTED UdpEcho id=\d pid=(\d+)/g)].map((m) => m[1]);
    expect(new Set(pids).size).toBe(2);
    const seen = new Set<string>();
    const busy = await UdpClient.open();
    const other = await UdpClient.open();
    for (let round = 0; round < 10 && seen.size < 2; round++) {
      const [first] = await busy.request(server.ports[0], "busy");
      seen.add(/pid=(\d+)/.exec(first.text)![1]);
      const [second] = await other.request(server.ports[0], "who");
      seen.add(/pid=(\d+)/.exec(second.text)![1]);
      await new Promise((r) => setTimeout(r, 300)); // let the busy one finish
    }
    expect([...seen].sort()).toEqual([...new Set(pids)].sort());
    busy.close();
    other.close();
  });

  it("the text protocol over UDP delivers each line of a datagram as one message", async () => {
    const client = await UdpClient.open();
    const replies = await client.request(server.ports[1], "one\ntwo\n", "127.0.0.1", 2);
    expect(replies.map((r) => r.text)).toEqual(["text:one\n", "text:two\n"]);
    client.close();
  });

  it("AsyncUdpConnection queues a send made before connect, gets the reply, then closes", async () => {
    const c = await TestClient.connect(server.ports[2]);
    await c.request(`udp ${server.ports[0]} ping\n`, "close\n");
    expect(c.text).toMatch(/^connect\|message:pid=\d+ from=127\.0\.0\.1:\d+ ping\|close\n$/);
    c.close();
  });

  it("AsyncUdpConnection with text:// encodes and decodes with the protocol", async () => {
    const c = await TestClient.connect(server.ports[2]);
    await c.request(`udptext ${server.ports[1]} hello\n`, "close\n");
    expect(c.text).toBe("connect|message:text:hello|close\n");
    c.close();
  });
});
