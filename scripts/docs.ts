/**
 * `npm run docs`: the HTML API reference, from the doc comments of what mod.ts exports, into
 * docs/api/ (ignored by git; open docs/api/index.html). `deno doc --html` works offline.
 * Members named `_x` are internal (used across the framework's own modules, so not `private`):
 * they carry `@ignore`, and this script fails if one shows up in the output anyway.
 *
 * Usage: `npm run docs`
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { stripVTControlCharacters } from "node:util";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "docs", "api");
const pkg = (await import("../package.json", { with: { type: "json" } })).default as { name: string };

rmSync(out, { recursive: true, force: true });
mkdirSync(dirname(out), { recursive: true }); // deno doc creates the folder, but not its parent
const result = spawnSync(
  join(root, "node_modules", ".bin", "deno"),
  ["doc", "--html", `--name=${pkg.name}`, `--output=${out}`, "mod.ts"],
  { cwd: root, encoding: "utf8" },
);
// Deno also reads node_modules/@types/node (this checkout's Node typings) and cannot follow its
// `/// <reference path>` lines; those warnings say nothing about this project's documentation.
const noise = /^(Warning Failed resolving types\. .*@types\/node\/|\s+at \S*@types\/node\/)/;
process.stdout.write(result.stdout);
const stderr = stripVTControlCharacters(result.stderr).split("\n").filter((line) => !noise.test(line));
process.stderr.write(stderr.join("\n"));
if (result.status !== 0) {
  console.error(`deno doc failed (exit ${result.status ?? result.signal})`);
  process.exit(1);
}

const internal = readdirSync(out, { recursive: true, encoding: "utf8" }).filter((f) => /(^|[./])_[^/]*\.html$/.test(f));
if (internal.length > 0) {
  console.error(`internal members in the API reference (mark them @ignore): ${internal.join(", ")}`);
  process.exit(1);
}
console.log(`API reference: ${join(out, "index.html")}`);
