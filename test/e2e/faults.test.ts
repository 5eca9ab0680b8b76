import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestClient } from "../helpers/client.ts";
import { runFixture, type RunningServer, RUNTIMES, startServer } from "../helpers/server.ts";
import { createServer, type Server } from "node:net";

describe.each(RUNTIMES)("faults on %s", (runtime) => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer(runtime, "faults");
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("a throwing onMessage is logged with the worker name and stack; the connection keeps being served", async () => {
    const c = await TestClient.connect(server.ports[0]);
    await c.request("throw\nafter\n", "echo after\n");
    await server.waitForOutput(
      /Error in onMessage of worker Faulty \(connection \d+\): Error: boom from onMessage\n\s+at /,
    );
    c.close();
  });

  it("a rejected promise from an async callback and a throwing timer are logged; the process keeps serving", async () => {
    const c = await TestClient.connect(server.ports[0]);
    await c.request("reject\n", "echo reject\n");
    await c.request("timer-throw\n", "echo timer-throw\n");
    await server.waitForOutput(/Error in timer \d+: Error: boom from a timer/);
    await server.waitForOutput(/Error in onMessage of worker Faulty \(connection \d+\): Error: async boom/);
    await c.request("still\n", "echo still\n");
    c.close();
  });

  it("a protocol whose input() returns garbage closes only that connection and logs one line", async () => {
    const good = await TestClient.connect(server.ports[1]);
    const bad = await TestClient.connect(server.ports[1]);
    await good.request("one\n", "ok one\n");
    bad.write("!oops\n");
    await bad.untilClosed();
    await server.waitForOutput(/Error package\. package_length="garbage"/);
    await good.request("two\n", "ok two\n");
    good.close();
  });
});

describe.each(RUNTIMES)("start-up errors on %s", (runtime) => {
  it("an unknown protocol scheme fails at start, naming the scheme and how to register it", async () => {
    const run = runFixture(runtime, "bad_scheme");
    expect(await run.exited).toBe(1);
    expect(run.output()).toMatch(
      /unknown protocol "jsonl" in "jsonl:\/\/127\.0\.0\.1:0"; known: tcp, udp, unix, ssl, text, frame, http, websocket\. A protocol of your own: register it before Worker\.runAll\(\) with registerProtocol\("jsonl"/,
    );
  });

  it("a port already in use fails at start naming the address, with a non-zero exit", async () => {
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", r));
    const port = (blocker.address() as { port: number }).port;
    try {
      const run = runFixture(runtime, "port_in_use", ["start", String(port)]);
      expect(await run.exited).toBe(1);
      expect(run.output()).toContain(`cannot listen on tcp://127.0.0.1:${port}: address already in use`);
    } finally {
      blocker.close();
    }
  });

  it("no command prints the usage and exits non-zero", async () => {
    const run = runFixture(runtime, "bad_scheme", []);
    expect(await run.exited).toBe(64);
    expect(run.output()).toMatch(
      /Usage: \S+ (run -A --config=\S+ )?\S*bad_scheme\.\w+ <command> \[mode\]\nCommands: \nstart\t\tStart worker in DEBUG mode\./,
    );
  });
});

describe.each(RUNTIMES)("timers on %s", (runtime) => {
  it("Timer.add() passes args, repeats until Timer.del(), one-shots fire once, delAll() clears, 0 is refused", async () => {
    const run = await startServer(runtime, "timers");
    try {
      await run.waitForOutput(/TIMER after delAll \d+/);
      const out = run.output();
      expect(out).toMatch(/TIMER ids 1 2\n/);
      expect(out).toMatch(/TIMER refused: Timer\.add\(\): interval must be a positive number of seconds, got 0/);
      expect(out).toMatch(/TIMER repeating stopped after 3 with args A,B/);
      expect(out).toMatch(/TIMER one-shot fired, live timers 1\n/); // only the delAll timer is left
      expect(out).toMatch(/TIMER before delAll 2 \(id \d+\)\nTIMER after delAll 0/);
      expect(out).not.toContain("TIMER never");
    } finally {
      await run.stop();
    }
  });
});
