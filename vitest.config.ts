import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // End-to-end tests start real servers under three runtimes; bounds, not expectations.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: more parallel files only make the runtimes fight over them.
    maxWorkers: 2,
    // Type tests (test/types/*.test-d.ts): checked with tsc, never run; a wrong expectation fails.
    typecheck: {
      enabled: true,
      include: ["test/types/**/*.test-d.ts"],
      tsconfig: "./tsconfig.json",
    },
  },
});
