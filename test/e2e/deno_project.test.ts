// Using workerman-ts from one's own Deno project, as the README says: a deno.json whose import
// map points "workerman-ts" at the clone's mod.ts, and a start.ts outside this repository.
// `deno check` passes on it, and `deno run -A start.ts start -d`, `status` and `stop` work.
// And what JSR would check before publishing passes without the registry (`deno publish --dry-run`).
// Type checking takes Deno tens of seconds on a busy machine: the bounds are wide.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { stripVTControlCharacters } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run, START_TS, startStatusStop } from "../helpers/own_project.ts";
import { ROOT } from "../helpers/server.ts";

const DENO = join(ROOT, "node_modules", ".bin", "deno");

describe("workerman-ts in one's own Deno project", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "wm-deno-project-"));
    const deno = { imports: { "workerman-ts": pathToFileURL(join(ROOT, "mod.ts")).href }, lock: false };
    writeFileSync(join(dir, "deno.json"), JSON.stringify(deno, null, 2));
    writeFileSync(join(dir, "start.ts"), START_TS);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("deno check passes on a start script importing workerman-ts through the import map", async () => {
    const check = await run(dir, DENO, ["check", "start.ts"]);
    expect(stripVTControlCharacters(check.out)).not.toMatch(/error/i);
    expect(check.code).toBe(0);
  }, 300_000);

  it("deno run -A start.ts start -d serves both examples; status and stop work", async () => {
    await startStatusStop(dir, [DENO, "run", "-A", "start.ts"]);
  }, 120_000);

  it(
    "deno publish --dry-run passes: deno.json names the package, its version, exports and the files JSR gets",
    async () => {
      const publish = await run(ROOT, DENO, ["publish", "--dry-run", "--allow-dirty"]);
      const out = stripVTControlCharacters(publish.out);
      expect(publish.code, out).toBe(0);
      const prefix = pathToFileURL(ROOT).href + "/";
      const files = out.split("\n").map((l) => l.trim().split(" ")[0]).filter((l) => l.startsWith(prefix)).map((l) =>
        l.slice(prefix.length)
      );
      expect(files).toContain("mod.ts");
      expect(files).toContain("LICENSE");
      expect(files.filter((f) => /^(test|bench|scripts|examples|npm)\//.test(f))).toEqual([]);
    },
    300_000,
  );
});
