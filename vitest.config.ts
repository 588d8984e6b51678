import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    // End-to-end tests spawn the CLI; two workers match the 2-core CI machine.
    maxWorkers: 2,
    testTimeout: 30_000,
  },
});
