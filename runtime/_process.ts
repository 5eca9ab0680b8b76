/**
 * Process facts, signals, files and the parent message channel through `node:process`,
 * `node:fs` and `node:os`, which Node, Deno and Bun all provide. Each adapter spreads these
 * into its {@link Runtime} and overrides what its runtime does better natively.
 *
 * @module
 */
import * as fs from "node:fs";
import * as os from "node:os";
import process from "node:process";
import { parseArgs } from "node:util";
import type { Runtime } from "./types.ts";

type Common = Pick<
  Runtime,
  | "parentChannel"
  | "onSignal"
  | "kill"
  | "readFile"
  | "writeFile"
  | "appendFile"
  | "removeFile"
  | "exists"
  | "env"
  | "pid"
  | "ppid"
  | "memoryUsage"
  | "loadAverage"
  | "exit"
  | "stdout"
  | "stderr"
  | "parseArgs"
>;

export const commonProcessFacts: Common = {
  parentChannel() {
    if (typeof process.send !== "function") return null;
    return {
      send(message: unknown) {
        if (!process.connected) return false;
        try {
          return process.send!(message as object);
        } catch {
          return false;
        }
      },
      onMessage(cb: (message: unknown) => void) {
        process.on("message", cb);
      },
    };
  },
  onSignal(signal, handler) {
    process.on(signal as NodeJS.Signals, handler);
    return () => {
      process.off(signal as NodeJS.Signals, handler);
    };
  },
  kill(pid, signal) {
    try {
      process.kill(pid, signal as NodeJS.Signals);
      return true;
    } catch {
      return false;
    }
  },
  readFile(path) {
    try {
      return fs.readFileSync(path, "utf8");
    } catch {
      return null;
    }
  },
  writeFile(path, data) {
    fs.writeFileSync(path, data);
  },
  appendFile(path, data) {
    fs.appendFileSync(path, data);
  },
  removeFile(path) {
    try {
      fs.unlinkSync(path);
    } catch { /* already gone */ }
  },
  exists: (path) => fs.existsSync(path),
  env: (name) => process.env[name],
  pid: () => process.pid,
  ppid: () => process.ppid,
  memoryUsage() {
    const m = process.memoryUsage();
    return { rss: m.rss, heapUsed: m.heapUsed };
  },
  loadAverage: () => os.loadavg(),
  exit(code): never {
    process.exit(code);
  },
  stdout(text) {
    process.stdout.write(text);
  },
  stderr(text) {
    process.stderr.write(text);
  },
  parseArgs: parseArgs as Runtime["parseArgs"],
};
