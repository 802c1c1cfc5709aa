import { defineConfig } from "vitest/config";

// Node-environment tests: the sandbox conformance suite and the widget's unit tests (widget tests belong to their owners).
export default defineConfig({
  test: {
    environment: "node",
    include: ["test/sandbox/**/*.test.ts", "widget/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
