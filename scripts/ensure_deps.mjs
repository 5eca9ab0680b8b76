// Runs before `npm start` and `npm test` (their pre-scripts): on a fresh clone it installs the
// dependencies first, so that the README's quick start is two commands. Plain JavaScript, since
// tsx is one of the things it installs.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const missing = ["tsx", "tsc", "vitest", "deno", "bun"].filter((bin) => !existsSync(join(root, "node_modules", ".bin", bin)));
if (missing.length > 0) {
  console.log(`First run: ${missing.join(", ")} not installed yet; running npm install`);
  // --no-save: install the locked versions without rewriting the lock file (see .ci/run for why
  // `npm ci` may refuse it).
  const result = spawnSync("npm", ["install", "--no-audit", "--no-fund", "--no-save"], { cwd: root, stdio: "inherit" });
  if (result.status !== 0) {
    console.error("npm install failed (see above); fix that, then run the command again");
    process.exit(1);
  }
}
