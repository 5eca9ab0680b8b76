import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestClient } from "../helpers/client.ts";
import { type RunningServer, RUNTIMES, startServer } from "../helpers/server.ts";

function jsonInt(value: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(value));
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length + 4);
  return Buffer.concat([head, body]);
}

function decodeJsonInts(data: Buffer): unknown[] {
  const out: unknown[] = [];
  let offset = 0;
  while (offset + 4 <= data.length) {
    const length = data.readUInt32BE(offset);
    if (offset + length > data.length) break;
    out.push(JSON.parse(data.subarray(offset + 4, offset + length).toString()));
    offset += length;
  }
  return out;
}

describe.each(RUNTIMES)("custom protocols on %s", (runtime) => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer(runtime, "custom_protocols");
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("JsonNL registered with registerProtocol() is used by new Worker('JsonNL://...')", async () => {
    const c = await TestClient.connect(server.ports[0]);
    c.write(JSON.stringify({ a: 1 }) + "\n" + JSON.stringify(["x"]));
    c.write("\n");
    await c.until((cl) => cl.text.split("\n").length >= 3, "two JsonNL replies");
    const replies = c.text.trim().split("\n").map((l) => JSON.parse(l));
    expect(replies).toEqual([{ via: "JsonNL", got: { a: 1 } }, { via: "JsonNL", got: ["x"] }]);
    c.close();
  });

  it("the banner lists the worker created as JsonNL:// with its scheme as written", () => {
    expect(server.output()).toMatch(/^tcp\s+\S+\s+JsonNLByName\s+JsonNL:\/\/127\.0\.0\.1:\d+\s/m);
  });

  it("JsonInt works by a lower-cased scheme name, with packages split byte by byte", async () => {
    const c = await TestClient.connect(server.ports[1]);
    const bytes = Buffer.concat([jsonInt({ n: 1 }), jsonInt({ n: 2 })]);
    for (const byte of bytes) c.write(Buffer.from([byte]));
    await c.until((cl) => decodeJsonInts(cl.received).length === 2, "two JsonInt replies");
    expect(decodeJsonInts(c.received)).toEqual([{ via: "JsonInt", got: { n: 1 } }, { via: "JsonInt", got: { n: 2 } }]);
    c.close();
  });

  it("JsonInt set through worker.protocol frames several packages sent in one write", async () => {
    const c = await TestClient.connect(server.ports[2]);
    c.write(Buffer.concat([jsonInt("a"), jsonInt("b"), jsonInt("c")]));
    await c.until((cl) => decodeJsonInts(cl.received).length === 3, "three replies");
    expect(decodeJsonInts(c.received).map((r) => (r as { got: string }).got)).toEqual(["a", "b", "c"]);
    c.close();
  });
});
