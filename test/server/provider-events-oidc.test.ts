import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gmailPushOidc } from '../../src/server/push-oidc.js';
import { serverSettings } from '../../src/server/settings.js';
import type { Db } from '../../src/server/store/db.js';
import { updateConnection } from '../../src/server/store/connections.js';
import type { ProviderEvent } from '../../src/server/webhooks/provider-event.js';
import { gmailPubSubPush } from '../fixtures/emulators/gmail.js';
import { deliver } from '../fixtures/emulators/push.js';
import { BACKENDS, variantTitle } from '../helpers/server-store.js';
import { withServer } from '../helpers/server.js';
import type { TestDaemon } from '../helpers/server.js';

/**
 * Gmail's authenticated Pub/Sub push: with CONNECTR_GMAIL_PUSH_AUDIENCE and _JWKS_FILE set, the
 * daemon requires the push's OIDC token and checks it (RS256 against the JWKS, audience,
 * issuer, expiry, service account), on PGlite and PostgreSQL; a half or broken configuration
 * stops the start naming the variable.
 */

const dir = mkdtempSync(join(tmpdir(), 'connectr-oidc-'));
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwksFile = join(dir, 'jwks.json');
writeFileSync(
  jwksFile,
  JSON.stringify({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'RS256' }] }),
);
const AUDIENCE = 'https://connectr.example/webhooks/providers/gmail';
const EMAIL = 'push@myproject.iam.gserviceaccount.com';
const ENV = {
  CONNECTR_GMAIL_PUSH_AUDIENCE: AUDIENCE,
  CONNECTR_GMAIL_PUSH_JWKS_FILE: jwksFile,
  CONNECTR_GMAIL_PUSH_EMAIL: EMAIL,
};

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the Gmail push OIDC configuration', () => {
  it('is off when unset, refused when half given or unreadable', () => {
    const oidcOf = (env: Record<string, string>) => gmailPushOidc(serverSettings(env));
    expect(oidcOf({})).toBeUndefined();
    expect(oidcOf(ENV)).toMatchObject({ audience: AUDIENCE, email: EMAIL });
    expect(() => oidcOf({ CONNECTR_GMAIL_PUSH_AUDIENCE: AUDIENCE })).toThrow(/go together/);
    expect(() => oidcOf({ ...ENV, CONNECTR_GMAIL_PUSH_JWKS_FILE: join(dir, 'missing.json') })).toThrow(
      /CONNECTR_GMAIL_PUSH_JWKS_FILE: cannot read/,
    );
    const empty = join(dir, 'empty.json');
    writeFileSync(empty, '{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}');
    expect(() => oidcOf({ ...ENV, CONNECTR_GMAIL_PUSH_JWKS_FILE: empty })).toThrow(/no RSA key/);
  });
});

for (const variant of BACKENDS) {
  describe.skipIf(variant.skip !== undefined)(
    `Gmail's OIDC-authenticated push on ${variantTitle(variant)}`,
    () => {
      let daemon: TestDaemon;
      const now = Date.UTC(2026, 11, 7, 12, 0, 0);
      const recorded: ProviderEvent[] = [];
      let project = '';
      let connection = '';
      const claims = {
        iss: 'https://accounts.google.com',
        aud: AUDIENCE,
        iat: now / 1000,
        exp: now / 1000 + 3600,
        email: EMAIL,
        email_verified: true,
        sub: '113774264463038321964',
      };
      const note = { emailAddress: 'user@example.com', historyId: '9876543210' };

      beforeAll(async () => {
        daemon = await withServer({
          backend: variant,
          listen: true,
          env: ENV,
          now: () => now,
          providerEvents: {
            record: (_tx: Db, event: ProviderEvent) => {
              recorded.push(event);
              return Promise.resolve(true);
            },
          },
        });
        project = await daemon.project('mail');
        connection = await daemon.connection(project, { connector: 'gmail' });
        await updateConnection(daemon.store.db, project, connection, {
          status: 'active',
          accountIdentity: 'user@example.com',
        });
      }, 60_000);

      afterAll(() => daemon.close());

      const send = (oidcClaims?: object) =>
        deliver(
          daemon.base,
          gmailPubSubPush('/webhooks/providers/gmail', note, {
            messageId: '1',
            ...(oidcClaims ? { oidc: { key: privateKey, kid: 'k1', claims: oidcClaims } } : {}),
          }),
        );

      it('records a push whose token verifies, for the mailbox it names', async () => {
        expect((await send(claims)).status).toBe(200);
        expect(recorded).toEqual([
          expect.objectContaining({
            projectId: project,
            connectionId: connection,
            eventType: 'history',
            payload: note,
          }),
        ]);
      });

      it('refuses a push without a token, or one of another audience, expired, or of another account', async () => {
        const n = recorded.length;
        expect((await send()).status).toBe(401);
        expect((await send({ ...claims, aud: 'https://elsewhere.example' })).status).toBe(403);
        expect((await send({ ...claims, exp: now / 1000 - 3600 })).status).toBe(403);
        expect((await send({ ...claims, email: 'attacker@evil.iam.gserviceaccount.com' })).status).toBe(403);
        expect(recorded.length).toBe(n);
      });
    },
  );
}
