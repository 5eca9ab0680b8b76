/**
 * Logging: timestamped lines to `Worker.logFile` (when set; a daemon's default lies beside its
 * start script), echoed to the console while the process runs in the foreground. A throwing
 * user callback is reported here with its stack and never takes the process down.
 *
 * @module
 */
import { runtime } from "../runtime/mod.ts";

/** Where log lines go; set by the Worker from `Worker.logFile` and `Worker.daemonize`. */
export const logTarget = { file: "", echo: true };

function timestamp(): string {
  const d = new Date();
  const pad = (n: number, w = 2) => String(n).padStart(w, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${
    pad(d.getSeconds())
  }.${pad(d.getMilliseconds(), 3)}`;
}

/** Write one log line. */
export function log(message: string): void {
  const line = `${timestamp()} pid:${runtime.pid()} ${message}\n`;
  if (logTarget.file) {
    try {
      runtime.appendFile(logTarget.file, line);
    } catch (err) {
      runtime.stderr(`cannot write log file ${logTarget.file}: ${(err as Error).message}\n`);
    }
  }
  if (logTarget.echo) runtime.stderr(line);
}

/** Report an error thrown by user code (`where` names the callback and worker). */
export function reportError(where: string, error: unknown): void {
  const detail = error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error);
  log(`Error in ${where}: ${detail}`);
}

/**
 * Call a user callback; a throw or a rejected promise is reported, never propagated.
 * Returns what the callback returned (undefined when it threw).
 */
export function safeCall<A extends unknown[]>(
  where: () => string,
  fn: ((...args: A) => unknown) | null | undefined,
  ...args: A
): unknown {
  if (!fn) return undefined;
  try {
    const result = fn(...args);
    if (result !== null && typeof result === "object" && typeof (result as Promise<unknown>).then === "function") {
      (result as Promise<unknown>).then(undefined, (err) => reportError(where(), err));
    }
    return result;
  } catch (err) {
    reportError(where(), err);
    return undefined;
  }
}
