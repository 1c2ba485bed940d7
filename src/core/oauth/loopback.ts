import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConnectrError } from '../errors.js';
import { escapeHtml } from '../escape-html.js';
import type { ErrorCode } from '../errors.js';

/**
 * The one-shot redirect receiver of RFC 8252 §7.3: an HTTP server on the loopback interface
 * only, answering only the callback path, that takes one authorization response (the one that
 * carries the state connectr sent; others are answered 400 and ignored), shows the browser a
 * result page and closes. The caller owns its lifetime and must call close().
 */

export type RedirectHost = '127.0.0.1' | 'localhost' | '[::1]';

export interface LoopbackOptions {
  readonly host: RedirectHost;
  /** A fixed port (providers that match registered redirect URIs exactly), else any free one. */
  readonly port?: number | undefined;
  readonly path: string;
  readonly state: string;
  /** Provider name for the browser page. */
  readonly displayName: string;
  /** Told when a request without the right state was ignored (the person may wonder why). */
  readonly onIgnored?: (() => void) | undefined;
}

export interface LoopbackServer {
  readonly redirectUri: string;
  readonly port: number;
  /** Settles with the authorization code, or with the reason the response was refused. */
  readonly code: Promise<string>;
  close(): Promise<void>;
}

export async function startLoopback(options: LoopbackOptions): Promise<LoopbackServer> {
  let settle!: { resolve: (code: string) => void; reject: (error: Error) => void };
  const code = new Promise<string>((resolve, reject) => {
    settle = { resolve, reject };
  });
  // Keep an unobserved rejection (after close) from crashing the process.
  code.catch(() => undefined);
  let done = false;

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://loopback');
    if (req.method !== 'GET' || url.pathname !== options.path || done) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
      res.end('Not found\n');
      return;
    }
    // Any local web page or process can send a request here. Only a response that carries the
    // state connectr sent is the provider's answer; anything else is ignored, so it can neither
    // end nor take over the sign-in. The right response, Ctrl-C or the time-out end it.
    if (url.searchParams.get('state') !== options.state) {
      sendPage(
        res,
        400,
        'This response was ignored',
        `It does not carry the state connectr sent, so it does not belong to the sign-in to ${options.displayName} that connectr is waiting for. ` +
          'If you are signing in, finish in the page connectr opened last; connectr is still waiting.',
      );
      options.onIgnored?.();
      return;
    }
    done = true;
    try {
      const received = parseCallback(url, options.path, options.state);
      sendPage(
        res,
        200,
        `Signed in to ${options.displayName}`,
        'You can close this tab and return to the terminal.',
      );
      settle.resolve(received);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      sendPage(
        res,
        400,
        `Sign-in to ${options.displayName} failed`,
        `${reason}. Return to the terminal for details.`,
      );
      settle.reject(error instanceof Error ? error : new Error(reason));
    }
  };

  const addresses =
    options.host === 'localhost' ? ['127.0.0.1', '::1'] : options.host === '[::1]' ? ['::1'] : ['127.0.0.1'];
  const servers: Server[] = [];
  let port = options.port ?? 0;
  try {
    for (const [i, address] of addresses.entries()) {
      const server = createServer(handler);
      try {
        port = await listen(server, address, port);
        servers.push(server);
      } catch (error) {
        // A machine without IPv6 still serves localhost on 127.0.0.1.
        if (i > 0 && (error as NodeJS.ErrnoException).code === 'EADDRNOTAVAIL') continue;
        throw error;
      }
    }
  } catch (error) {
    await Promise.all(servers.map(closeServer));
    const errno = (error as NodeJS.ErrnoException).code;
    if (errno === 'EADDRINUSE') {
      throw new ConnectrError(
        'unavailable',
        `port ${port} on ${options.host} is in use, so the sign-in redirect cannot be received`,
        {
          hint: options.port
            ? 'close the program using it, or pass --port with another port registered as a redirect URI for your app'
            : 'try again',
        },
      );
    }
    throw error;
  }

  const redirectUri = `http://${options.host}:${port}${options.path}`;
  return {
    redirectUri,
    port,
    code,
    async close() {
      done = true;
      await Promise.all(servers.map(closeServer));
    },
  };
}

function listen(server: Server, address: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: address, port, exclusive: true }, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => {
      resolve();
    });
    // Browsers keep connections alive; the port must not stay open because of them.
    server.closeAllConnections();
  });
}

/**
 * Reads an authorization response (the redirect URL): checks the path and state, turns a
 * provider error into a ConnectrError, and returns the code.
 */
export function parseCallback(url: URL, path: string, state: string): string {
  if (url.pathname !== path) {
    throw new ConnectrError(
      'invalid_input',
      `the address is not the sign-in redirect (expected path ${path}, got ${url.pathname})`,
    );
  }
  const params = url.searchParams;
  if (params.get('state') !== state) {
    throw new ConnectrError(
      'auth_required',
      'the sign-in response does not carry the state connectr sent (state mismatch), so it was refused',
      { hint: 'start the login again; if this repeats, another program may be interfering with the sign-in' },
    );
  }
  const error = params.get('error');
  if (error) throw providerError(error, params.get('error_description') ?? undefined);
  const code = params.get('code');
  if (!code)
    throw new ConnectrError('auth_required', 'the sign-in response carries neither a code nor an error');
  return code;
}

/** Authorization error responses (RFC 6749 §4.1.2.1) in words, with the exit code each deserves. */
export function providerError(error: string, description?: string): ConnectrError {
  const detail = description ? `: ${description}` : '';
  const known: Record<string, [ErrorCode, string, string | undefined]> = {
    access_denied: [
      'auth_required',
      'access was denied at the sign-in page',
      'run the login again and approve the request',
    ],
    invalid_scope: [
      'invalid_input',
      'the provider rejected the requested scopes',
      'check --scopes against the scopes your app may request',
    ],
    unauthorized_client: [
      'auth_required',
      'the OAuth app is not allowed to use this sign-in flow',
      'check the app registration (redirect URI, platform type)',
    ],
    invalid_request: [
      'auth_required',
      'the provider rejected the sign-in request as invalid',
      'check the app registration and its redirect URI',
    ],
    unsupported_response_type: [
      'auth_required',
      'the provider does not support the authorization code flow for this app',
      undefined,
    ],
    server_error: ['upstream', 'the provider failed during sign-in', 'try again later'],
    temporarily_unavailable: ['upstream', 'the provider is temporarily unavailable', 'try again later'],
  };
  const [code, message, hint] = known[error] ?? [
    'auth_required',
    `the provider refused the sign-in (${error})`,
    undefined,
  ];
  return new ConnectrError(code, `${message}${detail}`, { hint });
}

function sendPage(res: ServerResponse, status: number, title: string, text: string): void {
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#222}h1{font-size:1.4rem}</style>
</head><body><h1>${escapeHtml(title)}</h1><p>${escapeHtml(text)}</p><p><small>connectr</small></p></body></html>
`;
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    // The page must not pass the code on: no referrer, no scripts, no outside resources.
    'referrer-policy': 'no-referrer',
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'",
    connection: 'close',
  });
  res.end(html);
}
