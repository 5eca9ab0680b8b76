// FileMonitor: a saved change reloads the workers in the foreground; with -d it is off.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { TestClient } from "../helpers/client.ts";
import { runFixture, RUNTIMES, startServer } from "../helpers/server.ts";

async function askPid(port: number): Promise<number> {
  const c = await TestClient.connect(port);
  await c.request("pid\n", "\n");
  c.close();
  return Number(/pid (\d+)/.exec(c.text)![1]);
}

describe.each(RUNTIMES)("FileMonitor on %s", (runtime) => {
  const dir = mkdtempSync(join(tmpdir(), "wm-monitor-"));
  const watched = join(dir, "src");
  mkdirSync(join(watched, "node_modules"), { recursive: true });
  const env = {
    PID_FILE: join(dir, "app.pid"),
    STDOUT_FILE: join(dir, "stdout.log"),
    LOG_FILE: join(dir, "app.log"),
    WATCH_DIR: watched,
  };
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("in the foreground a saved source file reloads the workers; node_modules and other files do not", async () => {
    const server = await startServer(runtime, "file_monitor", ["start"], env);
    try {
      await server.waitForOutput(/FileMonitor: watching/);
      const before = await askPid(server.ports[0]);
      writeFileSync(join(watched, "node_modules", "dep.ts"), "ignored");
      writeFileSync(join(watched, "notes.txt"), "ignored");
      writeFileSync(join(watched, "app.ts"), `export const v = ${Date.now()};`);
      await server.waitForOutput(/app\.ts update and reload/, 5000);
      await server.waitForOutput(/reload done/, 5000);
      const after = await askPid(server.ports[0]);
      expect(after).not.toBe(before);
      expect(server.output()).not.toMatch(/dep\.ts update|notes\.txt update/);
      expect(server.output().match(/update and reload/g)).toHaveLength(1);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  it("with -d it is off: a change reloads nothing", async () => {
    const start = await startServer(runtime, "file_monitor", ["start", "-d"], env);
    await start.exited;
    const port = start.ports[0];
    try {
      const before = await askPid(port);
      writeFileSync(join(watched, "app.ts"), `export const v = ${Date.now()};`);
      await new Promise((r) => setTimeout(r, 1500)); // room for a reload that must not happen
      expect(await askPid(port)).toBe(before);
    } finally {
      expect(await runFixture(runtime, "file_monitor", ["stop"], env).exited).toBe(0);
    }
  });
});
