/**
 * The start script's command line: `start [-d]`, `stop [-g]`, `restart [-d] [-g]`,
 * `reload [-g]`, `status [-d]`, `connections`, parsed with `parseArgs` from `node:util`
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
  /** `-d`: daemon for start/restart, live for status. */
  daemon: boolean;
  /** `-g`: graceful stop/reload. */
  graceful: boolean;
  /** `-q`: no banner. */
  quiet: boolean;
  /** The first word that is not a command (for the error message). */
  unknown: string | null;
}

export function parseCommand(args: string[]): ParsedCommand {
  const { values, positionals } = runtime.parseArgs({
    args,
    allowPositionals: true,
    strict: false,
    options: {
      d: { type: "boolean", short: "d" },
      g: { type: "boolean", short: "g" },
      q: { type: "boolean", short: "q" },
    },
  });
  let command: Command | null = null;
  let unknown: string | null = null;
  for (const word of positionals) {
    if ((COMMANDS as readonly string[]).includes(word)) command = word as Command;
    else unknown ??= word;
  }
  return { command, daemon: values.d === true, graceful: values.g === true, quiet: values.q === true, unknown };
}

/** The usage text, naming how this script was started. */
export function usage(): string {
  const script = runtime.mainScript.split("/").pop();
  return `Usage: ${runtime.name} ${script} <command> [mode]
Commands: 
start\t\tStart worker in DEBUG mode.
\t\tUse mode -d to start in DAEMON mode.
stop\t\tStop worker.
\t\tUse mode -g to stop gracefully.
restart\t\tRestart workers.
\t\tUse mode -d to start in DAEMON mode.
\t\tUse mode -g to stop gracefully.
reload\t\tReload codes.
\t\tUse mode -g to reload gracefully.
status\t\tGet worker status.
\t\tUse mode -d to show live status.
connections\tGet worker connections.
`;
}
