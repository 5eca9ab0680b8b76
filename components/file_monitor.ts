/**
 * `FileMonitor`: during development, reload the workers when a source file changes. A Worker
 * that listens on nothing (one process, not reloadable) and, in the foreground only, watches
 * the given directories through the runtime's file watching; a change (debounced) asks the
 * master for a `reload`, exactly as `<script> reload` does. With `start -d` it stays idle:
 * production code is not reloaded behind the operator's back.
 *
 * Every worker process re-imports the start script when it is started again, so a reload
 * runs the changed code (for Node from the npm build: rebuild on change, e.g. `tsc --watch`).
 *
 * @example
 * ```ts
 * import { FileMonitor, Worker } from "workerman-ts";
 * new FileMonitor(["./src"]);
 * Worker.runAll();
 * ```
 *
 * @module
 */
import type { FileWatcher } from "../runtime/types.ts";
import { runtime } from "../runtime/mod.ts";
import { requestControl } from "../core/control.ts";
import { controlPath, defaultPidFile } from "../core/files.ts";
import { log } from "../core/log.ts";
import { Worker } from "../core/worker.ts";

/** Options of {@link FileMonitor}. */
export interface FileMonitorOptions {
  /** File name endings that count (default `.ts .tsx .js .mjs .cjs .json`). */
  extensions?: string[];
  /** Path segments never watched (default `node_modules`, `npm`, `.git`, `dist`). */
  ignore?: string[];
  /** Changes within this many milliseconds make one reload (default 100). */
  debounceMs?: number;
}

/** Development helper: a Worker that watches directories and asks the master for a `reload` when a file changes. */
export class FileMonitor extends Worker {
  /** The directories watched (recursively). */
  readonly dirs: string[];
  /** File extensions that trigger a reload (empty: any). */
  readonly extensions: string[];
  /** Directory names never watched (`node_modules`, `npm`, `.git`, `dist`). */
  readonly ignore: Set<string>;
  /** Milliseconds a burst of saves must be quiet before the reload. */
  readonly debounceMs: number;
  private watchers: FileWatcher[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private changed = "";

  /** Watch `dirs` (paths relative to the working directory, or absolute). */
  constructor(dirs: string | string[], options: FileMonitorOptions = {}) {
    super();
    this.name = "FileMonitor";
    this.count = 1;
    this.reloadable = false;
    this.dirs = typeof dirs === "string" ? [dirs] : [...dirs];
    this.extensions = options.extensions ?? [".ts", ".tsx", ".js", ".mjs", ".cjs", ".json"];
    this.ignore = new Set(options.ignore ?? ["node_modules", "npm", ".git", "dist"]);
    this.debounceMs = options.debounceMs ?? 100;
    this.onWorkerStart = () => this.start();
    this.onWorkerStop = () => this.stopWatching();
  }

  /** True when a change of `path` should reload. */
  matters(path: string): boolean {
    const parts = path.split("/");
    return parts.every((p) => !this.ignore.has(p)) && this.extensions.some((e) => path.endsWith(e));
  }

  /** Start watching. */
  private start(): void {
    if (Worker.daemonize) {
      log("FileMonitor: off in daemon mode");
      return;
    }
    for (const dir of this.dirs) {
      try {
        this.watchers.push(runtime.watch(dir, (path) => this.onChange(path)));
      } catch (err) {
        log(`FileMonitor: cannot watch ${dir}: ${(err as Error).message}`);
      }
    }
    log(`FileMonitor: watching ${this.dirs.join(", ")}`);
  }

  /** A file changed: reload once the burst of changes is over. */
  private onChange(path: string): void {
    if (!this.matters(path)) return;
    this.changed = path;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.reload(), this.debounceMs);
  }

  /** Ask the master for a reload. */
  private async reload(): Promise<void> {
    log(`${this.changed} update and reload`);
    try {
      await requestControl(controlPath(Worker.pidFile || defaultPidFile()), { cmd: "reload", graceful: false });
    } catch (err) {
      log(`FileMonitor: cannot ask the master to reload: ${(err as Error).message}`);
    }
  }

  /** Stop every watcher and the pending reload. */
  private stopWatching(): void {
    clearTimeout(this.timer);
    for (const w of this.watchers) w.close();
    this.watchers = [];
  }
}
