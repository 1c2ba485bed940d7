import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';
import { FAST_TIER } from './test/setup/tiers.js';

/**
 * The fast tier alone (`npm run test:unit`): in-process tests, no build, no daemon, no child
 * process (test/setup/tiers.ts). The PostgreSQL and keychain variants skip and say why; `npm test`
 * runs them.
 */
export default defineConfig({
  test: {
    ...FAST_TIER.test,
    // vitest's default is one worker fewer than the cores: one on a 2-core machine. These tests
    // wait on sockets as much as they compute, so two workers there take 48 s instead of 68.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    reporters: ['default', './test/setup/summary-reporter.ts'],
  },
});
