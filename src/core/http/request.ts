import type { Dispatcher } from 'undici';
import { ConnectrError, isConnectrError, messageOf } from '../errors.js';
import { USER_AGENT } from '../version.js';
import { sendRequest } from './client.js';
import type { ClientRequest } from './client.js';

/**
 * Small HTTP exchanges (token endpoint, revocation, identity) through the HTTP client. Failures to reach
 * the server become `unavailable` errors that name the host; what the server answered is left
 * to the caller to judge.
 */
/** The client's own options (dispatcher, proxy variables, signal), and one time limit for both waits. */
export type HttpOptions = Pick<ClientRequest, 'dispatcher' | 'env' | 'signal'> & {
  /** Per-request time limit in ms (default 30 s). */
  readonly timeoutMs?: number | undefined;
};

export interface HttpResult {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  /** The body parsed as JSON when it is JSON, else undefined. */
  readonly json: unknown;
}

export async function httpExchange(
  method: Dispatcher.HttpMethod,
  url: string,
  init: { headers?: Record<string, string>; body?: string } & HttpOptions,
): Promise<HttpResult> {
  const timeout = init.timeoutMs ?? 30_000;
  try {
    const response = await sendRequest(new URL(url), {
      method,
      headersTimeoutMs: timeout,
      bodyTimeoutMs: timeout,
      headers: { 'user-agent': USER_AGENT, ...init.headers },
      body: init.body,
      dispatcher: init.dispatcher,
      env: init.env,
      signal: init.signal,
    });
    const text = await boundedText(response.body, url);
    return { status: response.statusCode, headers: response.headers, text, json: parseJson(text) };
  } catch (error) {
    if (init.signal?.aborted) throw init.signal.reason as Error;
    if (isConnectrError(error)) throw error;
    throw new ConnectrError('unavailable', `cannot reach ${hostOf(url)}: ${describeNetworkError(error)}`, {
      hint: 'check your network connection (and proxy settings), then try again',
      cause: error,
    });
  }
}

/** The most read of a token, revocation or identity answer: they are a few kilobytes. */
const EXCHANGE_LIMIT = 1024 * 1024;

async function boundedText(
  body: AsyncIterable<Buffer> & { destroy(): unknown },
  url: string,
): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > EXCHANGE_LIMIT) {
      body.destroy();
      throw new ConnectrError(
        'upstream',
        `${hostOf(url)} answered more than 1 MiB, far more than an OAuth answer`,
        {
          hint: 'check the token and revocation URLs of the connector (connectr connectors show)',
        },
      );
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function formBody(fields: Record<string, string | undefined>): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) params.append(k, v);
  return params.toString();
}

function parseJson(text: string): unknown {
  if (!/^\s*[[{]/.test(text)) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

export function describeNetworkError(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  const cause = (error as { cause?: { code?: unknown } }).cause?.code;
  const known: Record<string, string> = {
    ECONNREFUSED: 'connection refused',
    ENOTFOUND: 'host not found',
    ECONNRESET: 'connection reset',
    ETIMEDOUT: 'connection timed out',
    UND_ERR_HEADERS_TIMEOUT: 'no response in time',
    UND_ERR_BODY_TIMEOUT: 'the response stalled',
    UND_ERR_SOCKET: 'the connection was closed',
    UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
    CONNECTR_HEADERS_TIMEOUT: 'no response in time',
    CONNECTR_BODY_TIMEOUT: 'the response stalled',
    CONNECTR_PROXY_CLOSED: 'the proxy closed the connection',
    CONNECTR_ATTEMPT_TIMEOUT: 'no response in time',
  };
  for (const c of [code, cause]) if (typeof c === 'string' && known[c]) return known[c];
  return messageOf(error);
}
