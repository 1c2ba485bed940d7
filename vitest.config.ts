import { defineConfig } from 'vitest/config';
import { FAST_TIER, MAX_WORKERS, PROCESS_TIER, SLOW_TIER } from './test/setup/tiers.js';

/**
 * The whole suite (`npm test`, and `npx vitest run <file>` while working on a file): the global
 * setup builds dist/, starts a private keychain and PostgreSQL, then every tier runs (see
 * test/setup/tiers.ts), the in-process ones still under their guard, so none of their files comes
 * to need a process or the build unnoticed. vitest.unit.config.ts runs the fast tier alone.
 */
export default defineConfig({
  test: {
    globalSetup: [
      'test/setup/build.ts',
      'test/setup/keychain.ts',
      'test/setup/postgres.ts',
      'test/setup/pglite.ts',
    ],
    reporters: ['default', './test/setup/summary-reporter.ts'],
    projects: [FAST_TIER, SLOW_TIER, PROCESS_TIER],
    maxWorkers: MAX_WORKERS,
  },
});
