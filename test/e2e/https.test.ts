import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBin } from '../helpers/bin.js';
import { tempHome } from '../helpers/home.js';

/**
 * A call over TLS, as every real API is, to a server on 127.0.0.1 with a certificate made
 * here: it goes through when the certificate is trusted (NODE_EXTRA_CA_CERTS, as behind a
 * company's TLS-inspecting proxy) and is refused, with a message, when it is not.
 */
describe('calls over https', () => {
  const home = tempHome();
  const cert = join(home.dir, 'cert.pem');
  const key = join(home.dir, 'key.pem');
  let server: Server;
  let seen: string[];
  let base: string;

  beforeAll(async () => {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        key,
        '-out',
        cert,
      ],
      { stdio: 'ignore' },
    );
    seen = [];
    server = createServer({ cert: readFileSync(cert), key: readFileSync(key) }, (req, res) => {
      seen.push(`${req.method ?? ''} ${req.url ?? ''} ${req.headers.authorization ?? ''}`);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"emailAddress":"ann@example.com","messagesTotal":3}');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.close();
    home.cleanup();
  });

  const env = (extra: Record<string, string> = {}): Record<string, string> => ({
    ...home.env,
    CONNECTR_GMAIL_API_BASE_URL: base,
    CONNECTR_GMAIL_TOKEN: 'tls-token',
    ...extra,
  });

  it('goes through to a server whose certificate is trusted', async () => {
    const r = await runBin(['call', 'gmail', 'get_profile'], env({ NODE_EXTRA_CA_CERTS: cert }));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ emailAddress: 'ann@example.com', messagesTotal: 3 });
    expect(seen).toEqual(['GET /gmail/v1/users/me/profile Bearer tls-token']);
  });

  it('refuses a certificate nobody vouches for, sending nothing', async () => {
    seen = [];
    const r = await runBin(['call', 'gmail', 'get_profile', '--verbose'], env());
    expect(r.stderr).not.toContain('retry');
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(
      /^error: GET 127\.0\.0\.1:\d+\/gmail\/v1\/users\/me\/profile failed: self-signed certificate$/m,
    );
    // Not retried (a certificate does not become trusted by waiting), and the fix is named.
    expect(r.stderr).toContain('hint: the TLS connection to 127.0.0.1');
    expect(r.stderr).toContain('NODE_EXTRA_CA_CERTS');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(seen).toEqual([]);
  });
});
