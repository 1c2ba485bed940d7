import { createHmac, generateKeyPairSync, sign, type JsonWebKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { WebhooksDefinition } from '../../../src/core/connector/schema.js';
import { GOOGLE_ISSUERS, type OidcConfig } from '../../../src/core/provider-events/jwt.js';
import { MAX_PUSH_BYTES } from '../../../src/core/provider-events/parts.js';
import { verifyPush } from '../../../src/core/provider-events/registry.js';
import type { GraphSubscription, Verdict, VerifyInput } from '../../../src/core/provider-events/types.js';

const NOW = Date.UTC(2026, 11, 7, 12, 0, 0);
const hmac = (secret: string, text: string): string =>
  createHmac('sha256', secret).update(text).digest('hex');
const secrets = [
  { owner: 'prj_a', secret: 'secret-a' },
  { owner: 'prj_b', secret: 'secret-b' },
];

function push(
  definition: WebhooksDefinition,
  request: {
    method?: string;
    query?: string;
    headers?: Record<string, string | string[]>;
    body?: string | Buffer;
  },
  extra: Partial<VerifyInput> = {},
): Promise<Verdict> {
  return verifyPush({
    definition,
    request: {
      method: request.method ?? 'POST',
      query: new URLSearchParams(request.query ?? ''),
      headers: request.headers ?? {},
      body: Buffer.isBuffer(request.body) ? request.body : Buffer.from(request.body ?? ''),
    },
    secrets,
    now: NOW,
    ...extra,
  });
}

const refusedWith = (verdict: Verdict) =>
  verdict.kind === 'refused' ? [verdict.status, verdict.reason] : verdict.kind;

describe('dropbox', () => {
  const def: WebhooksDefinition = {
    shape: 'dropbox',
    accounts: ['list_folder.accounts'],
    event_type: 'list_folder',
  };
  const body = JSON.stringify({ list_folder: { accounts: ['dbid:A', 'dbid:B'] }, delta: { users: [1, 2] } });

  it('echoes the challenge, refuses one with control characters', async () => {
    expect(await push(def, { method: 'GET', query: 'challenge=abc123' })).toEqual({
      kind: 'handshake',
      body: 'abc123',
    });
    expect(refusedWith(await push(def, { method: 'GET', query: 'challenge=a%0d%0aSet-Cookie:x' }))).toEqual([
      400,
      'malformed',
    ]);
    expect(refusedWith(await push(def, { method: 'GET' }))).toEqual([400, 'malformed']);
  });

  it('accepts the app secret of the project that signed, with every account id', async () => {
    const verdict = await push(def, { headers: { 'x-dropbox-signature': hmac('secret-b', body) }, body });
    expect(verdict).toMatchObject({
      kind: 'events',
      events: [{ owner: 'prj_b', eventType: 'list_folder', accountKeys: ['dbid:A', 'dbid:B'] }],
    });
  });

  it('gives the push to every project that registered the same app', async () => {
    const shared = [...secrets, { owner: 'prj_c', secret: 'secret-b' }];
    const verdict = await push(
      def,
      { headers: { 'x-dropbox-signature': hmac('secret-b', body) }, body },
      { secrets: shared },
    );
    expect(verdict.kind === 'events' && verdict.events.map((e) => e.owner)).toEqual(['prj_b', 'prj_c']);
  });

  it('refuses a missing, wrong, repeated header, a tampered body and a body of no secret', async () => {
    expect(refusedWith(await push(def, { body }))).toEqual([401, 'missing_signature']);
    expect(
      refusedWith(await push(def, { headers: { 'x-dropbox-signature': hmac('other', body) }, body })),
    ).toEqual([403, 'bad_signature']);
    const sig = hmac('secret-a', body);
    expect(refusedWith(await push(def, { headers: { 'x-dropbox-signature': [sig, sig] }, body }))).toEqual([
      401,
      'missing_signature',
    ]);
    expect(
      refusedWith(
        await push(def, { headers: { 'x-dropbox-signature': sig }, body: body.replace('dbid:A', 'dbid:Z') }),
      ),
    ).toEqual([403, 'bad_signature']);
    expect(
      refusedWith(await push(def, { headers: { 'x-dropbox-signature': sig }, body }, { secrets: [] })),
    ).toEqual([403, 'no_secret']);
    expect(
      refusedWith(await push(def, { headers: { 'x-dropbox-signature': sig.slice(0, 10) }, body })),
    ).toEqual([403, 'bad_signature']);
  });

  it('refuses a body over the bound before computing anything', async () => {
    const huge = Buffer.alloc(MAX_PUSH_BYTES + 1, 0x20);
    expect(
      refusedWith(
        await push(def, {
          headers: { 'x-dropbox-signature': hmac('secret-a', huge.toString()) },
          body: huge,
        }),
      ),
    ).toEqual([413, 'too_large']);
  });

  it('refuses a signed body that is not JSON, and never takes a key from the prototype', async () => {
    const bad = '{"list_folder":';
    expect(
      refusedWith(await push(def, { headers: { 'x-dropbox-signature': hmac('secret-a', bad) }, body: bad })),
    ).toEqual([400, 'malformed']);
    const proto = '{"__proto__": {"accounts": ["x"]}, "list_folder": {"accounts": [{"a": 1}, true, 7]}}';
    const verdict = await push(def, {
      headers: { 'x-dropbox-signature': hmac('secret-a', proto) },
      body: proto,
    });
    expect(verdict).toMatchObject({ kind: 'events', events: [{ accountKeys: ['7'] }] });
  });
});

describe('slack', () => {
  const def: WebhooksDefinition = {
    shape: 'slack',
    accounts: ['team_id', 'authorizations.team_id'],
    event_type_path: 'event.type',
  };
  const signed = (body: string, at = NOW / 1000, secret = 'secret-a') => {
    const ts = String(Math.floor(at));
    return { 'x-slack-request-timestamp': ts, 'x-slack-signature': `v0=${hmac(secret, `v0:${ts}:${body}`)}` };
  };
  const event = JSON.stringify({
    type: 'event_callback',
    team_id: 'T1',
    event_id: 'Ev1',
    event: { type: 'message', text: 'hi' },
    authorizations: [{ team_id: 'T1' }, { team_id: 'T2' }],
  });

  it('answers a signed url_verification with its challenge, refuses an unsigned one', async () => {
    const body = JSON.stringify({ token: 'x', challenge: 'chal-1', type: 'url_verification' });
    expect(await push(def, { headers: signed(body), body })).toEqual({ kind: 'handshake', body: 'chal-1' });
    expect(refusedWith(await push(def, { body }))).toEqual([401, 'missing_signature']);
  });

  it('accepts a signed event with its teams, event type and event id', async () => {
    expect(
      await push(def, { headers: signed(event, NOW / 1000 - 299, 'secret-b'), body: event }),
    ).toMatchObject({
      kind: 'events',
      events: [{ owner: 'prj_b', eventType: 'message', accountKeys: ['T1', 'T2'], dedupeKey: 'Ev1' }],
    });
  });

  it('refuses a replayed (old or future) timestamp, a wrong signature, a tampered body, a bad timestamp', async () => {
    expect(refusedWith(await push(def, { headers: signed(event, NOW / 1000 - 301), body: event }))).toEqual([
      403,
      'stale_timestamp',
    ]);
    expect(refusedWith(await push(def, { headers: signed(event, NOW / 1000 + 301), body: event }))).toEqual([
      403,
      'stale_timestamp',
    ]);
    expect(refusedWith(await push(def, { headers: signed(event, NOW / 1000, 'nope'), body: event }))).toEqual(
      [403, 'bad_signature'],
    );
    expect(refusedWith(await push(def, { headers: signed(event), body: event.replace('T2', 'T3') }))).toEqual(
      [403, 'bad_signature'],
    );
    const headers = { ...signed(event), 'x-slack-request-timestamp': '1e9' };
    expect(refusedWith(await push(def, { headers, body: event }))).toEqual([401, 'missing_signature']);
  });
});

describe('github', () => {
  const def: WebhooksDefinition = { shape: 'github', accounts: ['installation.id', 'sender.id'] };
  const body = JSON.stringify({
    action: 'opened',
    installation: { id: 42 },
    sender: { id: 7, login: 'octo' },
  });
  const headers = (secret: string, text = body) => ({
    'x-hub-signature-256': `sha256=${hmac(secret, text)}`,
    'x-github-event': 'issues',
    'x-github-delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958',
    'content-type': 'application/json',
  });

  it('answers a signed ping, accepts a signed event with its delivery id, JSON or form', async () => {
    const ping = JSON.stringify({ zen: 'Keep it simple.', hook_id: 1 });
    expect(
      await push(def, { headers: { ...headers('secret-a', ping), 'x-github-event': 'ping' }, body: ping }),
    ).toEqual({ kind: 'handshake', body: 'pong' });
    expect(await push(def, { headers: headers('secret-a'), body })).toMatchObject({
      events: [
        {
          owner: 'prj_a',
          eventType: 'issues',
          accountKeys: ['42', '7'],
          dedupeKey: '72d3162e-cc78-11e3-81ab-4c9367dc0958',
        },
      ],
    });
    const form = `payload=${encodeURIComponent(body)}`;
    expect(
      await push(def, {
        headers: { ...headers('secret-a', form), 'content-type': 'application/x-www-form-urlencoded' },
        body: form,
      }),
    ).toMatchObject({
      events: [{ accountKeys: ['42', '7'] }],
    });
  });

  it('refuses the SHA-1 header alone, a wrong secret, a tampered body, a forged event name', async () => {
    expect(
      refusedWith(
        await push(def, { headers: { 'x-hub-signature': `sha1=${hmac('secret-a', body)}` }, body }),
      ),
    ).toEqual([401, 'missing_signature']);
    expect(refusedWith(await push(def, { headers: headers('wrong'), body }))).toEqual([403, 'bad_signature']);
    expect(
      refusedWith(await push(def, { headers: headers('secret-a'), body: body.replace('42', '43') })),
    ).toEqual([403, 'bad_signature']);
    expect(
      refusedWith(
        await push(def, { headers: { ...headers('secret-a'), 'x-github-event': 'push\r\nX: y' }, body }),
      ),
    ).toEqual([400, 'malformed']);
  });
});

describe('microsoft graph', () => {
  const def: WebhooksDefinition = { shape: 'microsoft_graph', event_type_path: 'changeType' };
  const subscriptions = (ids: readonly string[]) =>
    Promise.resolve(
      new Map<string, GraphSubscription>(
        ids
          .filter((id) => id.startsWith('sub-'))
          .map((id) => [id, { owner: 'prj_a', clientState: `state-${id}` }]),
      ),
    );
  const note = (subscriptionId: string, clientState: string, extra: object = { changeType: 'created' }) => ({
    subscriptionId,
    clientState,
    resource: 'me/messages/1',
    tenantId: 't',
    ...extra,
  });

  it('echoes the validationToken decoded, refuses a hostile one', async () => {
    expect(
      await push(def, { query: 'validationToken=Validation%3A+Testing+client+application+reachability' }),
    ).toEqual({
      kind: 'handshake',
      body: 'Validation: Testing client application reachability',
    });
    expect(refusedWith(await push(def, { query: 'validationToken=a%0Ab' }))).toEqual([400, 'malformed']);
  });

  it('keeps the notifications whose clientState matches, without it, lifecycle ones by their event', async () => {
    const body = JSON.stringify({
      value: [
        note('sub-1', 'state-sub-1'),
        note('sub-2', 'forged'),
        note('sub-1', 'state-sub-1', { lifecycleEvent: 'reauthorizationRequired' }),
        note('unknown', 'x'),
      ],
    });
    const verdict = await push(def, { body }, { subscriptions });
    expect(verdict).toMatchObject({
      kind: 'events',
      status: 202,
      events: [
        { owner: 'prj_a', eventType: 'created', subscriptionId: 'sub-1' },
        { eventType: 'reauthorizationRequired', subscriptionId: 'sub-1' },
      ],
      discarded: ['bad_client_state', 'bad_client_state'],
    });
    expect(JSON.stringify(verdict)).not.toContain('state-sub-1');
  });

  it('refuses a batch of which nothing verifies, and bodies that are not a batch', async () => {
    expect(
      refusedWith(
        await push(def, { body: JSON.stringify({ value: [note('sub-1', 'nope')] }) }, { subscriptions }),
      ),
    ).toEqual([403, 'bad_client_state']);
    expect(
      refusedWith(await push(def, { body: JSON.stringify({ value: [note('sub-1', 'state-sub-1')] }) })),
    ).toEqual([403, 'bad_client_state']);
    expect(refusedWith(await push(def, { body: '{"value": []}' }, { subscriptions }))).toEqual([
      400,
      'malformed',
    ]);
    expect(refusedWith(await push(def, { body: '[' }, { subscriptions }))).toEqual([400, 'malformed']);
  });
});

describe('gmail pub/sub', () => {
  const def: WebhooksDefinition = {
    shape: 'gmail_pubsub',
    accounts: ['emailAddress'],
    event_type: 'history',
  };
  const data = Buffer.from(
    JSON.stringify({ emailAddress: 'user@example.com', historyId: '9876543210' }),
  ).toString('base64');
  const body = JSON.stringify({
    message: { data, messageId: '2070443601311540', publishTime: '2021-02-26T19:13:55.749Z' },
    subscription: 'projects/myproject/subscriptions/mysubscription',
  });
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk: JsonWebKey = { ...publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'RS256', use: 'sig' };
  const oidc: OidcConfig = {
    jwks: { keys: [jwk] },
    audience: 'https://connectr.example/webhooks/providers/gmail',
    issuers: [...GOOGLE_ISSUERS],
    email: 'push@myproject.iam.gserviceaccount.com',
  };
  const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const jwt = (claims: object, header: object = { alg: 'RS256', kid: 'k1', typ: 'JWT' }) => {
    const input = `${b64(header)}.${b64(claims)}`;
    return `${input}.${sign('RSA-SHA256', Buffer.from(input), privateKey).toString('base64url')}`;
  };
  const good = {
    iss: 'https://accounts.google.com',
    aud: oidc.audience,
    exp: NOW / 1000 + 3600,
    iat: NOW / 1000,
    email: oidc.email,
    email_verified: true,
    sub: '1',
  };
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  it('accepts the token in the URL of the project that set it, with the mailbox and message id', async () => {
    expect(await push(def, { query: 'token=secret-b', body })).toMatchObject({
      events: [
        {
          owner: 'prj_b',
          eventType: 'history',
          accountKeys: ['user@example.com'],
          dedupeKey: '2070443601311540',
          payload: { emailAddress: 'user@example.com', historyId: '9876543210' },
        },
      ],
    });
    expect(refusedWith(await push(def, { query: 'token=secret-c', body }))).toEqual([403, 'bad_token']);
    expect(refusedWith(await push(def, { body }))).toEqual([401, 'missing_signature']);
  });

  it('refuses data that is not base64 of JSON', async () => {
    const bad = (d: string) => JSON.stringify({ message: { data: d, messageId: '1' } });
    expect(refusedWith(await push(def, { query: 'token=secret-a', body: bad('%%%not base64') }))).toEqual([
      400,
      'malformed',
    ]);
    expect(
      refusedWith(
        await push(def, { query: 'token=secret-a', body: bad(Buffer.from('not json').toString('base64')) }),
      ),
    ).toEqual([400, 'malformed']);
  });

  it('accepts a valid OIDC token, refuses alg none, HS256, wrong audience, issuer, e-mail, expired, tampered', async () => {
    const ok = await push(def, { headers: bearer(jwt(good)), body }, { oidc, secrets: secrets.slice(0, 1) });
    expect(ok).toMatchObject({ events: [{ owner: 'prj_a', accountKeys: ['user@example.com'] }] });
    const refusedJwt = async (token: string) =>
      refusedWith(await push(def, { headers: bearer(token), body }, { oidc }));
    expect(await refusedJwt(`${b64({ alg: 'none' })}.${b64(good)}.`)).toEqual([403, 'bad_token']);
    const hs = `${b64({ alg: 'HS256', kid: 'k1' })}.${b64(good)}`;
    expect(
      await refusedJwt(`${hs}.${createHmac('sha256', JSON.stringify(jwk)).update(hs).digest('base64url')}`),
    ).toEqual([403, 'bad_token']);
    expect(await refusedJwt(jwt({ ...good, aud: 'https://elsewhere.example' }))).toEqual([403, 'bad_token']);
    expect(await refusedJwt(jwt({ ...good, iss: 'https://evil.example' }))).toEqual([403, 'bad_token']);
    expect(await refusedJwt(jwt({ ...good, email: 'other@x.iam.gserviceaccount.com' }))).toEqual([
      403,
      'bad_token',
    ]);
    expect(await refusedJwt(jwt({ ...good, email_verified: false }))).toEqual([403, 'bad_token']);
    expect(await refusedJwt(jwt({ ...good, exp: NOW / 1000 - 600 }))).toEqual([403, 'bad_token']);
    expect(await refusedJwt(jwt({ ...good, iat: NOW / 1000 + 600 }))).toEqual([403, 'bad_token']);
    expect(await refusedJwt(jwt(good, { alg: 'RS256', kid: 'unknown' }))).toEqual([403, 'bad_token']);
    const [h, , s] = jwt(good).split('.');
    expect(await refusedJwt(`${h}.${b64({ ...good, email: 'x' })}.${s}`)).toEqual([403, 'bad_token']);
    expect(await refusedJwt('a.b')).toEqual([403, 'bad_token']);
    expect(refusedWith(await push(def, { body }, { oidc }))).toEqual([401, 'missing_signature']);
  });
});
