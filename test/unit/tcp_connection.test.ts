import { describe, expect, it } from "vitest";
import { Frame, type Protocol, TcpConnection, Text } from "../../mod.ts";
import { fakeConnection, type TestConnection } from "../helpers/fake_conn.ts";

const enc = (s: string) => new TextEncoder().encode(s);

function connection(protocol: Protocol | null) {
  const { socket, conn, owner } = fakeConnection(protocol);
  const messages: unknown[] = [];
  const events: string[] = [];
  conn.onMessage = (_c: TestConnection, m: unknown) => messages.push(m);
  conn.onClose = () => events.push("close");
  conn.onError = (_c: TestConnection, code: number, msg: string) => events.push(`error ${code} ${msg}`);
  conn.onBufferFull = () => events.push("full");
  conn.onBufferDrain = () => events.push("drain");
  return { socket, conn, messages, events, owner };
}

/** Feed `bytes` split at `cut` (two reads), or byte by byte when cut is -1. */
function feed(conn: TestConnection, bytes: Uint8Array, cut: number) {
  if (cut === -1) { for (let i = 0; i < bytes.length; i++) conn.handleData(bytes.slice(i, i + 1)); }
  else {
    conn.handleData(bytes.slice(0, cut));
    conn.handleData(bytes.slice(cut));
  }
}

function frame(payload: string): Uint8Array {
  return Frame.encode(payload, {} as never) as Uint8Array;
}

describe("framing", () => {
  const textStream = enc("first\r\nsecond line\nthird\n");
  const frameStream = new Uint8Array([...frame("one"), ...frame(""), ...frame("three three")]);

  it("text:// yields the same lines whether the stream arrives whole, split at any offset, or byte by byte", () => {
    for (let cut = -1; cut <= textStream.length; cut++) {
      const { conn, messages } = connection(Text);
      feed(conn, textStream, cut);
      expect(messages, `cut at ${cut}`).toEqual(["first", "second line", "third"]);
    }
  });

  it("frame:// yields the same payloads whether the stream arrives whole, split at any offset, or byte by byte", () => {
    for (let cut = -1; cut <= frameStream.length; cut++) {
      const { conn, messages } = connection(Frame);
      feed(conn, frameStream, cut);
      expect(messages.map(String), `cut at ${cut}`).toEqual(["one", "", "three three"]);
    }
  });

  it("text:// yields the same lines for long reads of many lines, ASCII or not, split at any offset", () => {
    const lines = ["alpha one", "béta twö ünïcode", "", "gamma\r", "x".repeat(70), "δέλτα", "last"];
    const stream = enc(lines.map((l) => `${l}\n`).join("").repeat(3));
    const expected = Array(3).fill(lines.map((l) => l.replace(/\r$/, ""))).flat();
    for (let cut = -1; cut <= stream.length; cut++) {
      const { conn, messages } = connection(Text);
      feed(conn, stream, cut);
      expect(messages, `cut at ${cut}`).toEqual(expected);
    }
    const ascii = enc("0123456789 abcdefghij\n".repeat(20) + "tail");
    for (let cut = 0; cut <= ascii.length; cut += 7) {
      const { conn, messages } = connection(Text);
      feed(conn, ascii, cut);
      conn.handleData(enc("\n"));
      expect(messages.length, `cut at ${cut}`).toBe(21);
      expect(messages.slice(0, 20).every((m) => m === "0123456789 abcdefghij")).toBe(true);
      expect(messages[20]).toBe("tail");
    }
  });

  it("Text's view-based input()/decode() (used for datagrams) give the same lines as its offset-based framing", () => {
    const stream = enc("one\r\ntwö\n\nthree\n");
    const lines: string[] = [];
    let rest = stream;
    const conn = { maxPackageSize: 1000 } as never;
    for (let n = Text.input(rest, conn); n > 0; n = Text.input(rest, conn)) {
      lines.push(Text.decode(rest.subarray(0, n), conn) as string);
      rest = rest.subarray(n);
    }
    expect(lines).toEqual(["one", "twö", "", "three"]);
  });

  it("frame:// encodes the total length including the 4-byte header, big-endian", () => {
    expect([...frame("ab")]).toEqual([0, 0, 0, 6, 97, 98]);
  });

  it("a frame:// length below 4 closes the connection", () => {
    const { conn, socket, events } = connection(Frame);
    conn.handleData(new Uint8Array([0, 0, 0, 2, 1, 2]));
    expect(socket.destroyed).toBe(true);
    expect(events).toEqual(["close"]);
  });

  it("a package longer than maxPackageSize closes the connection", () => {
    const { conn, socket, messages } = connection(Frame);
    conn.maxPackageSize = 100;
    conn.handleData(frame("x".repeat(200)));
    expect(messages).toEqual([]);
    expect(socket.destroyed).toBe(true);
  });

  it("text:// closes a connection whose buffer reaches maxPackageSize without a newline", () => {
    const { conn, socket } = connection(Text);
    conn.maxPackageSize = 64;
    conn.handleData(enc("y".repeat(40)));
    expect(conn.getStatus()).toBe(TcpConnection.STATUS_ESTABLISHED);
    conn.handleData(enc("y".repeat(40)));
    expect(conn.getStatus()).not.toBe(TcpConnection.STATUS_ESTABLISHED);
    expect(socket.ended || socket.destroyed).toBe(true);
  });

  it("raw tcp:// data is bytes whose string form is UTF-8", () => {
    const { conn, messages } = connection(null);
    conn.handleData(enc("wörld"));
    expect(messages[0]).toBeInstanceOf(Uint8Array);
    expect("hello " + messages[0]).toBe("hello wörld");
  });

  it("a large package arriving in many reads is assembled once", () => {
    const { conn, messages } = connection(Frame);
    const big = frame("z".repeat(300_000));
    for (let i = 0; i < big.length; i += 1000) conn.handleData(big.slice(i, i + 1000));
    expect(messages).toHaveLength(1);
    expect(String(messages[0]).length).toBe(300_000);
  });
});

describe("sending", () => {
  it("everything sent while handling one read goes out in one write", () => {
    const { conn, socket } = connection(Text);
    conn.onMessage = (c: TestConnection, line: string) => {
      c.send(`a:${line}`);
      c.send(`b:${line}`);
    };
    conn.handleData(enc("1\n2\n3\n"));
    expect(socket.writes).toHaveLength(1);
    expect(socket.written).toBe("a:1\nb:1\na:2\nb:2\na:3\nb:3\n");
  });

  it("what one read sends to other connections (a broadcast) goes out in one write per connection", () => {
    const a = connection(Text);
    const others = [connection(Text), connection(Text)];
    a.conn.onMessage = (_c: TestConnection, line: string) => {
      for (const o of others) expect(o.conn.send(`news ${line}`)).toBe(null);
    };
    a.conn.handleData(enc("1\n2\n3\n"));
    for (const o of others) {
      expect(o.socket.writes).toHaveLength(1);
      expect(o.socket.written).toBe("news 1\nnews 2\nnews 3\n");
    }
    expect(others[0].conn.send("later")).toBe(true); // outside a read: written at once
    expect(others[0].socket.writes).toHaveLength(2);
  });

  it("send() outside a read returns true when the kernel took everything", () => {
    const { conn, socket } = connection(null);
    expect(conn.send("now")).toBe(true);
    expect(socket.written).toBe("now");
  });

  it("send() to a full buffer: null and onBufferFull, then false with onError(2), then drain", () => {
    const { conn, socket, events } = connection(null);
    conn.maxSendBufferSize = 1000;
    socket.capacity = 10;
    expect(conn.send("x".repeat(2000))).toBe(null);
    expect(events).toEqual(["full"]);
    expect(conn.send("more")).toBe(false);
    expect(events).toEqual(["full", "error 2 send buffer full and drop package"]);
    socket.drain();
    expect(events.at(-1)).toBe("drain");
    expect(conn.send("after")).toBe(true);
  });

  it("sends collected during a read that fill the buffer: onBufferDrain follows once the kernel takes their write whole", async () => {
    const { conn, socket, events } = connection(null);
    conn.maxSendBufferSize = 1000;
    conn.onMessage = (c: TcpConnection) => {
      expect(c.send("x".repeat(600))).toBe(null);
      expect(c.send("x".repeat(600))).toBe(null);
      expect(c.send("dropped")).toBe(false);
    };
    conn.handleData(enc("go"));
    expect(socket.writes).toHaveLength(1);
    expect(socket.queued).toBe(0); // no drain event will come from the runtime
    await Promise.resolve();
    expect(events).toEqual(["full", "error 2 send buffer full and drop package", "drain"]);
    socket.drain();
    expect(conn.send("after")).toBe(true);
    await Promise.resolve();
    expect(events.filter((e) => e === "drain")).toHaveLength(1);
  });

  it("close() after onBufferFull during a read: onBufferDrain, then the FIN, then onClose", async () => {
    const { conn, socket, events } = connection(null);
    conn.maxSendBufferSize = 1000;
    conn.onMessage = (c: TcpConnection) => {
      c.send("x".repeat(1200));
      c.close();
    };
    conn.handleData(enc("go"));
    expect(socket.ended).toBe(false);
    await Promise.resolve();
    expect(events).toEqual(["full", "drain"]);
    expect(socket.ended).toBe(true);
    conn.handleEnd();
    expect(events).toEqual(["full", "drain", "close"]);
  });

  it("onBufferFull fires on every send that leaves the buffer at or above the limit", () => {
    const { conn, socket, events } = connection(null);
    conn.maxSendBufferSize = 100;
    socket.capacity = 0;
    conn.send("x".repeat(60));
    conn.send("x".repeat(60));
    expect(events).toEqual(["full"]);
  });

  it("close() flushes queued data, then shuts down; send() after close() returns false", () => {
    const { conn, socket, events } = connection(null);
    socket.capacity = 3;
    conn.send("abcdef");
    conn.close("!");
    expect(conn.getStatus(false)).toBe("CLOSING");
    expect(conn.send("late")).toBe(false);
    expect(socket.ended).toBe(false);
    socket.drain();
    expect(socket.ended).toBe(true);
    expect(socket.written).toBe("abcdef!");
    conn.handleEnd(); // the peer's FIN
    expect(events).toEqual(["drain", "close"]);
    expect(conn.getStatus(false)).toBe("CLOSED");
  });

  it("close() inside onMessage sends the reply of that read, then shuts down", () => {
    const { conn, socket } = connection(Text);
    conn.onMessage = (c: TestConnection, line: string) => c.close(`bye ${line}`);
    conn.handleData(enc("x\n"));
    expect(socket.written).toBe("bye x\n");
    expect(socket.ended).toBe(true);
  });

  it("destroy() discards queued data and onClose fires exactly once", () => {
    const { conn, socket, events, owner } = connection(null);
    socket.capacity = 0;
    conn.send("pending");
    conn.destroy();
    conn.destroy();
    conn.handleClose();
    expect(socket.destroyed).toBe(true);
    expect(events).toEqual(["close"]);
    expect(owner.connections.size).toBe(0);
  });

  it("closeWhenIdle(quietMs) answers a request that arrives within quietMs, then closes; a partial one is completed first", () => {
    const fresh = connection(Text);
    fresh.conn.onMessage = (c: TestConnection, line: string) => c.send(`re ${line}`);
    fresh.conn.closeWhenIdle(60_000); // just accepted: a request may be on its way
    expect(fresh.conn.getStatus(false)).toBe("ESTABLISHED");
    fresh.conn.handleData(enc("par"));
    expect(fresh.conn.getStatus(false)).toBe("ESTABLISHED"); // half a request: wait for the rest
    fresh.conn.closeWhenIdle(); // the quiet time has passed, but half a request is held
    expect(fresh.conn.getStatus(false)).toBe("ESTABLISHED");
    fresh.conn.handleData(enc("tial\n"));
    expect(fresh.socket.written).toBe("re partial\n");
    expect(fresh.socket.ended).toBe(true);
  });

  it("closeWhenIdle() closes at once a connection that never sent a byte, and one that has answered everything", () => {
    const silent = connection(Text);
    silent.conn.closeWhenIdle();
    expect(silent.socket.ended).toBe(true);

    const idle = connection(Text);
    idle.conn.handleData(enc("done\n"));
    idle.conn.closeWhenIdle();
    expect(idle.socket.ended).toBe(true);
    expect(idle.conn.finishedWriting()).toBe(true);
  });

  it("closeWhenIdle(quietMs) waits on a connection that just talked, and closes it when called again", () => {
    const { conn, socket } = connection(Text);
    conn.handleData(enc("one\n"));
    conn.closeWhenIdle(60_000);
    expect(socket.ended).toBe(false);
    expect(conn.closesAfterAnswer()).toBe(true);
    conn.closeWhenIdle();
    expect(socket.ended).toBe(true);
  });

  it("closesAfterAnswer() is false while a received request waits its turn behind the one being answered", () => {
    const { conn } = connection(Text);
    expect(conn.closesAfterAnswer()).toBe(false);
    conn.pauseRecv();
    conn.handleData(enc("queued\n")); // received while paused: held
    conn.closeWhenIdle(60_000);
    expect(conn.closesAfterAnswer()).toBe(false);
    conn.resumeRecv();
    expect(conn.closesAfterAnswer()).toBe(true);
  });

  it("closeWhenIdle() waits while the protocol is busy with an answer, and closes after the send that ends it", () => {
    let busy = false;
    const { conn, socket } = connection({ ...Text, busy: () => busy });
    conn.onMessage = () => {
      busy = true; // an async handler: the answer comes later
    };
    conn.handleData(enc("slow\n"));
    conn.closeWhenIdle();
    expect(socket.ended).toBe(false);
    busy = false;
    conn.send("answer");
    expect(socket.written).toBe("answer\n");
    expect(socket.ended).toBe(true);
  });

  it("closeWhenIdle(quietMs, true) leaves open a connection whose protocol has no closableWhenIdle(), and says no answer is its last", () => {
    const { conn, socket } = connection(Text);
    conn.onMessage = (c: TestConnection, line: string) => c.send(`re ${line}`);
    conn.closeWhenIdle(0, true);
    expect(conn.closesAfterAnswer()).toBe(false);
    conn.handleData(enc("one\n"));
    expect(socket.written).toBe("re one\n");
    expect(socket.ended).toBe(false);
    expect(conn.getStatus(false)).toBe("ESTABLISHED");
  });

  it("closeWhenIdle(quietMs, true) closes once idle only while the protocol's closableWhenIdle() agrees", () => {
    let closable = false;
    const { conn, socket } = connection({ ...Text, closableWhenIdle: () => closable });
    conn.onMessage = (c: TestConnection, line: string) => c.send(`re ${line}`);
    conn.closeWhenIdle(0, true);
    expect(socket.ended).toBe(false);
    conn.handleData(enc("stream\n")); // answered, but the protocol cannot end it here
    expect(socket.ended).toBe(false);
    closable = true;
    expect(conn.closesAfterAnswer()).toBe(true);
    conn.handleData(enc("last\n"));
    expect(socket.written).toBe("re stream\nre last\n");
    expect(socket.ended).toBe(true);
  });

  it("a closed connection whose peer never sends its FIN is destroyed after closeTimeout, each on its own time", async () => {
    const saved = TcpConnection.closeTimeout;
    const until = async (check: () => boolean) => {
      for (let i = 0; i < 1000 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
    };
    try {
      const waiting = connection(null); // with the default (long) timeout: must not delay the others
      waiting.conn.close();
      TcpConnection.closeTimeout = 0.3;
      const first = connection(null);
      first.conn.close();
      await new Promise((r) => setTimeout(r, 200));
      const second = connection(null);
      second.conn.close();
      const answered = connection(null);
      answered.conn.close();
      answered.conn.handleEnd(); // this peer closes: nothing left to time out
      expect([first.socket.ended, first.socket.destroyed]).toEqual([true, false]);
      await until(() => first.socket.destroyed);
      expect(first.socket.destroyed).toBe(true);
      expect(first.events).toEqual(["close"]);
      expect(second.socket.destroyed).toBe(false); // closed 200 ms later: not yet
      await until(() => second.socket.destroyed);
      expect(second.socket.destroyed).toBe(true);
      expect(answered.events).toEqual(["close"]);
      expect(waiting.socket.destroyed).toBe(false);
      waiting.conn.destroy();
    } finally {
      TcpConnection.closeTimeout = saved;
    }
  });

  it("the peer's half-close gets the pending reply before the connection closes", () => {
    const { conn, socket, events } = connection(Text);
    conn.onMessage = (c: TestConnection, line: string) => c.send(`re ${line}`);
    conn.handleData(enc("last\n"));
    conn.handleEnd();
    expect(socket.written).toBe("re last\n");
    expect(events).toEqual(["close"]);
  });
});

describe("receiving", () => {
  it("pauseRecv() pauses the socket and holds data; resumeRecv() delivers it in order", () => {
    const { conn, socket, messages } = connection(Text);
    conn.onMessage = (c: TestConnection, line: string) => {
      messages.push(line);
      if (line === "pause") c.pauseRecv();
    };
    conn.handleData(enc("a\npause\nb\n"));
    conn.handleData(enc("c\n"));
    expect(socket.paused).toBe(true);
    expect(messages).toEqual(["a", "pause"]);
    conn.resumeRecv();
    expect(socket.paused).toBe(false);
    expect(messages).toEqual(["a", "pause", "b", "c"]);
  });

  it("a throwing onMessage is reported and the next package is still delivered", () => {
    const { conn, messages } = connection(Text);
    conn.onMessage = (_c: TestConnection, line: string) => {
      if (line === "bad") throw new Error("user bug");
      messages.push(line);
    };
    conn.handleData(enc("bad\ngood\n"));
    expect(messages).toEqual(["good"]);
  });

  it("bytesRead and bytesWritten count the traffic", () => {
    const { conn } = connection(Text);
    conn.onMessage = (c: TestConnection, line: string) => c.send(line);
    conn.handleData(enc("12345\n"));
    expect(conn.bytesRead).toBe(6);
    expect(conn.bytesWritten).toBe(6);
  });

  it("user properties can be set on a connection", () => {
    const { conn } = connection(null);
    conn.uid = 7;
    expect(conn.uid).toBe(7);
  });

  it("ids are per process, increasing and never reused", () => {
    const a = connection(null).conn.id;
    const b = connection(null).conn.id;
    expect(b).toBeGreaterThan(a);
  });
});
