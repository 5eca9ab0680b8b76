/**
 * Bounded fuzzing of every parser on each `npm test` (see test/helpers/fuzz.ts for the
 * properties; `npx tsx scripts/fuzz.ts` runs them for minutes).
 */
import fc from "fast-check";
import { describe, it } from "vitest";
import { TARGETS } from "../helpers/fuzz.ts";

const RUNS = 300;

describe.each(Object.values(TARGETS))("fuzzing $name", (target) => {
  it("random bytes and mutated streams split anywhere never throw, never buffer past the limit, end in messages or a clean rejection", async () => {
    await fc.assert(target.hostile, { numRuns: RUNS });
  });

  it("valid streams decode to the same messages however they are split", async () => {
    await fc.assert(target.valid, { numRuns: RUNS });
  });
});
