/**
 * The master process: binds every Worker's socket, starts `count` processes per Worker that
 * accept on it, replaces a process that dies (same `id`, growing delay for a crash loop),
 * reloads them one at a time, stops them, and answers `status`/`connections` by asking each.
 *
 * @module
 */
import type { Child } from "../runtime/types.ts";
import { runtime } from "../runtime/mod.ts";
import { daemonStdoutFile, scriptName } from "./files.ts";
import { CHILD_ENV, DAEMON_ENV, exitStatus, type ToChild, type ToMaster } from "./ipc.ts";
import { log, reportError, safeCall } from "./log.ts";
import type { ConnectionRow, ProcessRow, StatusReport } from "./status.ts";
import { VERSION } from "./version.ts";
import { Worker } from "./worker.ts";

interface Proc {
  child: Child;
  worker: number;
  id: number;
  /** When it reported ready (0 until then): the crash-loop window counts from here, not from the spawn,
   * so a slow start on a loaded machine does not look like a process that stayed up. */
  readyAt: number;
  ready: boolean;
  /** The master asked it to exit (stop or reload): its exit is not a crash. */
  expected: boolean;
  killTimer?: ReturnType<typeof setTimeout>;
}

/** A Worker whose processes keep dying within this many ms of starting is in a crash loop. */
const CRASH_WINDOW = 1000;
const MAX_RESTART_DELAY = 30_000;

export class Master {
  readonly workers: readonly Worker[];
  readonly startTime = Date.now();
  state: "starting" | "running" | "reloading" | "stopping" = "starting";
  private readonly procs = new Map<number, Proc>();
  /** Per Worker: which pid holds each id slot (0 = free). */
  private readonly slots: number[][];
  /** Per Worker: exit status → count, in the order first seen. */
  private readonly exits: Map<number, number>[];
  /** Per Worker: consecutive deaths within CRASH_WINDOW of starting. */
  private readonly streaks: number[];
  private readonly daemon: boolean;
  private seq = 0;
  private readonly pending = new Map<number, { rows: Map<number, unknown>; done: () => void }>();
  private reloadQueue: number[] = [];
  private reloadGraceful = false;
  private waitingForReplacement: { worker: number; id: number } | null = null;
  private startupWaiters: { resolve: () => void; reject: (e: Error) => void } | null = null;
  onAllExited: (() => void) | null = null;

  constructor(workers: readonly Worker[], daemon: boolean) {
    this.workers = workers;
    this.daemon = daemon;
    this.slots = workers.map((w) => new Array(w.count).fill(0));
    this.exits = workers.map(() => new Map());
    this.streaks = workers.map(() => 0);
  }

  /** Start every process; resolves when all are serving, rejects when one fails to start. */
  start(): Promise<void> {
    const started = new Promise<void>((resolve, reject) => (this.startupWaiters = { resolve, reject }));
    this.workers.forEach((w, index) => {
      for (let id = 0; id < w.count; id++) this.spawn(index, id);
    });
    return started;
  }

  private spawn(worker: number, id: number): void {
    const w = this.workers[worker];
    const shared = w.sharedSocket ? [w.sharedSocket] : [];
    let pid = 0;
    const child = runtime.spawnSelf({
      env: { [CHILD_ENV]: `${worker}:${id}`, [DAEMON_ENV]: this.daemon ? "1" : "" },
      shared,
      stdoutFile: this.daemon ? daemonStdoutFile(Worker.stdoutFile, Worker.logFile) : undefined,
      onMessage: (m) => this.onMessage(pid, m as ToMaster),
      onExit: (code, signal) => this.onExit(pid, code, signal),
    });
    pid = child.pid;
    this.procs.set(pid, { child, worker, id, readyAt: 0, ready: false, expected: false });
    this.slots[worker][id] = pid;
  }

  private onMessage(pid: number, message: ToMaster): void {
    const proc = this.procs.get(pid);
    if (!proc) return;
    if (message.type === "ready") {
      proc.ready = true;
      proc.readyAt = Date.now();
      if (this.state === "starting" && [...this.procs.values()].every((p) => p.ready)) {
        this.state = "running";
        this.startupWaiters?.resolve();
        this.startupWaiters = null;
      }
      const waiting = this.waitingForReplacement;
      if (waiting && waiting.worker === proc.worker && waiting.id === proc.id) {
        this.waitingForReplacement = null;
        this.reloadStep();
      }
      return;
    }
    const request = this.pending.get(message.seq);
    if (request) {
      request.rows.set(pid, message.type === "status" ? message.row : message.rows);
      if (request.rows.size >= this.procs.size) request.done();
    }
  }

  private onExit(pid: number, code: number | null, signal: string | null): void {
    const proc = this.procs.get(pid);
    if (!proc) return;
    this.procs.delete(pid);
    clearTimeout(proc.killTimer);
    const w = this.workers[proc.worker];
    const status = this.state === "stopping" && signal === "SIGINT" ? 0 : exitStatus(code, signal);
    if (this.slots[proc.worker][proc.id] === pid) this.slots[proc.worker][proc.id] = 0;
    const counts = this.exits[proc.worker];
    counts.set(status, (counts.get(status) ?? 0) + 1);
    if (status !== 0) log(`worker[${w.name}:${pid}] exit with status ${status}`);
    if (w.onWorkerExit) safeCall(() => `onWorkerExit of worker ${w.name}`, w.onWorkerExit, w, status, pid);

    if (this.state === "starting" && !proc.ready) {
      this.startupWaiters?.reject(
        new Error(`worker[${w.name}:${pid}] exited with status ${status} before it was serving (see the lines above)`),
      );
      this.startupWaiters = null;
      return;
    }
    if (this.state === "stopping") {
      if (this.procs.size === 0) this.onAllExited?.();
      return;
    }
    const lived = proc.ready ? Date.now() - proc.readyAt : 0;
    let delay = 0;
    if (!proc.expected && lived < CRASH_WINDOW) {
      const streak = ++this.streaks[proc.worker];
      if (streak >= 2) {
        delay = Math.min(MAX_RESTART_DELAY, 250 * 2 ** (streak - 2));
        if (streak === 2) {
          log(
            `worker[${w.name}] keeps exiting within a second of starting; restarting it with a growing delay ` +
              `(at most ${MAX_RESTART_DELAY / 1000} s) until it stays up`,
          );
        }
      }
    } else if (!proc.expected) {
      this.streaks[proc.worker] = 0;
    }
    const restart = () => {
      if (this.state === "stopping" || this.slots[proc.worker][proc.id] !== 0) return;
      this.spawn(proc.worker, proc.id);
      if (this.state === "reloading" && proc.expected) {
        this.waitingForReplacement = { worker: proc.worker, id: proc.id };
      }
    };
    if (delay > 0) setTimeout(restart, delay);
    else restart();
  }

  private send(proc: Proc, message: ToChild): void {
    proc.child.send(message);
  }

  /** Stop every process (`graceful`: let them finish their connections). Resolves when all have exited. */
  stop(graceful: boolean): Promise<void> {
    return new Promise((resolve) => {
      const done = () => resolve();
      if (this.state === "stopping") {
        const previous = this.onAllExited;
        this.onAllExited = () => {
          previous?.();
          done();
        };
        return;
      }
      this.state = "stopping";
      this.onAllExited = done;
      this.startupWaiters?.reject(new Error("stopped while starting"));
      this.startupWaiters = null;
      if (this.procs.size === 0) return done();
      for (const proc of this.procs.values()) {
        proc.expected = true;
        this.send(proc, { cmd: "stop", graceful });
        if (!graceful) this.armKill(proc);
      }
    });
  }

  private armKill(proc: Proc): void {
    clearTimeout(proc.killTimer);
    proc.killTimer = setTimeout(() => proc.child.kill("SIGKILL"), Worker.stopTimeout * 1000);
  }

  /**
   * Replace every process of reloadable Workers one at a time (the next only after the
   * previous exited and its replacement is serving); processes of `reloadable = false`
   * Workers only run `onWorkerReload`.
   */
  reload(graceful: boolean): void {
    if (this.state !== "running") return;
    log(`Workerman[${scriptName()}] reloading`);
    if (Worker.onMasterReload) {
      try {
        Worker.onMasterReload();
      } catch (err) {
        reportError("Worker.onMasterReload", err);
      }
    }
    this.state = "reloading";
    this.reloadGraceful = graceful;
    this.reloadQueue = [];
    for (const [pid, proc] of this.procs) {
      if (this.workers[proc.worker].reloadable) this.reloadQueue.push(pid);
      else this.send(proc, { cmd: "reload", graceful });
    }
    this.reloadStep();
  }

  private reloadStep(): void {
    if (this.state !== "reloading") return;
    for (;;) {
      const pid = this.reloadQueue.shift();
      if (pid === undefined) {
        this.state = "running";
        log(`Workerman[${scriptName()}] reload done`);
        return;
      }
      const proc = this.procs.get(pid);
      if (!proc) continue; // it died meanwhile and was replaced by a fresh process already
      proc.expected = true;
      this.send(proc, { cmd: "reload", graceful: this.reloadGraceful });
      if (!this.reloadGraceful) this.armKill(proc);
      return; // onExit spawns the replacement; its "ready" continues here
    }
  }

  /** Ask every process for its numbers; a process that does not answer within `timeoutMs` is busy. */
  private ask(cmd: "status" | "connections", timeoutMs: number): Promise<Map<number, unknown>> {
    const seq = ++this.seq;
    const rows = new Map<number, unknown>();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.pending.delete(seq);
        resolve(rows);
      };
      const timer = setTimeout(done, timeoutMs);
      this.pending.set(seq, { rows, done });
      for (const proc of this.procs.values()) this.send(proc, { cmd, seq });
      if (this.procs.size === 0) done();
    });
  }

  async status(): Promise<StatusReport> {
    const rows = await this.ask("status", 1000);
    return {
      version: VERSION,
      runtime: runtime.name[0].toUpperCase() + runtime.name.slice(1),
      runtimeVersion: runtime.version,
      startTime: this.startTime,
      now: Date.now(),
      loadAverage: runtime.loadAverage(),
      workers: this.workers.map((w, i) => ({
        name: w.name,
        listening: w.getListenAddress(),
        count: w.count,
        exits: [...this.exits[i].entries()],
      })),
      processes: [...this.procs.entries()].map(([pid, p]) => ({
        pid,
        name: this.workers[p.worker].name,
        listening: this.workers[p.worker].getListenAddress(),
        row: (rows.get(pid) as ProcessRow | undefined) ?? null,
      })),
    };
  }

  async connections(): Promise<ConnectionRow[]> {
    const rows = await this.ask("connections", 500);
    return [...rows.values()].flat() as ConnectionRow[];
  }
}
