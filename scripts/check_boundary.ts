/**
 * The runtime boundary, checked by a tool: files in `core/`, `protocols/`, `gateway/` and
 * `components/` may import only relative modules (of `runtime/`, only the adapter `mod.ts` and
 * the contract `types.ts`), and must not name `Deno`, `Bun`, `process` or `Buffer` in code
 * (comments and string literals are ignored). Everything runtime-specific lives in `runtime/`.
 *
 * Usage: `npm run check:boundary [-- dir ...]` (default: the four above that exist). Exits 1 and
 * lists every violation when there is one.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const FORBIDDEN_GLOBALS = /\b(Deno|Bun|process|Buffer)\b/;
export const DEFAULT_DIRS = ["core", "protocols", "gateway", "components"];

/**
 * The source with comments blanked, and string literal contents too unless `keepStrings`;
 * line structure is kept so line numbers stay right.
 */
export function codeOnly(source: string, keepStrings = false): string {
  let out = "";
  let i = 0;
  while (i < source.length) {
    const c = source[i];
    const next = source[i + 1];
    if (c === "/" && next === "/") {
      while (i < source.length && source[i] !== "\n") i++;
    } else if (c === "/" && next === "*") {
      const end = source.indexOf("*/", i + 2);
      const stop = end === -1 ? source.length : end + 2;
      out += source.slice(i, stop).replace(/[^\n]/g, " ");
      i = stop;
    } else if (c === '"' || c === "'" || c === "`") {
      out += c;
      i++;
      while (i < source.length && source[i] !== c) {
        if (source[i] === "\\") i++;
        else if (c === "`" && source[i] === "$" && source[i + 1] === "{") {
          // keep template expressions: they are code
          let depth = 0;
          while (i < source.length) {
            if (source[i] === "{") depth++;
            if (source[i] === "}" && --depth === 0) break;
            out += source[i];
            i++;
          }
        }
        out += keepStrings || source[i] === "\n" ? source[i] : " ";
        i++;
      }
      out += c;
      i++;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** Every boundary violation in one file, as `file:line: reason`. */
export function checkSource(file: string, source: string): string[] {
  const problems: string[] = [];
  const imports = /(?:\bfrom\s*|\bimport\s*\(?\s*)(["'])([^"']+)\1/g;
  const code = codeOnly(source, true);
  for (const match of code.matchAll(imports)) {
    const specifier = match[2];
    const line = () => code.slice(0, match.index).split("\n").length;
    if (!specifier.startsWith(".")) {
      problems.push(`${file}:${line()}: imports "${specifier}"; only runtime/ may import non-relative modules`);
    } else if (/(^|\/)runtime\/(?!mod\.ts$|types\.ts$)/.test(specifier)) {
      problems.push(
        `${file}:${line()}: imports "${specifier}"; reach the runtime through runtime/mod.ts (the adapter) and runtime/types.ts only`,
      );
    }
  }
  codeOnly(source).split("\n").forEach((text, index) => {
    const found = FORBIDDEN_GLOBALS.exec(text);
    if (found) problems.push(`${file}:${index + 1}: uses ${found[1]}; go through the runtime adapter instead`);
  });
  return problems;
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return walk(path);
    return /\.(ts|js|mts)$/.test(name) ? [path] : [];
  });
}

export function checkDirs(dirs: string[], root = process.cwd()): string[] {
  return dirs.flatMap((dir) =>
    walk(join(root, dir)).flatMap((file) => checkSource(relative(root, file), readFileSync(file, "utf8")))
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dirs = process.argv.slice(2);
  const chosen = dirs.length > 0 ? dirs : DEFAULT_DIRS.filter((dir) => existsSync(dir));
  const problems = checkDirs(chosen);
  for (const problem of problems) console.error(problem);
  if (problems.length > 0) {
    console.error(`boundary check failed: ${problems.length} problem(s)`);
    process.exit(1);
  }
  console.log(`boundary check passed: ${chosen.join(", ")} touch no runtime directly`);
}
