/**
 * `npm test`: everything CI runs, in order — the npm build, the runtime boundary check, the
 * version check (deno.json and core/version.ts carry package.json's version), the type check,
 * no `any` in the built declarations, the README's examples type-checked, `deno check mod.ts`
 * and `deno doc --lint mod.ts`, `deno lint` and `deno fmt --check` (configured in deno.json),
 * then every vitest suite (unit tests, type tests, and end-to-end tests that run each behaviour
 * under Node 20, 24 and 26, Deno and Bun). Ends with one line `N passed, M failed` and exits
 * non-zero when anything failed.
 *
 * Extra arguments go to vitest (`npm test -- test/e2e/tcp.test.ts`).
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bin = (name: string) => join(root, "node_modules", ".bin", name);
let passed = 0;
let failed = 0;

function step(name: string, command: string, args: string[]): boolean {
  console.log(`\n== ${name}: ${[command, ...args].join(" ")}`);
  const result = spawnSync(command, args, { cwd: root, stdio: "inherit" });
  const ok = result.status === 0;
  if (ok) passed++;
  else failed++;
  console.log(`== ${name}: ${ok ? "ok" : `FAILED (exit ${result.status ?? result.signal})`}`);
  return ok;
}

const built = step("build", bin("tsx"), ["scripts/build_npm.ts"]);
step("boundary", bin("tsx"), ["scripts/check_boundary.ts"]);
step("version", bin("tsx"), ["scripts/check_version.ts"]);
step("typecheck", bin("tsc"), ["-p", "tsconfig.json", "--noEmit"]);
if (built) step("no any in the published declarations", bin("tsx"), ["scripts/check_any.ts"]);
step("README and examples type-check", bin("tsx"), ["scripts/check_examples.ts"]);
step("deno check", bin("deno"), ["check", "mod.ts"]);
step("deno doc --lint", bin("tsx"), ["scripts/check_docs.ts"]);
step("deno lint", bin("deno"), ["lint", "--quiet"]);
step("deno fmt --check", bin("deno"), ["fmt", "--check", "--quiet"]);

if (built) {
  const report = join(root, ".test-results", "vitest.json");
  rmSync(report, { force: true });
  mkdirSync(dirname(report), { recursive: true });
  console.log("\n== vitest");
  const run = spawnSync(bin("vitest"), [
    "run",
    "--reporter=default",
    "--reporter=json",
    `--outputFile.json=${report}`,
    ...process.argv.slice(2),
  ], { cwd: root, stdio: "inherit" });
  try {
    const results = JSON.parse(readFileSync(report, "utf8"));
    passed += results.numPassedTests;
    failed += results.numFailedTests;
    // A file that failed without a failed test (it did not load, or a beforeAll/afterAll hook
    // threw and its tests only show as skipped) counts as one failure.
    failed += results.testResults.filter((r: { status: string; assertionResults: { status: string }[] }) =>
      r.status === "failed" && !r.assertionResults.some((a) =>
        a.status === "failed"
      )
    ).length;
  } catch {
    console.log(`vitest wrote no report (exit ${run.status}); counting it as one failure`);
    failed++;
  }
} else {
  console.log("\nbuild failed: the tests were not run");
}

console.log(`\n${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
