/**
 * Timers with Workerman's API: `Timer.add(seconds, callback, args, persistent)` returns an id
 * (per process, from 1, never reused), `Timer.del(id)`, `Timer.delAll()`.
 *
 * A persistent timer's next run is scheduled from the moment its callback starts, so a slow
 * callback delays the next run and there are no catch-up bursts (as in Workerman).
 *
 * @example
 * ```ts
 * import { Timer } from "workerman-ts";
 * const id = Timer.add(1, () => console.log("tick"));
 * Timer.add(3.5, () => Timer.del(id), [], false);
 * ```
 *
 * @module
 */
import { TimerError } from "./errors.ts";
import { safeCall } from "./log.ts";

interface Entry {
  handle: ReturnType<typeof setTimeout> | undefined;
  ms: number;
  callback: (...args: unknown[]) => unknown;
  args: unknown[];
  persistent: boolean;
}

const timers = new Map<number, Entry>();
let lastId = 0;

function schedule(id: number, entry: Entry): void {
  entry.handle = setTimeout(() => {
    if (entry.persistent) schedule(id, entry);
    else timers.delete(id);
    safeCall(() => `timer ${id}`, entry.callback, ...entry.args);
  }, entry.ms);
}

// Static-only by design: Workerman's API is `Timer::add(...)`.
/** Workerman's timers: `Timer.add(seconds, fn, args, persistent)` and `Timer.del(id)`, per process. */
export class Timer {
  /**
   * Run `callback(...args)` after `interval` seconds (milliseconds resolution), and again every
   * `interval` seconds while `persistent` is true. Returns the timer id.
   */
  static add<A extends unknown[]>(
    interval: number,
    callback: (...args: A) => unknown,
    args: A = [] as unknown as A,
    persistent = true,
  ): number {
    if (typeof interval !== "number" || !(interval > 0) || !Number.isFinite(interval)) {
      throw new TimerError(
        "ERR_TIMER_INTERVAL",
        `Timer.add(): interval must be a positive number of seconds, got ${String(interval)}`,
      );
    }
    if (typeof callback !== "function") {
      throw new TimerError("ERR_TIMER_CALLBACK", `Timer.add(): callback must be a function, got ${typeof callback}`);
    }
    const id = ++lastId;
    const entry: Entry = {
      handle: undefined,
      ms: Math.max(1, Math.round(interval * 1000)),
      callback: callback as (...args: unknown[]) => unknown,
      args: args ?? [],
      persistent,
    };
    timers.set(id, entry);
    schedule(id, entry);
    return id;
  }

  /** Cancel a timer; also from inside its own callback. Returns true (as Workerman does, even for unknown ids). */
  static del(id: number): boolean {
    const entry = timers.get(id);
    if (entry) {
      clearTimeout(entry.handle);
      timers.delete(id);
    }
    return true;
  }

  /** Cancel every timer of this process. */
  static delAll(): void {
    for (const entry of timers.values()) clearTimeout(entry.handle);
    timers.clear();
  }

  /** How many timers are live (persistent ones plus one-shots not yet fired), for `status`. */
  static count(): number {
    return timers.size;
  }
}
