/**
 * No `any` in the published declarations: counts the `any` type in the built `.d.ts` files of
 * the npm package (`npm/esm/mod.d.ts` and `npm/esm/{core,runtime,protocols,components,gateway}`,
 * what `files` in npm/package.json publishes; run `npm run build` first) and fails when a file
 * holds more than the allow-list below grants it. Comments and string literals are not counted.
 *
 * Usage: `npx tsx scripts/check_any.ts`
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const esm = join(root, "npm", "esm");

/**
 * Declaration files allowed to hold `any`, how many, and why. Each entry must say why the
 * type cannot be precise; an entry no longer needed fails the check too (so the list shrinks).
 */
const ALLOWED: Record<string, { count: number; why: string }> = {
  // none today; e.g. "core/x.d.ts": { count: 1, why: "..." }
};

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : name.endsWith(".d.ts") ? [path] : [];
  });
}

/** The source without comments and string literals (what remains is code). */
function codeOf(text: string): string {
  return text
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/\/\/.*$/gm, "")
    .replace(/"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`(?:[^`\\]|\\.)*`/g, '""');
}

if (!existsSync(join(esm, "mod.d.ts"))) {
  console.error("npm/esm/mod.d.ts not found: run `npm run build` first");
  process.exit(1);
}
const files = [
  join(esm, "mod.d.ts"),
  ...["core", "runtime", "protocols", "components", "gateway"].flatMap((d) => walk(join(esm, d))),
];
let failed = false;
let total = 0;
for (const file of files) {
  const name = relative(esm, file);
  const lines = codeOf(readFileSync(file, "utf8")).split("\n");
  const hits = lines.flatMap((line, i) => (/\bany\b/.test(line) ? [`${name}:${i + 1}: ${line.trim()}`] : []));
  const count = hits.reduce((n, h) => n + (h.match(/\bany\b/g)?.length ?? 0), 0);
  total += count;
  const allowed = ALLOWED[name]?.count ?? 0;
  if (count > allowed) {
    failed = true;
    console.error(`${name}: ${count} \`any\` (allowed ${allowed})`);
    for (const hit of hits) console.error(`  ${hit}`);
  }
}
for (const [name, { count }] of Object.entries(ALLOWED)) {
  if (count === 0) continue;
  const file = join(esm, name);
  const actual = existsSync(file) ? (codeOf(readFileSync(file, "utf8")).match(/\bany\b/g)?.length ?? 0) : 0;
  if (actual < count) {
    failed = true;
    console.error(`${name}: allowed ${count} \`any\` but holds ${actual}: lower its entry in scripts/check_any.ts`);
  }
}
console.log(`${files.length} declaration files, ${total} \`any\`${failed ? "" : " (none beyond the allow-list)"}`);
process.exit(failed ? 1 : 0);
