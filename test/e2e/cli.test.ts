// What a user meets on the command line: the hints printed after `start -d` (run exactly as
// printed), the daemon's default log file, `--json`, refused options, and start-up mistakes.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestClient } from "../helpers/client.ts";
import { nodeBinary, ROOT, runFixture, type RuntimeName, RUNTIMES, startServer } from "../helpers/server.ts";
import { isRunning, until } from "../helpers/wait.ts";

/** Run `command` through `sh` in the repository, as a user pastes it. */
function shell(command: string, env: Record<string, string>): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const proc = spawn("sh", ["-c", command], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    proc.stdout.on("data", (c: Buffer) => (out += c.toString()));
    proc.stderr.on("data", (c: Buffer) => (err += c.toString()));
    proc.on("close", (code) => resolve({ code: code ?? -1, out, err }));
  });
}

/** Where the fixture `name` lives as the runtime runs it (Node runs the npm build). */
function fixturePath(runtime: RuntimeName, name: string): string {
  return runtime === "node"
    ? join("npm", "esm", "test", "fixtures", `${name}.js`)
    : join("test", "fixtures", `${name}.ts`);
}

/** The command printed in `Input "<command> stop" to stop.` */
function stopHint(output: string): string {
  const m = /^Input "(.+) stop" to stop\. Start success\.$/m.exec(output);
  expect(m, output).not.toBeNull();
  return m![1];
}

// Any Node: the machine's node by name when PATH finds it, else the binary's path (node_modules/node24/bin/node).
const NODE_HINT = (script: string) => new RegExp(`^(node|\\S*/node) ${script}$`);
const HINT: Record<RuntimeName, (script: string) => RegExp> = {
  node: NODE_HINT,
  node24: NODE_HINT,
  node26: NODE_HINT,
  deno: (script) => new RegExp(`^\\S*deno run -A --config=\\S+/deno\\.json ${script}$`),
  bun: (script) => new RegExp(`^\\S*bun(\\.exe)? ${script}$`),
};

describe.each(RUNTIMES)("the command line on %s", (runtime) => {
  let dir: string;
  let env: Record<string, string>;
  const logFile = join(ROOT, fixturePath(runtime, "daemon_log").replace(/\.[jt]s$/, ".log"));

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), `wm-cli-${runtime}-`));
    env = { PID_FILE: join(dir, "app.pid") };
    rmSync(logFile, { force: true });
  });
  afterAll(() => {
    const pid = Number(existsSync(env.PID_FILE) ? readFileSync(env.PID_FILE, "utf8") : 0);
    if (pid && isRunning(pid)) process.kill(pid, "SIGKILL");
    rmSync(dir, { recursive: true, force: true });
    rmSync(logFile, { force: true });
  });

  it("start --daemon prints where it logs and the exact command that stops it; a throwing onMessage and what the daemon prints land in that log file; status/connections --json and stop work as printed", async () => {
    const start = runFixture(runtime, "daemon_log", ["start", "--daemon"], env);
    expect(await start.exited, start.output()).toBe(0);
    const out = start.output();
    expect(out).toContain(`Log file: ${logFile} (and the daemon's output)\n`);
    const hint = stopHint(out);
    expect(hint).toMatch(HINT[runtime](fixturePath(runtime, "daemon_log").replaceAll(".", "\\.")));
    const port = Number(/Thrower\s+text:\/\/127\.0\.0\.1:(\d+)/.exec(out)![1]);

    const c = await TestClient.connect(port);
    c.write("throw\nprint\n");
    await c.untilText("ok print");
    await until(() => /printed by \d+/.test(readFileSync(logFile, "utf8")), "the daemon's output in the log file");
    const log = readFileSync(logFile, "utf8");
    expect(log).toMatch(/pid:\d+ Workerman\[daemon_log\.[jt]s\] start in DAEMON mode/);
    expect(log).toMatch(
      /pid:\d+ Error in onMessage of worker Thrower \(connection \d+\): Error: thrown in onMessage by \d+\n\s+at /,
    );

    const status = await shell(`${hint} status --json`, env);
    expect(status.code, status.err).toBe(0);
    const report = JSON.parse(status.out);
    expect(report).toMatchObject({
      runtime: expect.stringMatching(/^(Node|Deno|Bun)$/),
      uptimeSeconds: expect.any(Number),
    });
    expect(report.workers).toEqual([{ name: "Thrower", listening: `text://127.0.0.1:${port}`, count: 1, exits: [] }]);
    expect(report.processes).toHaveLength(1);
    expect(report.processes[0]).toMatchObject({ worker: "Thrower", status: "idle", connections: 1, totalRequest: 2 });
    expect(report.summary).toMatchObject({ processes: 1, connections: 1, totalRequest: 2 });

    const connections = await shell(`${hint} connections --json`, env);
    expect(connections.code, connections.err).toBe(0);
    const rows = JSON.parse(connections.out);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      worker: "Thrower",
      transport: "tcp",
      status: "ESTABLISHED",
      local: `127.0.0.1:${port}`,
    });
    c.close();

    const stop = await shell(`${hint} stop`, env);
    expect(stop.code, stop.out + stop.err).toBe(0);
    expect(stop.out).toMatch(/stop success/);
    expect(existsSync(env.PID_FILE)).toBe(false);
  });

  it("commands against a server that is not running name the start script and pid file they looked for; with --json stdout stays empty", async () => {
    const script = join(ROOT, fixturePath(runtime, "daemon_log"));
    for (const args of [["reload"], ["stop"], ["status", "--json"], ["connections", "--json"]]) {
      const run = runFixture(runtime, "daemon_log", args, env);
      expect(await run.exited, args.join(" ")).toBe(1);
      expect(run.output()).toContain(`not run (no master holds ${env.PID_FILE}, the pid file of ${script})`);
    }
    const json = await shell(`${stopHintFree(runtime)} status --json`, env);
    expect(json.code).toBe(1);
    expect(json.out).toBe("");
  });

  it("an unknown option is refused with the usage (naming the command to run) and exit 64, like a missing command", async () => {
    for (const args of [["start", "--bogus"], ["status", "-x"], ["start", "--daemon=yes"], []]) {
      const run = runFixture(runtime, "daemon_log", args, env);
      expect(await run.exited, args.join(" ")).toBe(64);
      if (args.length) expect(run.output()).toContain(`Unknown option: ${args[1]}`);
      const usage = /^Usage: (.+) <command> \[mode\]$/m.exec(run.output());
      expect(usage?.[1]).toMatch(HINT[runtime](fixturePath(runtime, "daemon_log").replaceAll(".", "\\.")));
    }
    expect(existsSync(env.PID_FILE)).toBe(false);
  });

  it("a start script that creates a Worker and never calls Worker.runAll() says so and exits 1; one that calls it after an await starts", async () => {
    const run = runFixture(runtime, "no_run_all", ["start"], env);
    expect(await run.exited).toBe(1);
    expect(run.output()).toMatch(/nothing started: the script creates 1 Worker but never calls Worker\.runAll\(\)/);
    const later = await startServer(runtime, "no_run_all", ["start"], { ...env, RUN_LATER: "1" });
    try {
      const c = await TestClient.connect(later.ports[0]);
      await c.request("hi\n", "got hi\n");
      c.close();
    } finally {
      expect(await later.stop()).toBe(0);
    }
  });

  it("a socket name without a port, or with a scheme typo, ends in one line saying what to fix (the typo's nearest scheme and the known ones) and exit 1", async () => {
    const noPort = runFixture(runtime, "socket_name", ["start"], { ...env, SOCKET: "tcp://0.0.0.0" });
    expect(await noPort.exited).toBe(1);
    expect(noPort.output().trim()).toMatch(
      /^Workerman\[socket_name\.[jt]s\] cannot start: invalid socket name "tcp:\/\/0\.0\.0\.0": expected tcp:\/\/<host>:<port> with a port from 0 to 65535, e\.g\. [^\n]+$/,
    );
    const typo = runFixture(runtime, "socket_name", ["start"], { ...env, SOCKET: "tpc://0.0.0.0:0" });
    expect(await typo.exited).toBe(1);
    expect(typo.output().trim()).toMatch(
      /^Workerman\[socket_name\.[jt]s\] cannot start: unknown protocol "tpc" in "tpc:\/\/0\.0\.0\.0:0" \(did you mean "tcp:\/\/"\?\); known: tcp, udp, unix, ssl, text, frame, http, websocket\. [^\n]+$/,
    );
  });

  it("the banner shows a browser address on 127.0.0.1 beside an http worker listening on 0.0.0.0, and it answers", async () => {
    const server = await startServer(runtime, "socket_name", ["start"], { ...env, SOCKET: "http://0.0.0.0:0" });
    try {
      const port = server.ports[0];
      expect(server.output()).toMatch(
        new RegExp(
          `^tcp\\s+\\S+\\s+Named\\s+http://0\\.0\\.0\\.0:${port}\\s+1\\s+\\[OK\\]\\s+http://127\\.0\\.0\\.1:${port}$`,
          "m",
        ),
      );
      const res = await fetch(`http://127.0.0.1:${port}/`);
      expect(await res.text()).toBe("hello");
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  it("the banner shows a ws:// address on 127.0.0.1 beside a websocket worker listening on 0.0.0.0", async () => {
    const server = await startServer(runtime, "socket_name", ["start"], { ...env, SOCKET: "websocket://0.0.0.0:0" });
    try {
      const port = server.ports[0];
      expect(server.output()).toMatch(
        new RegExp(
          `^tcp\\s+\\S+\\s+Named\\s+websocket://0\\.0\\.0\\.0:${port}\\s+1\\s+\\[OK\\]\\s+ws://127\\.0\\.0\\.1:${port}$`,
          "m",
        ),
      );
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });
});

/** The command line that runs the `daemon_log` fixture, for a command run without a hint. */
function stopHintFree(runtime: RuntimeName): string {
  const bin = join(ROOT, "node_modules", ".bin");
  const script = fixturePath(runtime, "daemon_log");
  const node = nodeBinary(runtime);
  if (node !== null) return `${node} ${script}`;
  if (runtime === "deno") return `${join(bin, "deno")} run -A --config=deno.json ${script}`;
  return `${join(bin, "bun")} ${script}`;
}

describe("the command line under tsx", () => {
  let dir: string;
  let env: Record<string, string>;
  const logFile = join(ROOT, "test", "fixtures", "daemon_log.log");
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "wm-cli-tsx-"));
    env = { PID_FILE: join(dir, "app.pid") };
  });
  afterAll(() => {
    const pid = Number(existsSync(env.PID_FILE) ? readFileSync(env.PID_FILE, "utf8") : 0);
    if (pid && isRunning(pid)) process.kill(pid, "SIGKILL");
    rmSync(dir, { recursive: true, force: true });
    rmSync(logFile, { force: true });
  });

  it("start -d run by tsx prints `npx tsx <script> stop`, and that command stops it", async () => {
    const start = await shell(`${join(ROOT, "node_modules", ".bin", "tsx")} test/fixtures/daemon_log.ts start -d`, env);
    expect(start.code, start.out + start.err).toBe(0);
    const hint = stopHint(start.out);
    expect(hint).toBe("npx tsx test/fixtures/daemon_log.ts");
    const stop = await shell(`${hint} stop`, env);
    expect(stop.code, stop.out + stop.err).toBe(0);
    expect(stop.out).toMatch(/stop success/);
  });
});
