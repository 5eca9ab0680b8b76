/**
 * The start-up banner (Workerman's `displayUI`): versions, then one row per Worker with its
 * transport, user, name, listen address, process count and status.
 *
 * @module
 */
import { runtime } from "../runtime/mod.ts";
import { VERSION } from "./version.ts";
import type { Worker } from "./worker.ts";

function centred(title: string, width: number): string {
  const dashes = Math.max(0, width - title.length);
  const left = Math.floor(dashes / 2);
  return "-".repeat(left) + title + "-".repeat(dashes - left);
}

/**
 * An address a client on this machine can use for an http/websocket Worker listening on every
 * interface (`0.0.0.0`, `::`), where the listen address itself is not one: `http(s)://` for a
 * browser, `ws(s)://` for a WebSocket client (a browser opening it as a page would get 400); else "".
 */
export function localUrl(w: Worker): string {
  const m = /^(http|websocket):\/\/(0\.0\.0\.0|\[::\]):(\d+)$/i.exec(w.getListenAddress());
  if (!m) return "";
  const host = m[2] === "[::]" ? "[::1]" : "127.0.0.1";
  const scheme = m[1].toLowerCase() === "http" ? "http" : "ws";
  return `${scheme}${w.transport === "ssl" ? "s" : ""}://${host}:${m[3]}`;
}

/** The banner text, ending with the `Start success.` line. */
export function banner(workers: readonly Worker[], footer: string): string {
  const columns: [string, number, (w: Worker) => string][] = [
    ["proto", 4, (w) => w.transport],
    ["user", 12, (w) => w.user || runtime.env("USER") || "root"],
    ["worker", 12, (w) => w.name],
    ["listen", 12, (w) => w.getListenAddress()],
    ["processes", 9, (w) => String(w.count)],
    ["status", 13, () => " [OK] "],
  ];
  if (workers.some((w) => localUrl(w))) columns.push(["open", 4, localUrl]);
  const widths = columns.map(([title, min, get]) =>
    Math.max(min, title.length, ...workers.map((w) => get(w).length)) + 4
  );
  const versionLine = `Workerman-ts version:${VERSION}` +
    `${runtime.name[0].toUpperCase()}${runtime.name.slice(1)} version:`.padStart(22) + runtime.version +
    "Event-Loop:".padStart(22) + "native";
  const total = Math.max(widths.reduce((a, b) => a + b, 0), versionLine.length);
  const row = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join("").trimEnd();
  return [
    centred(" WORKERMAN-TS ", total),
    versionLine,
    centred(" WORKERS ", total),
    row(columns.map(([title]) => title)),
    ...workers.map((w) => row(columns.map(([, , get]) => get(w)))),
    "-".repeat(total),
    footer,
    "",
  ].join("\n");
}
