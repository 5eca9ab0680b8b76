/**
 * Messages between the master and its children over the runtime's message channel (never
 * signals: Deno opens a debugger port on SIGUSR1), and the environment that tells a child
 * which Worker and which id it is.
 *
 * @module
 */
import type { ConnectionRow, ProcessRow } from "./status.ts";

/** Set in a child's environment: `<worker index>:<id>`. */
export const CHILD_ENV = "WORKERMAN_CHILD";
/** Set in the detached master started by `start -d`. */
export const DAEMON_ENV = "WORKERMAN_DAEMON";

/** Master → child. */
export type ToChild =
  | { cmd: "stop"; graceful: boolean }
  | { cmd: "reload"; graceful: boolean }
  | { cmd: "status"; seq: number }
  | { cmd: "connections"; seq: number };

/** Child → master. */
export type ToMaster =
  | { type: "ready" }
  | { type: "status"; seq: number; row: ProcessRow }
  | { type: "connections"; seq: number; rows: ConnectionRow[] };

/** Daemon master → the `start -d` command that launched it. */
export type ToLauncher = { type: "started"; banner: string } | { type: "failed"; message: string };

/** Command line → master, over the control socket (one JSON line each way). */
export type ControlRequest = { cmd: "stop" | "reload"; graceful: boolean } | { cmd: "status" | "connections" };

/** Wait statuses as Workerman reports them: exit code × 256, or the signal number. */
const SIGNALS: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGBUS: 7,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
};

export function exitStatus(code: number | null, signal: string | null): number {
  if (signal) return SIGNALS[signal] ?? 128;
  return (code ?? 0) * 256;
}
