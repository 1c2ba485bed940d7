import { defineConfig } from 'vitest/config';

// The SDK's own suite: one real `connectr serve` (test/sdk/harness.ts at the repo root) for the
// whole run, started by the global setup; fake HTTP servers for retries and time-outs.
export default defineConfig({
  test: {
    root: import.meta.dirname,
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 150_000,
    teardownTimeout: 30_000,
  },
});
