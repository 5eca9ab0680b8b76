import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestClient } from "../helpers/client.ts";
import { type RunningServer, RUNTIMES, startServer } from "../helpers/server.ts";

describe.each(RUNTIMES)("the manual's examples on %s", (runtime) => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer(runtime, "manual");
  });
  afterAll(async () => {
    const code = await server?.stop();
    expect(code, server?.output()).toBe(0);
  });

  it("the banner lists both workers with their bound addresses", () => {
    expect(server.ports).toHaveLength(2);
    expect(server.output()).toMatch(/TcpEcho\s+tcp:\/\/127\.0\.0\.1:\d+\s+1/);
    expect(server.output()).toMatch(/ChatRoom\s+Text:\/\/127\.0\.0\.1:\d+\s+1/);
  });

  it("the tcp echo answers 'hello ' + data", async () => {
    const client = await TestClient.connect(server.ports[0]);
    await client.request("world", "hello world");
    expect(client.text).toBe("hello world");
    client.close();
  });

  it("the text chat room gives each connection a uid and broadcasts every line to all", async () => {
    const alice = await TestClient.connect(server.ports[1]);
    const bob = await TestClient.connect(server.ports[1]);
    // A connect() resolves once the kernel has accepted; a first line makes sure the server has too.
    await bob.request("bob here\n", "said: bob here\n");
    alice.write("hi bob\n");
    await bob.untilText("said: hi bob\n");
    const aliceUid = /user\[(\d+)\] said: hi bob/.exec(bob.text)![1];
    await alice.untilText(`user[${aliceUid}] said: hi bob\n`);
    bob.write("hello alice\r\n");
    await alice.untilText("said: hello alice\n");
    const bobUid = /user\[(\d+)\] said: hello alice/.exec(alice.text)![1];
    expect(Number(bobUid)).toBe(Number(aliceUid) + 1);
    alice.close();
    bob.close();
  });

  it("lines split across writes and several lines in one write each arrive as one message", async () => {
    const c = await TestClient.connect(server.ports[1]);
    c.write("par");
    await new Promise((r) => setTimeout(r, 50));
    c.write("tial\none\ntwo\n");
    await c.untilText("said: two\n");
    expect(c.text.match(/said: (\w+)/g)).toEqual(["said: partial", "said: one", "said: two"]);
    c.close();
  });

  it("a 1 MB message echoes back intact", async () => {
    const c = await TestClient.connect(server.ports[0]);
    const payload = "0123456789abcdef".repeat(65536);
    c.write(payload);
    // tcp:// without a protocol answers each read chunk: every chunk comes back prefixed.
    await c.until((cl) => cl.text.replaceAll("hello ", "").length >= payload.length, "1 MB echo");
    expect(c.text.replaceAll("hello ", "")).toBe(payload);
    c.close();
  });
});
