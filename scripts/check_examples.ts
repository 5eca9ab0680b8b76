/**
 * The README's and docs/' examples compile as written: every ```ts block of README.md and of
 * docs/*.md becomes a module of its own and is type-checked under `strict`, together with
 * every file in `examples/`, with
 * `import ... from "workerman-ts"` mapped to `mod.ts`. A block that imports nothing (a
 * fragment continuing the one before) gets an import of the names it uses from
 * "workerman-ts"; a block using `cert` / `key` (the PEM strings of the TLS examples) without
 * defining them gets them declared as strings. Nothing else is added.
 *
 * Usage: `npx tsx scripts/check_examples.ts`; exits non-zero with tsc's errors (file names
 * give the page and the line the block starts at).
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, ".check-examples");

/** Names exported by `file` (following `export *` and `export {...} from`). */
function exportedNames(file: string, seen = new Set<string>()): Set<string> {
  const names = new Set<string>();
  if (seen.has(file)) return names;
  seen.add(file);
  const source = readFileSync(file, "utf8");
  for (const m of source.matchAll(/export \* from "(\.[^"]+)";/g)) {
    for (const n of exportedNames(join(dirname(file), m[1]), seen)) names.add(n);
  }
  for (const m of source.matchAll(/export (?:type )?\{([^}]*)\}/g)) {
    for (const item of m[1].split(",")) {
      const name = item.trim().replace(/^type /, "").split(/\s+as\s+/).pop()!.trim();
      if (name) names.add(name);
    }
  }
  return names;
}

const exported = exportedNames(join(root, "mod.ts"));
// The README and the pages of docs/ (what a user copies from).
const pages = [
  "README.md",
  ...readdirSync(join(root, "docs")).filter((n) => n.endsWith(".md")).map((n) => `docs/${n}`),
];
const blocks: { page: string; line: number; code: string }[] = [];
for (const page of pages) {
  const lines = readFileSync(join(root, page), "utf8").split("\n");
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```ts\s*$/.exec(lines[i]);
    if (!open) continue;
    const indent = open[1].length;
    const start = i + 1;
    const body: string[] = [];
    for (i++; i < lines.length && !/^\s*```\s*$/.test(lines[i]); i++) body.push(lines[i].slice(indent));
    blocks.push({ page, line: start + 1, code: body.join("\n") });
  }
}

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const files: string[] = [];
for (const { page, line, code } of blocks) {
  let text = code;
  if (!/^import /m.test(code)) {
    const used = [...exported].filter((name) => new RegExp(`\\b${name}\\b`).test(code));
    if (used.length > 0) text = `import { ${used.join(", ")} } from "workerman-ts";\n${text}`;
  }
  for (const pem of ["cert", "key"]) {
    if (new RegExp(`\\{[^}]*\\b${pem}\\b[^}]*\\}`).test(code) && !new RegExp(`(const|let) ${pem}\\b`).test(code)) {
      text = `declare const ${pem}: string; // a PEM string\n${text}`;
    }
  }
  const file = join(out, `${page.replace(/\W+/g, "_")}_line_${line}.ts`);
  writeFileSync(file, `${text}\nexport {};\n`);
  files.push(file);
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : /\.m?ts$/.test(name) ? [path] : [];
  });
}
files.push(...walk(join(root, "examples")));

writeFileSync(
  join(out, "tsconfig.json"),
  JSON.stringify(
    {
      extends: "../tsconfig.json",
      compilerOptions: {
        strict: true,
        noEmit: true,
        // A user's file imports types without `type` too; the README must not depend on it.
        verbatimModuleSyntax: false,
        paths: { "workerman-ts": ["../mod.ts"] },
      },
      include: [],
      files: files.map((f) => relative(out, f)),
    },
    null,
    2,
  ),
);
const tsc = join(root, "node_modules", ".bin", "tsc");
const result = spawnSync(tsc, ["-p", join(out, "tsconfig.json")], { cwd: root, stdio: "inherit" });
if (result.status === 0) {
  rmSync(out, { recursive: true, force: true });
  console.log(
    `${blocks.length} blocks of README.md and docs/ and ${files.length - blocks.length} example files type-check`,
  );
}
process.exit(result.status ?? 1);
