/**
 * The master's files: the pid file (named from the start script's absolute path, so two apps
 * never collide), the control socket beside it, and the check that a pid really is our master.
 *
 * @module
 */
import { runtime } from "../runtime/mod.ts";

/** A short stable hash of a string (FNV-1a, hex). */
function hash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, "0");
}

/** The start script's file name. */
export function scriptName(): string {
  return runtime.mainScript.split("/").pop() ?? "start";
}

/** The default pid file: in the temp dir, named from the script's absolute path. */
export function defaultPidFile(): string {
  const safe = scriptName().replace(/[^A-Za-z0-9._-]/g, "_").slice(0, 40);
  return `${runtime.tempDir()}/workerman-ts.${safe}.${hash(runtime.mainScript)}.pid`;
}

let defaultLog = "";

/**
 * Where a daemon logs when `Worker.logFile` is not set: beside the start script, named after
 * it (`start.ts` → `start.log`), created if absent as Workerman creates its log file; in the
 * temp dir when the script is not a local file or its folder is not writable.
 */
export function defaultLogFile(): string {
  if (defaultLog) return defaultLog;
  const main = runtime.mainScript;
  const base = scriptName().replace(/\.[^.]*$/, "") || "workerman";
  const fallback = `${runtime.tempDir()}/workerman-ts.${base.replace(/[^A-Za-z0-9._-]/g, "_")}.${hash(main)}.log`;
  defaultLog = main.startsWith("/") ? `${main.slice(0, main.lastIndexOf("/"))}/${base}.log` : fallback;
  try {
    runtime.appendFile(defaultLog, "");
  } catch {
    defaultLog = fallback;
  }
  return defaultLog;
}

/** The log file in use: `logFile` when set, else {@link defaultLogFile} for a daemon, none in the foreground. */
export function logFileOf(logFile: string, daemon: boolean): string {
  return logFile || (daemon ? defaultLogFile() : "");
}

/** Where a daemon's stdout/stderr go: `stdoutFile` when set, else the daemon's log file. */
export function daemonStdoutFile(stdoutFile: string, logFile: string): string {
  return stdoutFile || logFileOf(logFile, true);
}

/** The control socket that the command line talks to (short: unix socket paths are limited to 107 bytes). */
export function controlPath(pidFile: string): string {
  const path = `${pidFile}.sock`;
  return path.length < 100 ? path : `${runtime.tempDir()}/workerman-ts.${hash(pidFile)}.sock`;
}

/** The pid recorded in the pid file, when that process is alive and runs this script. */
export function runningMaster(pidFile: string): number | null {
  const pid = Number(runtime.readFile(pidFile)?.trim());
  if (!Number.isInteger(pid) || pid <= 0 || pid === runtime.pid() || !runtime.isAlive(pid)) return null;
  // Guard against pid reuse: the process must be running this start script.
  const cmdline = runtime.readFile(`/proc/${pid}/cmdline`);
  if (cmdline && !cmdline.includes(scriptName())) return null;
  return pid;
}

/**
 * Claim the pid file for this process. Returns false when another live master holds it; a
 * stale file (its process is gone) is replaced.
 */
export function claimPidFile(pidFile: string): boolean {
  for (let attempt = 0; attempt < 2; attempt++) {
    if (runtime.createExclusive(pidFile, String(runtime.pid()))) return true;
    if (runningMaster(pidFile) !== null) return false;
    // Written but empty: another start is between create and write. Treat it as running.
    if (runtime.readFile(pidFile)?.trim() === "") return false;
    runtime.removeFile(pidFile);
  }
  return false;
}
