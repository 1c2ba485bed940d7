import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';
import type * as Undici from 'undici';
import type { Dispatcher } from 'undici';
import { ConnectrError } from '../errors.js';
import type { Env } from '../paths.js';
import { publicLookup } from './address.js';
import { hasProxy } from './proxy-env.js';

/**
 * connectr's one HTTP client: what the engine and the OAuth exchanges send goes through here.
 * A direct request uses node:http(s), built into Node; undici (the HTTP client
 * the server pools with) is loaded only behind a proxy, or when a caller passes a dispatcher.
 * Loading undici and compiling its WebAssembly parser was most of a `connectr call`'s
 * start-up (issue #8).
 */
export interface ClientRequest {
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly body?: string | Buffer | Readable | undefined;
  readonly signal?: AbortSignal | undefined;
  /** Longest wait for the response's headers once the request is sent, in ms. */
  readonly headersTimeoutMs: number;
  /** Longest pause while the response's body arrives, in ms. */
  readonly bodyTimeoutMs: number;
  /** An undici dispatcher (tests, the server); else a proxy from `env`, else none. */
  readonly dispatcher?: Dispatcher | undefined;
  /** For HTTPS_PROXY / HTTP_PROXY / NO_PROXY. */
  readonly env?: Env | undefined;
  /**
   * Connect only to a public address (a redirect or page link, engine/follow.ts): the name is
   * resolved by publicLookup, on a connection from a pool that holds only connections so made.
   * Behind a proxy the proxy resolves names, and this cannot apply.
   */
  readonly publicOnly?: boolean | undefined;
}

export interface ClientResponse {
  readonly statusCode: number;
  /** Lower-case names; a header sent more than once is an array, as undici gives them. */
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Readable;
}

/** No response headers within the time limit. */
export class HeadersTimeout extends Error {
  readonly code = 'CONNECTR_HEADERS_TIMEOUT';
  constructor() {
    super('no response in time');
    this.name = 'HeadersTimeout';
  }
}

/** The response body paused for longer than the time limit. */
export class BodyTimeout extends Error {
  readonly code = 'CONNECTR_BODY_TIMEOUT';
  constructor() {
    super('the response stalled');
    this.name = 'BodyTimeout';
  }
}

export async function sendRequest(url: URL, init: ClientRequest): Promise<ClientResponse> {
  let dispatcher = init.dispatcher;
  const proxied = hasProxy(init.env);
  if (!dispatcher && proxied) {
    const { proxyDispatcher } = await import('./proxy.js');
    dispatcher = proxyDispatcher(init.env ?? {});
  }
  // The caller's pool may hold a connection made without the check: a pool of its own.
  if (init.publicOnly === true && dispatcher && !proxied) dispatcher = await publicOnlyAgent();
  const response = await (dispatcher ? throughUndici(url, init, dispatcher) : throughNode(url, init));
  try {
    checkStatus(response.statusCode, `${init.method} ${url.host}${url.pathname}`);
  } catch (error) {
    dropBody(response.body);
    throw error;
  }
  return response;
}

/**
 * A status HTTP defines (RFC 9110 §15: 100 to 599), else an `upstream` error naming it: parsers
 * take any three digits, and 600 to 999 is neither a success nor an error anyone can act on
 * (Node's HTTP server cannot even send it back). `where` names the request, never its query.
 */
export function checkStatus(status: number, where: string): void {
  if (Number.isInteger(status) && status >= 100 && status <= 599) return;
  throw new ConnectrError(
    'upstream',
    `${where} answered with HTTP status ${status}, which HTTP does not define (100 to 599)`,
    { hint: 'the API answered something unusable; try again, or report it to its provider' },
  );
}

let publicAgent: Promise<Dispatcher> | undefined;

/** undici's pool for connections that may reach only public addresses (made once, for the process). */
function publicOnlyAgent(): Promise<Dispatcher> {
  publicAgent ??= (async () => {
    undici ??= import('undici');
    const { Agent } = await undici;
    return new Agent({ connect: { lookup: publicLookup }, keepAliveTimeout: 10_000 });
  })();
  return publicAgent;
}

/** undici, loaded once: a bundled dynamic import copies the module's exports each time it runs. */
let undici: Promise<typeof Undici> | undefined;

async function throughUndici(url: URL, init: ClientRequest, dispatcher: Dispatcher): Promise<ClientResponse> {
  undici ??= import('undici');
  const { request } = await undici;
  const response = await request(url, {
    method: init.method,
    headers: init.headers,
    headersTimeout: init.headersTimeoutMs,
    bodyTimeout: init.bodyTimeoutMs,
    ...(init.body !== undefined ? { body: init.body } : {}),
    ...(init.signal ? { signal: init.signal } : {}),
    dispatcher,
  });
  return { statusCode: response.statusCode, headers: response.headers, body: response.body };
}

let publicAgents: { http: HttpAgent; https: HttpsAgent } | undefined;

/** node:http(s)'s pools for connections that may reach only public addresses (made once). */
function publicNodeAgent(secure: boolean): HttpAgent {
  publicAgents ??= {
    http: new HttpAgent({ keepAlive: true, lookup: publicLookup }),
    https: new HttpsAgent({ keepAlive: true, lookup: publicLookup }),
  };
  return secure ? publicAgents.https : publicAgents.http;
}

function throughNode(url: URL, init: ClientRequest): Promise<ClientResponse> {
  return new Promise((resolve, reject) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const headers: OutgoingHttpHeaders = { ...init.headers };
    const req = send(url, {
      method: init.method,
      headers,
      ...(init.signal ? { signal: init.signal } : {}),
      // A pool of checked connections only: the address is checked when each is made.
      ...(init.publicOnly === true ? { agent: publicNodeAgent(url.protocol === 'https:') } : {}),
    });
    let headersTimer: NodeJS.Timeout | undefined;
    const startHeadersTimer = (): void => {
      headersTimer ??= setTimeout(() => req.destroy(new HeadersTimeout()), init.headersTimeoutMs);
    };
    req.once('error', (error) => {
      clearTimeout(headersTimer);
      reject(error);
    });
    req.once('response', (res: IncomingMessage) => {
      clearTimeout(headersTimer);
      res.setTimeout(init.bodyTimeoutMs, () => res.destroy(new BodyTimeout()));
      resolve({ statusCode: res.statusCode ?? 0, headers: headersOf(res.rawHeaders), body: res });
    });
    const body = init.body;
    if (body === undefined || typeof body === 'string' || Buffer.isBuffer(body)) {
      startHeadersTimer();
      req.end(body);
    } else {
      // A streamed upload may take long: the limit starts once it has all left.
      req.once('finish', startHeadersTimer);
      body.once('error', (error) => req.destroy(error));
      body.pipe(req);
    }
  });
}

function headersOf(raw: string[]): Record<string, string | string[] | undefined> {
  // A Map, then own properties: a header named __proto__ stays a header.
  const headers = new Map<string, string | string[]>();
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] ?? '').toLowerCase();
    const value = raw[i + 1] ?? '';
    const seen = headers.get(name);
    if (seen === undefined) headers.set(name, value);
    else if (Array.isArray(seen)) seen.push(value);
    else headers.set(name, [seen, value]);
  }
  return Object.fromEntries(headers);
}

/** Reads and discards the rest of a body (to reuse the connection, or give up on it). */
/** Closes a body unread (its connection with it): what follows may be endless. */
export function dropBody(body: Readable): void {
  // undici's body reports its own destruction as an error: nothing is waiting for it.
  body.once('error', () => undefined);
  body.destroy();
}

export function dumpBody(body: Readable): Promise<void> {
  return new Promise((resolve) => {
    if (body.readableEnded || body.destroyed) {
      resolve();
      return;
    }
    body.once('end', resolve);
    body.once('close', resolve);
    body.once('error', () => {
      resolve();
    });
    body.resume();
  });
}
