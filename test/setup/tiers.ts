import { availableParallelism } from 'node:os';
import type { TestProjectInlineConfiguration } from 'vitest/config';

/**
 * The two tiers of the suite. vitest.config.ts (`npm test`, `npx vitest run <file>`) runs both
 * as projects after its global setup (build, keychain, PostgreSQL); vitest.unit.config.ts
 * (`npm run test:unit`) runs the fast one alone.
 *
 * - fast: every test file not listed below. In-process only: no build, no child process, no
 *   daemon (the PostgreSQL and keychain variants skip and say why). test/setup/fast-tier.ts
 *   enforces it in both runs: a child process throws, and dist/ reads as missing, as on a fresh
 *   clone.
 * - slow and process: the files below, which run in `npm test` only; the slow ones under the
 *   same guard.
 *
 * A new test file lands in the fast tier. If it needs a process or the build, the guard fails it
 * there: list it in NEEDS_PROCESS. If it makes the fast tier take more than a minute on a 2-core
 * machine, list it in SLOW.
 */

/**
 * They run the binary, a shell, a compiler, PostgreSQL's tools, the scripted browser
 * (CONNECTR_BROWSER, whose failure to start connectr reports and then waits), or read the build.
 */
export const NEEDS_PROCESS: readonly string[] = [
  // The pages' tests drive a real Chromium (test/helpers/browser.ts).
  'test/browser/**/*.test.ts',
  'test/cli/accounts-check.test.ts',
  'test/cli/bin.test.ts',
  'test/cli/code-cache.test.ts',
  'test/cli/completion.test.ts',
  'test/conformance/slack.test.ts',
  'test/docs/examples.test.ts',
  'test/docs/raw-proxy-example.test.ts',
  'test/docs/tutorial.test.ts',
  'test/docs/webhooks-verify.test.ts',
  'test/e2e/bad-files.test.ts',
  'test/e2e/call-styles.test.ts',
  'test/e2e/connections-push.test.ts',
  'test/e2e/credential-binding.test.ts',
  'test/e2e/device.test.ts',
  'test/e2e/faults.test.ts',
  'test/e2e/file-store.test.ts',
  'test/e2e/files.test.ts',
  'test/e2e/follow-refused.test.ts',
  'test/e2e/github-sign-in.test.ts',
  'test/e2e/google-sign-in.test.ts',
  'test/e2e/hostile-input.test.ts',
  'test/e2e/https.test.ts',
  'test/e2e/large-response.test.ts',
  'test/e2e/login.test.ts',
  'test/e2e/other-auth.test.ts',
  'test/e2e/outlook-sign-in.test.ts',
  'test/e2e/output-path.test.ts',
  'test/e2e/paths.test.ts',
  'test/e2e/prompts.test.ts',
  'test/e2e/refresh-lock.test.ts',
  'test/e2e/refresh-scopes.test.ts',
  'test/e2e/slack-sign-in.test.ts',
  'test/e2e/tokens.test.ts',
  'test/e2e/upload-follow.test.ts',
  'test/generate/golden.test.ts',
  'test/local/engine.test.ts',
  'test/mcp/stdio.test.ts',
  'test/server/instances.test.ts',
  'test/server/json-depth.test.ts',
  'test/server/limits-instances.test.ts',
  'test/server/mcp-glob-live.test.ts',
  'test/server/notify.test.ts',
  'test/server/openapi-patterns.test.ts',
  'test/server/outage.test.ts',
  'test/server/call-log-cli.test.ts',
  'test/server/serve-cli.test.ts',
  'test/server/serve-flood.test.ts',
  'test/server/serve-keys-live.test.ts',
  'test/server/serve-console-live.test.ts',
  'test/server/web-pages-live.test.ts',
  'test/server/serve-log-format.test.ts',
  'test/server/upstream-status.test.ts',
  'test/server/webhooks-restart.test.ts',
  'test/unit/auth/refresh-homes.test.ts',
  'test/unit/connector/limits.test.ts',
  'test/unit/connector/prebuilt.test.ts',
  'test/unit/credentials/file-stores.test.ts',
  'test/unit/server/open.test.ts',
  'test/unit/server/store.test.ts',
];

/**
 * In-process but slow for the fast tier's minute: each opens server databases (a PGlite start and
 * its migrations cost seconds), or reads large documents.
 */
export const SLOW: readonly string[] = [
  // These five took 70 s of the fast tier's 147 s of test time (two workers): rounds of the
  // call log's writer, the health task and the limiters on a real clock, on a real database.
  'test/server/call-log.test.ts',
  'test/server/call-log-otlp.test.ts',
  'test/server/health.test.ts',
  'test/server/limits.test.ts',
  'test/server/provider-events-forwarding.test.ts',
  // The web pages' server suites (each opens a database per backend) and the vault's own
  // scrypt at its real cost (2^17): 14 s of test time that took the tier to the minute.
  'test/server/connect-page.test.ts',
  'test/server/connect-sessions.test.ts',
  'test/server/console-pages.test.ts',
  'test/unit/credentials/encrypted-file.test.ts',
  'test/cli/import-openapi.test.ts',
  'test/cli/serve-keys.test.ts',
  'test/conformance/emulators-google.test.ts',
  'test/mcp/http.test.ts',
  'test/server/cache.test.ts',
  'test/server/connections.test.ts',
  'test/server/execute.test.ts',
  'test/server/follow-refused.test.ts',
  'test/server/hostile-bytes.test.ts',
  'test/server/hostile-http.test.ts',
  'test/server/oauth-apps.test.ts',
  'test/server/oauth-flow.test.ts',
  'test/server/pglite-files.test.ts',
  'test/server/raw-links.test.ts',
  'test/server/raw-proxy.test.ts',
  'test/server/refresh-window.test.ts',
  'test/server/revoke-errors.test.ts',
  'test/server/sign-in-sessions.test.ts',
  'test/server/upload-follow.test.ts',
  'test/server/upstream-proxy.test.ts',
  'test/server/webhooks.test.ts',
  'test/unit/server/migration-0001.test.ts',
];

/**
 * Workers for a run: vitest's default is one fewer than the cores, one on a 2-core machine. These
 * tests wait on sockets and child processes as much as they compute: two workers there take the
 * whole suite from about 560 s to 385 s, and the fast tier from 68 s to 48 s.
 */
export const MAX_WORKERS = Math.max(2, availableParallelism() - 1);

const SHARED = { testTimeout: 30_000, hookTimeout: 60_000, pool: 'forks' } as const;
/** In-process, under the guard of test/setup/fast-tier.ts. */
const GUARDED = { ...SHARED, setupFiles: ['test/setup/fast-tier.ts'] };

export const FAST_TIER = {
  test: { ...GUARDED, name: 'fast', include: ['test/**/*.test.ts'], exclude: [...NEEDS_PROCESS, ...SLOW] },
} satisfies TestProjectInlineConfiguration;

/** The slow in-process files: `npm test` only, still under the guard. */
export const SLOW_TIER = {
  test: { ...GUARDED, name: 'slow', include: [...SLOW] },
} satisfies TestProjectInlineConfiguration;

export const PROCESS_TIER = {
  test: { ...SHARED, name: 'process', include: [...NEEDS_PROCESS] },
} satisfies TestProjectInlineConfiguration;
