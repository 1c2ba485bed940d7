import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { callDeps } from '../../../src/core/calls/deps.js';
import { CALL_DEFAULTS, callOptions } from '../../../src/core/calls/defaults.js';
import { CallInputError, endpointNamed, requestBody } from '../../../src/core/calls/input.js';
import { answer, failureOf, items, page, prepare, send, succeeded } from '../../../src/core/calls/service.js';
import { systemClock } from '../../../src/core/clock.js';
import type { Connector } from '../../../src/core/connector/model.js';
import { loadRegistry } from '../../../src/core/connector/registry.js';
import type { CredentialSource } from '../../../src/core/engine/credential.js';
import type { InvokeDeps } from '../../../src/core/engine/invoke.js';
import { UpstreamError } from '../../../src/core/engine/response.js';
import { ConnectrError } from '../../../src/core/errors.js';
import { startGmailEmulator } from '../../fixtures/emulators/gmail.js';
import type { GmailEmulator } from '../../fixtures/emulators/gmail.js';

/**
 * The call service every front-end runs (core/calls), in-process against the Gmail emulator on
 * 127.0.0.1: the endpoint looked up, the body converted, the defaults, prepare -> invoke -> the
 * answer, and the one classification of failures.
 */

let connector: Connector;
let gmail: GmailEmulator;
let asks = 0;

const source: CredentialSource = {
  credential: () => {
    asks++;
    return Promise.resolve({ credential: { kind: 'bearer', token: 't' }, refreshable: false });
  },
};

function deps(extra: Partial<InvokeDeps> = {}): InvokeDeps {
  return callDeps(source, { env: { CONNECTR_GMAIL_API_BASE_URL: gmail.url }, random: () => 0, ...extra });
}

beforeAll(async () => {
  connector = (await loadRegistry()).require('gmail');
});
beforeEach(async () => {
  asks = 0;
  gmail = await startGmailEmulator({ messages: 5 });
});
afterEach(async () => {
  await gmail.close();
});

describe('endpoint lookup', () => {
  it('finds the endpoint a caller names, and suggests the nearest for a typo', () => {
    expect(endpointNamed(connector, 'get_profile', 'x').name).toBe('get_profile');
    const error = (() => {
      try {
        endpointNamed(connector, 'get_profil', 'GET /endpoints lists them');
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(CallInputError);
    expect(error).toMatchObject({
      code: 'not_found',
      input: 'endpoint',
      message: 'gmail has no endpoint "get_profil"',
      hint: 'did you mean "get_profile"? GET /endpoints lists them',
    });
  });

  it('takes no name that is an object key of every JavaScript object', () => {
    for (const name of ['__proto__', 'constructor', 'toString'])
      expect(() => endpointNamed(connector, name, '')).toThrow(CallInputError);
  });
});

describe('request body', () => {
  it('sends a string as it is, anything else as JSON, bytes and base64 as bytes', () => {
    expect(requestBody({})).toBeUndefined();
    expect(requestBody({ body: 'a=1' })).toEqual({ kind: 'text', text: 'a=1' });
    expect(requestBody({ body: { a: [1] } })).toEqual({ kind: 'text', text: '{"a":[1]}' });
    expect(requestBody({ body: null })).toEqual({ kind: 'text', text: 'null' });
    const view = new Uint8Array([9, 1, 2, 3, 9]).subarray(1, 4);
    expect(requestBody({ bytes: view })).toEqual({ kind: 'bytes', data: Buffer.from([1, 2, 3]) });
    expect(requestBody({ base64: 'AQID' })).toEqual({ kind: 'bytes', data: Buffer.from([1, 2, 3]) });
  });

  it('refuses two bodies at once, naming them as the caller does', () => {
    expect(() => requestBody({ body: 'x', bytes: new Uint8Array(1) })).toThrow(
      'give body or bytes, not both',
    );
    expect(() => requestBody({ body: 'x', base64: 'eA==' })).toThrow('give body or body_base64, not both');
    expect(() => requestBody({ body: 'x', base64: 'eA==' }, { body: 'file', base64: 'file_base64' })).toThrow(
      'give file or file_base64, not both',
    );
    try {
      requestBody({ body: 'x', base64: 'eA==' });
    } catch (error) {
      expect(error).toMatchObject({ code: 'invalid_input', input: 'body_base64' });
    }
  });

  it('refuses bytes that are not bytes and base64 that is not base64, rather than send something else', () => {
    for (const bytes of ['abc', [1, 2], { length: 1 }, 42])
      expect(() => requestBody({ bytes: bytes as unknown as Uint8Array })).toThrow(
        'bytes must be a Uint8Array (or a Buffer)',
      );
    for (const base64 of ['not base64!', 'a\nb', 'YQ===', 'YQ==YQ==', 12, null])
      expect(() => requestBody({ base64 })).toThrow('body_base64 must be base64 text');
  });
});

describe('defaults', () => {
  it("gives a program's call the same retries and time limit everywhere", () => {
    expect(CALL_DEFAULTS).toEqual({ retries: 2, timeoutMs: 30_000 });
    expect(callOptions()).toEqual(CALL_DEFAULTS);
    expect(callOptions({ retries: 0 })).toEqual({ retries: 0, timeoutMs: 30_000 });
    expect(callOptions({ timeoutMs: 5 })).toEqual({ retries: 2, timeoutMs: 5 });
  });

  it('refuses retries and time limits that are not whole numbers', () => {
    for (const retries of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 60])
      expect(() => callOptions({ retries })).toThrow(/^retries must be a whole number \(0 or more\)/);
    for (const timeoutMs of [0, -5, 0.5, Number.NaN])
      expect(() => callOptions({ timeoutMs })).toThrow(/^timeoutMs must be a positive whole number/);
  });

  it('fills in the real clock and keeps the credential source', () => {
    const built = callDeps(source, { env: {} });
    expect(built.clock).toBe(systemClock);
    expect(built.credentials).toBe(source);
  });
});

describe('prepare, invoke, read the answer', () => {
  it('looks the endpoint up by name and returns the decoded answer', async () => {
    const call = prepare({ connector, endpoint: 'get_profile', label: (p) => `params.${p.key}` }, deps().env);
    const got = await answer(call, deps(), { maxBytes: 1024 * 1024, tooLargeHint: 'h' });
    expect(got).toMatchObject({ status: 200, encoding: 'json', body: { emailAddress: 'ann@example.com' } });
  });

  it('refuses a bad value, naming it as the caller does, before a credential is asked or anything sent', () => {
    expect(() =>
      prepare(
        {
          connector,
          endpoint: 'list_messages',
          params: { maxResults: 'many' },
          label: (p) => `params.${p.key}`,
        },
        {},
      ),
    ).toThrow('params.maxResults expects an integer; got "many"');
    expect(() => prepare({ connector, endpoint: 'nope', listedBy: 'here' }, {})).toThrow(CallInputError);
    expect(asks).toBe(0);
    expect(gmail.requests).toEqual([]);
  });

  it('gives an error answer back as it is, or as the UpstreamError that words it', async () => {
    gmail.faults.push({
      status: 404,
      body: { error: { code: 404, message: 'Requested entity was not found.' } },
    });
    const call = prepare({ connector, endpoint: 'get_message', params: { id: 'zz' } }, deps().env);
    const response = await send(call, deps());
    expect(response.status).toBe(404);
    const error = await succeeded(call, response).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamError);
    expect(failureOf(error)).toMatchObject({
      code: 'upstream',
      message: expect.stringContaining('Requested entity was not found.') as unknown,
      upstream: { status: 404, body: { error: { code: 404 } } },
    });
  });

  it('retries as CALL_DEFAULTS says when the caller says nothing', async () => {
    gmail.faults.push({ status: 503, times: 2 });
    const call = prepare({ connector, endpoint: 'get_profile' }, deps().env);
    const response = await send(
      call,
      deps({ clock: { now: () => Date.now(), sleep: () => Promise.resolve() } }),
    );
    expect(response.status).toBe(200);
    expect(gmail.requests.length).toBe(CALL_DEFAULTS.retries + 1);
  });

  it('pages through items within the limits, and one page with where the next is', async () => {
    const call = prepare({ connector, endpoint: 'list_messages', params: { maxResults: 2 } }, deps().env);
    const got: unknown[] = [];
    for await (const item of items(call, deps(), { limit: 3 })) got.push(item);
    expect(got).toHaveLength(3);
    const first = await page(call, deps(), undefined);
    expect(first.next).toBeDefined();
  });

  it('classifies failures once: connectr refusals by code, faults not at all', () => {
    expect(failureOf(new ConnectrError('auth_required', 'sign in', { hint: 'connectr auth gmail' }))).toEqual(
      {
        code: 'auth_required',
        message: 'sign in',
        hint: 'connectr auth gmail',
      },
    );
    expect(failureOf(new Error('database said: SELECT secret'))).toBeUndefined();
    expect(failureOf('thrown text')).toBeUndefined();
  });
});
