import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveConsole } from '../../src/cli/commands/serve/console.js';
import { createContext } from '../../src/cli/context.js';
import { ConnectrError } from '../../src/core/errors.js';
import { testIO } from '../helpers/io.js';
import { POSTGRES, variantTitle } from '../helpers/server-store.js';
import { withServer } from '../helpers/server.js';
import type { TestDaemon } from '../helpers/server.js';

/**
 * `connectr serve console` with DATABASE_URL: no control socket, so the command writes the
 * one-time link into the database the servers read, pointing at --server (or CONNECTR_URL);
 * without an address it refuses (exit 2) rather than print a link to nowhere.
 */
describe.skipIf(POSTGRES.skip !== undefined)(`connectr serve console on ${variantTitle(POSTGRES)}`, () => {
  let daemon: TestDaemon;
  beforeAll(async () => {
    daemon = await withServer({ backend: POSTGRES });
  }, 60_000);
  afterAll(() => daemon.close());

  const run = async (env: Record<string, string>, server?: string) => {
    const io = testIO({ tty: false });
    const ctx = createContext(io, { ...daemon.backend.env, ...env }, {}, new AbortController().signal);
    await serveConsole(ctx, { open: false, server });
    return io.out().trim();
  };

  it('writes the link to the database; a server on it exchanges it once', async () => {
    const link = await run({}, 'http://127.0.0.1:5999/');
    const match = /^http:\/\/127\.0\.0\.1:5999\/console\/link\?token=([A-Za-z0-9_-]{43})$/.exec(link);
    expect(match).not.toBeNull();
    const first = await daemon.app.inject({ url: `/console/link?token=${match?.[1] ?? ''}` });
    expect(first.statusCode).toBe(303);
    expect(first.cookies.find((c) => c.name === 'connectr_console')?.httpOnly).toBe(true);
    expect((await daemon.app.inject({ url: `/console/link?token=${match?.[1] ?? ''}` })).statusCode).toBe(
      400,
    );
    expect(await run({ CONNECTR_URL: 'https://connectr.example.com' })).toMatch(
      /^https:\/\/connectr\.example\.com\/console\/link\?token=/,
    );
  });

  it('needs the server address, and refuses one with a path or query', async () => {
    for (const server of [undefined, 'http://127.0.0.1:5999/x?y', 'javascript:alert(1)']) {
      const error = await run({}, server).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ConnectrError);
      expect((error as ConnectrError).code).toBe('usage');
    }
  });
});
