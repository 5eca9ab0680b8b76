// Using workerman-ts from one's own project, as the README's first section tells a newcomer to:
// install it into a project outside this repository (the packed npm build, or the clone's path),
// write the manual's tcp and http examples as start.ts, and run `node start.ts start -d`,
// `status` and `stop` there on Node 24 (type stripping, no flag), talking to it with real clients.
// Needs the npm build in npm/ (`npm test` builds first). The framework comes from the local
// tarball or folder; npm reads its one dependency, ioredis, from its cache when it holds it.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run, START_TS, startStatusStop } from "../helpers/own_project.ts";
import { nodeBinary, ROOT } from "../helpers/server.ts";

const NODE24 = nodeBinary("node24")!;

/** A fresh project folder outside the repository, with a package.json and the start script. */
function scratchProject(dirs: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), "wm-own-project-"));
  dirs.push(dir);
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "my-server", private: true, type: "module" }));
  writeFileSync(join(dir, "start.ts"), START_TS);
  return dir;
}

describe("workerman-ts in one's own project, on Node 24", () => {
  const dirs: string[] = [];
  let packDir: string;
  beforeAll(() => {
    packDir = mkdtempSync(join(tmpdir(), "wm-pack-"));
    dirs.push(packDir);
  });
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it(
    "the packed npm build installs into a project, whose start.ts runs with node start.ts start -d, status and stop",
    async () => {
      const pack = await run(join(ROOT, "npm"), "npm", ["pack", "--pack-destination", packDir]);
      expect(pack.code, pack.out).toBe(0);
      const [tarball] = readdirSync(packDir).filter((f) => f.endsWith(".tgz"));
      const dir = scratchProject(dirs);
      const install = await run(dir, "npm", [
        "install",
        "--prefer-offline",
        "--no-audit",
        "--no-fund",
        join(packDir, tarball),
      ]);
      expect(install.code, install.out).toBe(0);
      await startStatusStop(dir, [NODE24, "start.ts"]);
    },
    120_000,
  );

  it("npm install <path to a clone> resolves workerman-ts to the clone's build", async () => {
    const dir = scratchProject(dirs);
    // --ignore-scripts: the clone's `prepare` would rebuild npm/ under the other tests' feet;
    // `npm test` has built it already.
    const install = await run(dir, "npm", [
      "install",
      "--ignore-scripts",
      "--prefer-offline",
      "--no-audit",
      "--no-fund",
      ROOT,
    ]);
    expect(install.code, install.out).toBe(0);
    await startStatusStop(dir, [NODE24, "start.ts"]);
  }, 120_000);
});
