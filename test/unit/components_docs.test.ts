// docs/components.md shows the examples in examples/components/ verbatim: each code block
// after a `<!-- examples/components/<name>.ts -->` marker must equal that file (copy them with
// `npx tsx scripts/sync_docs_examples.ts`), and every example must be shown, so the guide
// cannot drift from the code the e2e tests run.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "..", "..");
const guide = readFileSync(join(ROOT, "docs", "components.md"), "utf8");
const shown = new Map(
  [...guide.matchAll(/^<!-- (examples\/components\/\S+\.ts) -->\n```ts\n([\s\S]*?)^```$/gm)].map((m) => [m[1], m[2]]),
);
const examples = readdirSync(join(ROOT, "examples", "components")).filter((f) => f.endsWith(".ts")).sort();

describe("docs/components.md", () => {
  it("shows every example in examples/components/", () => {
    expect([...shown.keys()].sort()).toEqual(examples.map((f) => `examples/components/${f}`));
  });

  it.each(examples)("shows examples/components/%s exactly as the file is", (file) => {
    expect(shown.get(`examples/components/${file}`)).toBe(
      readFileSync(join(ROOT, "examples", "components", file), "utf8"),
    );
  });
});
