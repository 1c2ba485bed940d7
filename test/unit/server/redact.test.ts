import { describe, expect, it } from 'vitest';
import { redactSecrets } from '../../../src/server/plugins/logging.js';

/** The log's safety net for objects logged by mistake (src/server/plugins/logging.ts). */
describe('redactSecrets', () => {
  it('hides secret-named fields at the top level, one level down and in headers, whatever their case', () => {
    const given = {
      token: 't-1',
      Authorization: 'Bearer k-2',
      upstream: { refresh_token: 'r-3', headers: { 'X-Api-Key': 'k-4', accept: 'json' }, status: 401 },
      headers: { cookie: 'c-5' },
      count: 2,
    };
    expect(redactSecrets(given)).toEqual({
      token: '[REDACTED]',
      Authorization: '[REDACTED]',
      upstream: {
        refresh_token: '[REDACTED]',
        headers: { 'X-Api-Key': '[REDACTED]', accept: 'json' },
        status: 401,
      },
      headers: { cookie: '[REDACTED]' },
      count: 2,
    });
    // What it was given is unchanged: the caller may still use it.
    expect(given.upstream.headers['X-Api-Key']).toBe('k-4');
  });

  it('returns the same object when there is nothing to hide', () => {
    const clean = { reqId: 'abc', nested: { status: 200 } };
    expect(redactSecrets(clean)).toBe(clean);
  });

  it("an error's secret fields are hidden, its message and stack kept", () => {
    const error = Object.assign(new Error('upstream refused'), {
      headers: { authorization: 'Bearer e-6' },
      code: 'E',
    });
    const out = redactSecrets({ err: error });
    const err = out.err as Record<string, unknown>;
    expect(err.headers).toEqual({ authorization: '[REDACTED]' });
    expect(err.message).toBe('upstream refused');
    expect(err.code).toBe('E');
    expect(String(err.stack)).toContain('upstream refused');
    expect(JSON.stringify(out)).not.toContain('e-6');
  });

  it('leaves req and res to their serializers, which pick safe fields only', () => {
    const req = { headers: { authorization: 'x' } };
    expect(redactSecrets({ req }).req).toBe(req);
  });
});
