/**
 * Picks the adapter for the runtime this process runs on. The core imports `runtime` from
 * here and never learns which one it got.
 *
 * @module
 */
import type { Runtime } from "./types.ts";

export type * from "./types.ts";

const g = globalThis as { Deno?: unknown; Bun?: unknown };

async function load(): Promise<Runtime> {
  if (g.Bun) return (await import("./bun.ts")).runtime;
  if (g.Deno) return (await import("./deno.ts")).runtime;
  return (await import("./node.ts")).runtime;
}

/** The adapter for the current runtime. */
export const runtime: Runtime = await load();
