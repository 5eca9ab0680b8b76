import { describe, expect, it, vi } from "vitest";
import { ConfigError, registerProtocol, Text, Timer, TimerError, Worker } from "../../mod.ts";
import { parseSocketName } from "../../core/address.ts";
import { nearest } from "../../core/protocol.ts";
import { checkSource } from "../../scripts/check_boundary.ts";

describe("socket names", () => {
  it("parse host, port and scheme, case-insensitively, with bracketed IPv6", () => {
    expect(parseSocketName("Text://0.0.0.0:2347")).toMatchObject({ scheme: "text", host: "0.0.0.0", port: 2347 });
    expect(parseSocketName("tcp://[::1]:80")).toMatchObject({ scheme: "tcp", host: "::1", port: 80 });
    expect(parseSocketName("unix:///tmp/app.sock")).toMatchObject({ scheme: "unix", path: "/tmp/app.sock" });
  });

  it("reject a name without a port or with a port above 65535, saying what is expected", () => {
    expect(() => parseSocketName("tcp://0.0.0.0")).toThrow(/expected tcp:\/\/<host>:<port>/);
    expect(() => parseSocketName("tcp://0.0.0.0:70000")).toThrow(ConfigError);
    expect(() => parseSocketName("0.0.0.0:80")).toThrow(/expected <scheme>:\/\//);
  });

  it("an unknown protocol is refused at start with the name and how to register it", () => {
    const w = new Worker("Nope://127.0.0.1:0");
    expect(() => w.validate()).toThrow(/unknown protocol "nope".*registerProtocol\("nope"/);
  });

  it("an unknown scheme that is a typo of a known one is answered with the nearest (within 2 edits, fewer than half its letters)", () => {
    const known = ["tcp", "udp", "unix", "ssl", "text", "frame", "http", "websocket"];
    expect(nearest("tpc", known)).toBe("tcp");
    expect(nearest("htp", known)).toBe("http");
    expect(nearest("Websocet", known)).toBe("websocket");
    expect(nearest("jsonl", known)).toBeNull();
    expect(nearest("ab", known)).toBeNull();
  });

  it("a socket name without a port does not throw in new Worker() but in validate(), so runAll can report it in one line", () => {
    const w = new Worker("tcp://0.0.0.0");
    expect(() => w.validate()).toThrow(/invalid socket name "tcp:\/\/0\.0\.0\.0": expected tcp:\/\/<host>:<port>/);
  });

  it("ws:// and wss:// (client addresses) are refused for a server, pointing to websocket:// (and transport ssl for TLS)", () => {
    expect(() => new Worker("ws://0.0.0.0:80").validate()).toThrow(
      /"ws:\/\/0\.0\.0\.0:80" is a WebSocket client address.*listens on "websocket:\/\/0\.0\.0\.0:80"$/,
    );
    expect(() => new Worker("WSS://0.0.0.0:443").validate()).toThrow(
      /listens on "websocket:\/\/0\.0\.0\.0:443" with worker\.transport = "ssl" and \{ tls: \{ cert, key \} \}/,
    );
    expect(() => new Worker("websocket://0.0.0.0:80").validate()).not.toThrow();
  });

  it("a protocol registered after the Worker was created is found at start", () => {
    const w = new Worker("Later://127.0.0.1:0");
    registerProtocol("later", Text);
    expect(w.protocol).toBe(Text);
  });

  it("registerProtocol refuses an object without input/decode/encode", () => {
    expect(() => registerProtocol("half", { input: () => 0 } as never)).toThrow(/missing decode, encode/);
  });

  it("transport ssl without a certificate is refused with what to pass", () => {
    const w = new Worker("tcp://127.0.0.1:0");
    w.transport = "ssl";
    expect(() => w.validate()).toThrow(/pass \{ tls: \{ cert, key \} \}/);
  });
});

describe("Timer", () => {
  it("Timer.add() refuses a non-positive interval with a clear error", () => {
    expect(() => Timer.add(0, () => {})).toThrow(TimerError);
    expect(() => Timer.add(-1, () => {})).toThrow(/positive number of seconds, got -1/);
  });

  it("Timer.add() repeats until Timer.del() is called, passing args, and one-shots run once", () => {
    vi.useFakeTimers();
    try {
      const calls: string[] = [];
      const id = Timer.add(0.5, (a: string) => calls.push(a), ["x"]);
      Timer.add(0.7, () => calls.push("once"), [], false);
      const before = Timer.count();
      vi.advanceTimersByTime(1600);
      expect(calls).toEqual(["x", "once", "x", "x"]);
      expect(Timer.count()).toBe(before - 1);
      Timer.del(id);
      vi.advanceTimersByTime(2000);
      expect(calls).toHaveLength(4);
    } finally {
      Timer.delAll();
      vi.useRealTimers();
    }
  });

  it("Timer ids increase from 1 and are never reused", () => {
    const a = Timer.add(10, () => {});
    Timer.del(a);
    const b = Timer.add(10, () => {});
    expect(a).toBeGreaterThanOrEqual(1);
    expect(b).toBe(a + 1);
    Timer.delAll();
  });
});

describe("runtime boundary check", () => {
  it("flags node: imports, bare imports and runtime globals in code", () => {
    const problems = checkSource(
      "core/x.ts",
      'import * as net from "node:net";\nconst p = process.pid;\nBuffer.from("x");\n',
    );
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/imports "node:net"/);
  });

  it("lets portable code reach runtime/ only through the adapter and the contract", () => {
    const source = [
      'import { runtime } from "../runtime/mod.ts";',
      'import type { Conn } from "../runtime/types.ts";',
      'import { gzip } from "../../runtime/_zlib.ts";',
      'import Redis from "ioredis";',
    ].join("\n");
    const problems = checkSource("protocols/http/x.ts", source);
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/:3: imports "..\/..\/runtime\/_zlib.ts"; reach the runtime through runtime\/mod.ts/);
    expect(problems[1]).toMatch(/:4: imports "ioredis"/);
  });

  it("ignores the same words in comments and strings", () => {
    expect(
      checkSource("core/x.ts", '// Deno.exit and process\nconst s = "Bun process";\nimport { a } from "./a.ts";\n'),
    )
      .toEqual([]);
  });
});
