import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestClient } from "../helpers/client.ts";
import { type RunningServer, RUNTIMES, startServer } from "../helpers/server.ts";

const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

/** A version 2 PROXY header for TCP over IPv6 from [2001:db8::1]:4000, with one TLV after the addresses. */
function v2Ipv6Header(): Buffer {
  const addresses = Buffer.alloc(36);
  Buffer.from("20010db8000000000000000000000001", "hex").copy(addresses, 0);
  Buffer.from("20010db8000000000000000000000002", "hex").copy(addresses, 16);
  addresses.writeUInt16BE(4000, 32);
  addresses.writeUInt16BE(443, 34);
  const tlv = Buffer.from([0x04, 0x00, 0x03, 0x61, 0x62, 0x63]); // PP2_TYPE_NOOP, "abc"
  const head = Buffer.from([0x21, 0x21, 0x00, 0x00]);
  head.writeUInt16BE(addresses.length + tlv.length, 2);
  return Buffer.concat([V2_SIGNATURE, head, addresses, tlv]);
}

describe.each(RUNTIMES)("the PROXY protocol on %s", (runtime) => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer(runtime, "proxy_protocol", ["start"], {
      PID_FILE: join(tmpdir(), `wm-proxy_protocol-${runtime}-${process.pid}.pid`),
    });
  });
  afterAll(async () => {
    const code = await server?.stop();
    expect(code, server?.output()).toBe(0);
  });

  it("a v1 header from a trusted balancer gives getRemoteIp()/getRemotePort() of the client, from onConnect on", async () => {
    const c = await TestClient.connect(server.ports[0]);
    await c.request("PROXY TCP4 203.0.113.7 10.0.0.1 51234 80\r\nhello\n", "\n");
    expect(c.text).toBe("hello ip=203.0.113.7 port=51234 at-connect=203.0.113.7\n");
    c.close();
  });

  it("a v1 header arriving one byte at a time works the same", async () => {
    const c = await TestClient.connect(server.ports[0]);
    for (const byte of Buffer.from("PROXY TCP6 2001:db8::7 2001:db8::8 4321 443\r\n")) {
      c.write(Buffer.from([byte]));
      await new Promise((r) => setTimeout(r, 1));
    }
    await c.request("split\n", "\n");
    expect(c.text).toBe("split ip=2001:db8::7 port=4321 at-connect=2001:db8::7\n");
    c.close();
  });

  it("a v2 header (IPv6, with a TLV) works, and a v2 LOCAL header keeps the balancer's own address", async () => {
    const c = await TestClient.connect(server.ports[0]);
    c.write(Buffer.concat([v2Ipv6Header(), Buffer.from("binary\n")]));
    await c.untilText("\n");
    expect(c.text).toBe("binary ip=2001:db8::1 port=4000 at-connect=2001:db8::1\n");
    const local = await TestClient.connect(server.ports[0]);
    local.write(Buffer.concat([V2_SIGNATURE, Buffer.from([0x20, 0x00, 0x00, 0x00]), Buffer.from("health\n")]));
    await local.untilText("\n");
    expect(local.text).toBe(`health ip=127.0.0.1 port=${local.socket.localPort} at-connect=127.0.0.1\n`);
    c.close();
    local.close();
  });

  it("a trusted peer that sends no valid header is disconnected, and never reaches the application", async () => {
    const garbage = await TestClient.connect(server.ports[0]);
    garbage.write("GET / HTTP/1.1\r\n\r\n");
    await garbage.untilClosed();
    expect(garbage.text).toBe("");
    const silent = await TestClient.connect(server.ports[0]);
    await silent.untilClosed(); // after the 0.5 s header timeout
    expect(silent.text).toBe("");
  });

  it("from an untrusted address a header is plain data: nobody can forge an address", async () => {
    const c = await TestClient.connect(server.ports[1]);
    await c.request("PROXY TCP4 203.0.113.7 10.0.0.1 51234 80\r\n", "\n");
    expect(c.text).toBe(
      `PROXY TCP4 203.0.113.7 10.0.0.1 51234 80 ip=127.0.0.1 port=${c.socket.localPort} at-connect=127.0.0.1\n`,
    );
    c.close();
  });
});
