import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRegistry } from '../../../src/core/connector/registry.js';
import type { Registry } from '../../../src/core/connector/registry.js';
import type { CredentialSource } from '../../../src/core/engine/credential.js';
import type { Readiness } from '../../../src/server/contracts.js';
import { callTarget } from '../../../src/server/credentials/target.js';
import {
  accessToken,
  createConnection,
  deleteConnection,
  requireConnection,
  storeCredential,
} from '../../../src/server/services/connections.js';
import { deleteOAuthApp, listOAuthApps, saveOAuthApp } from '../../../src/server/services/oauth-apps.js';
import { probeReadiness } from '../../../src/server/services/readiness.js';
import { completeWithCode, startSignIn } from '../../../src/server/services/sign-in.js';
import { openServerStore } from '../../../src/server/store/open.js';
import type { OpenedServerStore } from '../../../src/server/store/open.js';
import { ensureProject } from '../../../src/server/store/projects.js';
import type { FreshBackend } from '../../helpers/server-store.js';
import { PGLITE, memorySecrets, newKey } from '../../helpers/server-store.js';
import { rejection } from '../../helpers/rejection.js';

/**
 * The server's services alone, on a real PGlite database: what the routes used to do inline
 * (transactions, cache invalidation, status changes, the errors they answer with).
 */

const log = pino({ level: 'silent' });

describe('server services on PGlite', () => {
  let backend: FreshBackend;
  let store: OpenedServerStore;
  let registry: Registry;
  let dir: string;
  let project: string;
  let other: string;

  beforeAll(async () => {
    backend = await PGLITE.fresh();
    store = await openServerStore({
      env: { ...backend.env, CONNECTR_ENCRYPTION_KEY: newKey() },
      dataDir: backend.dataDir,
      secrets: memorySecrets(),
    });
    dir = mkdtempSync(join(tmpdir(), 'connectr-services-'));
    writeFileSync(
      join(dir, 'acme.yaml'),
      'name: acme\ndisplay_name: Acme\nversion: 1\ndocs_url: https://example.com/docs\ndescription: Test.\nhosts:\n  api: https://api.example.com\nauth:\n  type: api_key\n  in: header\n  name: X-Api-Key\nendpoints:\n  me:\n    summary: Who am I.\n    method: GET\n    path: /me\n',
    );
    registry = await loadRegistry({ extraDirs: [dir] });
    project = (await ensureProject(store.db, 'services')).project.id;
    other = (await ensureProject(store.db, 'elsewhere')).project.id;
  });
  afterAll(async () => {
    await store.close();
    backend.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  const newConnection = (connector = 'acme', projectId = project) =>
    createConnection(store, { projectId, connector, name: connector });

  describe('connections', () => {
    it('storing a credential makes the connection active and drops what the cache kept of it', async () => {
      const row = await newConnection();
      // Read (and cached) before the change: pending, no credential.
      expect((await callTarget(store, project, row.id)).stored).toBeUndefined();
      const stored = await storeCredential(store, row, { kind: 'secret', secret: { api_key: 'k-1' } });
      expect(stored).toMatchObject({ id: row.id, status: 'active', lastError: null });
      expect((await callTarget(store, project, row.id)).stored?.secret).toEqual({ api_key: 'k-1' });
    });

    it('storing a credential on a connection deleted meanwhile is a not_found, and stores nothing', async () => {
      const row = await newConnection();
      await deleteConnection({ data: store, registry, env: {}, request: { id: 'r1', log } }, project, row.id);
      const error = await rejection(
        storeCredential(store, row, { kind: 'secret', secret: { api_key: 'k-2' } }),
      );
      expect(error).toMatchObject({ code: 'not_found' });
    });

    it("another project's connection is not found, for reading as for deleting", async () => {
      const theirs = await newConnection('acme', other);
      expect(await rejection(requireConnection(store, project, theirs.id))).toMatchObject({
        code: 'not_found',
      });
      const error = await rejection(
        deleteConnection({ data: store, registry, env: {}, request: { id: 'r2', log } }, project, theirs.id),
      );
      expect(error).toMatchObject({ code: 'not_found' });
      expect((await requireConnection(store, other, theirs.id)).id).toBe(theirs.id);
    });

    it('deletes a connection whose credential fails its integrity check, saying it was not revoked', async () => {
      const first = await newConnection();
      const donor = await newConnection();
      for (const c of [first, donor])
        await storeCredential(store, c, { kind: 'secret', secret: { api_key: 'k' } });
      await callTarget(store, project, first.id);
      // The donor's ciphertext, bound to its own row, does not open on the first.
      await store.database.query(
        'update credentials set secret_encrypted = (select secret_encrypted from credentials where connection_id = $2) where connection_id = $1',
        [first.id, donor.id],
      );
      const outcome = await deleteConnection(
        { data: store, registry, env: {}, request: { id: 'r3', log } },
        project,
        first.id,
      );
      expect(outcome).toEqual({
        revoked: false,
        error: expect.stringContaining('integrity check') as string,
      });
      // Gone from the database and from this instance's cache.
      expect(await rejection(callTarget(store, project, first.id))).toMatchObject({ code: 'not_found' });
    });

    it('an access token: conflict for a connection that is not OAuth, needs_reauth without a token', async () => {
      const plain = await newConnection('acme');
      const never = (): CredentialSource => {
        throw new Error('no refresh for a connection that is not OAuth');
      };
      expect(await rejection(accessToken(store, registry, project, plain.id, never))).toMatchObject({
        code: 'conflict',
      });
      const oauth = await newConnection('gmail');
      let asked = 0;
      const source = (): CredentialSource => ({
        credential: () => {
          asked++;
          return Promise.resolve({ credential: { kind: 'none' }, refreshable: false });
        },
      });
      expect(await rejection(accessToken(store, registry, project, oauth.id, source))).toMatchObject({
        code: 'needs_reauth',
      });
      expect(asked).toBe(1);
      const expiresAt = new Date('2030-01-01T00:00:00.000Z');
      await storeCredential(store, oauth, {
        kind: 'tokens',
        tokens: { accessToken: 'at-1', tokenType: 'Bearer', scopes: [], expiresAt },
        identity: undefined,
      });
      expect(await accessToken(store, registry, project, oauth.id, source)).toEqual({
        accessToken: 'at-1',
        tokenType: 'Bearer',
        expiresAt,
      });
    });
  });

  describe('OAuth apps', () => {
    it('saves, lists without the secret, and deletes once', async () => {
      const saved = await saveOAuthApp(store, project, {
        connector: 'gmail',
        clientId: 'client-1',
        clientSecret: 'secret-1',
      });
      expect(saved).toMatchObject({ connector: 'gmail', clientId: 'client-1', hasClientSecret: true });
      expect(JSON.stringify(await listOAuthApps(store, project))).not.toContain('secret-1');
      await deleteOAuthApp(store, project, 'gmail');
      expect(await rejection(deleteOAuthApp(store, project, 'gmail'))).toMatchObject({ code: 'not_found' });
    });
  });

  describe('sign-in', () => {
    const deps = () => ({
      data: store,
      env: { GMAIL_CLIENT_ID: 'id', GMAIL_CLIENT_SECRET: 's' },
      notify: () => undefined,
    });
    const start = {
      connector: undefined,
      redirectUri: 'http://127.0.0.1:9/callback',
      returnUrl: undefined,
      maxPending: 10,
    };

    it("starts no sign-in of another project's connection", async () => {
      const theirs = await newConnection('gmail', other);
      const error = await rejection(
        startSignIn(deps(), (name) => registry.require(name), project, { ...start, connectionId: theirs.id }),
      );
      expect(error).toMatchObject({ code: 'not_found' });
    });

    it('a code without a state belongs to the one sign-in pending, else the state is asked for', async () => {
      const mine = await newConnection('gmail');
      const error = await rejection(
        completeWithCode(deps(), registry, project, {
          connectionId: mine.id,
          code: 'c',
          redirectUri: start.redirectUri,
          state: undefined,
        }),
      );
      expect(error).toMatchObject({ code: 'invalid_input', field: 'body.state' });
      const { started, connection } = await startSignIn(deps(), (name) => registry.require(name), project, {
        ...start,
        connectionId: mine.id,
      });
      expect(connection?.id).toBe(mine.id);
      expect(started.authorizationUrl).toContain(`state=${started.state}`);
    });
  });

  describe('readiness', () => {
    const readiness = (ready: () => Promise<void>): Readiness => ({ ready });

    it('is unavailable when the database hangs past the time limit, or fails in words of its own', async () => {
      await probeReadiness(
        readiness(() => Promise.resolve()),
        1000,
      );
      const hung = await rejection(
        probeReadiness(
          readiness(() => new Promise(() => undefined)),
          50,
        ),
      );
      expect(hung).toMatchObject({
        code: 'unavailable',
        message: expect.stringContaining('within 50 ms') as string,
      });
      const crashed = await rejection(
        probeReadiness(
          readiness(() => Promise.reject(new Error('connect ECONNREFUSED 10.0.0.5:5432'))),
          1000,
        ),
      );
      expect(crashed).toMatchObject({ code: 'unavailable' });
      expect((crashed as { publicMessage?: string }).publicMessage).not.toContain('10.0.0.5');
    });
  });
});
