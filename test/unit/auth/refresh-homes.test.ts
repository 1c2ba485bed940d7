import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getCredential } from '../../../src/core/auth/tokens.js';
import { loadRegistry } from '../../../src/core/connector/registry.js';
import { testAuthDeps } from '../../helpers/auth-deps.js';
import { runBin } from '../../helpers/bin.js';
import { tempHome } from '../../helpers/home.js';
import { startAuthServer } from '../../helpers/oauth-server.js';
import type { TestAuthServer } from '../../helpers/oauth-server.js';

/**
 * One process serving two homes (as tests and the coming server do): refreshes of accounts with
 * the same connector and account name in different homes are separate, never shared.
 */
describe('in-process refresh single-flight', () => {
  let auth: TestAuthServer;
  const homes = [tempHome(), tempHome()];
  beforeAll(async () => {
    auth = await startAuthServer();
  });
  afterAll(async () => {
    await auth.stop();
    for (const home of homes) home.cleanup();
  });

  it('is keyed by home as well as account', async () => {
    const envs = homes.map((home) => {
      const dir = join(home.dir, 'connectors');
      mkdirSync(dir, { recursive: true });
      writeFileSync(
        join(dir, 'machine.yaml'),
        'name: machine\ndisplay_name: Machine\nversion: 1\ndocs_url: https://example.com/docs\ndescription: Test.\n' +
          'hosts:\n  api: https://api.example.com\n' +
          'auth:\n  type: oauth2\n  grants: [client_credentials]\n  token_url: https://auth.example.com/token\n' +
          'endpoints:\n  me:\n    summary: Who am I.\n    method: GET\n    path: /me\n',
      );
      return {
        ...home.env,
        CONNECTR_MACHINE_TOKEN_URL: `${auth.issuer}/token`,
        MACHINE_CLIENT_ID: 'machine-client',
        MACHINE_CLIENT_SECRET: 'machine-secret',
      };
    });
    for (const env of envs) {
      auth.server.service.once('beforeResponse', (response: { body: Record<string, unknown> | string }) => {
        if (typeof response.body === 'object') response.body.expires_in = 1;
      });
      const r = await runBin(['auth', 'machine', '--insecure-storage'], env);
      expect(r.code, r.stderr).toBe(0);
    }
    const before = auth.tokenRequests.length;
    const resolved = await Promise.all(
      envs.map(async (env) => {
        const deps = testAuthDeps(env);
        const { paths } = deps;
        const machine = (await loadRegistry({ userDir: paths.userConnectorsDir })).get('machine');
        if (!machine) throw new Error('no machine connector');
        return getCredential(machine, undefined, deps);
      }),
    );
    expect(auth.tokenRequests.length - before).toBe(2);
    const [first, second] = resolved.map((r) => r.credential);
    expect(first).not.toEqual(second);
    for (const [i, env] of envs.entries()) {
      const stored = await runBin(['token', 'machine'], env);
      expect(stored.stdout.trim()).toBe(
        resolved[i]?.credential.kind === 'bearer' ? resolved[i].credential.token : '',
      );
    }
  });
});
