/**
 * Docs from the types: runs `deno doc --lint mod.ts` (what JSR requires: a doc comment on every
 * exported symbol, explicit types, no public signature referring to a private type) and fails
 * on any report not in the allow-list below, or when an allow-listed report is gone (so the
 * list shrinks).
 *
 * Usage: `npx tsx scripts/check_docs.ts`
 */
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/** Reports tolerated, each with why it cannot be fixed yet. Matched against the report's first line. */
const ALLOWED: { report: string; why: string }[] = [
  // none: add { report, why } here only for a report that truly cannot be fixed
];

const result = spawnSync(join(root, "node_modules", ".bin", "deno"), ["doc", "--lint", "mod.ts"], {
  cwd: root,
  encoding: "utf8",
  env: { ...process.env, NO_COLOR: "1" },
});
const output = `${result.stdout}\n${result.stderr}`;
const reports: string[] = [];
const lines = output.split("\n");
for (let i = 0; i < lines.length; i++) {
  if (!/^error\[/.test(lines[i])) continue;
  const where = /-->\s*(\S+)/.exec(lines[i + 1] ?? "")?.[1] ?? "";
  reports.push(`${lines[i].trim()}${where ? `  (${where.replace(`${root}/`, "").replace("file://", "")})` : ""}`);
}
const unexpected = reports.filter((r) => !ALLOWED.some((a) => r.startsWith(a.report)));
const gone = ALLOWED.filter((a) => !reports.some((r) => r.startsWith(a.report)));
for (const r of unexpected) console.error(r);
for (const a of gone) {
  console.error(`allowed but no longer reported, remove it from scripts/check_docs.ts: ${a.report}`);
}
if (result.status !== 0 && reports.length === 0) {
  console.error(output);
  process.exit(1);
}
console.log(`deno doc --lint mod.ts: ${reports.length} report(s), ${reports.length - unexpected.length} allow-listed`);
process.exit(unexpected.length > 0 || gone.length > 0 ? 1 : 0);
