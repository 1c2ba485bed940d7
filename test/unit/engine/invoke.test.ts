import { getEventListeners, once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { localCredentials } from '../../../src/core/auth/tokens.js';
import { systemClock } from '../../../src/core/clock.js';
import { findEndpoint } from '../../../src/core/connector/model.js';
import type { Connector, Endpoint } from '../../../src/core/connector/model.js';
import { loadRegistry } from '../../../src/core/connector/registry.js';
import type { CredentialSource } from '../../../src/core/engine/credential.js';
import { invoke, invokeAll, prepareCall } from '../../../src/core/engine/invoke.js';
import type { InvokeAllOptions, InvokeDeps } from '../../../src/core/engine/invoke.js';
import { ConnectrError } from '../../../src/core/errors.js';
import { startGmailEmulator } from '../../fixtures/emulators/gmail.js';
import type { GmailEmulator } from '../../fixtures/emulators/gmail.js';
import { bearerOf } from '../../fixtures/emulators/server.js';
import { testAuthDeps } from '../../helpers/auth-deps.js';
import { tempHome } from '../../helpers/home.js';

/**
 * invoke and invokeAll in-process, against the Gmail emulator on 127.0.0.1 with a fake
 * credential source: what the daemon's execute route will run, tested without the CLI.
 */

const OPTIONS = { retries: 0, timeoutMs: 5000 };

const home = tempHome();
let gmail: GmailEmulator;
let connector: Connector;
/** The tokens the emulator takes; each test sets its own. */
let valid = new Set<string>();

beforeAll(async () => {
  connector = (await loadRegistry()).require('gmail');
});
afterAll(() => {
  home.cleanup();
});
// A new mailbox of 7 messages for every test (one test sends a message).
beforeEach(async () => {
  gmail = await startGmailEmulator({ acceptToken: (t) => valid.has(t), messages: 7 });
});
afterEach(async () => {
  await gmail.close();
});

function endpoint(name: string): Endpoint {
  const found = findEndpoint(connector, name);
  if (!found) throw new Error(`gmail has no ${name}`);
  return found;
}

/** Hands out `tokens[0]`, then the next one on each forced refresh; records every ask. */
function fakeSource(
  tokens: readonly string[],
  refreshable: boolean,
): { source: CredentialSource; asks: string[] } {
  const asks: string[] = [];
  let at = 0;
  return {
    asks,
    source: {
      credential(options) {
        asks.push(options?.forceRefresh ? 'forced' : 'plain');
        if (options?.forceRefresh) at++;
        return Promise.resolve({ credential: { kind: 'bearer', token: tokens[at] ?? '' }, refreshable });
      },
    },
  };
}

function depsWith(source: CredentialSource, extra: Partial<InvokeDeps> = {}): InvokeDeps {
  return {
    credentials: source,
    env: { CONNECTR_GMAIL_API_BASE_URL: gmail.url },
    clock: systemClock,
    random: () => 0,
    ...extra,
  };
}

/** Every message, two per page, through invokeAll. */
function allMessages(deps: InvokeDeps, options: Partial<InvokeAllOptions> = {}): AsyncGenerator {
  return invokeAll({ connector, endpoint: endpoint('list_messages'), values: { maxResults: 2 } }, deps, {
    ...OPTIONS,
    ...options,
  });
}

async function collect(items: AsyncIterable<unknown>): Promise<{ items: unknown[]; error?: unknown }> {
  const out: unknown[] = [];
  try {
    for await (const item of items) out.push(item);
  } catch (error) {
    return { items: out, error };
  }
  return { items: out };
}

describe('invoke', () => {
  it('after a 401, asks the source for a forced refresh and sends again with the new token', async () => {
    valid = new Set(['fresh']);
    const { source, asks } = fakeSource(['stale', 'fresh'], true);
    const response = await invoke(
      { connector, endpoint: endpoint('get_profile'), values: {} },
      depsWith(source),
      OPTIONS,
    );
    expect(response.status).toBe(200);
    expect(JSON.parse(await response.body.text())).toMatchObject({ emailAddress: 'ann@example.com' });
    expect(asks).toEqual(['plain', 'forced']);
    expect(gmail.requests.map(bearerOf)).toEqual(['stale', 'fresh']);
  });

  it('reports the 401 when the source cannot refresh (a token from the environment)', async () => {
    valid = new Set(['fresh']);
    const { source, asks } = fakeSource(['stale', 'fresh'], false);
    const response = await invoke(
      { connector, endpoint: endpoint('get_profile'), values: {} },
      depsWith(source),
      OPTIONS,
    );
    expect(response.status).toBe(401);
    expect(await response.body.text()).toContain('UNAUTHENTICATED');
    expect(asks).toEqual(['plain']);
    expect(gmail.requests.map(bearerOf)).toEqual(['stale']);
  });

  it('refuses a bad param value before asking for a credential or sending anything', async () => {
    valid = new Set(['t']);
    const { source, asks } = fakeSource(['t'], true);
    for (const maxResults of ['many', 0, 501]) {
      const error = await invoke(
        { connector, endpoint: endpoint('list_messages'), values: { maxResults } },
        depsWith(source),
        OPTIONS,
      ).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConnectrError);
      expect(error).toMatchObject({ code: 'invalid_input' });
      expect((error as Error).message).toContain('--max-results');
    }
    const unknown = await invoke(
      { connector, endpoint: endpoint('get_profile'), values: { nope: 1 } },
      depsWith(source),
      OPTIONS,
    ).catch((e: unknown) => e);
    expect(unknown).toMatchObject({ code: 'usage' });
    expect(asks).toEqual([]);
    expect(gmail.requests).toEqual([]);
  });

  it('refuses a body from standard input when the caller has none, before anything is sent', async () => {
    valid = new Set(['t']);
    const { source, asks } = fakeSource(['t'], true);
    const error = await invoke(
      { connector, endpoint: endpoint('send_message_mime'), values: { file: '-' } },
      depsWith(source),
      OPTIONS,
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'invalid_input' });
    expect((error as Error).message).toContain('standard input');
    expect(asks).toEqual([]);
    expect(gmail.requests).toEqual([]);
  });

  it('refuses a body from a file path unless the caller allows local files', async () => {
    valid = new Set(['t']);
    const { source, asks } = fakeSource(['t'], true);
    const file = join(home.dir, 'message.eml');
    writeFileSync(file, 'From: ann@example.com\r\nTo: bob@example.com\r\nSubject: hi\r\n\r\nhello\r\n');
    // A path, or the object form a JSON client could send: neither is read for a server.
    for (const given of [file, `@${file}`, { kind: 'file', path: file }]) {
      const error = await invoke(
        { connector, endpoint: endpoint('send_message_mime'), values: { file: given } },
        depsWith(source),
        OPTIONS,
      ).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'invalid_input' });
      expect((error as Error).message).toContain('file path');
    }
    const whole = await invoke(
      { connector, endpoint: endpoint('send_message_mime'), values: {}, body: { kind: 'file', path: file } },
      depsWith(source),
      OPTIONS,
    ).catch((e: unknown) => e);
    expect(whole).toMatchObject({ code: 'invalid_input' });
    expect(asks).toEqual([]);
    expect(gmail.requests).toEqual([]);

    const response = await invoke(
      { connector, endpoint: endpoint('send_message_mime'), values: { file } },
      depsWith(source, { localFiles: true }),
      OPTIONS,
    );
    expect(response.status, await response.body.text()).toBe(200);
    expect(gmail.sent).toHaveLength(1);
  });

  it('sends a body from the stdin it is given', async () => {
    valid = new Set(['t']);
    const { source } = fakeSource(['t'], true);
    const stdin = new PassThrough();
    stdin.end('From: ann@example.com\r\nTo: bob@example.com\r\nSubject: hi\r\n\r\nhello\r\n');
    const response = await invoke(
      { connector, endpoint: endpoint('send_message_mime'), values: { file: '-' } },
      depsWith(source, { stdin: () => stdin }),
      OPTIONS,
    );
    expect(response.status, await response.body.text()).toBe(200);
    expect(gmail.sent).toHaveLength(1);
  });

  it('takes a call prepared beforehand (as --dry-run shows it) and sends exactly that request', async () => {
    valid = new Set(['t']);
    const { source } = fakeSource(['t'], true);
    const deps = depsWith(source);
    const call = prepareCall(
      {
        connector,
        endpoint: endpoint('list_messages'),
        values: { maxResults: '3', labelIds: ['INBOX', 'UNREAD'] },
        extraQuery: [['fields', 'messages']],
      },
      deps.env,
    );
    expect(call.request.url.href).toBe(
      `${gmail.url}/gmail/v1/users/me/messages?maxResults=3&labelIds=INBOX&labelIds=UNREAD&fields=messages`,
    );
    const response = await invoke(call, deps, OPTIONS);
    expect(response.status).toBe(200);
    await response.body.dump();
    expect(gmail.requests.map((r) => r.url.pathname + r.url.search)).toEqual([
      call.request.url.pathname + call.request.url.search,
    ]);
  });

  it('stops before asking for a credential when the signal is already aborted', async () => {
    valid = new Set(['t']);
    const { source, asks } = fakeSource(['t'], true);
    const controller = new AbortController();
    const reason = new ConnectrError('cancelled', 'interrupted');
    controller.abort(reason);
    const error = await invoke(
      { connector, endpoint: endpoint('get_profile'), values: {} },
      depsWith(source, { signal: controller.signal }),
      OPTIONS,
    ).catch((e: unknown) => e);
    expect(error).toBe(reason);
    expect(asks).toEqual([]);
    expect(gmail.requests).toEqual([]);
  });
  it('stops a request in flight when the signal is aborted, without waiting for the time limit', async () => {
    const { source } = fakeSource(['t'], true);
    // Takes the request and never answers.
    const silent = createServer(() => undefined);
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    try {
      const { port } = silent.address() as AddressInfo;
      const controller = new AbortController();
      const reason = new ConnectrError('cancelled', 'interrupted');
      setTimeout(() => {
        controller.abort(reason);
      }, 100);
      const started = Date.now();
      const error = await invoke(
        { connector, endpoint: endpoint('get_profile'), values: {} },
        {
          ...depsWith(source, { signal: controller.signal }),
          env: { CONNECTR_GMAIL_API_BASE_URL: `http://127.0.0.1:${port}` },
        },
        { retries: 0, timeoutMs: 20_000 },
      ).catch((e: unknown) => e);
      expect(error).toBe(reason);
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });

  it("leaves no listener on the caller's signal once the answer is read", async () => {
    valid = new Set(['t']);
    const { source } = fakeSource(['t'], true);
    const controller = new AbortController();
    const before = getEventListeners(controller.signal, 'abort').length;
    for (let i = 0; i < 3; i++) {
      const response = await invoke(
        { connector, endpoint: endpoint('get_profile'), values: {} },
        depsWith(source, { signal: controller.signal }),
        OPTIONS,
      );
      expect(response.status).toBe(200);
      await response.body.text();
    }
    await new Promise((resolve) => setImmediate(resolve));
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(before);
  });
});

describe('invokeAll', () => {
  it('follows every page and yields every item', async () => {
    valid = new Set(['t']);
    const { source } = fakeSource(['t'], true);
    const { items, error } = await collect(allMessages(depsWith(source)));
    expect(error).toBeUndefined();
    expect(items).toHaveLength(7);
    expect(gmail.requests).toHaveLength(4);
  });

  it('stops at the limit without asking for the next page', async () => {
    valid = new Set(['t']);
    const { source } = fakeSource(['t'], true);
    const { items } = await collect(allMessages(depsWith(source), { limit: 3 }));
    expect(items).toHaveLength(3);
    expect(gmail.requests).toHaveLength(2);
  });

  it('stops after max pages', async () => {
    valid = new Set(['t']);
    const { source } = fakeSource(['t'], true);
    const { items } = await collect(allMessages(depsWith(source), { maxPages: 2 }));
    expect(items).toHaveLength(4);
    expect(gmail.requests).toHaveLength(2);
  });

  it('refreshes once after a 401 and sends every later page with the new token', async () => {
    valid = new Set(['fresh']);
    const { source, asks } = fakeSource(['stale', 'fresh'], true);
    const { items, error } = await collect(allMessages(depsWith(source)));
    expect(error).toBeUndefined();
    expect(items).toHaveLength(7);
    expect(asks).toEqual(['plain', 'forced']);
    expect(gmail.requests.map(bearerOf)).toEqual(['stale', 'fresh', 'fresh', 'fresh', 'fresh']);
  });

  it('ends at an aborted signal: no item after it, no further page', async () => {
    valid = new Set(['t']);
    const { source } = fakeSource(['t'], true);
    const controller = new AbortController();
    const reason = new ConnectrError('cancelled', 'interrupted');
    const items: unknown[] = [];
    let error: unknown;
    try {
      for await (const item of allMessages(depsWith(source, { signal: controller.signal }))) {
        items.push(item);
        controller.abort(reason);
      }
    } catch (e) {
      error = e;
    }
    expect(error).toBe(reason);
    expect(items).toHaveLength(1);
    expect(gmail.requests).toHaveLength(1);
  });

  it('ends with the upstream error of a page', async () => {
    valid = new Set(['t']);
    const { source } = fakeSource(['t'], true);
    gmail.faults.push({
      match: (r) => r.url.searchParams.has('pageToken'),
      status: 500,
      body: { error: 'boom' },
    });
    const { items, error } = await collect(allMessages(depsWith(source)));
    expect(items).toHaveLength(2);
    expect(error).toMatchObject({ code: 'upstream', status: 500 });
  });

  it('refuses an endpoint without pagination before asking for a credential', async () => {
    const { source, asks } = fakeSource(['t'], true);
    const { error } = await collect(
      invokeAll({ connector, endpoint: endpoint('get_profile'), values: {} }, depsWith(source), OPTIONS),
    );
    expect(error).toMatchObject({ code: 'usage' });
    expect(asks).toEqual([]);
    expect(gmail.requests).toEqual([]);
  });

  it('refuses a bad param value before anything is sent', async () => {
    const { source, asks } = fakeSource(['t'], true);
    const { error } = await collect(
      invokeAll(
        { connector, endpoint: endpoint('list_messages'), values: { includeSpamTrash: 'maybe' } },
        depsWith(source),
        OPTIONS,
      ),
    );
    expect(error).toMatchObject({ code: 'invalid_input' });
    expect(asks).toEqual([]);
    expect(gmail.requests).toEqual([]);
  });
});

describe('localCredentials', () => {
  it('hands out a token from the environment as final: a 401 with it is reported, naming its variable', async () => {
    const source = localCredentials(
      connector,
      undefined,
      testAuthDeps({ ...home.env, CONNECTR_GMAIL_TOKEN: 'env-token' }),
    );
    expect(await source.credential()).toEqual({
      credential: { kind: 'bearer', token: 'env-token' },
      refreshable: false,
      refusedHint: 'the API refused the token in $CONNECTR_GMAIL_TOKEN: replace it or unset it',
    });
  });

  it('says how to sign in when there is no account', async () => {
    const source = localCredentials(connector, undefined, testAuthDeps(home.env));
    await expect(source.credential()).rejects.toMatchObject({ code: 'auth_required' });
  });
});
