/**
 * What a reload costs clients that open a connection per request, in the default mode (every
 * process accepts on the master's shared socket) and with `reusePort = true` (each process binds
 * its own SO_REUSEPORT socket; on Deno a native `Deno.listen` one, the faster path).
 *
 * For each runtime and mode: a text:// server of `--count` processes, `--clients` client loops
 * that each connect, send a line, read the answer and close, as fast as they can, while the
 * runner sends `reload` `--reloads` times (waiting for "reload done" each time). Reported: the
 * requests answered, the ones that failed (refused, reset, closed without an answer, timed out)
 * and the kernel's `net.ipv4.tcp_migrate_req` (1 lets the kernel move a closing SO_REUSEPORT
 * socket's queued connections to another socket of the group). Measures losses, not speed: no
 * quiet machine needed.
 *
 * Usage: npx tsx bench/reload/run.ts [--runtimes node,deno,bun] [--modes shared,reuseport]
 *          [--reloads 5] [--clients 32] [--count 2] [--no-build]
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { connect } from "node:net";
import { buildNpm, launchServer, listOption, log, lowFreePort, parseOptions, runtimeCommand, sleep } from "../lib.ts";

const opts = parseOptions(import.meta.url, {
  runtimes: { type: "string", default: "node,deno,bun" },
  modes: { type: "string", default: "shared,reuseport" },
  reloads: { type: "string", default: "5" },
  clients: { type: "string", default: "32" },
  count: { type: "string", default: "2" },
  "no-build": { type: "boolean", default: false },
});
type Runtime = "node" | "deno" | "bun";
type Mode = "shared" | "reuseport";
const RUNTIMES = listOption<Runtime>(opts.runtimes, ["node", "deno", "bun"], "runtime");
const MODES = listOption<Mode>(opts.modes, ["shared", "reuseport"], "mode");
const RELOADS = Number(opts.reloads);
const CLIENTS = Number(opts.clients);
const SCRIPT = "bench/reload/server.ts";

/** One request on a fresh connection: "ok", or why it failed. */
function request(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    let answer = "";
    const finish = (result: string) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => finish("timeout"), 5000);
    socket.setEncoding("utf8");
    socket.on("connect", () => socket.write("hi\n"));
    socket.on("data", (d: string) => {
      answer += d;
      if (answer.includes("\n")) finish(answer.startsWith("pid ") ? "ok" : "bad answer");
    });
    socket.on("error", (err: NodeJS.ErrnoException) => finish(err.code ?? err.message));
    socket.on("end", () => finish("closed without an answer"));
  });
}

function command(runtime: Runtime, env: Record<string, string>, cmd: string): Promise<number> {
  const [bin, args] = runtimeCommand(runtime, SCRIPT, [cmd]);
  return new Promise((resolve) => {
    const child = spawn(bin, args, { env: { ...process.env, ...env }, stdio: "ignore" });
    child.on("exit", (code) => resolve(code ?? -1));
  });
}

async function measure(runtime: Runtime, mode: Mode): Promise<{ ok: number; failed: Map<string, number> }> {
  const port = await lowFreePort();
  const env = {
    PID_FILE: `/tmp/wm-bench-reload-${runtime}-${mode}-${process.pid}.pid`,
    BENCH_PORT: String(port),
    BENCH_COUNT: opts.count,
    ...(mode === "reuseport" ? { BENCH_REUSE_PORT: "1" } : {}),
  };
  const server = await launchServer(`${runtime} ${mode}`, runtimeCommand(runtime, SCRIPT, ["start"]), { env, port });
  let ok = 0;
  const failed = new Map<string, number>();
  let stop = false;
  const loops = Array.from({ length: CLIENTS }, async () => {
    while (!stop) {
      const result = await request(port);
      if (result === "ok") ok++;
      else failed.set(result, (failed.get(result) ?? 0) + 1);
    }
  });
  try {
    await sleep(500);
    for (let i = 0; i < RELOADS; i++) {
      const from = server.out.text.length;
      const code = await command(runtime, env, "reload");
      if (code !== 0) throw new Error(`${runtime} ${mode}: reload exited with ${code}`);
      await server.out.wait(/reload done/, 30_000, from);
      await sleep(300);
    }
  } finally {
    stop = true;
    await Promise.all(loops);
    await server.stop();
  }
  return { ok, failed };
}

const MIGRATE = "/proc/sys/net/ipv4/tcp_migrate_req";
const migrate = existsSync(MIGRATE) ? readFileSync(MIGRATE, "utf8").trim() : "absent";
if (!opts["no-build"] && RUNTIMES.includes("node")) buildNpm();
console.log(`net.ipv4.tcp_migrate_req = ${migrate}; ${RELOADS} reloads, ${CLIENTS} clients, ${opts.count} processes\n`);
console.log("| runtime | mode | answered | failed | failures by kind |");
console.log("| --- | --- | ---: | ---: | --- |");
for (const runtime of RUNTIMES) {
  for (const mode of MODES) {
    log(`${runtime} ${mode}`);
    let result;
    try {
      result = await measure(runtime, mode);
    } catch (err) {
      // e.g. reusePort on Node 20, which has no SO_REUSEPORT: the row says what the server said
      const said = String((err as Error).message).match(/cannot start: (.*)/)?.[1] ?? (err as Error).message;
      console.log(`| ${runtime} | ${mode} | – | – | did not start: ${said.split("\n")[0]} |`);
      continue;
    }
    const { ok, failed } = result;
    const total = [...failed.values()].reduce((a, b) => a + b, 0);
    const kinds = [...failed].map(([k, n]) => `${k} ${n}`).join(", ") || "none";
    console.log(`| ${runtime} | ${mode} | ${ok} | ${total} | ${kinds} |`);
  }
}
