/**
 * FileMonitor reload latency (issue 8: "FileMonitor reloads the workers within a second of a
 * saved change in foreground mode"), on each runtime (node, deno, bun; Node runs the npm build).
 *
 * For each runtime it starts test/fixtures/file_monitor.ts in the foreground (PID_FILE,
 * STDOUT_FILE and WATCH_DIR in a temporary directory, as test/e2e/file_monitor.test.ts does),
 * waits for `FileMonitor: watching`, then `--trials` times: asks the worker's text port which
 * pid answers (`pid\n` → `pid <n>`), writes WATCH_DIR/app.ts, and measures from the write until
 *
 * - (a) the `<file> update and reload` log line arrives (the FileMonitor logs it `debounceMs`,
 *   100 ms, after the last change event it saw, just before asking the master to reload), and
 * - (b) a different pid answers on the port (asked again every `--poll` ms).
 *
 * (b − a) is the reload itself (control socket, old worker killed, new one started and
 * listening); (a − 100 ms) is how long the runtime's file watching took to report the write.
 * After each trial it waits for the master's `reload done` and `--settle` ms more, and counts
 * any further `update and reload` lines the one write caused ("extra reloads").
 *
 * Output: a markdown table on stdout and in bench/RESULTS.md between the file-monitor markers.
 *
 * Usage: npx tsx bench/components/file_monitor.ts [--runtimes node,deno,bun] [--trials 10]
 *   [--poll 10] [--settle 500] [--noise 10] [--wait-quiet 20] [--lock PATH] [--no-build] [--no-write]
 *
 * Before each runtime it waits (up to `--wait-quiet` s) for the rest of the machine to use less
 * than `--noise` % of a core, and it measures while holding the benchmark lock (`--lock`, the
 * one bench/run.ts takes; an empty path runs without it).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TestClient } from "../../test/helpers/client.ts";
import {
  buildNpm,
  launchServer,
  listOption,
  log,
  maxOf,
  median,
  parseOptions,
  RUNNER_OPTIONS,
  runtimeCommand,
  runtimeVersions,
  type Server,
  sleep,
  waitQuiet,
  withBenchLock,
  writeSection,
} from "../lib.ts";

const opts = parseOptions(import.meta.url, {
  ...RUNNER_OPTIONS,
  trials: { type: "string", default: "10" },
  poll: { type: "string", default: "10" },
  settle: { type: "string", default: "500" },
});

type RuntimeName = "node" | "deno" | "bun";
const RUNTIMES = listOption(opts.runtimes, ["node", "deno", "bun"] as const, "runtime");
const TRIALS = Number(opts.trials);
const POLL_MS = Number(opts.poll);
const SETTLE_MS = Number(opts.settle);
/** The fixture's FileMonitor debounce (components/file_monitor.ts default). */
const DEBOUNCE_MS = 100;
/** The promise of issue 8. */
const LIMIT_MS = 1000;

/** One write and what followed it, in ms from the write. */
interface Trial {
  logged: number;
  answered: number;
  extraReloads: number;
}

/** What one runtime measured. */
interface Row {
  runtime: RuntimeName;
  trials: Trial[];
  otherCpu: number;
  error?: string;
}

/** The nearest-rank `q` quantile of the finite values of `xs`. */
function quantile(xs: number[], q: number): number {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.max(0, Math.ceil(q * s.length) - 1)];
}

/** The pid that answers one `pid` request on `port`, or 0 when none answers within `timeoutMs`. */
async function askPid(port: number, timeoutMs = 2000): Promise<number> {
  let c: TestClient | undefined;
  try {
    c = await TestClient.connect(port);
    c.write("pid\n");
    await c.until((t) => t.text.includes("\n") || t.closed, "a pid", timeoutMs);
    return Number(/pid (\d+)/.exec(c.text)?.[1] ?? 0);
  } catch {
    return 0; // refused, reset or silent: nobody serving right now
  } finally {
    c?.close();
  }
}

/** Asks every `POLL_MS` until a pid other than `old` answers; resolves with that pid. */
async function untilNewPid(port: number, old: number, timeoutMs: number): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const pid = await askPid(port);
    if (pid !== 0 && pid !== old) return pid;
    if (performance.now() > deadline) {
      throw new Error(`no new pid on port ${port} within ${timeoutMs} ms (still ${old})`);
    }
    await sleep(POLL_MS);
  }
}

/** One write of app.ts and the reload it causes; returns once the reload has settled. */
async function trial(server: Server, appFile: string, n: number): Promise<Trial> {
  const before = await askPid(server.port);
  if (!before) throw new Error(`${server.label}: no pid answers on port ${server.port}`);
  const from = server.out.text.length;
  const t0 = performance.now();
  writeFileSync(appFile, `export const version = ${n};\n`);
  const [logged, answered] = await Promise.all([
    server.out.wait(/update and reload/, 10_000, from).then(() => performance.now() - t0),
    untilNewPid(server.port, before, 10_000).then(() => performance.now() - t0),
  ]);
  await server.out.wait(/reload done/, 10_000, from);
  await sleep(SETTLE_MS);
  const extraReloads = server.out.text.slice(from).match(/update and reload/g)!.length - 1;
  return { logged, answered, extraReloads };
}

/** Start the fixture on `runtime` in a fresh temporary directory and run the trials. */
async function measure(runtime: RuntimeName): Promise<Row> {
  const dir = mkdtempSync(join(tmpdir(), "wm-bench-monitor-"));
  const watched = join(dir, "src");
  mkdirSync(watched);
  const appFile = join(watched, "app.ts");
  writeFileSync(appFile, "export const version = 0;\n");
  const env = { PID_FILE: join(dir, "app.pid"), STDOUT_FILE: join(dir, "stdout.log"), WATCH_DIR: watched };
  const row: Row = { runtime, trials: [], otherCpu: NaN };
  let server: Server | undefined;
  try {
    row.otherCpu = await waitQuiet(Number(opts["wait-quiet"]), Number(opts.noise));
    server = await launchServer(
      `${runtime} file_monitor`,
      runtimeCommand(runtime, "test/fixtures/file_monitor.ts", ["start"]),
      {
        env,
        ready: /FileMonitor: watching/,
        address: /text:\/\/127\.0\.0\.1:(\d+)/,
      },
    );
    for (let n = 1; n <= TRIALS; n++) {
      const t = await trial(server, appFile, n);
      row.trials.push(t);
      log(
        `  ${runtime} trial ${n}: log line ${t.logged.toFixed(0)} ms, new pid ${t.answered.toFixed(0)} ms${
          t.extraReloads ? `, ${t.extraReloads} extra reload(s)` : ""
        }`,
      );
    }
  } catch (err) {
    row.error = (err as Error).message;
    log(`  ${runtime}: FAILED ${row.error.split("\n")[0]}`);
  } finally {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return row;
}

const ms = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : "–");

/** The markdown table: one line per runtime. */
function table(rows: Row[]): string {
  const lines = [
    "| runtime | trials | write → `update and reload` median (p90 / max) ms | write → new pid answers median (p90 / max) ms | log line → new pid median ms | over 1 s | extra reloads | other CPU |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const r of rows) {
    const logged = r.trials.map((t) => t.logged);
    const answered = r.trials.map((t) => t.answered);
    const stats = (xs: number[]) => `${ms(median(xs))} (${ms(quantile(xs, 0.9))} / ${ms(maxOf(xs))})`;
    const over = r.trials.filter((t) => Math.max(t.logged, t.answered) > LIMIT_MS).length;
    lines.push(
      `| ${r.runtime}${r.error ? ` (failed: ${r.error.split("\n")[0]})` : ""} | ${r.trials.length} | ${
        stats(logged)
      } | ${stats(answered)} | ` +
        `${ms(median(r.trials.map((t) => t.answered - t.logged)))} | ${over} | ${
          r.trials.reduce((a, t) => a + t.extraReloads, 0)
        } | ${r.otherCpu.toFixed(0)}% |`,
    );
  }
  return lines.join("\n");
}

async function main(): Promise<void> {
  if (!opts["no-build"] && RUNTIMES.includes("node")) buildNpm();
  const startedAt = new Date();
  const rows: Row[] = [];
  for (const runtime of RUNTIMES) {
    rows.push(await withBenchLock(opts.lock, `file-monitor ${runtime}`, () => measure(runtime)));
  }
  const versions = runtimeVersions();
  const command = `npx tsx bench/components/file_monitor.ts ${process.argv.slice(2).join(" ")}`.trim();
  const section = [
    `## FileMonitor reload latency: run of ${startedAt.toISOString().replace("T", " ").slice(0, 19)} UTC`,
    "",
    `Command: \`${command}\`. Runtimes: ${RUNTIMES.map((r) => `${r} ${versions[r]}`).join(", ")}.`,
    `test/fixtures/file_monitor.ts in the foreground (one App worker, FileMonitor debounce ${DEBOUNCE_MS} ms); ${TRIALS} trials per runtime, ` +
    `each one write of WATCH_DIR/app.ts, timed until the \`update and reload\` log line arrives and until a new pid answers ` +
    `on the worker's text port (asked every ${POLL_MS} ms); then \`reload done\` and ${SETTLE_MS} ms of settling. ` +
    `"over 1 s": trials where either time exceeded ${LIMIT_MS} ms (issue 8). "extra reloads": further reloads one write caused. ` +
    `"other CPU": the rest of the machine before the runtime's trials, % of one core.`,
    "",
    table(rows),
  ].join("\n");
  console.log(section);
  if (!opts["no-write"]) writeSection("file-monitor", section);
}

await main();
process.exit(0);
