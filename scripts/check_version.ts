/**
 * One version source: package.json's `version`. deno.json (JSR) and core/version.ts (the
 * banner and `status`, which run from source on Deno and Bun and so cannot read package.json)
 * carry copies; the npm build takes it from package.json. This script fails when a copy
 * differs, and with `--write` updates the copies (`npm version <new>` runs it that way).
 *
 * Usage: `npx tsx scripts/check_version.ts [--write]`
 */
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const write = process.argv.includes("--write");
const version: string = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version;

/** Each copy: its file, the pattern whose first group is the version, and how it is written. */
const copies: [file: string, pattern: RegExp, replacement: string][] = [
  ["deno.json", /"version":\s*"([^"]*)"/, `"version": "${version}"`],
  ["core/version.ts", /export const VERSION = "([^"]*)";/, `export const VERSION = "${version}";`],
];

let wrong = 0;
for (const [file, pattern, replacement] of copies) {
  const text = readFileSync(join(root, file), "utf8");
  const found = pattern.exec(text)?.[1];
  if (found === version) continue;
  if (write && found !== undefined) {
    writeFileSync(join(root, file), text.replace(pattern, replacement));
    console.log(`${file}: ${found} -> ${version}`);
    continue;
  }
  console.error(
    `${file} has version ${
      found ?? "(none found)"
    }, package.json has ${version}: run npx tsx scripts/check_version.ts --write`,
  );
  wrong++;
}
if (wrong === 0 && !write) console.log(`version ${version} in package.json, deno.json and core/version.ts`);
process.exit(wrong > 0 ? 1 : 0);
