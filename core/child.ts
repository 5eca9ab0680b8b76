/**
 * One worker process: runs a single Worker (chosen by the master through the environment),
 * accepts on the socket the master shares with it, and obeys the master's messages (stop,
 * reload, status, connections). If the master goes away the process stops, so no orphan
 * keeps the port.
 *
 * @module
 */
import { runtime } from "../runtime/mod.ts";
import { logFileOf, scriptName } from "./files.ts";
import type { ToChild, ToMaster } from "./ipc.ts";
import { log, logTarget, safeCall } from "./log.ts";
import type { ConnectionRow } from "./status.ts";
import { statistics } from "./tcp_connection.ts";
import { Timer } from "./timer.ts";
import { Worker } from "./worker.ts";

let current: Worker | null = null;
let exiting = false;

/** Stop the Worker of this process and exit (`code` 0 unless something failed). */
export async function stopChild(graceful: boolean, code = 0): Promise<void> {
  if (exiting) return;
  exiting = true;
  if (current) await current.stop(graceful);
  Timer.delAll();
  runtime.exit(code);
}

function connectionRows(worker: Worker): ConnectionRow[] {
  return [...worker.connections.values()].map((c) => ({
    pid: runtime.pid(),
    worker: worker.name,
    id: c.id,
    transport: c.transport,
    protocol: worker.getSocketName().split(":")[0] || c.transport,
    ipv4: c.isIpV4(),
    ipv6: c.isIpV6(),
    recvQ: 0,
    sendQ: c.getSendBufferQueueSize(),
    bytesRead: c.bytesRead,
    bytesWritten: c.bytesWritten,
    status: String(c.getStatus(false)),
    local: c.getLocalAddress(),
    remote: c.getRemoteAddress(),
  }));
}

function handle(worker: Worker, message: ToChild, send: (m: ToMaster) => void): void {
  switch (message.cmd) {
    case "stop":
      void stopChild(message.graceful);
      return;
    case "reload":
      void (async () => {
        if (worker.onWorkerReload) {
          await safeCall(() => `onWorkerReload of worker ${worker.name}`, worker.onWorkerReload, worker);
        }
        if (worker.reloadable) await stopChild(message.graceful);
      })();
      return;
    case "status":
      send({
        type: "status",
        seq: message.seq,
        row: {
          pid: runtime.pid(),
          memory: runtime.memoryUsage().rss,
          listening: worker.getListenAddress(),
          name: worker.name,
          connections: statistics.connection_count,
          send_fail: statistics.send_fail,
          timers: Timer.count(),
          total_request: statistics.total_request,
        },
      });
      return;
    case "connections":
      send({ type: "connections", seq: message.seq, rows: connectionRows(worker) });
      return;
  }
}

/** Run worker `index` of the start script as process `id` of that Worker. */
export async function runChild(index: number, id: number, daemon: boolean): Promise<void> {
  const channel = runtime.parentChannel();
  const worker = Worker.getAllWorkers()[index];
  if (!channel || !worker) {
    runtime.stderr(
      `${scriptName()}: started as worker process ${index}:${id} but there is no such worker or no master\n`,
    );
    return runtime.exit(1);
  }
  current = worker;
  worker.id = id;
  Worker.daemonize = daemon;
  logTarget.file = logFileOf(Worker.logFile, daemon);
  logTarget.echo = !daemon;
  const send = (m: ToMaster) => channel.send(m);
  channel.onMessage((m) => handle(worker, m as ToChild, send));
  channel.onDisconnect(() => {
    if (exiting) return;
    log(`worker[${worker.name}:${runtime.pid()}] the master process is gone; stopping`);
    void stopChild(false);
  });
  // Ctrl+C in a terminal signals the whole process group: the master orchestrates the stop.
  runtime.onSignal("SIGINT", () => {});
  runtime.onSignal("SIGTERM", () => void stopChild(false));
  runtime.onSignal("SIGQUIT", () => void stopChild(true));

  if (worker.user && runtime.isRoot()) {
    const problem = runtime.switchUser(worker.user, worker.group || undefined);
    if (problem) log(`Warning: ${problem}`);
  }
  try {
    if (worker.sharesSocket) await worker.listenInherited(0);
    await worker.run();
  } catch (err) {
    log(`worker[${worker.name}:${runtime.pid()}] cannot start: ${(err as Error).message}`);
    return runtime.exit(250);
  }
  send({ type: "ready" });
}
