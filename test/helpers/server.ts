/**
 * Starts a fixture script as a real process under Node 20 (the machine's, running the npm
 * build), Node 24 and 26 (the devDependencies `node24` and `node26`, running the TypeScript
 * fixture directly: type stripping), Deno or Bun, waits for the banner's `Start success.` line,
 * and reads the bound addresses from it.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { join } from "node:path";

export const ROOT = join(import.meta.dirname, "..", "..");
export const RUNTIMES = ["node", "node24", "node26", "deno", "bun"] as const;
export type RuntimeName = typeof RUNTIMES[number];

const BIN = join(ROOT, "node_modules", ".bin");

/** The Node binary behind a runtime name, or null for Deno and Bun. */
export function nodeBinary(runtime: RuntimeName): string | null {
  if (runtime === "node") return process.execPath;
  if (runtime === "node24" || runtime === "node26") return join(ROOT, "node_modules", runtime, "bin", "node");
  return null;
}

/** The Node version a runtime name runs (`[major, minor]`), or null for Deno and Bun. */
export function nodeVersion(runtime: RuntimeName): [number, number] | null {
  const bin = nodeBinary(runtime);
  if (bin === null) return null;
  const version = bin === process.execPath
    ? process.versions.node
    : execFileSync(bin, ["-p", "process.versions.node"], { encoding: "utf8" }).trim();
  const [major, minor] = version.split(".").map(Number);
  return [major, minor];
}

/** The command line that runs `test/fixtures/<fixture>.ts` on `runtime`. */
export function fixtureCommand(runtime: RuntimeName, fixture: string, args: string[]): [string, string[]] {
  switch (runtime) {
    case "node":
      return [process.execPath, [join(ROOT, "npm", "esm", "test", "fixtures", `${fixture}.js`), ...args]];
    case "node24":
    case "node26":
      // `import "workerman-ts"` resolves through the root package.json's exports to the npm build.
      return [nodeBinary(runtime)!, [join(ROOT, "test", "fixtures", `${fixture}.ts`), ...args]];
    case "deno":
      return [join(BIN, "deno"), [
        "run",
        "-A",
        `--config=${join(ROOT, "deno.json")}`,
        join(ROOT, "test", "fixtures", `${fixture}.ts`),
        ...args,
      ]];
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

/** Start a fixture and wait until it has printed `Start success.` (stopping it if it does not). */
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
    await server.stop(); // a master that never got ready must not outlive the test with its processes
    throw err;
  }
  server.ports = bannerPorts(server.output());
  return server;
}

/** Ports of a start banner's listen column, in Worker order (`none` rows are skipped). */
export function bannerPorts(output: string): number[] {
  return [...output.matchAll(/^\S+\s+\S+\s+\S+\s+[a-z][\w+.-]*:\/\/(?:\[[^\]]+\]|[^\s:]+):(\d+)\s/gmi)]
    .map((m) => Number(m[1]));
}
