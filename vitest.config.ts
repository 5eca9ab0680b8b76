import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // End-to-end tests start real servers under three runtimes; bounds, not expectations.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: more parallel files only make the runtimes fight over them.
    maxWorkers: 2,
  },
});
