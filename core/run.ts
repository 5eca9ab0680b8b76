/**
 * The process model behind `Worker.runAll()`. For now every Worker runs in the current
 * process with `count` 1: `start` binds everything, runs each `onWorkerStart`, prints the
 * banner and serves until Ctrl+C (SIGINT) or SIGTERM; the master process with `count`
 * children and the control commands build on this.
 *
 * @module
 */
import { runtime } from "../runtime/mod.ts";
import { banner } from "./banner.ts";
import { parseCommand, usage } from "./cli.ts";
import { ConfigError } from "./errors.ts";
import { log, logTarget } from "./log.ts";
import { Timer } from "./timer.ts";
import { Worker } from "./worker.ts";

let started = false;
let stopping = false;

function fail(message: string, code = 1): never {
  runtime.stderr(`${message}\n`);
  return runtime.exit(code);
}

/** Why listening failed, in words an operator can act on. */
function listenError(worker: Worker, err: unknown): string {
  const e = err as { code?: string; message?: string };
  const where = worker.getSocketName();
  if (e.code === "EADDRINUSE" || /address already in use/i.test(e.message ?? "")) {
    return `cannot listen on ${where}: address already in use (another server is on that port; stop it or choose another port)`;
  }
  if (e.code === "EACCES" || /permission denied/i.test(e.message ?? "")) {
    return `cannot listen on ${where}: permission denied (ports below 1024 need root)`;
  }
  return `cannot listen on ${where}: ${e.message ?? String(err)}`;
}

export async function runAll(): Promise<void> {
  if (started) return;
  started = true;
  const parsed = parseCommand(runtime.args);
  const script = runtime.mainScript.split("/").pop();
  if (!parsed.command) {
    if (parsed.unknown) runtime.stderr(`Unknown command: ${parsed.unknown}\n`);
    runtime.stdout(usage());
    return runtime.exit(64);
  }
  if (parsed.command !== "start" || parsed.daemon) {
    return fail(
      `Workerman[${script}] ${parsed.command}${parsed.daemon ? " -d" : ""}: this command needs the master process, ` +
        `which this version does not have yet; run "start" in the foreground and stop it with Ctrl+C`,
      2,
    );
  }
  logTarget.file = Worker.logFile;
  const workers = Worker.getAllWorkers();
  try {
    for (const worker of workers) worker.validate();
  } catch (err) {
    if (err instanceof ConfigError) return fail(`Workerman[${script}] cannot start: ${err.message}`);
    throw err;
  }
  for (const worker of workers) {
    try {
      await worker.listen();
    } catch (err) {
      return fail(`Workerman[${script}] cannot start: ${listenError(worker, err)}`);
    }
  }
  for (const signal of ["SIGINT", "SIGTERM"]) runtime.onSignal(signal, () => void stopAll(0));
  for (const worker of workers) await worker.run();
  log(`Workerman[${script}] start in DEBUG mode`);
  if (!parsed.quiet) runtime.stdout(banner(workers, "Press Ctrl+C to stop. Start success."));
}

export async function stopAll(code = 0): Promise<void> {
  if (stopping) return;
  stopping = true;
  const script = runtime.mainScript.split("/").pop();
  log(`Workerman[${script}] stopping ...`);
  await Promise.all(Worker.getAllWorkers().map((w) => w.stop()));
  Timer.delAll();
  log(`Workerman[${script}] has been stopped`);
  runtime.exit(code);
}
