import { defineConfig } from "vitest/config";

/**
 * Tests that measure the event loop (test/hub-hostile.test.ts) run alone, after the rest: on a
 * 2-core machine other test files running beside them would be measured too.
 */
const ALONE = ["test/hub-hostile.test.ts"];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    projects: [
      {
        extends: true,
        test: {
          name: "suite",
          include: ["src/**/*.test.ts", "test/**/*.test.ts"],
          exclude: ALONE,
          // End-to-end tests spawn the CLI; two workers match the 2-core CI machine.
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: "alone",
          include: ALONE,
          maxWorkers: 1,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
