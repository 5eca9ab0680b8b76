/**
 * Builds the npm package into `npm/` the way dnt would for a Deno-first project, with plain
 * `tsc`: ES modules with `.ts` import specifiers rewritten to `.js`, declarations beside them,
 * and a package.json whose `exports` list `types` first.
 *
 * The test fixtures and examples are compiled into the same tree (`npm/esm/test/fixtures`,
 * `npm/esm/examples`) so that Node runs them against the built package: their
 * `import ... from "workerman-ts"` resolves to `npm/esm/mod.js` through the package's
 * self-reference. They are left out of the published files.
 *
 * Usage: `npm run build`
 */
import { execFileSync } from "node:child_process";
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "npm");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
execFileSync(
  process.execPath,
  [join(root, "node_modules/typescript/bin/tsc"), "-p", join(root, "tsconfig.build.json")],
  {
    stdio: "inherit",
    cwd: root,
  },
);

// tsc rewrites `.ts` specifiers to `.js` in the emitted JavaScript but leaves them in the
// declarations, where a consumer (tsc with node16/nodenext or bundler resolution, deno check)
// finds no `./core/mod.ts` beside `./core/mod.js`: point them at the `.js` files, whose
// `.d.ts` files sit beside them.
for (const file of walk(join(out, "esm"))) {
  if (!file.endsWith(".d.ts")) continue;
  const text = readFileSync(file, "utf8");
  const fixed = text.replace(
    /((?:from|import|import\(|declare module)\s*["'])(\.{1,2}\/[^"']*?)\.ts(["'])/g,
    "$1$2.js$3",
  );
  if (fixed !== text) writeFileSync(file, fixed);
}

const npmPackage = {
  name: pkg.name,
  version: pkg.version,
  description: pkg.description,
  license: pkg.license,
  type: "module",
  main: "./esm/mod.js",
  types: "./esm/mod.d.ts",
  exports: { ".": { types: "./esm/mod.d.ts", import: "./esm/mod.js" } },
  files: ["esm/mod.*", "esm/core", "esm/runtime", "esm/protocols", "esm/components", "esm/gateway", "README.md"],
  dependencies: pkg.dependencies,
  engines: { node: ">=20" },
};
writeFileSync(join(out, "package.json"), JSON.stringify(npmPackage, null, 2) + "\n");
for (const file of ["README.md", "LICENSE"]) {
  if (existsSync(join(root, file))) copyFileSync(join(root, file), join(out, file));
}
// The chat example's page, served from beside the compiled start script.
cpSync(join(root, "examples", "chat", "web"), join(out, "esm", "examples", "chat", "web"), { recursive: true });
console.log(`built ${npmPackage.name}@${npmPackage.version} into npm/`);
