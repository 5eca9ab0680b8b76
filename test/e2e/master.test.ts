import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestClient } from "../helpers/client.ts";
import { nodeVersion, runFixture, type RunningServer, RUNTIMES, startServer } from "../helpers/server.ts";
import { isRunning, until } from "../helpers/wait.ts";

/** Run a control command of the fixture to completion. */
async function command(runtime: (typeof RUNTIMES)[number], env: Record<string, string>, ...args: string[]) {
  const run = runFixture(runtime, "cluster", args, env);
  const code = await run.exited;
  return { code, out: run.output() };
}

/** Ask the text port which process answers, once per new connection. */
async function ask(port: number, line = "pid"): Promise<string> {
  const c = await TestClient.connect(port);
  await c.request(`${line}\n`, "\n");
  c.close();
  return c.text.trim();
}

function started(output: string, name: string): Map<number, number> {
  const ids = new Map<number, number>(); // id -> latest pid
  for (const m of output.matchAll(new RegExp(`STARTED ${name} id=(\\d+) pid=(\\d+)`, "g"))) {
    ids.set(Number(m[1]), Number(m[2]));
  }
  return ids;
}

describe.each(RUNTIMES)("the master process on %s", (runtime) => {
  let dir: string;
  let env: Record<string, string>;
  let server: RunningServer;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), `wm-master-${runtime}-`));
    env = { PID_FILE: join(dir, "app.pid"), LOG_FILE: join(dir, "app.log") };
    server = await startServer(runtime, "cluster", ["start"], env);
  });
  afterAll(async () => {
    await server?.stop(8000);
    rmSync(dir, { recursive: true, force: true });
  });

  it("count = 4 processes share one port and each is served by its own process", async () => {
    await until(() => started(server.output(), "Echo").size === 4, "4 Echo processes");
    const pids = new Set<string>();
    for (let i = 0; i < 60 && pids.size < 2; i++) pids.add((await ask(server.ports[0])).split(" ")[1]);
    expect(pids.size).toBeGreaterThanOrEqual(2);
    const ids = started(server.output(), "Echo");
    expect([...ids.keys()].sort()).toEqual([0, 1, 2, 3]);
  });

  it("kill -9 of a child is followed at once by a new process with the same id, and status counts the exit", async () => {
    const before = started(server.output(), "Echo");
    const victim = before.get(1)!;
    process.kill(victim, "SIGKILL");
    await until(() => (started(server.output(), "Echo").get(1) ?? victim) !== victim, "a new process with id 1", 5000);
    expect(isRunning(started(server.output(), "Echo").get(1)!)).toBe(true);
    await server.waitForOutput(new RegExp(`worker\\[Echo:${victim}\\] exit with status 9`));
    const { code, out } = await command(runtime, env, "status");
    expect(code).toBe(0);
    expect(out).toMatch(/GLOBAL STATUS/);
    expect(out).toMatch(/^Echo\s+9\s+1$/m);
    expect(out).toMatch(/2 workers\s+5 processes/);
    expect(out.match(/\[idle\]/g)).toHaveLength(5);
    expect(out).toMatch(/^Summary\t/m);
  });

  it("connections lists the open connections of every process", async () => {
    const held = await TestClient.connect(server.ports[1]);
    await held.request("hello\n", "keeper");
    const { code, out } = await command(runtime, env, "connections");
    expect(code).toBe(0);
    expect(out).toMatch(/WORKERMAN CONNECTION STATUS/);
    expect(out).toMatch(new RegExp(`Keeper\\s+\\d+\\s+tcp\\s+text.*ESTABLISHED\\s+127\\.0\\.0\\.1:${server.ports[1]}`));
    held.close();
  });

  it("reload replaces every reloadable process one at a time, keeps reloadable = false ones and their connections, and a client hammering the port sees no refused or reset connection", async () => {
    const echoBefore = started(server.output(), "Echo");
    const keeperBefore = started(server.output(), "Keeper").get(0)!;
    const held = await TestClient.connect(server.ports[1]);
    await held.request("before\n", `keeper ${keeperBefore} before`);

    let stop = false;
    const failures: string[] = [];
    let ok = 0;
    const hammer = (async () => {
      while (!stop) {
        try {
          const answer = await ask(server.ports[0]);
          if (answer.startsWith("pid ")) ok++;
          else failures.push(`unexpected answer ${JSON.stringify(answer)}`);
        } catch (err) {
          failures.push((err as Error).message);
        }
      }
    })();
    const mark = server.output().length;
    const { code } = await command(runtime, env, "reload");
    expect(code).toBe(0);
    await server.waitForOutput(/reload done/, 30_000);
    stop = true;
    await hammer;

    const echoAfter = started(server.output(), "Echo");
    for (const [id, pid] of echoBefore) expect(echoAfter.get(id), `id ${id}`).not.toBe(pid);
    expect(server.output().slice(mark)).toMatch(new RegExp(`RELOADED Keeper pid=${keeperBefore}`));
    expect(started(server.output(), "Keeper").get(0)).toBe(keeperBefore);
    await held.request("after\n", `keeper ${keeperBefore} after`);
    held.close();
    expect(failures).toEqual([]);
    expect(ok).toBeGreaterThan(0);
  });

  it("a second start fails with 'already running' and a non-zero exit", async () => {
    const { code, out } = await command(runtime, env, "start");
    expect(code).toBe(1);
    expect(out).toMatch(/already running/);
  });
});

describe.each(RUNTIMES)("start -d, stop and restart on %s", (runtime) => {
  let dir: string;
  let env: Record<string, string>;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), `wm-daemon-${runtime}-`));
    env = { PID_FILE: join(dir, "app.pid"), STDOUT_FILE: join(dir, "stdout.log"), LOG_FILE: join(dir, "app.log") };
  });
  afterAll(() => {
    const pid = Number(existsSync(env.PID_FILE) ? readFileSync(env.PID_FILE, "utf8") : 0);
    if (pid && isRunning(pid)) process.kill(pid, "SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  it("start -d returns once serving (control socket mode 0600); status, reload and stop work against the daemon; stop leaves no process, pid file or socket", async () => {
    const start = await command(runtime, env, "start", "-d");
    expect(start.code, start.out).toBe(0);
    expect(start.out).toMatch(/Start success\./);
    const port = Number(/Echo\s+text:\/\/127\.0\.0\.1:(\d+)/.exec(start.out)![1]);
    const masterPid = Number(readFileSync(env.PID_FILE, "utf8"));
    expect(isRunning(masterPid)).toBe(true);
    expect(await ask(port)).toMatch(/^pid \d+ id \d$/);
    // The control socket is reachable by its owner only.
    const control = statSync(`${env.PID_FILE}.sock`);
    expect(control.isSocket()).toBe(true);
    expect((control.mode & 0o777).toString(8)).toBe("600");
    expect(control.uid).toBe(process.getuid!());

    const status = await command(runtime, env, "status");
    expect(status.code).toBe(0);
    expect(status.out).toMatch(/5 processes/);
    const childPids = [...status.out.matchAll(/^(\d+)\t/gm)].map((m) => Number(m[1]));
    expect(childPids).toHaveLength(5);

    expect((await command(runtime, env, "connections")).code).toBe(0);
    expect((await command(runtime, env, "reload")).code).toBe(0);

    const again = await command(runtime, env, "start", "-d");
    expect(again.code).toBe(1);
    expect(again.out).toMatch(/already running/);

    const stop = await command(runtime, env, "stop");
    expect(stop.code, stop.out).toBe(0);
    expect(stop.out).toMatch(/stop success/);
    expect(isRunning(masterPid)).toBe(false);
    await until(() => childPids.every((p) => !isRunning(p)), "every child to be gone", 5000);
    expect(existsSync(env.PID_FILE)).toBe(false);
    expect(existsSync(`${env.PID_FILE}.sock`)).toBe(false);
  });

  it("commands against a server that is not running say 'not run' and exit non-zero", async () => {
    for (const cmd of ["stop", "status", "reload", "connections"]) {
      const { code, out } = await command(runtime, env, cmd);
      expect(code, cmd).toBe(1);
      expect(out, cmd).toMatch(/not run/);
    }
  });

  it("restart -d stops a running daemon and starts a new one", async () => {
    expect((await command(runtime, env, "start", "-d")).code).toBe(0);
    const first = Number(readFileSync(env.PID_FILE, "utf8"));
    const restart = await command(runtime, env, "restart", "-d");
    expect(restart.code, restart.out).toBe(0);
    expect(restart.out).toMatch(/stop success[\s\S]*Start success\./);
    const second = Number(readFileSync(env.PID_FILE, "utf8"));
    expect(second).not.toBe(first);
    expect(isRunning(first)).toBe(false);
    expect((await command(runtime, env, "stop")).code).toBe(0);
  });
});

describe.each(RUNTIMES)("stopping on %s", (runtime) => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), `wm-stop-${runtime}-`));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("stop -g lets an open connection finish its request before the processes exit", async () => {
    const env = { PID_FILE: join(dir, "graceful.pid") };
    const server = await startServer(runtime, "cluster", ["start"], env);
    try {
      const client = await TestClient.connect(server.ports[0]);
      client.write("slow 1500\n");
      const stopping = command(runtime, env, "stop", "-g");
      await client.untilText("slow done", 15_000);
      client.close();
      const { code, out } = await stopping;
      expect(code, out).toBe(0);
      expect(out).toMatch(/is gracefully stopping[\s\S]*stop success/);
    } finally {
      await server.stop();
    }
  });

  it("stop kills a process stuck in a busy loop after stopTimeout and still succeeds", async () => {
    const env = { PID_FILE: join(dir, "busy.pid") };
    const server = await startServer(runtime, "cluster", ["start"], env);
    try {
      const busy = Number((await ask(server.ports[0], "busy")).split(" ")[1]);
      await new Promise((r) => setTimeout(r, 200)); // let it enter the loop
      const { code, out } = await command(runtime, env, "stop");
      expect(code, out).toBe(0);
      expect(out).toMatch(/stop success/);
      await server.waitForOutput(new RegExp(`worker\\[Echo:${busy}\\] exit with status 9`));
      expect(isRunning(busy)).toBe(false);
    } finally {
      await server.stop();
    }
  });

  it("a process that keeps dying right after start is restarted with a growing delay, logged once per streak", async () => {
    const env = { PID_FILE: join(dir, "crash.pid") };
    const server = await startServer(runtime, "crash_loop", ["start"], env);
    try {
      await server.waitForOutput(/keeps exiting within a second of starting/);
      await new Promise((r) => setTimeout(r, 2500));
      const out = server.output();
      expect(out.match(/keeps exiting within a second/g)).toHaveLength(1);
      const exits = out.match(/worker\[Crashy:\d+\] exit with status 768/g) ?? [];
      // Without a back-off a 100 ms crash loop would exit ~25 times in these seconds.
      expect(exits.length).toBeGreaterThanOrEqual(3);
      expect(exits.length).toBeLessThan(12);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });
});

describe.each(RUNTIMES)("process options on %s", (runtime) => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), `wm-options-${runtime}-`));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("reusePort gives each process its own socket where the runtime has SO_REUSEPORT, and a clear error where it has not", async () => {
    const env = { PID_FILE: join(dir, "reuse.pid"), REUSE_PORT: "1" };
    const node = nodeVersion(runtime);
    if (node !== null && !(node[0] > 22 || (node[0] === 22 && node[1] >= 12))) {
      const run = runFixture(runtime, "options", ["start"], env);
      expect(await run.exited).toBe(1);
      expect(run.output()).toMatch(/reusePort, which needs SO_REUSEPORT support.*remove "reusePort = true"/);
      return;
    }
    // With reusePort every process binds for itself, so port 0 would give each a different
    // port: take a free one first.
    const { createServer } = await import("node:net");
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    const port = (probe.address() as { port: number }).port;
    await new Promise((r) => probe.close(r));
    const server = await startServer(runtime, "options", ["start"], { ...env, PORT: String(port) });
    try {
      await until(() => (server.output().match(/STARTED pid=/g) ?? []).length === 2, "two processes");
      const pids = new Set<string>();
      for (let i = 0; i < 100 && pids.size < 2; i++) pids.add((await ask(port)).split(" ")[1]);
      expect(pids.size).toBe(2);
      if (runtime === "deno") {
        // The master starts Deno children with --unstable-net, so reusePort gets native Deno.listen
        // sockets (the fast path) without the user adding the flag.
        for (const pid of pids) {
          expect(readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")).toContain("--unstable-net");
        }
      }
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  it("worker.user switches the processes to that user when the master runs as root", async () => {
    if (process.getuid?.() !== 0) return; // only root can switch (CI runs as root)
    const env = { PID_FILE: join(dir, "user.pid"), RUN_AS: "nobody" };
    const server = await startServer(runtime, "options", ["start"], env);
    try {
      const answer = await ask(server.ports[0]);
      expect(answer).toMatch(/^pid \d+ uid 65534$/);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  it("when the master is killed with SIGKILL every process notices and exits: no orphan keeps the port", async () => {
    const env = { PID_FILE: join(dir, "orphan.pid") };
    const server = await startServer(runtime, "cluster", ["start"], env);
    await until(
      () => started(server.output(), "Echo").size === 4 && started(server.output(), "Keeper").size === 1,
      "4 Echo processes and the Keeper",
    );
    const children = [...started(server.output(), "Echo").values(), ...started(server.output(), "Keeper").values()];
    server.proc.kill("SIGKILL");
    await until(() => children.every((pid) => !isRunning(pid)), "every process to exit", 10_000);
    // A multi-threaded process (Bun) shows as a zombie once its main thread is gone, a moment
    // before its last thread closes the descriptors: wait for the refusal, do not sample it once.
    const refused = () => TestClient.connect(server.ports[0]).then((c) => (c.close(), false), () => true);
    await until(refused, "the port to refuse connections", 5_000);
  });
});
