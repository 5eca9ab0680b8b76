/**
 * Copies each example into the docs that show it: in `docs/*.md`, the code block after a
 * `<!-- examples/<path>.ts -->` marker is replaced by that file's content.
 * `test/unit/components_docs.test.ts` fails when they differ.
 *
 * Usage: `npx tsx scripts/sync_docs_examples.ts`
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dirname, "..");
for (const name of readdirSync(join(root, "docs")).filter((f) => f.endsWith(".md"))) {
  const path = join(root, "docs", name);
  const text = readFileSync(path, "utf8");
  const synced = text.replace(
    /^<!-- (examples\/\S+\.ts) -->\n```ts\n[\s\S]*?^```$/gm,
    (_block, file: string) => `<!-- ${file} -->\n\`\`\`ts\n${readFileSync(join(root, file), "utf8")}\`\`\``,
  );
  if (synced !== text) writeFileSync(path, synced);
  console.log(`${name}: ${synced === text ? "up to date" : "updated"}`);
}
