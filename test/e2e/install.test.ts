// Using workerman-ts from one's own project, as the README's first section tells a newcomer to:
// install it into a project outside this repository (the packed npm build, or the clone's path),
// write the manual's tcp and http examples as start.ts, and run `node start.ts start -d`,
// `status` and `stop` there on Node 24 (type stripping, no flag), talking to it with real clients.
// Needs the npm build in npm/ (`npm test` builds first). The framework comes from the local
// tarball or folder; npm reads its one dependency, ioredis, from its cache when it holds it.
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestClient } from "../helpers/client.ts";
import { bannerPorts, nodeBinary, ROOT } from "../helpers/server.ts";

const NODE24 = nodeBinary("node24")!;

/** The manual's tcp and http examples in one start script, on ports the system picks. */
const START_TS = `import { Worker } from "workerman-ts";

const tcp = new Worker("tcp://127.0.0.1:0");
tcp.onMessage = (conn, data) => conn.send("hello " + data);

const http = new Worker("http://127.0.0.1:0");
http.count = 4;
http.onMessage = (conn, request) => conn.send("hello world");

Worker.runAll();
`;

/** Run a command in `cwd` to completion; resolves with its exit code and output. */
function run(cwd: string, cmd: string, args: string[]): Promise<{ code: number | string; out: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { cwd, env: { ...process.env, NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    p.stdout.on("data", (c) => out += c);
    p.stderr.on("data", (c) => out += c);
    p.on("exit", (code, signal) => resolve({ code: code ?? signal ?? -1, out }));
  });
}

/** A fresh project folder outside the repository, with a package.json and the start script. */
function scratchProject(dirs: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), "wm-own-project-"));
  dirs.push(dir);
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "my-server", private: true, type: "module" }));
  writeFileSync(join(dir, "start.ts"), START_TS);
  return dir;
}

/** `node start.ts start -d`, then both examples answer, `status` lists them, `stop` ends them. */
async function startStatusStop(dir: string): Promise<void> {
  const start = await run(dir, NODE24, ["start.ts", "start", "-d"]);
  expect(start.code, start.out).toBe(0);
  expect(start.out).toMatch(/Start success\./);
  const [tcpPort, httpPort] = bannerPorts(start.out);
  try {
    const client = await TestClient.connect(tcpPort);
    client.write("world");
    await client.until((c) => c.text === "hello world", "the tcp example's answer");
    client.close();

    const response = await fetch(`http://127.0.0.1:${httpPort}/`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("hello world");

    const status = await run(dir, NODE24, ["start.ts", "status"]);
    expect(status.code, status.out).toBe(0);
    expect(status.out).toContain(`tcp://127.0.0.1:${tcpPort}`);
    expect(status.out.match(new RegExp(`http://127\\.0\\.0\\.1:${httpPort}`, "g"))).toHaveLength(4);
  } finally {
    const stop = await run(dir, NODE24, ["start.ts", "stop"]);
    expect(stop.code, stop.out).toBe(0);
    expect(stop.out).toMatch(/stop success/);
  }
  const after = await run(dir, NODE24, ["start.ts", "status"]);
  expect(after.code).toBe(1);
  expect(after.out).toMatch(/not run/);
  await expect(fetch(`http://127.0.0.1:${httpPort}/`)).rejects.toThrow();
}

describe("workerman-ts in one's own project, on Node 24", () => {
  const dirs: string[] = [];
  let packDir: string;
  beforeAll(() => {
    packDir = mkdtempSync(join(tmpdir(), "wm-pack-"));
    dirs.push(packDir);
  });
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it(
    "the packed npm build installs into a project, whose start.ts runs with node start.ts start -d, status and stop",
    async () => {
      const pack = await run(join(ROOT, "npm"), "npm", ["pack", "--pack-destination", packDir]);
      expect(pack.code, pack.out).toBe(0);
      const [tarball] = readdirSync(packDir).filter((f) => f.endsWith(".tgz"));
      const dir = scratchProject(dirs);
      const install = await run(dir, "npm", [
        "install",
        "--prefer-offline",
        "--no-audit",
        "--no-fund",
        join(packDir, tarball),
      ]);
      expect(install.code, install.out).toBe(0);
      await startStatusStop(dir);
    },
    120_000,
  );

  it("npm install <path to a clone> resolves workerman-ts to the clone's build", async () => {
    const dir = scratchProject(dirs);
    // --ignore-scripts: the clone's `prepare` would rebuild npm/ under the other tests' feet;
    // `npm test` has built it already.
    const install = await run(dir, "npm", [
      "install",
      "--ignore-scripts",
      "--prefer-offline",
      "--no-audit",
      "--no-fund",
      ROOT,
    ]);
    expect(install.code, install.out).toBe(0);
    await startStatusStop(dir);
  }, 120_000);
});
