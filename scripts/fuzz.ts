/**
 * Long fuzzing run of the parsers' properties (test/helpers/fuzz.ts), for minutes instead of the
 * bounded run of `npm test`:
 *
 *   npx tsx scripts/fuzz.ts --minutes 10 [--parser http]
 *
 * Runs each parser (or only the one named) for `--minutes` minutes, alternating its hostile and
 * valid properties with fresh seeds, and prints the number of cases per parser. Stops at the
 * first failure with fast-check's report (seed, path and shrunk counterexample) and exit code 1.
 */
import fc from "fast-check";
import { TARGETS } from "../test/helpers/fuzz.ts";

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at !== -1 && process.argv[at + 1] ? process.argv[at + 1] : fallback;
}

const minutes = Number(option("minutes", "10"));
const only = option("parser", "");
const names = only ? [only] : Object.keys(TARGETS);
for (const name of names) {
  if (!TARGETS[name]) {
    console.error(`unknown parser "${name}"; one of: ${Object.keys(TARGETS).join(", ")}`);
    process.exit(2);
  }
}

const BATCH = 500;
for (const name of names) {
  const target = TARGETS[name];
  const deadline = Date.now() + minutes * 60_000;
  const counts = { hostile: 0, valid: 0 };
  while (Date.now() < deadline) {
    for (const kind of ["hostile", "valid"] as const) {
      const seed = (Math.random() * 2 ** 31) | 0;
      const result = await fc.check(target[kind] as fc.IAsyncProperty<unknown[]>, { numRuns: BATCH, seed });
      counts[kind] += result.numRuns;
      if (result.failed) {
        console.error(
          `${name} ${kind} FAILED after ${counts.hostile + counts.valid} cases\n${fc.defaultReportMessage(result)}`,
        );
        process.exit(1);
      }
    }
  }
  console.log(
    `${name}: ${
      counts.hostile + counts.valid
    } cases in ${minutes} min (${counts.hostile} hostile, ${counts.valid} valid), no failure`,
  );
}
