import { createServer, type Socket } from "node:net";
import { describe, expect, it } from "vitest";
import { FileMonitor, GlobalDataClient } from "../../mod.ts";
import { crc32 } from "../../components/hash.ts";

describe("crc32, which places GlobalData keys on servers", () => {
  it("matches the IEEE CRC-32 (PHP's crc32()) on known vectors, UTF-8 included", () => {
    expect(crc32("")).toBe(0);
    expect(crc32("The quick brown fox jumps over the lazy dog")).toBe(0x414fa339);
    expect(crc32("123456789")).toBe(0xcbf43926);
    expect(crc32("é")).toBe(crc32("\u00e9"));
    expect(crc32("é")).not.toBe(crc32("e"));
  });
});

describe("GlobalDataClient", () => {
  it("refuses an empty server list and values JSON cannot carry, saying why", async () => {
    expect(() => new GlobalDataClient([])).toThrow(/servers empty/);
    const client = new GlobalDataClient("127.0.0.1:1");
    expect(() => client.set("k", undefined)).toThrow(/cannot be stored as JSON/);
    await expect(client.increment("k", Number.NaN)).rejects.toThrow(/finite number/);
    client.close();
  });

  it("rejects an operation a server does not answer within the timeout, and connects again", async () => {
    const sockets: Socket[] = [];
    const silent = createServer((s) => sockets.push(s)); // accepts, never answers
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    const client = new GlobalDataClient(`127.0.0.1:${(silent.address() as { port: number }).port}`, { timeout: 300 });
    await expect(client.get("k")).rejects.toThrow(/did not answer within 300 ms/);
    await expect.poll(() => sockets.length, { timeout: 5000 }).toBe(2);
    client.close();
    for (const s of sockets) s.destroy();
    silent.close();
  });
});

describe("FileMonitor", () => {
  it("counts source files and skips node_modules, npm/, .git and other extensions", () => {
    const monitor = new FileMonitor("/app");
    expect(monitor.matters("/app/src/server.ts")).toBe(true);
    expect(monitor.matters("/app/config.json")).toBe(true);
    expect(monitor.matters("/app/node_modules/ws/index.js")).toBe(false);
    expect(monitor.matters("/app/npm/esm/mod.js")).toBe(false);
    expect(monitor.matters("/app/.git/index")).toBe(false);
    expect(monitor.matters("/app/notes.txt")).toBe(false);
    expect(monitor.matters("/app/src/.server.ts.swp")).toBe(false);
    expect(monitor.name).toBe("FileMonitor");
    expect(monitor.reloadable).toBe(false);
  });
});
