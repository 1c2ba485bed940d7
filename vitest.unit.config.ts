import { defineConfig } from 'vitest/config';
import { FAST_TIER, MAX_WORKERS } from './test/setup/tiers.js';

/**
 * The fast tier alone (`npm run test:unit`): in-process tests, no build, no daemon, no child
 * process (test/setup/tiers.ts). The PostgreSQL and keychain variants skip and say why; `npm test`
 * runs them.
 */
export default defineConfig({
  test: {
    ...FAST_TIER.test,
    globalSetup: ['test/setup/pglite.ts'],
    maxWorkers: MAX_WORKERS,
    reporters: ['default', './test/setup/summary-reporter.ts'],
  },
});
