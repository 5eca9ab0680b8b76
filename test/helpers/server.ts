/**
 * Starts a fixture script as a real process under Node (from the npm build), Deno or Bun,
 * waits for the banner's `Start success.` line, and reads the bound addresses from it.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";

export const ROOT = join(import.meta.dirname, "..", "..");
export const RUNTIMES = ["node", "deno", "bun"] as const;
export type RuntimeName = typeof RUNTIMES[number];

const BIN = join(ROOT, "node_modules", ".bin");

/** The command line that runs `test/fixtures/<fixture>.ts` on `runtime`. */
export function fixtureCommand(runtime: RuntimeName, fixture: string, args: string[]): [string, string[]] {
  switch (runtime) {
    case "node":
      return [process.execPath, [join(ROOT, "npm", "esm", "test", "fixtures", `${fixture}.js`), ...args]];
    case "deno":
      return [join(BIN, "deno"), ["run", "-A", `--config=${join(ROOT, "deno.json")}`, join(ROOT, "test", "fixtures", `${fixture}.ts`), ...args]];
    case "bun":
      return [join(BIN, "bun"), [join(ROOT, "test", "fixtures", `${fixture}.ts`), ...args]];
  }
}

export interface RunningServer {
  proc: ChildProcess;
  /** Ports of the banner's listen column, in Worker order (`none` rows are skipped). */
  ports: number[];
  /** Everything printed so far (stdout and stderr interleaved). */
  output(): string;
  /** Resolves when the output matches `pattern` (rejects after `timeoutMs`). */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  exited: Promise<number | string>;
  /** SIGINT, then SIGKILL if it has not exited within `graceMs`. */
  stop(graceMs?: number): Promise<number | string>;
}

/** How `runFixture` starts the process, beyond the fixture's own command line. */
export interface SpawnOptions {
  /** Words put before the command, e.g. `["ip", "netns", "exec", ns]` to run it in a namespace. */
  prefix?: string[];
  /** Start it in its own process group, so `process.kill(-proc.pid)` reaches all its children. */
  detached?: boolean;
  /** Run by `sh` before the fixture replaces it, e.g. `ulimit -n 64`. */
  shell?: string;
}

/** Run a fixture and collect its output without waiting for anything. */
export function runFixture(
  runtime: RuntimeName,
  fixture: string,
  args: string[] = ["start"],
  env: Record<string, string> = {},
  options: SpawnOptions = {},
): RunningServer {
  let [cmd, argv] = fixtureCommand(runtime, fixture, args);
  if (options.shell) [cmd, argv] = ["sh", ["-c", `${options.shell}; exec "$0" "$@"`, cmd, ...argv]];
  const [bin, ...binArgs] = [...(options.prefix ?? []), cmd, ...argv];
  const proc = spawn(bin, binArgs, {
    cwd: ROOT,
    env: { ...process.env, ...env, NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
    detached: options.detached ?? false,
  });
  let out = "";
  const waiters = new Set<() => void>();
  const onChunk = (chunk: Buffer) => {
    out += chunk.toString();
    for (const w of waiters) w();
  };
  proc.stdout!.on("data", onChunk);
  proc.stderr!.on("data", onChunk);
  let exitValue: number | string | undefined;
  const exited = new Promise<number | string>((resolve) => {
    proc.on("exit", (code, signal) => {
      exitValue = code ?? signal ?? -1; // set before waking the waiters, so they see it
      resolve(exitValue);
      for (const w of waiters) w();
    });
  });

  const server: RunningServer = {
    proc,
    ports: [],
    output: () => out,
    exited,
    waitForOutput(pattern, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = out.match(pattern);
          if (m) {
            done();
            resolve(m);
          } else if (exitValue !== undefined) {
            done();
            reject(new Error(`${runtime} ${fixture} exited (${exitValue}) before printing ${pattern}:\n${out}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`${runtime} ${fixture}: no ${pattern} within ${timeoutMs} ms:\n${out}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    async stop(graceMs = 5000) {
      if (exitValue !== undefined) return exitValue;
      proc.kill("SIGINT");
      const timer = setTimeout(() => proc.kill("SIGKILL"), graceMs);
      const v = await exited;
      clearTimeout(timer);
      return v;
    },
  };
  return server;
}

/** Start a fixture and wait until it has printed `Start success.`. */
export async function startServer(
  runtime: RuntimeName,
  fixture: string,
  args: string[] = ["start"],
  env: Record<string, string> = {},
  options: SpawnOptions = {},
): Promise<RunningServer> {
  const server = runFixture(runtime, fixture, args, env, options);
  try {
    await server.waitForOutput(/Start success\./);
  } catch (err) {
    await server.stop(); // the caller never gets it to stop: do not leave it (and its children) running
    throw err;
  }
  server.ports = [...server.output().matchAll(/^\S+\s+\S+\s+\S+\s+[a-z][\w+.-]*:\/\/(?:\[[^\]]+\]|[^\s:]+):(\d+)\s/gmi)]
    .map((m) => Number(m[1]));
  return server;
}
