import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { OAuth2Server } from 'oauth2-mock-server';

/**
 * A real OAuth 2.0 authorization server on 127.0.0.1 (oauth2-mock-server): authorization code
 * with PKCE verification, refresh and client credentials grants, RFC 7009 revocation. Counts
 * the token and revocation requests it serves.
 */
export interface TestAuthServer {
  readonly server: OAuth2Server;
  readonly issuer: string;
  readonly tokenRequests: Record<string, string>[];
  readonly revocations: Record<string, string>[];
  /** The env that points a connector's OAuth endpoints at this server. */
  envFor(connector: string): Record<string, string>;
  stop(): Promise<void>;
}

export async function startAuthServer(): Promise<TestAuthServer> {
  const server = new OAuth2Server();
  await server.issuer.keys.generate('RS256');
  await server.start(0, '127.0.0.1');
  // The issuer would say localhost; tests address the loopback interface by number only.
  const issuer = `http://127.0.0.1:${server.address().port}`;
  server.issuer.url = issuer;
  // Real providers never hand out the same token twice; the mock would within one second.
  server.service.on('beforeTokenSigning', (token: { payload: Record<string, unknown> }) => {
    token.payload.jti = randomUUID();
  });
  const tokenRequests: Record<string, string>[] = [];
  const revocations: Record<string, string>[] = [];
  server.service.on('beforeResponse', (_response, req) => {
    tokenRequests.push(formOf(req));
  });
  // The mock server answers revocations without reading the form; read it here.
  server.service.on('beforeRevoke', (_response, req: IncomingMessage) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      revocations.push(Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))));
    });
  });
  return {
    server,
    issuer,
    tokenRequests,
    revocations,
    envFor(connector) {
      const prefix = `CONNECTR_${connector.toUpperCase()}`;
      return {
        [`${prefix}_AUTHORIZATION_URL`]: `${issuer}/authorize`,
        [`${prefix}_TOKEN_URL`]: `${issuer}/token`,
        [`${prefix}_REVOCATION_URL`]: `${issuer}/revoke`,
      };
    },
    stop: () => server.stop(),
  };
}

/** The parsed form of a token request, as the mock server received it. */
export function formOf(req: unknown): Record<string, string> {
  return { ...(req as { body: Record<string, string> }).body };
}

/**
 * A daemon's environment for Gmail: the emulator at `gmailUrl` as its API, `auth` as its
 * authorization server, and the server's own OAuth app (GMAIL_CLIENT_ID and _SECRET).
 */
export function gmailServerEnv(auth: TestAuthServer, gmailUrl: string): Record<string, string> {
  return {
    ...auth.envFor('gmail'),
    CONNECTR_GMAIL_API_BASE_URL: gmailUrl,
    GMAIL_CLIENT_ID: 'server-client',
    GMAIL_CLIENT_SECRET: 'server-client-secret',
  };
}
