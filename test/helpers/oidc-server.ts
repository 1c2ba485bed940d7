import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';

/**
 * A strict, real authorization server: oidc-provider (a certified OpenID Provider) on 127.0.0.1,
 * with the authorization code grant (PKCE required, the redirect URI checked against the
 * registered one, codes single-use), the device authorization grant (RFC 8628), rotating refresh
 * tokens (a rotated one is refused and revokes the grant) and revocation. Its development login
 * and consent pages are driven by `browse`, as a person in a browser would.
 *
 * It records, on the server side, what every authorization, token and revocation request
 * carried, so tests can check what connectr sent (e.g. the same redirect_uri twice).
 */
export interface OidcServer {
  readonly issuer: string;
  /** The query of every authorization request, in order. */
  readonly authorizeRequests: Record<string, string>[];
  /** The form of every token request, in order. */
  readonly tokenRequests: Record<string, string>[];
  /** The form of every revocation request, in order. */
  readonly revocations: Record<string, string>[];
  /** Lets `change` rewrite the next token response (its status and JSON body). */
  onceTokenResponse(change: (response: { status: number; body: Record<string, unknown> }) => void): void;
  /** Whether the next refresh rotates the refresh token (the default) or keeps it. */
  rotateNextRefresh(rotate: boolean): void;
  /** The env that points a connector's OAuth endpoints at this server. */
  envFor(connector: string): Record<string, string>;
  /** Forgets the recorded requests and pending one-off changes. */
  reset(): void;
  stop(): Promise<void>;
}

export const DEVICE_CLIENT_ID = 'connectr-device-client';

/** Confidential clients for the browser flow (client_secret_post, loopback redirect). */
export const BROWSER_CLIENTS: readonly { id: string; secret: string }[] = [
  { id: 'connectr-test-client', secret: 'connectr-test-secret' },
  { id: 'saved-client', secret: 'saved-secret' },
  { id: 'typed-client.apps.googleusercontent.com', secret: 'typed-secret' },
];

/** Scopes the test connectors request. */
const SCOPES = [
  'openid',
  'offline_access',
  'files.read',
  'https://www.googleapis.com/auth/gmail.modify',
  'repo',
  'read:user',
  'https://www.googleapis.com/auth/calendar',
  'https://www.googleapis.com/auth/drive',
];

type TokenChange = Parameters<OidcServer['onceTokenResponse']>[0];

export interface OidcServerOptions {
  /**
   * More redirect URIs for the browser clients, e.g. a `connectr serve` callback
   * (http://127.0.0.1/api/v1/oauth/callback: any port on the loopback address, as native apps).
   */
  readonly redirectUris?: readonly string[];
}

export async function startOidcServer(options: OidcServerOptions = {}): Promise<OidcServer> {
  // oidc-provider announces its development defaults on console.warn; tests do not need them.
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (!String(args[0]).startsWith('oidc-provider')) warn(...args);
  };
  // Listen first: the issuer has to carry the port the server got.
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let rotate = true;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: DEVICE_CLIENT_ID,
        token_endpoint_auth_method: 'none',
        grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
        response_types: [],
        redirect_uris: [],
      },
      ...BROWSER_CLIENTS.map((c) => ({
        client_id: c.id,
        client_secret: c.secret,
        application_type: 'native' as const,
        token_endpoint_auth_method: 'client_secret_post' as const,
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code' as const],
        // Native apps: any port on the loopback address, this path only (RFC 8252 §7.3).
        redirect_uris: ['http://127.0.0.1/callback', ...(options.redirectUris ?? [])],
      })),
    ],
    features: {
      deviceFlow: { enabled: true },
      devInteractions: { enabled: true },
      revocation: {
        enabled: true,
        // A client may revoke only its own tokens.
        allowedPolicy: (_ctx, client, token) => Promise.resolve(token.clientId === client.clientId),
      },
    },
    pkce: { required: () => true },
    // Said explicitly, so the provider does not announce its defaults in the test output.
    ttl: {
      AccessToken: 3600,
      AuthorizationCode: 60,
      DeviceCode: 600,
      Grant: 86_400,
      IdToken: 3600,
      Interaction: 600,
      RefreshToken: 86_400,
      Session: 86_400,
    },
    scopes: SCOPES,
    issueRefreshToken: () => Promise.resolve(true),
    rotateRefreshToken: () => {
      const now = rotate;
      rotate = true;
      return now;
    },
  });
  const authorizeRequests: Record<string, string>[] = [];
  const tokenRequests: Record<string, string>[] = [];
  const revocations: Record<string, string>[] = [];
  const tokenChanges: TokenChange[] = [];
  provider.use(async (ctx: KoaContextWithOIDC, next) => {
    if (ctx.path === '/auth' && ctx.method === 'GET') authorizeRequests.push(stringsOf(ctx.query));
    await next();
    // The provider has read the form by now (after next()); requests it refused early have none.
    const form = stringsOf((ctx.oidc as KoaContextWithOIDC['oidc'] | undefined)?.body ?? {});
    if (ctx.path === '/token') {
      tokenRequests.push(form);
      const change = tokenChanges.shift();
      if (change && isRecord(ctx.body)) {
        const response = { status: ctx.status, body: { ...ctx.body } };
        change(response);
        ctx.status = response.status;
        ctx.body = response.body;
      }
    }
    if (ctx.path === '/token/revocation') revocations.push(form);
  });
  const handle = provider.callback();
  server.on('request', (req, res) => {
    void handle(req, res);
  });
  return {
    issuer,
    authorizeRequests,
    tokenRequests,
    revocations,
    onceTokenResponse(change) {
      tokenChanges.push(change);
    },
    rotateNextRefresh(value) {
      rotate = value;
    },
    envFor(connector) {
      const prefix = `CONNECTR_${connector.toUpperCase()}`;
      return {
        [`${prefix}_AUTHORIZATION_URL`]: `${issuer}/auth`,
        [`${prefix}_TOKEN_URL`]: `${issuer}/token`,
        [`${prefix}_REVOCATION_URL`]: `${issuer}/token/revocation`,
      };
    },
    reset() {
      authorizeRequests.length = 0;
      tokenRequests.length = 0;
      revocations.length = 0;
      tokenChanges.length = 0;
      rotate = true;
    },
    stop: () =>
      new Promise((resolve) => {
        console.warn = warn;
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
}

function stringsOf(params: object): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(params)) if (typeof value === 'string') out[key] = value;
  return out;
}

/** A page the browser was shown. */
export interface BrowsedPage {
  readonly url: string;
  readonly status: number;
  readonly body: string;
}

/**
 * What a person does in a browser at the server's pages: follow redirects, sign in as `login`,
 * confirm a device code, consent. A cookie jar and form submission over fetch. Stops at the
 * first address that starts with `stopAt` (not requested) or at a page with no form and no
 * redirect; returns the pages seen and where it stopped.
 */
export async function browse(
  start: string,
  login: string,
  stopAt?: string,
): Promise<{ pages: BrowsedPage[]; stoppedAt: string }> {
  const jar = new Map<string, string>();
  const pages: BrowsedPage[] = [];
  const go = async (
    url: string,
    form?: Record<string, string>,
  ): Promise<{ body: string; location: string | null }> => {
    const response = await fetch(url, {
      method: form ? 'POST' : 'GET',
      redirect: 'manual',
      headers: {
        cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; '),
        ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      ...(form ? { body: new URLSearchParams(form).toString() } : {}),
    });
    for (const cookie of response.headers.getSetCookie()) {
      const [pair = ''] = cookie.split(';');
      const i = pair.indexOf('=');
      jar.set(pair.slice(0, i), pair.slice(i + 1));
    }
    const body = await response.text();
    pages.push({ url, status: response.status, body });
    return { body, location: response.headers.get('location') };
  };
  let url = start;
  if (stopAt && url.startsWith(stopAt)) return { pages, stoppedAt: url };
  let page = await go(url);
  for (let step = 0; step < 16; step++) {
    if (page.location) {
      url = new URL(page.location, url).toString();
      if (stopAt && url.startsWith(stopAt)) return { pages, stoppedAt: url };
      page = await go(url);
      continue;
    }
    const form = /<form[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/.exec(page.body);
    if (!form) break;
    const fields: Record<string, string> = {};
    for (const input of (form[2] ?? '').matchAll(/<input[^>]*>/g)) {
      const name = /name="([^"]*)"/.exec(input[0])?.[1];
      if (name) fields[name] = /value="([^"]*)"/.exec(input[0])?.[1] ?? '';
    }
    if ('user_code' in fields) fields.confirm = 'yes';
    if ('login' in fields) Object.assign(fields, { login, password: 'any' });
    url = new URL((form[1] ?? '').replace(/&amp;/g, '&'), url).toString();
    page = await go(url, fields);
  }
  return { pages, stoppedAt: url };
}

/** The device verification page, approved by `login`; returns the last page's text. */
export async function approveDevice(verificationUrl: string, login: string): Promise<string> {
  const { pages } = await browse(verificationUrl, login);
  return pages.at(-1)?.body ?? '';
}
