/**
 * `Worker.runAll()`: what the start script does with its command line.
 *
 * - In a worker process (started by the master) it runs that process's Worker.
 * - `start [-d]` makes this process the master (in the foreground, or detached with `-d`).
 * - `stop [-g]`, `restart`, `reload [-g]`, `status [-d]`, `connections` talk to the running
 *   master over its control socket.
 *
 * Success exits 0; every failure says what happened and exits non-zero, so shell scripts and
 * systemd can act on the result.
 *
 * @module
 */
import type { Listener } from "../runtime/types.ts";
import { runtime } from "../runtime/mod.ts";
import { banner } from "./banner.ts";
import { runChild, stopChild } from "./child.ts";
import { parseCommand, type ParsedCommand, usage } from "./cli.ts";
import { requestControl, serveControl } from "./control.ts";
import { ConfigError } from "./errors.ts";
import {
  claimPidFile,
  controlPath,
  daemonStdoutFile,
  defaultPidFile,
  logFileOf,
  runningMaster,
  scriptName,
} from "./files.ts";
import { CHILD_ENV, type ControlRequest, DAEMON_ENV, type ToLauncher } from "./ipc.ts";
import { log, logTarget, reportError } from "./log.ts";
import { Master } from "./master.ts";
import { type ConnectionRow, formatConnections, formatStatus, statusDocument, type StatusReport } from "./status.ts";
import { Worker } from "./worker.ts";

let started = false;
let master: Master | null = null;
let inChild = false;
let expecting = false;
/** A Worker was started by its own `listen()`, without `runAll()` (an embedded, single-process use). */
let listenedAlone = false;

/** Called by `worker.listen()`: a script that starts its Workers itself needs no `runAll()`. */
export function noteListen(): void {
  listenedAlone = true;
}

/** Exit codes: 0 success, 1 failure, 64 usage. */
const EXIT_FAILURE = 1;
const EXIT_USAGE = 64;

const say = (text: string) => runtime.stdout(`${text}\n`);

/**
 * Called by `new Worker()`: a start script that creates Workers and never calls
 * `Worker.runAll()` would exit 0 having started nothing. The check runs when the event loop
 * has nothing left to do (`beforeExit` on every runtime), not after a timer: a script may
 * await anything (a database, a config fetch) before it calls `runAll()`, and while it
 * waits the loop is not empty.
 */
export function expectRunAll(): void {
  if (expecting || started) return;
  expecting = true;
  runtime.onBeforeExit(() => {
    if (started || listenedAlone) return;
    const n = Worker.getAllWorkers().length;
    runtime.stderr(
      `Workerman[${scriptName()}] nothing started: the script creates ${n} Worker${n === 1 ? "" : "s"} ` +
        `but never calls Worker.runAll(); call it once every Worker is set up (usually the script's last line)\n`,
    );
    runtime.exit(EXIT_FAILURE);
  });
}

/** `not run`, naming the script and pid file looked for: a master started from another file is not this one's. */
function notRun(json: boolean): never {
  const text =
    `Workerman[${scriptName()}] not run (no master holds ${Worker.pidFile}, the pid file of ${runtime.mainScript})\n`;
  if (json) runtime.stderr(text);
  else runtime.stdout(text);
  return runtime.exit(EXIT_FAILURE);
}

function fail(message: string): never {
  if (runtime.env(DAEMON_ENV) === "1") {
    const launcher: ToLauncher = { type: "failed", message };
    runtime.parentChannel()?.send(launcher);
  }
  runtime.stderr(`${message}\n`);
  if (logTarget.file) log(message);
  return runtime.exit(EXIT_FAILURE);
}

/** Why binding failed, in words an operator can act on. */
function listenError(worker: Worker, err: unknown): string {
  const e = err as { code?: string; message?: string };
  const where = worker.getSocketName();
  if (e.code === "EADDRINUSE" || /address already in use|EADDRINUSE/i.test(e.message ?? "")) {
    return `cannot listen on ${where}: address already in use (another server is on that port; stop it or choose another port)`;
  }
  if (e.code === "EACCES" || /permission denied|EACCES/i.test(e.message ?? "")) {
    return `cannot listen on ${where}: permission denied (ports below 1024 need root)`;
  }
  return `cannot listen on ${where}: ${e.message ?? String(err)}`;
}

export async function runAll(): Promise<void> {
  if (started) return;
  started = true;
  const childSpec = runtime.env(CHILD_ENV);
  if (childSpec) {
    inChild = true;
    const [index, id] = childSpec.split(":").map(Number);
    return runChild(index, id, runtime.env(DAEMON_ENV) === "1");
  }
  const parsed = parseCommand(runtime.args);
  if (!parsed.command || parsed.badOption) {
    if (parsed.badOption) runtime.stderr(`Unknown option: ${parsed.badOption}\n`);
    else if (parsed.unknown) runtime.stderr(`Unknown command: ${parsed.unknown}\n`);
    runtime.stdout(usage());
    return runtime.exit(EXIT_USAGE);
  }
  Worker.pidFile ||= defaultPidFile();
  logTarget.file = Worker.logFile;
  if (runtime.env(DAEMON_ENV) === "1") return startMaster(parsed, true);
  const script = scriptName();
  switch (parsed.command) {
    case "start":
      return start(parsed);
    case "restart":
      if (runningMaster(Worker.pidFile) !== null) await stopRunning(parsed.graceful);
      return start(parsed);
    case "stop":
      await stopRunning(parsed.graceful);
      return runtime.exit(0);
    case "reload": {
      await control({ cmd: "reload", graceful: parsed.graceful }, false);
      say(`Workerman[${script}] reload${parsed.graceful ? " -g" : ""}`);
      return runtime.exit(0);
    }
    case "status":
      return status(parsed.daemon, parsed.json);
    case "connections": {
      const rows = await control({ cmd: "connections" }, parsed.json) as ConnectionRow[];
      runtime.stdout(parsed.json ? `${JSON.stringify(rows)}\n` : formatConnections(rows));
      return runtime.exit(0);
    }
  }
}

/** Send a control request to the running master; `not run` (exit 1) when there is none. */
async function control(request: ControlRequest, json: boolean): Promise<unknown> {
  const script = scriptName();
  if (runningMaster(Worker.pidFile) === null) return notRun(json);
  try {
    return await requestControl(controlPath(Worker.pidFile), request);
  } catch (err) {
    return fail(`Workerman[${script}] ${request.cmd} failed: ${(err as Error).message}`);
  }
}

async function start(parsed: ParsedCommand): Promise<void> {
  const script = scriptName();
  if (runningMaster(Worker.pidFile) !== null) {
    say(`Workerman[${script}] already running`);
    return runtime.exit(EXIT_FAILURE);
  }
  if (parsed.daemon || Worker.daemonize) return launchDaemon(parsed);
  return startMaster(parsed, false);
}

/** `start -d`: start the master detached, print its banner once it serves, exit 0. */
function launchDaemon(parsed: ParsedCommand): Promise<void> {
  const script = scriptName();
  const output = daemonStdoutFile(Worker.stdoutFile, Worker.logFile);
  return new Promise(() => {
    let settled = false;
    const timer = setTimeout(() => {
      fail(`Workerman[${script}] start failed: the daemon did not report within 30 s (its output goes to ${output})`);
    }, 30_000);
    const child = runtime.spawnDaemon({
      env: { [DAEMON_ENV]: "1" },
      stdoutFile: output,
      onMessage(message) {
        const m = message as ToLauncher;
        settled = true;
        clearTimeout(timer);
        child.detach();
        if (m.type === "started") {
          if (!parsed.quiet) runtime.stdout(m.banner);
          runtime.exit(0);
        } else {
          runtime.stderr(`${m.message}\n`);
          runtime.exit(EXIT_FAILURE);
        }
      },
      onExit(code, signal) {
        if (settled) return;
        fail(
          `Workerman[${script}] start failed: the daemon exited (${signal ?? `code ${code}`}) before serving; ` +
            `its output went to ${output}`,
        );
      },
    });
  });
}

/** This process becomes the master: bind, start the processes, serve until stopped. */
async function startMaster(parsed: ParsedCommand, daemon: boolean): Promise<void> {
  const script = scriptName();
  Worker.daemonize = daemon;
  logTarget.file = logFileOf(Worker.logFile, daemon);
  logTarget.echo = !daemon;
  const workers = Worker.getAllWorkers();
  try {
    for (const worker of workers) {
      worker.validate();
      if (worker.reusePort && !runtime.supportsReusePort) {
        throw new ConfigError(
          "ERR_REUSEPORT_UNSUPPORTED",
          `worker ${worker.name} sets reusePort, which needs SO_REUSEPORT support this runtime lacks ` +
            `(Node 22.12 or later, Deno, Bun); remove "reusePort = true" to share the master's socket`,
        );
      }
    }
  } catch (err) {
    if (err instanceof ConfigError) return fail(`Workerman[${script}] cannot start: ${err.message}`);
    throw err;
  }
  if (workers.length === 0) return fail(`Workerman[${script}] cannot start: the script creates no Worker`);
  if (!claimPidFile(Worker.pidFile)) {
    say(`Workerman[${script}] already running`);
    return runtime.exit(EXIT_FAILURE);
  }
  if (!runtime.isRoot() && workers.some((w) => w.user)) {
    log("Warning: You must have the root privileges to change uid and gid.");
  }
  log(`Workerman[${script}] start in ${daemon ? "DAEMON" : "DEBUG"} mode`);
  for (const worker of workers) {
    try {
      await worker.bindShared();
    } catch (err) {
      cleanup(null);
      return fail(`Workerman[${script}] cannot start: ${listenError(worker, err)}`);
    }
  }
  const m = new Master(workers, daemon);
  master = m;
  let controlListener: Listener | null = null;
  const shutdown = async (graceful: boolean) => {
    if (m.state === "stopping") return;
    log(`Workerman[${script}] ${graceful ? "is gracefully stopping" : "stopping"} ...`);
    await m.stop(graceful);
    cleanup(controlListener);
    if (Worker.onMasterStop) {
      try {
        await Worker.onMasterStop();
      } catch (err) {
        reportError("Worker.onMasterStop", err);
      }
    }
    log(`Workerman[${script}] has been stopped`);
    runtime.exit(0);
  };
  controlListener = await serveControl(controlPath(Worker.pidFile), async (request) => {
    switch (request.cmd) {
      case "stop":
        setTimeout(() => void shutdown(request.graceful), 0);
        return null;
      case "reload":
        m.reload(request.graceful);
        return null;
      case "status":
        return await m.status();
      case "connections":
        return await m.connections();
    }
  });
  runtime.onSignal("SIGINT", () => void shutdown(false));
  runtime.onSignal("SIGTERM", () => void shutdown(false));
  runtime.onSignal("SIGHUP", () => void shutdown(false));
  runtime.onSignal("SIGQUIT", () => void shutdown(true));
  runtime.onSignal("SIGUSR1", () => m.reload(false));
  runtime.onSignal("SIGUSR2", () => m.reload(true));
  try {
    await m.start();
  } catch (err) {
    await m.stop(false);
    cleanup(controlListener);
    return fail(`Workerman[${script}] cannot start: ${(err as Error).message}`);
  }
  let footer = "Press Ctrl+C to stop. Start success.";
  if (daemon) {
    const output = daemonStdoutFile(Worker.stdoutFile, Worker.logFile);
    footer =
      `Log file: ${logTarget.file}${
        output === logTarget.file ? " (and the daemon's output)" : `, output: ${output}`
      }\n` +
      `Input "${runtime.scriptCommand()} stop" to stop. Start success.\n`;
  }
  const text = banner(workers, footer);
  if (daemon) {
    const channel = runtime.parentChannel();
    channel?.send({ type: "started", banner: text } satisfies ToLauncher);
    setTimeout(() => channel?.disconnect(), 100);
  } else if (!parsed.quiet) {
    runtime.stdout(text);
  }
}

/** Close the shared sockets and the control socket, remove the pid file. */
function cleanup(controlListener: Listener | null): void {
  for (const worker of Worker.getAllWorkers()) worker.closeShared();
  controlListener?.close();
  runtime.removeFile(Worker.pidFile);
}

/** `stop [-g]`: ask the master to stop and wait until it has exited. */
async function stopRunning(graceful: boolean): Promise<void> {
  const script = scriptName();
  const pid = runningMaster(Worker.pidFile);
  if (pid === null) return notRun(false);
  say(`Workerman[${script}] is ${graceful ? "gracefully " : ""}stopping ...`);
  try {
    await requestControl(controlPath(Worker.pidFile), { cmd: "stop", graceful });
  } catch {
    runtime.kill(pid, graceful ? "SIGQUIT" : "SIGINT"); // the control socket is gone: fall back to a signal
  }
  const deadline = graceful ? Infinity : Date.now() + (Worker.stopTimeout + 3) * 1000;
  while (runtime.isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (runtime.isAlive(pid)) {
    say(`Workerman[${script}] stop fail`);
    return runtime.exit(EXIT_FAILURE);
  }
  say(`Workerman[${script}] stop success`);
}

/**
 * `status [-d] [--json]`: print the report once, or redraw it every second with qps until
 * Ctrl+C; with `--json` one JSON document (with `-d`, one per line each second).
 */
async function status(live: boolean, json: boolean): Promise<void> {
  let previous: Map<number, number> | undefined;
  for (;;) {
    const report = await control({ cmd: "status" }, json) as StatusReport;
    const text = json ? `${JSON.stringify(statusDocument(report, previous))}\n` : formatStatus(report, previous);
    if (!live || json) runtime.stdout(text);
    if (!live) return runtime.exit(0);
    if (json) {
      previous = new Map(report.processes.filter((p) => p.row).map((p) => [p.pid, p.row!.total_request]));
      await new Promise((r) => setTimeout(r, 1000));
      continue;
    }
    if (runtime.isTTY()) runtime.stdout("\x1b[H\x1b[2J\x1b(B\x1b[m");
    runtime.stdout(`${text}\nPress Ctrl+C to quit.\n\n`);
    previous = new Map(report.processes.filter((p) => p.row).map((p) => [p.pid, p.row!.total_request]));
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** `Worker.stopAll()`: in a worker process, stop it (the master replaces it unless stopping); in the master, stop everything. */
export async function stopAll(code = 0): Promise<void> {
  if (inChild) return stopChild(false, code);
  if (master) {
    await master.stop(false);
    cleanup(null);
  }
  runtime.exit(code);
}
