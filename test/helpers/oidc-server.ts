import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';

/**
 * A second, stricter real authorization server: oidc-provider (a certified OpenID Provider)
 * with the device authorization grant (RFC 8628), refresh tokens and revocation, on
 * 127.0.0.1. Its development login and consent pages are driven by `approveDevice`.
 */
export interface OidcServer {
  readonly issuer: string;
  stop(): Promise<void>;
}

export const DEVICE_CLIENT_ID = 'connectr-device-client';

export async function startOidcServer(): Promise<OidcServer> {
  // oidc-provider announces its development defaults on console.warn; tests do not need them.
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (!String(args[0]).startsWith('oidc-provider')) warn(...args);
  };
  // Listen first: the issuer has to carry the port the server got.
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: DEVICE_CLIENT_ID,
        token_endpoint_auth_method: 'none',
        grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
        response_types: [],
        redirect_uris: [],
      },
    ],
    features: {
      deviceFlow: { enabled: true },
      devInteractions: { enabled: true },
      revocation: { enabled: true },
    },
    scopes: ['openid', 'offline_access', 'files.read'],
    issueRefreshToken: () => Promise.resolve(true),
  });
  const handle = provider.callback();
  server.on('request', (req, res) => {
    void handle(req, res);
  });
  return {
    issuer,
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

/**
 * What a person does on the device verification page: open it, confirm the code, sign in,
 * consent. A cookie jar and form submission over fetch, as a browser would.
 */
export async function approveDevice(verificationUrl: string, login: string): Promise<string> {
  const jar = new Map<string, string>();
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
    return { body: await response.text(), location: response.headers.get('location') };
  };
  let url = verificationUrl;
  let page = await go(url);
  for (let step = 0; step < 12; step++) {
    if (page.location) {
      url = new URL(page.location, url).toString();
      page = await go(url);
      continue;
    }
    const form = /<form[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/.exec(page.body);
    if (!form) return page.body;
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
  return page.body;
}
