import { afterEach, describe, expect, it } from 'vitest';
import { runBin, startBin } from '../helpers/bin.js';
import { tempHome } from '../helpers/home.js';
import { seedPglite } from '../helpers/server-store.js';

/**
 * Issue 21, point 1, replayed against a real `connectr serve` process (PGlite): `POST /mcp` with
 * hostile `allow`/`deny` globs, several at once, while `/health` is asked all along. A glob
 * compiled to a backtracking regular expression held the daemon's one thread, and with it every
 * project and `/health`, for seconds per glob; now the worst globs of the allowed size and count
 * cost milliseconds, and more or longer ones are a 400 naming the limit.
 */

const MAX_GLOBS = 64;
const MAX_GLOB_LENGTH = 200;
/** The longest a /health answer may take meanwhile. */
const HEALTH_BOUND_MS = 1000;

/** The glob of the issue: `*?` eight times, then a letter no tool name holds. */
const ISSUE_GLOB = `${'*?'.repeat(8)}Z`;
/** The same shape at the largest allowed length. */
const WORST = `${'*?'.repeat((MAX_GLOB_LENGTH - 2) / 2)}*Z`;

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

const STARTED = /connectr serve: listening on (http:\/\/127\.0\.0\.1:\d+) \(store: pglite/;

async function daemon(): Promise<{ url: string; key: string }> {
  const home = tempHome();
  cleanups.push(home.cleanup);
  seedPglite(home.dir);
  const env: Record<string, string> = {
    ...home.env,
    CONNECTR_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
  };
  delete env.DATABASE_URL;
  const running = startBin(['serve', '--port', '0', '--log-level', 'warn'], env, 180_000);
  cleanups.push(() => running.child.kill('SIGKILL'));
  const [, url = ''] = await running.waitForStderr(STARTED, 90_000);
  const created = await runBin(['serve', 'keys', 'create', '--name', 'glob'], env, { timeoutMs: 60_000 });
  expect(created.code, created.stderr).toBe(0);
  return { url, key: (JSON.parse(created.stdout) as { key: string }).key };
}

interface Answer {
  status: number;
  body: {
    result?: { tools?: { name: string }[] };
    error?: { message: string; data?: { code?: string; details?: { message: string }[] } };
  };
  ms: number;
}

/** tools/list with the query; no answer within 30 s is status 0 (the failure this test looks for). */
async function listTools(url: string, key: string, query: string): Promise<Answer> {
  const started = performance.now();
  try {
    const response = await fetch(`${url}/mcp${query}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${key}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      signal: AbortSignal.timeout(30_000),
    });
    const body = (await response.json()) as Answer['body'];
    return { status: response.status, body, ms: performance.now() - started };
  } catch (error) {
    if (!(error instanceof DOMException && error.name === 'TimeoutError')) throw error;
    return { status: 0, body: {}, ms: performance.now() - started };
  }
}

const queryOf = (name: string, globs: readonly string[]): string =>
  `?${globs.map((g) => `${name}=${g}`).join('&')}`;

describe.skipIf(process.platform === 'win32')('POST /mcp with hostile globs, on a real daemon', () => {
  it('the worst globs allowed, several requests at once, cost milliseconds; /health stays fast', async () => {
    const { url, key } = await daemon();
    const all = await listTools(url, key, '');
    expect(all.status).toBe(200);
    const names = (all.body.result?.tools ?? []).map((t) => t.name);
    expect(names.length).toBeGreaterThan(100);

    const most = Array.from({ length: MAX_GLOBS }, () => WORST);
    // The query as the issue sent it: `?` and `*` as they are (a query may hold them).
    const hostile = [
      queryOf('allow', [ISSUE_GLOB]),
      queryOf('deny', [ISSUE_GLOB, ISSUE_GLOB, ISSUE_GLOB]),
      queryOf('allow', most),
      queryOf('deny', most),
      queryOf('allow', most),
      queryOf('deny', most),
    ];
    // The most globs that fit in a request line (16 KiB, with the headers).
    expect(queryOf('allow', most).length).toBeLessThan(14_000);

    const health: number[] = [];
    let done = false;
    const probe = (async () => {
      while (!done) {
        const started = performance.now();
        try {
          const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(10_000) });
          await response.arrayBuffer();
        } catch (error) {
          // No answer in 10 s: that is the time it took, as far as this test cares.
          if (!(error instanceof DOMException && error.name === 'TimeoutError')) throw error;
          done = true;
        }
        health.push(performance.now() - started);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    let answers: Answer[];
    try {
      // Twice over, so /health is asked while they run, not only before.
      answers = await Promise.all([...hostile, ...hostile].map((q) => listTools(url, key, q)));
    } finally {
      done = true;
      await probe;
    }
    const slowest = Math.max(...health);
    expect(slowest, `slowest /health: ${slowest.toFixed(0)} ms of ${health.length}`).toBeLessThan(
      HEALTH_BOUND_MS,
    );
    for (const [i, answer] of answers.entries()) {
      const query = hostile[i % hostile.length] ?? '';
      expect(answer.status, `${query.slice(0, 60)} after ${answer.ms.toFixed(0)} ms`).toBe(200);
      const listed = (answer.body.result?.tools ?? []).map((t) => t.name);
      // Nothing is called Z: allowing matches nothing, denying leaves everything.
      expect(listed).toEqual(query.startsWith('?allow') ? [] : names);
    }

    // Over the bounds: a 400 naming the limit, before anything is matched.
    const refused = async (query: string, limit: RegExp): Promise<void> => {
      const answer = await listTools(url, key, query);
      expect(answer.status, query.slice(0, 60)).toBe(400);
      const error = answer.body.error;
      expect(error?.data?.code).toMatch(/^(invalid_input|usage)$/);
      // The message names the parameter, and it or the envelope's details the bound.
      expect(error?.message).toMatch(query.startsWith('?allow') ? /allow/ : /deny/);
      const said = [error?.message, ...(error?.data?.details ?? []).map((d) => d.message)].join('\n');
      expect(said).toMatch(limit);
    };
    await refused(queryOf('allow', [...most, 'gmail_*']), new RegExp(`at most ${MAX_GLOBS} globs`));
    await refused(queryOf('deny', [`${WORST}x`]), new RegExp(`at most ${MAX_GLOB_LENGTH} characters`));
    await refused(
      queryOf('allow', ['{a,b,c,d,e,f,g,h,i}{a,b,c,d,e,f,g,h,i}_*']),
      new RegExp(`at most ${MAX_GLOBS} globs`),
    );
    // Still answering, quickly.
    const after = performance.now();
    expect((await fetch(`${url}/health`)).status).toBe(200);
    expect(performance.now() - after).toBeLessThan(HEALTH_BOUND_MS);
  }, 240_000);
});
