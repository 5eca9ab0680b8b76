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
import { type ParsedCommand, parseCommand, usage } from "./cli.ts";
import { requestControl, serveControl } from "./control.ts";
import { ConfigError } from "./errors.ts";
import { claimPidFile, controlPath, defaultPidFile, runningMaster, scriptName } from "./files.ts";
import { CHILD_ENV, type ControlRequest, DAEMON_ENV, type ToLauncher } from "./ipc.ts";
import { log, logTarget, reportError } from "./log.ts";
import { Master } from "./master.ts";
import { type ConnectionRow, formatConnections, formatStatus, type StatusReport } from "./status.ts";
import { Worker } from "./worker.ts";

let started = false;
let master: Master | null = null;
let inChild = false;

/** Exit codes: 0 success, 1 failure, 64 usage. */
const EXIT_FAILURE = 1;
const EXIT_USAGE = 64;

const say = (text: string) => runtime.stdout(`${text}\n`);

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
  if (!parsed.command) {
    if (parsed.unknown) runtime.stderr(`Unknown command: ${parsed.unknown}\n`);
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
      await control({ cmd: "reload", graceful: parsed.graceful });
      say(`Workerman[${script}] reload${parsed.graceful ? " -g" : ""}`);
      return runtime.exit(0);
    }
    case "status":
      return status(parsed.daemon);
    case "connections": {
      const rows = await control({ cmd: "connections" }) as ConnectionRow[];
      runtime.stdout(formatConnections(rows));
      return runtime.exit(0);
    }
  }
}

/** Send a control request to the running master; `not run` (exit 1) when there is none. */
async function control(request: ControlRequest): Promise<unknown> {
  const script = scriptName();
  if (runningMaster(Worker.pidFile) === null) {
    say(`Workerman[${script}] not run`);
    return runtime.exit(EXIT_FAILURE);
  }
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
  return new Promise(() => {
    let settled = false;
    const timer = setTimeout(() => {
      fail(`Workerman[${script}] start failed: the daemon did not report within 30 s (its output goes to ${Worker.stdoutFile})`);
    }, 30_000);
    const child = runtime.spawnDaemon({
      env: { [DAEMON_ENV]: "1" },
      stdoutFile: Worker.stdoutFile,
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
            `its output went to ${Worker.stdoutFile}`,
        );
      },
    });
  });
}

/** This process becomes the master: bind, start the processes, serve until stopped. */
async function startMaster(parsed: ParsedCommand, daemon: boolean): Promise<void> {
  const script = scriptName();
  Worker.daemonize = daemon;
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
  const footer = daemon
    ? `Input "${runtime.name} ${script} stop" to stop. Start success.\n`
    : "Press Ctrl+C to stop. Start success.";
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
  if (pid === null) {
    say(`Workerman[${script}] not run`);
    return runtime.exit(EXIT_FAILURE);
  }
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

/** `status [-d]`: print the report once, or redraw it every second with qps until Ctrl+C. */
async function status(live: boolean): Promise<void> {
  let previous: Map<number, number> | undefined;
  for (;;) {
    const report = await control({ cmd: "status" }) as StatusReport;
    const text = formatStatus(report, previous);
    if (!live) {
      runtime.stdout(text);
      return runtime.exit(0);
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
