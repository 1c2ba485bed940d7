import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  LOCK_LOST,
  REFRESH_MARGIN_MS,
  REFRESH_WINDOW_MS,
  refreshTokens,
} from '../../../src/core/auth/refresh-protocol.js';
import type {
  HeldCredential,
  HeldTokens,
  RefreshEvent,
  RefreshLock,
  RefreshRequest,
  RefreshedTokens,
} from '../../../src/core/auth/refresh-protocol.js';
import type { Connector } from '../../../src/core/connector/model.js';
import { loadRegistry } from '../../../src/core/connector/registry.js';
import { ConnectrError } from '../../../src/core/errors.js';
import { recordingServer } from '../../helpers/net.js';
import type { RecordingServer } from '../../helpers/net.js';

/**
 * The one refresh algorithm (core/auth/refresh-protocol.ts) with an in-memory lock: a promise
 * chain per credential, the tokens in a variable. The token endpoint is a real HTTP server on
 * 127.0.0.1 that answers what each test scripts and records every grant it receives.
 */

interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/** A token endpoint answering what each test scripts; once that is used up, a new access token each time. */
class TokenEndpoint {
  readonly script: Answer[] = [];
  private issued = 0;
  private server: RecordingServer | undefined;
  /** The grants received, parsed. */
  get grants(): Record<string, string>[] {
    return (this.server?.hits ?? []).map((hit) => Object.fromEntries(new URLSearchParams(hit.body)));
  }
  get url(): string {
    return `${this.server?.origin ?? ''}/token`;
  }
  async start(): Promise<void> {
    this.server = await recordingServer('127.0.0.1', (_req, res) => {
      const answer = this.script.shift() ?? {
        status: 200,
        body: { access_token: `issued-${++this.issued}`, token_type: 'Bearer', expires_in: 3600 },
      };
      // Slow enough that concurrent refreshes overlap while one holds the lock.
      setTimeout(() => {
        res.writeHead(answer.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(answer.body));
      }, 20);
    });
  }
  reset(): void {
    this.script.length = 0;
    this.server?.hits.splice(0);
  }
  close(): Promise<void> {
    return this.server?.close() ?? Promise.resolve();
  }
}

/** A credential in memory behind a mutex: what a lock file or a row lock gives, in-process. */
class MemoryLock implements RefreshLock {
  tokens: HeldTokens;
  readonly writes: RefreshedTokens[] = [];
  readonly refusals: string[] = [];
  /** How many times the lock was taken. */
  runs = 0;
  /** The lock is reported lost on these runs (1-based). */
  lostOn = new Set<number>();
  failWrite: Error | undefined;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(tokens: HeldTokens) {
    this.tokens = tokens;
  }

  run<R>(work: (held: HeldCredential) => Promise<R | typeof LOCK_LOST>): Promise<R> {
    const next = this.tail.then(async (): Promise<R> => {
      for (;;) {
        const run = ++this.runs;
        const outcome = await work(this.held(run));
        if (outcome !== LOCK_LOST) return outcome;
      }
    });
    this.tail = next.catch(() => undefined);
    return next;
  }

  private held(run: number): HeldCredential {
    return {
      read: () => Promise.resolve(this.tokens),
      write: (tokens) => {
        if (this.failWrite) return Promise.reject(this.failWrite);
        this.writes.push(tokens);
        this.tokens = { ...tokens, grant: this.tokens.grant };
        return Promise.resolve();
      },
      lost: () => this.lostOn.has(run),
      refused: (error) => {
        this.refusals.push(error.error);
        return Promise.resolve();
      },
    };
  }

  noRefreshToken(): ConnectrError {
    return new ConnectrError('auth_expired', 'no refresh token');
  }
  signInRefused(): ConnectrError {
    return new ConnectrError('needs_reauth', 'sign in again');
  }
  freshTokenRefused(ageMs: number): ConnectrError {
    return new ConnectrError('refreshed_token_rejected', `refused ${ageMs} ms after it was obtained`);
  }
}

let endpoint: TokenEndpoint;
let gmail: Connector;
let now = Date.parse('2026-01-01T00:00:00Z');
let events: RefreshEvent[] = [];

beforeAll(async () => {
  endpoint = new TokenEndpoint();
  await endpoint.start();
  gmail = (await loadRegistry()).require('gmail');
});
afterAll(() => endpoint.close());
beforeEach(() => {
  endpoint.reset();
  events = [];
});

const held = (tokens: Partial<HeldTokens> = {}): HeldTokens => ({
  accessToken: 'old-access',
  refreshToken: 'old-refresh',
  scopes: ['https://www.googleapis.com/auth/gmail.readonly'],
  expiresAt: now + 10_000,
  grant: 'refresh_token',
  ...tokens,
});

const request = (rejected?: string): RefreshRequest => ({
  connector: gmail,
  rejected,
  client: () => Promise.resolve({ clientId: 'app', clientSecret: 'app-SECRET' }),
  env: { CONNECTR_GMAIL_TOKEN_URL: endpoint.url },
  http: {},
  now: () => now,
  onEvent: (event) => events.push(event),
});

describe('the refresh algorithm', () => {
  it('20 refreshes of one expiring credential at once: one token request, every caller gets its answer', async () => {
    const lock = new MemoryLock(held());
    const results = await Promise.all(Array.from({ length: 20 }, () => refreshTokens(lock, request())));
    expect(endpoint.grants).toHaveLength(1);
    expect(endpoint.grants[0]).toMatchObject({ grant_type: 'refresh_token', refresh_token: 'old-refresh' });
    expect(new Set(results.map((r) => r.accessToken))).toEqual(new Set(['issued-1']));
    expect(events).toEqual([{ type: 'refreshed', grant: 'refresh_token' }]);
  });

  it('refreshes within REFRESH_MARGIN_MS of expiry, not before', async () => {
    const later = new MemoryLock(held({ expiresAt: now + REFRESH_MARGIN_MS + 1000 }));
    expect((await refreshTokens(later, request())).accessToken).toBe('old-access');
    expect(endpoint.grants).toHaveLength(0);
    const due = new MemoryLock(held({ expiresAt: now + REFRESH_MARGIN_MS }));
    expect((await refreshTokens(due, request())).accessToken).not.toBe('old-access');
    expect(endpoint.grants).toHaveLength(1);
    // No lifetime said: never due for expiry.
    const endless = new MemoryLock(held({ expiresAt: undefined }));
    expect((await refreshTokens(endless, request())).accessToken).toBe('old-access');
    expect(endpoint.grants).toHaveLength(1);
  });

  it('ahead of need (the health task): due when expiring before the horizon or obtained too long ago, once', async () => {
    const ahead = { expiringBefore: now + 600_000, obtainedBefore: now - 86_400_000 };
    const later = new MemoryLock(held({ expiresAt: now + 3600_000, obtainedAt: now - 3600_000 }));
    expect((await refreshTokens(later, { ...request(), ahead })).accessToken).toBe('old-access');
    expect(endpoint.grants).toHaveLength(0);
    const expiring = new MemoryLock(held({ expiresAt: now + 300_000, obtainedAt: now - 3600_000 }));
    const stale = new MemoryLock(held({ expiresAt: undefined, obtainedAt: now - 90_000_000 }));
    const unknown = new MemoryLock(held({ expiresAt: now + 3600_000, obtainedAt: undefined }));
    for (const lock of [expiring, stale, unknown]) {
      // Two holders together (two instances): the second finds the first one's token.
      await Promise.all([
        refreshTokens(lock, { ...request(), ahead }),
        refreshTokens(lock, { ...request(), ahead }),
      ]);
    }
    expect(endpoint.grants).toHaveLength(3);
  });

  it('a refused token another holder already replaced is not refreshed again', async () => {
    const lock = new MemoryLock(held({ accessToken: 'newer', expiresAt: now + 3600_000 }));
    expect((await refreshTokens(lock, request('old-access'))).accessToken).toBe('newer');
    expect(endpoint.grants).toHaveLength(0);
    expect(events).toEqual([]);
  });

  it('a refused token is refreshed even when it does not expire soon', async () => {
    const lock = new MemoryLock(held({ expiresAt: now + 3600_000 }));
    expect((await refreshTokens(lock, request('old-access'))).accessToken).toMatch(/^issued-/);
    expect(endpoint.grants).toHaveLength(1);
  });

  it('rotation: a new refresh token replaces the old one; none, or an empty one, keeps it', async () => {
    endpoint.script.push(
      { status: 200, body: { access_token: 'a1', token_type: 'Bearer', refresh_token: 'rotated' } },
      { status: 200, body: { access_token: 'a2', token_type: 'Bearer' } },
      { status: 200, body: { access_token: 'a3', token_type: 'Bearer', refresh_token: '' } },
    );
    const lock = new MemoryLock(held());
    await refreshTokens(lock, request('old-access'));
    expect(lock.tokens.refreshToken).toBe('rotated');
    // Past the refresh window, so the next refused token is refreshed.
    now += REFRESH_WINDOW_MS;
    await refreshTokens(lock, request('a1'));
    expect(endpoint.grants[1]?.refresh_token).toBe('rotated');
    expect(lock.tokens.refreshToken).toBe('rotated');
    now += REFRESH_WINDOW_MS;
    await refreshTokens(lock, request('a2'));
    expect(lock.tokens).toMatchObject({ accessToken: 'a3', refreshToken: 'rotated' });
  });

  it('stores the answer: expiry from expires_in, the granted scopes, the time it was obtained', async () => {
    endpoint.script.push({
      status: 200,
      body: {
        access_token: 'a1',
        token_type: 'Bearer',
        expires_in: 120,
        scope: 'one two',
        id_token: 'id-1',
      },
    });
    const lock = new MemoryLock(held({ idToken: 'id-0' }));
    await refreshTokens(lock, request());
    expect(lock.writes).toEqual([
      {
        accessToken: 'a1',
        tokenType: 'Bearer',
        refreshToken: 'old-refresh',
        idToken: 'id-1',
        scopes: ['one', 'two'],
        expiresAt: now + 120_000,
        obtainedAt: now,
      },
    ]);
    // No scope and no lifetime in the answer: the scopes held, no expiry; the id token kept.
    endpoint.script.push({ status: 200, body: { access_token: 'a2', token_type: 'Bearer' } });
    now += REFRESH_WINDOW_MS;
    await refreshTokens(lock, request('a1'));
    expect(lock.writes[1]).toMatchObject({ scopes: ['one', 'two'], expiresAt: undefined, idToken: 'id-1' });
  });

  it('invalid_grant: recorded under the lock, then the sign-in error; the event says a sign-in is needed', async () => {
    endpoint.script.push({
      status: 400,
      body: { error: 'invalid_grant', error_description: 'Token has been revoked.' },
    });
    const lock = new MemoryLock(held());
    const failure = await refreshTokens(lock, request()).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ConnectrError);
    expect((failure as ConnectrError).code).toBe('needs_reauth');
    expect(lock.refusals).toEqual(['invalid_grant']);
    expect(lock.writes).toEqual([]);
    expect(events).toEqual([
      { type: 'refresh_failed', grant: 'refresh_token', failure: 'invalid_grant', needsSignIn: true },
    ]);
  });

  it('another OAuth error is thrown as it is, recorded nowhere, and named in the event', async () => {
    endpoint.script.push({ status: 400, body: { error: 'invalid_client' } });
    const lock = new MemoryLock(held());
    await expect(refreshTokens(lock, request())).rejects.toMatchObject({ error: 'invalid_client' });
    expect(lock.refusals).toEqual([]);
    expect(events).toEqual([
      { type: 'refresh_failed', grant: 'refresh_token', failure: 'invalid_client', needsSignIn: false },
    ]);
  });

  it('nothing to renew with: the store says so and nothing is sent', async () => {
    const lock = new MemoryLock(held({ refreshToken: undefined }));
    await expect(refreshTokens(lock, request())).rejects.toMatchObject({ code: 'auth_expired' });
    expect(endpoint.grants).toHaveLength(0);
    expect(events).toEqual([]);
  });

  it('client credentials: the grant again with the held scopes, never a refresh token', async () => {
    const lock = new MemoryLock(
      held({ refreshToken: undefined, grant: 'client_credentials', scopes: ['read', 'write'] }),
    );
    const fresh = await refreshTokens(lock, request());
    expect(endpoint.grants).toHaveLength(1);
    expect(endpoint.grants[0]).toMatchObject({
      grant_type: 'client_credentials',
      scope: 'read write',
      client_id: 'app',
    });
    expect(endpoint.grants[0]?.refresh_token).toBeUndefined();
    expect(fresh.grant).toBe('client_credentials');
    expect(events).toEqual([{ type: 'refreshed', grant: 'client_credentials' }]);
  });

  it('the window: a refused token obtained less than REFRESH_WINDOW_MS ago is not refreshed', async () => {
    const fresh = new MemoryLock(held({ obtainedAt: now - REFRESH_WINDOW_MS + 1000 }));
    await expect(refreshTokens(fresh, request('old-access'))).rejects.toMatchObject({
      code: 'refreshed_token_rejected',
    });
    expect(endpoint.grants).toHaveLength(0);
    // Older than the window: refreshed.
    const older = new MemoryLock(held({ obtainedAt: now - REFRESH_WINDOW_MS }));
    await refreshTokens(older, request('old-access'));
    expect(endpoint.grants).toHaveLength(1);
    // For expiry, the window does not apply.
    const expiring = new MemoryLock(held({ obtainedAt: now - 1000 }));
    await refreshTokens(expiring, request());
    expect(endpoint.grants).toHaveLength(2);
  });

  it('the window needs a store that words it: without freshTokenRefused, a refused token is refreshed', async () => {
    const lock = new MemoryLock(held({ obtainedAt: now - 1000 }));
    const windowless: RefreshLock = {
      run: (work) => lock.run(work),
      noRefreshToken: () => lock.noRefreshToken(),
      signInRefused: () => lock.signInRefused(),
    };
    await refreshTokens(windowless, request('old-access'));
    expect(endpoint.grants).toHaveLength(1);
  });

  it('a lock lost before the request: nothing sent, the lock taken again, one request', async () => {
    const lock = new MemoryLock(held());
    lock.lostOn.add(1);
    await refreshTokens(lock, request());
    expect(lock.runs).toBe(2);
    expect(endpoint.grants).toHaveLength(1);
  });

  it('a lock lost during the request: newer tokens stored meanwhile are kept, not written over', async () => {
    const lock = new MemoryLock(held());
    const original = lock.tokens;
    // Another holder stores its refresh while this one waits for the provider.
    let sawRequest = false;
    const racing: RefreshLock = {
      run: (work) =>
        lock.run((h) =>
          work({
            ...h,
            read: () => {
              if (sawRequest) lock.tokens = { ...original, accessToken: 'theirs', refreshToken: 'theirs-r' };
              return h.read();
            },
            lost: () => {
              const answer = sawRequest;
              sawRequest = true;
              return answer;
            },
          }),
        ),
      noRefreshToken: () => lock.noRefreshToken(),
      signInRefused: () => lock.signInRefused(),
    };
    const result = await refreshTokens(racing, request());
    expect(endpoint.grants).toHaveLength(1);
    expect(result.accessToken).toBe('theirs');
    expect(lock.writes).toEqual([]);
    expect(lock.tokens.refreshToken).toBe('theirs-r');
  });

  it('a token endpoint that cannot be reached: a network failure, nothing written', async () => {
    const lock = new MemoryLock(held());
    const unreachable = { ...request(), env: { CONNECTR_GMAIL_TOKEN_URL: 'http://127.0.0.1:1/token' } };
    await expect(refreshTokens(lock, unreachable)).rejects.toBeInstanceOf(ConnectrError);
    expect(lock.writes).toEqual([]);
    expect(events).toEqual([
      { type: 'refresh_failed', grant: 'refresh_token', failure: 'network', needsSignIn: false },
    ]);
  });

  it('a write that fails after the provider answered: the error, and an internal failure event', async () => {
    const lock = new MemoryLock(held());
    lock.failWrite = new Error('disk full');
    await expect(refreshTokens(lock, request())).rejects.toThrow('disk full');
    expect(events).toEqual([
      { type: 'refresh_failed', grant: 'refresh_token', failure: 'internal', needsSignIn: false },
    ]);
  });
});
