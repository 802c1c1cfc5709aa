import { defineConfig } from "vitest/config";

/**
 * Reliability tests that need real processes (the sandbox + the edge under `wrangler dev`, restarted mid-run):
 * test/reliability/**. The workerd-side reliability tests live in edge/test/reliability/ and run with test:edge.
 * One file, one stack, tests in order; bounded to a few minutes in total (docs/reliability.md).
 */
export default defineConfig({
  test: {
    environment: "node",
    include: ["test/reliability/**/*.test.ts"],
    fileParallelism: false,
    testTimeout: 240_000,
    hookTimeout: 120_000,
  },
});
