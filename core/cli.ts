/**
 * The start script's command line: `start [-d]`, `stop [-g]`, `restart [-d] [-g]`,
 * `reload [-g]`, `status [-d] [--json]`, `connections [--json]` (`-d` is also `--daemon`, `-g`
 * `--graceful`, `-q` `--quiet`), parsed with `parseArgs` from `node:util`
 * (through the runtime adapter). As in Workerman 4, the last command word anywhere in the
 * arguments wins, so `start.ts -d start` works too.
 *
 * @module
 */
import { runtime } from "../runtime/mod.ts";

export const COMMANDS = ["start", "stop", "restart", "reload", "status", "connections"] as const;
export type Command = typeof COMMANDS[number];

export interface ParsedCommand {
  command: Command | null;
  /** `-d` / `--daemon`: daemon for start/restart, live for status. */
  daemon: boolean;
  /** `-g` / `--graceful`: graceful stop/reload. */
  graceful: boolean;
  /** `-q` / `--quiet`: no banner. */
  quiet: boolean;
  /** `--json`: `status` and `connections` print one JSON document instead of a table. */
  json: boolean;
  /** The first word that is not a command (for the error message). */
  unknown: string | null;
  /** The first option that is not one of the above (refused with the usage). */
  badOption: string | null;
}

const OPTIONS = {
  daemon: { type: "boolean", short: "d" },
  graceful: { type: "boolean", short: "g" },
  quiet: { type: "boolean", short: "q" },
  json: { type: "boolean" },
} as const;

export function parseCommand(args: string[]): ParsedCommand {
  // Not strict, so that an unknown option can be named in our own words rather than parseArgs'.
  const { values, positionals } = runtime.parseArgs({ args, allowPositionals: true, strict: false, options: OPTIONS });
  let badOption: string | null = null;
  for (const [name, value] of Object.entries(values)) {
    if (!(name in OPTIONS) || typeof value !== "boolean") {
      badOption ??= `${name.length === 1 ? "-" : "--"}${name}${typeof value === "string" ? `=${value}` : ""}`;
    }
  }
  let command: Command | null = null;
  let unknown: string | null = null;
  for (const word of positionals) {
    if ((COMMANDS as readonly string[]).includes(word)) command = word as Command;
    else unknown ??= word;
  }
  return {
    command,
    daemon: values.daemon === true,
    graceful: values.graceful === true,
    quiet: values.quiet === true,
    json: values.json === true,
    unknown,
    badOption,
  };
}

/** The usage text, naming how this script is run (`deno run -A start.ts`, `npx tsx start.ts`, ...). */
export function usage(): string {
  return `Usage: ${runtime.scriptCommand()} <command> [mode]
Commands: 
start\t\tStart worker in DEBUG mode.
\t\tUse mode -d (--daemon) to start in DAEMON mode.
stop\t\tStop worker.
\t\tUse mode -g (--graceful) to stop gracefully.
restart\t\tRestart workers.
\t\tUse mode -d (--daemon) to start in DAEMON mode.
\t\tUse mode -g (--graceful) to stop gracefully.
reload\t\tReload codes.
\t\tUse mode -g (--graceful) to reload gracefully.
status\t\tGet worker status.
\t\tUse mode -d to show live status, --json for one JSON document.
connections\tGet worker connections.
\t\tUse --json for one JSON document.
`;
}
