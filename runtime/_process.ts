/**
 * Process facts, signals, files, file watching and the parent message channel through
 * `node:process`, `node:fs` and `node:os`, which Node, Deno and Bun all provide (and Redis
 * connections from `redis.ts`). Each adapter spreads these into its {@link Runtime} and
 * overrides what its runtime does better natively.
 *
 * @module
 */
import * as fs from "node:fs";
import * as os from "node:os";
import process from "node:process";
import { parseArgs } from "node:util";
import { connectRedis } from "./redis.ts";
import type { Runtime } from "./types.ts";

type Common = Pick<
  Runtime,
  | "parentChannel"
  | "isAlive"
  | "isRoot"
  | "switchUser"
  | "isTTY"
  | "createExclusive"
  | "chmod"
  | "onSignal"
  | "kill"
  | "readFile"
  | "writeFile"
  | "appendFile"
  | "removeFile"
  | "exists"
  | "files"
  | "env"
  | "pid"
  | "ppid"
  | "memoryUsage"
  | "descriptors"
  | "loadAverage"
  | "exit"
  | "stdout"
  | "stderr"
  | "parseArgs"
  | "watch"
  | "redis"
  | "onBeforeExit"
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
        // Messages tagged __wm belong to the adapter (shared sockets), not to the core.
        process.on("message", (message: { __wm?: string } | null) => {
          if (!message?.__wm) cb(message);
        });
      },
      onDisconnect(cb: () => void) {
        process.on("disconnect", cb);
      },
      disconnect() {
        if (process.connected) process.disconnect?.();
      },
    };
  },
  isAlive(pid) {
    try {
      process.kill(pid, 0);
      return true;
    } catch (err) {
      return (err as { code?: string }).code === "EPERM"; // exists, owned by someone else
    }
  },
  isRoot: () => typeof process.getuid === "function" && process.getuid() === 0,
  switchUser(user, group) {
    if (typeof process.setuid !== "function" || typeof process.setgid !== "function") {
      return "this runtime cannot switch user";
    }
    try {
      // Without a group, use the user's primary group (its gid in /etc/passwd).
      const entry = fs.readFileSync("/etc/passwd", "utf8").split("\n").find((l) => l.split(":")[0] === user);
      if (!entry) return `user ${user} does not exist`;
      process.setgid(group || Number(entry.split(":")[3]));
      process.setuid(user);
      return null;
    } catch (err) {
      return `cannot switch to user ${user}${group ? ` group ${group}` : ""}: ${(err as Error).message}`;
    }
  },
  isTTY: () => process.stdout.isTTY === true,
  createExclusive(path, data) {
    try {
      fs.writeFileSync(path, data, { flag: "wx" });
      return true;
    } catch (err) {
      if ((err as { code?: string }).code === "EEXIST") return false;
      throw err;
    }
  },
  chmod(path, mode) {
    fs.chmodSync(path, mode);
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
  files: {
    stat(path) {
      try {
        const st = fs.statSync(path);
        return { size: st.size, mtimeMs: st.mtimeMs, isFile: st.isFile(), isDirectory: st.isDirectory() };
      } catch {
        return null;
      }
    },
    realpath(path) {
      try {
        return fs.realpathSync(path);
      } catch {
        return null;
      }
    },
    openRead: (path) => fs.openSync(path, "r"),
    openWrite: (path) => fs.openSync(path, "wx", 0o600),
    read: (fd, buffer, position) => fs.readSync(fd, buffer, 0, buffer.length, position),
    write(fd, data) {
      let offset = 0;
      while (offset < data.length) offset += fs.writeSync(fd, data, offset, data.length - offset);
    },
    close(fd) {
      try {
        fs.closeSync(fd);
      } catch { /* already closed */ }
    },
    mkdir(path) {
      fs.mkdirSync(path, { recursive: true });
    },
    readDir(path) {
      try {
        return fs.readdirSync(path);
      } catch {
        return [];
      }
    },
    rename(from, to) {
      fs.renameSync(from, to);
    },
  },
  env: (name) => process.env[name],
  pid: () => process.pid,
  ppid: () => process.ppid,
  memoryUsage() {
    const m = process.memoryUsage();
    return { rss: m.rss, heapUsed: m.heapUsed };
  },
  descriptors() {
    let limit = Infinity;
    let open = 0;
    try {
      const line = /^Max open files\s+(\d+)/m.exec(fs.readFileSync("/proc/self/limits", "utf8"));
      if (line) limit = Number(line[1]);
      open = fs.readdirSync("/proc/self/fd").length;
    } catch { /* not Linux: unknown */ }
    return { limit, open };
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
  watch(path, onChange) {
    const watcher = fs.watch(path, { recursive: true }, (_event, name) => onChange(name ? `${path}/${name}` : path));
    watcher.on("error", () => {}); // a watched directory that disappears ends the watch, not the process
    return { close: () => watcher.close() };
  },
  redis: connectRedis,
  onBeforeExit(handler) {
    process.once("beforeExit", handler);
  },
};

// ---- the command that runs the start script again, for the hints a user copies ------------

/** `word` as one shell word: unquoted when it is plain, else in single quotes. */
export function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

function realpath(file: string): string | null {
  try {
    return fs.realpathSync(file);
  } catch {
    return null;
  }
}

/** `file` relative to the working directory when it lies inside it, else absolute. */
export function displayPath(file: string): string {
  let cwd = "";
  try {
    cwd = process.cwd();
  } catch { /* Deno without read permission */ }
  return cwd && file.startsWith(`${cwd}/`) ? file.slice(cwd.length + 1) : file;
}

/**
 * How to name the executable at `execPath` in a command: its bare name when `PATH` finds that
 * same file under it (`node`, `deno`), else its path (a binary installed by npm is rarely on PATH).
 */
export function programName(execPath: string): string {
  const name = execPath.split("/").pop() ?? execPath;
  const real = realpath(execPath);
  let path = "";
  try {
    path = process.env.PATH ?? "";
  } catch { /* Deno without env permission */ }
  for (const dir of path.split(":")) {
    if (dir && real !== null && realpath(`${dir}/${name}`) === real) return name;
  }
  return displayPath(execPath);
}

/** The `node_modules/<name>` folder npx would find from the working directory, if any. */
export function npxPackageDir(name: string): string | null {
  let dir: string;
  try {
    dir = process.cwd();
  } catch {
    return null;
  }
  for (;;) {
    const found = realpath(`${dir}/node_modules/${name}`);
    if (found) return found;
    if (dir === "/" || dir === "") return null;
    dir = dir.slice(0, dir.lastIndexOf("/")) || "/";
  }
}
