import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discoverAccount, discoverIdentity } from '../../../src/core/auth/identity.js';
import { loadRegistry } from '../../../src/core/connector/registry.js';

/** Slack's auth.test refuses with HTTP 200 {"ok": false}: the sign-in note names Slack's code. */
describe('the identity of a sign-in, from an API that answers errors with HTTP 200', () => {
  let answer: unknown;
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
  });
  let url = '';
  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  async function identity(): Promise<{ found: string | undefined; notes: string[] }> {
    const slack = (await loadRegistry()).require('slack');
    const env = { CONNECTR_SLACK_API_BASE_URL: url };
    const notes: string[] = [];
    const found = await discoverIdentity(slack, { kind: 'bearer', token: 'xoxb-test' }, undefined, {
      env,
      http: { env },
      notify: (m) => notes.push(m),
    });
    return { found, notes };
  }

  it('names the workspace when auth.test answers ok', async () => {
    answer = { ok: true, url: 'https://acme.slack.com/', team: 'Acme' };
    expect(await identity()).toEqual({ found: 'https://acme.slack.com/', notes: [] });
  });

  it("says Slack's code, not 'HTTP 200', when auth.test refuses", async () => {
    answer = { ok: false, error: 'invalid_auth' };
    expect(await identity()).toEqual({
      found: undefined,
      notes: ['note: could not read who signed in (auth_test answered "invalid_auth")'],
    });
  });

  it('keeps the team id the Events API names the workspace by (webhooks.identity_key)', async () => {
    answer = { ok: true, url: 'https://acme.slack.com/', team: 'Acme', team_id: 'T0123ABC' };
    const slack = (await loadRegistry()).require('slack');
    const env = { CONNECTR_SLACK_API_BASE_URL: url };
    const found = await discoverAccount(slack, { kind: 'bearer', token: 'xoxb-test' }, undefined, {
      env,
      http: { env },
      notify: () => undefined,
    });
    expect(found).toEqual({ identity: 'https://acme.slack.com/', accountKey: 'T0123ABC' });
  });
});
