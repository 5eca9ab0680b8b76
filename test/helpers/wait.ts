/** Polling for end-to-end tests: wait for a condition outside any one connection. */
import { readdirSync, readFileSync } from "node:fs";

/** Resolves once `check()` holds (polled every 20 ms); rejects naming `what` after `timeoutMs`. */
export async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Whether process `pid` still runs. A zombie waiting for its reaper does not; but the main
 * thread of a multi-threaded process (Bun) shows as a zombie while its other threads are still
 * exiting and holding its descriptors, so it counts as running until those are gone too.
 */
export function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    if (stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z") return true;
    return readdirSync(`/proc/${pid}/task`).length > 1;
  } catch {
    return false;
  }
}
