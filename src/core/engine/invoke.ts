import { Readable } from 'node:stream';
import type { Connector, Endpoint } from '../connector/model.js';
import { ConnectrError } from '../errors.js';
import type { Env } from '../paths.js';
import type { CredentialSource } from './credential.js';
import { sizeOf } from './body.js';
import { execute } from './execute.js';
import { onePage, paginate, requestAt, requirePagination } from './paginate.js';
import type { Page, PageLimits, PagePosition } from './paginate.js';
import { resolveValues } from './params.js';
import type { CallInput, ParamValues, RawBody } from './params.js';
import { buildRequest } from './request.js';
import type { BuildOptions, PreparedRequest } from './request.js';
import type { HttpResponse, SendDeps, SendOptions } from './send.js';
import type { UploadProgress } from './upload-session/index.js';

/**
 * One endpoint call, from the values a caller gave to the response: what `connectr call` and
 * the daemon's execute route both run. The values are checked and the exact request built
 * before anything else (a bad value fails before a credential is looked up or a byte is
 * sent); then the credential source supplies the credential, and the engine sends the request,
 * or runs the provider's upload session, or follows the pagination. After a 401 the source is
 * asked once for a new credential, when it said it can give one.
 *
 * Everything from the surroundings comes in `InvokeDeps`: no process.env, no globals.
 */

/** What to call, with which values: strings (command line) or JSON values (REST API). */
export interface InvokeRequest {
  readonly connector: Connector;
  readonly endpoint: Endpoint;
  /** Values by param key, checked and coerced by params.ts. */
  readonly values: Readonly<Record<string, unknown>>;
  /** Query parameters the definition does not declare (`--param k=v`). */
  readonly extraQuery?: readonly (readonly [string, string])[] | undefined;
  /** A whole body, replacing the body params (`--body`). */
  readonly body?: RawBody | undefined;
  /** Headers the caller adds (`-H`), checked by headers.ts, and which of their values are secrets. */
  readonly headers?: readonly (readonly [string, string])[] | undefined;
  readonly secrets?: readonly string[] | undefined;
  /** How messages name a param (params.ts CallInput.label): the CLI's flag by default. */
  readonly label?: CallInput['label'];
}

/** A call whose values are checked and whose request is built, not yet sent. */
export interface PreparedCall {
  /** The exact request, without its credential: what --dry-run and --curl show. */
  readonly request: PreparedRequest;
  readonly values: ParamValues;
  readonly build: BuildOptions;
}

/** Retries, the time limit of each attempt and the longest wait a server may ask for (send.ts). */
export type InvokeOptions = Omit<SendOptions, 'onUpload'>;

/** With pagination: stop after this many pages or items; told each page's status. */
export type InvokeAllOptions = InvokeOptions & PageLimits;

/**
 * What the caller supplies: the credential source and its surroundings. From send.ts: `env`
 * (base-URL overrides CONNECTR_<NAME>_<HOST>_BASE_URL, proxy variables), `clock`,
 * `dispatcher` (the HTTP client's; absent: connectr's own), `signal` (stops waits, transfers
 * and pagination), `random` (retry jitter) and `onRetry` (told before each retry's wait).
 */
export interface InvokeDeps extends Pick<
  SendDeps,
  'env' | 'clock' | 'dispatcher' | 'signal' | 'random' | 'onRetry' | 'onResponse' | 'limiter'
> {
  readonly credentials: CredentialSource;
  /**
   * What a `-` body reads (the CLI's standard input), opened only then. Absent: a call whose
   * body is standard input is refused before anything is sent.
   */
  readonly stdin?: (() => Readable) | undefined;
  /**
   * Whether a body may be read from a path on this machine (`--body @file`, a `file` param):
   * the CLI's user names their own files. Absent: refused before anything is sent. A server
   * leaves it unset, or an API client's path would upload the server's own files.
   */
  readonly localFiles?: boolean | undefined;
  /** Told how many body bytes have left, and of how many (undefined: unknown). */
  readonly onUpload?: UploadProgress | undefined;
}

/** Checks the values and builds the request; throws a ConnectrError naming a bad value. */
export function prepareCall(input: InvokeRequest, env: Env): PreparedCall {
  const values = resolveValues(input.endpoint, {
    values: input.values,
    ...(input.extraQuery ? { extraQuery: input.extraQuery } : {}),
    ...(input.body ? { body: input.body } : {}),
    ...(input.label ? { label: input.label } : {}),
  });
  const build: BuildOptions = {
    env,
    extraQuery: input.extraQuery,
    body: input.body,
    headers: input.headers,
    secrets: input.secrets,
  };
  return { request: buildRequest(input.connector, input.endpoint, values, build), values, build };
}

/**
 * One call: the response as the API gave it, whatever its status (an error answer is the
 * caller's to report: `upstreamError` in response.ts words it), its body not yet read.
 */
export async function invoke(
  call: InvokeRequest | PreparedCall,
  deps: InvokeDeps,
  options: InvokeOptions,
): Promise<HttpResponse> {
  const { request, values } = prepared(call, deps);
  const send = await sendDeps(request, deps);
  return execute(request, values, send, options, deps.onUpload);
}

/**
 * Every item of every page, as each page arrives, following the endpoint's pagination, up to
 * the limits. An error answer ends it with an UpstreamError; a server that repeats a page
 * ends it with an error instead of looping.
 */
export async function* invokeAll(
  call: InvokeRequest | PreparedCall,
  deps: InvokeDeps,
  options: InvokeAllOptions,
): AsyncGenerator<unknown, void, undefined> {
  const { request, values, build } = prepared(call, deps);
  requirePagination(request);
  const send = await sendDeps(request, deps);
  const { maxPages, limit, onPage, ...sendOptions } = options;
  for await (const item of paginate(request, values, build, send, sendOptions, { maxPages, limit, onPage })) {
    // A caller that stopped (Ctrl-C, a client gone) gets nothing more, not even the rest of a page.
    deps.signal?.throwIfAborted();
    yield item;
  }
}

/**
 * One page of a paginated endpoint, at `position` (absent: the first; else one a previous
 * page answered, handed back by the caller), and where the next page is.
 */
export async function invokePage(
  call: InvokeRequest | PreparedCall,
  deps: InvokeDeps,
  options: InvokeOptions,
  position?: PagePosition,
): Promise<Page> {
  const { request, values, build } = prepared(call, deps);
  const pagination = requirePagination(request);
  // A cursor that does not fit is refused before the credential is looked up.
  const at = position ? requestAt(pagination, request, values, position, build, true) : { request, values };
  const send = await sendDeps(at.request, deps);
  return onePage(at, send, options);
}

function prepared(call: InvokeRequest | PreparedCall, deps: InvokeDeps): PreparedCall {
  return 'request' in call ? call : prepareCall(call, deps.env);
}

/**
 * What send.ts needs, with the first credential from the source. The latest credential is
 * kept: after a refresh, the next pages and upload chunks go out with the new one.
 */
async function sendDeps(request: PreparedRequest, deps: InvokeDeps): Promise<SendDeps> {
  checkBodySource(request, deps);
  // A body file that is missing or no file is the caller's mistake: said before the account is
  // looked up (which may well fail too, and would hide it).
  if (request.body.kind === 'raw' && request.body.source.kind === 'file') await sizeOf(request.body.source);
  deps.signal?.throwIfAborted();
  const { credentials } = deps;
  const first = await credentials.credential();
  let current = first.credential;
  return {
    env: deps.env,
    clock: deps.clock,
    // Never read without stdin: a body from it was refused above.
    stdin: deps.stdin ?? (() => Readable.from([])),
    dispatcher: deps.dispatcher,
    signal: deps.signal,
    ...(deps.random ? { random: deps.random } : {}),
    ...(deps.onRetry ? { onRetry: deps.onRetry } : {}),
    onResponse: deps.onResponse,
    limiter: deps.limiter,
    credential: () => Promise.resolve(current),
    refusedHint: first.refusedHint,
    refresh: first.refreshable
      ? async () => {
          current = (await credentials.credential({ forceRefresh: true })).credential;
          return current;
        }
      : undefined,
  };
}

/**
 * A body from standard input or a local file only where the caller has them: the only place
 * either is read is the request's raw body (pagination and upload sessions reuse it).
 */
function checkBodySource(request: PreparedRequest, deps: InvokeDeps): void {
  if (request.body.kind !== 'raw') return;
  const source = request.body.source;
  const call = `${request.connector.name} ${request.endpoint.name}`;
  if (source.kind === 'stdin' && !deps.stdin) {
    throw new ConnectrError(
      'invalid_input',
      `${call}: a body from standard input ("-") cannot be read here`,
      {
        hint: 'give the body itself',
      },
    );
  }
  if (source.kind === 'file' && deps.localFiles !== true) {
    throw new ConnectrError('invalid_input', `${call}: a body from a file path cannot be read here`, {
      hint: 'give the body itself',
    });
  }
}
